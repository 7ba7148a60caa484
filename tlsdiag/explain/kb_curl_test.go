package explain

import "testing"

func TestCurl(t *testing.T) {
	runCases(t, []explainCase{
		{name: "unknown issuer", system: Curl, ids: []string{missingAnchor, incomplete, wrongInter, emptyStore},
			text: "curl: (60) SSL certificate problem: unable to get local issuer certificate\nMore details here: https://curl.se/docs/sslcerts.html\n",
			next: "--truststore TRUSTSTORE.pem HOST:PORT"},
		{name: "verbose, with the target", system: Curl, ids: []string{hostname},
			text: `*   Trying 10.0.0.9:8443...
* Connected to backend.test (10.0.0.9) port 8443 (#0)
* ALPN: offers h2,http/1.1
* TLSv1.3 (OUT), TLS handshake, Client hello (1):
* TLSv1.3 (IN), TLS handshake, Server hello (2):
* SSL: no alternative certificate subject name matches target host name 'backend.test'
* Closing connection 0
curl: (60) SSL: no alternative certificate subject name matches target host name 'backend.test'`,
			next: "tlsgate doctor --connect 10.0.0.9:8443 --truststore TRUSTSTORE.pem backend.test:8443"},
		{name: "an address is not sent as server_name", system: Curl, ids: []string{hostname, sniDefault},
			text: "curl: (60) SSL: no alternative certificate subject name matches target host name '127.0.0.1'"},
		{name: "refused", system: Curl, ids: []string{unreachable},
			text: "curl: (7) Failed to connect to backend.test port 8443 after 0 ms: Connection refused",
			next: "tlsgate doctor backend.test:8443"},
		{name: "plain HTTP on the port", system: Curl, ids: []string{notTLS},
			text: "curl: (35) error:0A00010B:SSL routines::wrong version number"},
		{name: "closed during the handshake", system: Curl,
			ids:  []string{protocol, cipher, sniRequired, ccMissing, ccIssuer, ccRejected, ccExpired, notTLS},
			text: "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to backend.test:8443 ",
			next: "backend.test:8443"},
		{name: "TLS 1.3 certificate required", system: Curl, ids: []string{ccMissing},
			text: "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.19: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0",
			next: "--client-cert CLIENT.pem --client-key CLIENT.key"},
		{name: "alert in the verbose trace narrowed by the CertificateRequest", system: Curl, ids: []string{ccMissing},
			text: `* TLSv1.2 (IN), TLS handshake, Request CERT (13):
* TLSv1.2 (IN), TLS alert, handshake failure (552):
curl: (35) error:0A000410:SSL routines::sslv3 alert handshake failure`},
		{name: "client certificate unreadable", system: Curl, ids: []string{ccKey, ccMissing},
			text: "curl: (58) could not load PEM client certificate from client.pem, OpenSSL error error:80000002:system library::No such file or directory, (no key found, wrong pass phrase, or wrong file format?)"},
		{name: "expired client certificate seen as a verification failure", system: Curl, ids: []string{ccExpired, unclassified},
			text: "curl: (60) SSL certificate verification failed"},
		{name: "nginx's page in curl's output", system: Curl, ids: []string{inCCMissing, ccMissing, ccIssuer},
			text: `* TLSv1.3 (IN), TLS handshake, Request CERT (13):
< HTTP/1.1 400 Bad Request
<html>
<head><title>400 No required SSL certificate was sent</title></head>
<hr><center>nginx/1.22.1</center>`},
		{name: "timeout", system: Curl, ids: []string{timeout}, text: "curl: (28) Operation timed out after 10000 milliseconds with 0 out of 0 bytes received",
			next: "--timeout 30s"},
		{name: "CA file", system: Curl, ids: []string{emptyStore}, text: "curl: (77) error setting certificate verify locations:  CAfile: /etc/ssl/none.pem CApath: none"},
	})
}
