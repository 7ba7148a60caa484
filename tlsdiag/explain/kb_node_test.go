package explain

import "testing"

func TestNode(t *testing.T) {
	runCases(t, []explainCase{
		{name: "first certificate", system: Node, ids: []string{incomplete, missingAnchor, wrongInter, emptyStore},
			text: `Error: unable to verify the first certificate
    at TLSSocket.onConnectSecure (node:_tls_wrap:1659:34)
    at TLSSocket.emit (node:events:519:28)
    at TLSSocket._finishInit (node:_tls_wrap:1070:8) {
  code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
}`},
		{name: "altname by name", system: Node, ids: []string{hostname},
			text: `Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: backend.test. is not in the cert's altnames: DNS:other.test
  reason: "Host: backend.test. is not in the cert's altnames: DNS:other.test",
  host: 'backend.test',
  code: 'ERR_TLS_CERT_ALTNAME_INVALID'`, next: "backend.test:PORT"},
		{name: "altname by address", system: Node, ids: []string{hostname, sniDefault},
			text: "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: "},
		{name: "self-signed in chain", system: Node, ids: []string{missingAnchor, emptyStore},
			text: "Error: self-signed certificate in certificate chain\n  code: 'SELF_SIGNED_CERT_IN_CHAIN'"},
		{name: "depth zero", system: Node, ids: []string{missingAnchor, sniDefault, emptyStore},
			text: "Error: self-signed certificate\n  code: 'DEPTH_ZERO_SELF_SIGNED_CERT'"},
		{name: "expired", system: Node, ids: []string{expired}, text: "Error: certificate has expired\n  code: 'CERT_HAS_EXPIRED'"},
		{name: "wrong version", system: Node, ids: []string{notTLS},
			text: `Error: write EPROTO 80EC6940C97F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:

    at WriteWrap.onWriteComplete [as oncomplete] (node:internal/stream_base_commons:95:16) {
  errno: -71,
  code: 'EPROTO',
  syscall: 'write'
}`},
		{name: "protocol version code", system: Node, ids: []string{protocol}, text: "  code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'"},
		{name: "handshake failure code", system: Node, ids: []string{protocol, cipher, ccMissing, sniRequired},
			text: "  code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE'"},
		{name: "refused", system: Node, ids: []string{unreachable},
			text: "Error: connect ECONNREFUSED 127.0.0.1:8443\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {", next: "127.0.0.1:8443"},
		{name: "not found", system: Node, ids: []string{unreachable}, text: "Error: getaddrinfo ENOTFOUND backend.invalid", next: "backend.invalid:PORT"},
		{name: "hang up", system: Node, ids: []string{protocol, cipher, sniRequired, ccMissing, ccIssuer, ccRejected, ccExpired, notTLS},
			text: "Error: socket hang up\n  code: 'ECONNRESET'"},
	})
}
