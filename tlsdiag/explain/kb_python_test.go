package explain

import "testing"

func TestPython(t *testing.T) {
	runCases(t, []explainCase{
		{name: "requests", system: Python, ids: []string{missingAnchor, incomplete, wrongInter, emptyStore},
			text: `Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/urllib3/connectionpool.py", line 703, in urlopen
ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)

During handling of the above exception, another exception occurred:

requests.exceptions.SSLError: HTTPSConnectionPool(host='backend.test', port=8443): Max retries exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')))`,
			next: "backend.test:8443"},
		{name: "hostname", system: Python, ids: []string{hostname},
			text: "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'backend.test'. (_ssl.c:1006)",
			next: "backend.test:PORT"},
		{name: "address", system: Python, ids: []string{hostname, sniDefault},
			text: "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)"},
		{name: "wrong version", system: Python, ids: []string{notTLS}, text: "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"},
		{name: "protocol version", system: Python, ids: []string{protocol},
			text: "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)"},
		{name: "handshake failure", system: Python, ids: []string{protocol, cipher, ccMissing, sniRequired},
			text: "ssl.SSLError: [SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)"},
		{name: "unsupported protocol", system: Python, ids: []string{protocol},
			text: "ssl.SSLError: [SSL: UNSUPPORTED_PROTOCOL] unsupported protocol (_ssl.c:1006)"},
		{name: "EOF after the handshake", system: Python, ids: []string{ccMissing, ccIssuer, ccRejected, ccExpired},
			text: `  File "/usr/lib/python3.11/ssl.py", line 1169, in read
    return self._sslobj.read(len)
ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)`},
		{name: "EOF during the handshake", system: Python, ids: []string{protocol, cipher, sniRequired, ccMissing, ccIssuer, ccRejected, ccExpired, notTLS},
			text: `    self._sslobj.do_handshake()
ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:1006)`},
		{name: "refused", system: Python, ids: []string{unreachable}, text: "ConnectionRefusedError: [Errno 111] Connection refused"},
		{name: "handshake timeout", system: Python, ids: []string{timeout}, text: "TimeoutError: _ssl.c:989: The handshake operation timed out"},
		{name: "key", system: Python, ids: []string{ccKey}, text: "ssl.SSLError: [X509: KEY_VALUES_MISMATCH] key values mismatch (_ssl.c:3926)"},
	})
}
