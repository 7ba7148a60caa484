package explain

import "testing"

func TestNginx(t *testing.T) {
	runCases(t, []explainCase{
		{name: "upstream verify", system: Nginx, ids: []string{missingAnchor, incomplete, wrongInter, emptyStore, sniDefault},
			text: `2024/05/01 10:00:00 [error] 12#12: *2 upstream SSL certificate verify error: (20:unable to get local issuer certificate) while SSL handshaking to upstream, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", upstream: "https://10.0.0.9:443/", host: "api.example.com"`,
			next: "tlsgate doctor --truststore TRUSTSTORE.pem 10.0.0.9:443"},
		{name: "upstream name, with the address dialled", system: Nginx, ids: []string{hostname, sniDefault},
			text: `2024/05/01 10:00:00 [error] 12#12: *2 upstream SSL certificate does not match "backend.test" while SSL handshaking to upstream, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", upstream: "https://10.0.0.9:8443/", host: "api.example.com"`,
			next: "tlsgate doctor --connect 10.0.0.9:8443 --truststore TRUSTSTORE.pem backend.test:8443"},
		{name: "upstream handshake failure: no server_name by default", system: Nginx,
			ids:  []string{protocol, cipher, ccMissing, sniRequired},
			text: `2024/05/01 10:00:00 [error] 12#12: *2 SSL_do_handshake() failed (SSL: error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40) while SSL handshaking to upstream, client: 127.0.0.1, upstream: "https://10.0.0.9:443/"`},
		{name: "upstream refuses nginx's client certificate after the handshake", system: Nginx, ids: []string{ccRejected, ccIssuer},
			text: `2024/05/01 10:00:00 [error] 12#12: *2 SSL_read() failed (SSL: error:0A000418:SSL routines::tlsv1 alert unknown ca:SSL alert number 48) while reading response header from upstream, client: 127.0.0.1, upstream: "https://10.0.0.9:443/"`},
		{name: "upstream closed", system: Nginx,
			ids:  []string{sniRequired, protocol, cipher, ccMissing, ccIssuer, ccRejected, ccExpired, notTLS},
			text: `2024/05/01 10:00:00 [error] 12#12: *2 peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking to upstream, client: 127.0.0.1, upstream: "https://10.0.0.9:443/"`},
		{name: "refused", system: Nginx, ids: []string{unreachable},
			text: `2024/05/01 10:00:00 [error] 12#12: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, upstream: "https://10.0.0.9:443/"`},
		{name: "inbound: no client certificate", system: Nginx, ids: []string{inCCMissing},
			text: `2024/05/01 10:00:00 [info] 12#12: *1 client sent no required SSL certificate while reading client request headers, client: 10.1.1.1, server: api.example.com, request: "GET / HTTP/1.1", host: "api.example.com"`,
			next: "--client-cert CLIENT.pem --client-key CLIENT.key api.example.com:PORT"},
		{name: "inbound: expired client certificate", system: Nginx, ids: []string{inCCExpired},
			text: `2024/05/01 10:00:00 [info] 12#12: *1 client SSL certificate verify error: (10:certificate has expired) while reading client request headers, client: 10.1.1.1, server: api.example.com`},
		{name: "inbound: untrusted client certificate", system: Nginx, ids: []string{inCCUntrusted, inStale},
			text: `2024/05/01 10:00:00 [info] 12#12: *1 client SSL certificate verify error: (20:unable to get local issuer certificate) while reading client request headers, client: 10.1.1.1, server: api.example.com`},
		{name: "inbound: the 400 page", system: Nginx, ids: []string{inCCUntrusted, inCCExpired, inStale, ccRejected, ccExpired},
			text: `<html>
<head><title>400 The SSL certificate error</title></head>
<body>
<center><h1>400 Bad Request</h1></center>
<center>The SSL certificate error</center>
<hr><center>nginx</center>
</body>
</html>`},
		{name: "inbound: no shared cipher", system: Nginx, ids: []string{inCipher},
			text: `2024/05/01 10:00:00 [info] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A0000C1:SSL routines::no shared cipher) while SSL handshaking, client: 10.1.1.1, server: 0.0.0.0:443`,
			next: "--scan"},
		{name: "inbound: unsupported protocol", system: Nginx, ids: []string{inProtocol},
			text: `2024/05/01 10:00:00 [info] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A000102:SSL routines::unsupported protocol) while SSL handshaking, client: 10.1.1.1, server: 0.0.0.0:443`},
		{name: "inbound: the client refused the certificate", system: Nginx, ids: []string{inRejectedByCli},
			text: `2024/05/01 10:00:00 [info] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A000418:SSL routines::tlsv1 alert unknown ca:SSL alert number 48) while SSL handshaking, client: 10.1.1.1, server: 0.0.0.0:443`,
			next: "--truststore CLIENT_TRUSTSTORE.pem"},
		{name: "inbound: no certificate for the name", system: Nginx, ids: []string{inSNI},
			text: `2024/05/01 10:00:00 [error] 12#12: *1 no "ssl_certificate" is defined in server listening on SSL port while SSL handshaking, client: 10.1.1.1, server: 0.0.0.0:443`},
		{name: "configuration refused", system: Nginx, ids: []string{unreachable},
			text: `nginx: [emerg] no "ssl_certificate" is defined for the "listen ... ssl" directive in /etc/nginx/conf.d/api.conf:3`},
		{name: "502", system: Nginx,
			ids:  []string{protocol, cipher, sniRequired, sniDefault, incomplete, wrongInter, missingAnchor, emptyStore, hostname, expired, notYetValid, insecure, ccMissing, ccIssuer, ccRejected, ccExpired, ccKey, unreachable, notTLS, misordered, unclassified},
			text: "<html>\n<head><title>502 Bad Gateway</title></head>\n<hr><center>nginx/1.22.1</center>"},
	})
}
