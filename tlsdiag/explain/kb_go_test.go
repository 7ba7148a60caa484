package explain

import "testing"

func TestGo(t *testing.T) {
	runCases(t, []explainCase{
		{name: "unknown authority", system: Go, ids: []string{missingAnchor, incomplete, wrongInter, emptyStore},
			text: `Get "https://backend.test:8443/": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
			next: "tlsgate doctor --truststore TRUSTSTORE.pem backend.test:8443"},
		{name: "a wrong intermediate", system: Go, ids: []string{wrongInter, missingAnchor},
			text: `x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "Lab Intermediate CA")`},
		{name: "SHA-1 inside the unknown authority", system: Go, ids: []string{insecure},
			text: `x509: certificate signed by unknown authority (possibly because of "x509: cannot verify signature: insecure algorithm SHA1-RSA" while trying to verify candidate authority certificate "Lab Legacy Root CA")`},
		{name: "names", system: Go, ids: []string{hostname},
			text: `Get "https://backend.test:8443/": tls: failed to verify certificate: x509: certificate is valid for other.test, not backend.test`,
			next: "backend.test:8443"},
		{name: "an address", system: Go, ids: []string{hostname, sniDefault},
			text: `Get "https://10.0.0.9/": tls: failed to verify certificate: x509: cannot validate certificate for 10.0.0.9 because it doesn't contain any IP SANs`,
			next: "10.0.0.9:443"},
		{name: "expired", system: Go, ids: []string{expired},
			text: "x509: certificate has expired or is not yet valid: current time 2026-11-22T16:53:23Z is after 2026-10-23T16:51:51Z"},
		{name: "not yet valid", system: Go, ids: []string{notYetValid},
			text: "x509: certificate has expired or is not yet valid: current time 2026-11-22T16:53:23Z is before 2026-12-22T16:51:51Z"},
		{name: "alert", system: Go, ids: []string{ccRejected, ccIssuer},
			text: `Get "https://backend.test:8443/": remote error: tls: unknown certificate authority`},
		{name: "server log of the same alert", system: Go, ids: []string{inRejectedByCli},
			text: "2024/05/01 10:00:00 http: TLS handshake error from 127.0.0.1:51514: remote error: tls: unknown certificate authority"},
		{name: "server log, client certificate untrusted", system: Go, ids: []string{inCCUntrusted, inStale},
			text: "2024/05/01 10:00:00 http: TLS handshake error from 127.0.0.1:51514: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "plain HTTP", system: Go, ids: []string{notTLS},
			text: `Get "https://backend.test:8080/": http: server gave HTTP response to HTTPS client`},
		{name: "first record", system: Go, ids: []string{notTLS}, text: "tls: first record does not look like a TLS handshake"},
		{name: "refused", system: Go, ids: []string{unreachable},
			text: `Get "https://backend.test:8443/": dial tcp 127.0.0.1:8443: connect: connection refused`,
			next: "tlsgate doctor --connect 127.0.0.1:8443 backend.test:8443"},
		{name: "EOF", system: Go, ids: []string{protocol, cipher, sniRequired, ccMissing, ccIssuer, ccRejected, ccExpired, notTLS},
			text: `Post "https://backend.test:8443/api": EOF`},
		{name: "key", system: Go, ids: []string{ccKey}, text: "tls: private key does not match public key"},
		{name: "SHA-1", system: Go, ids: []string{insecure},
			text: "x509: cannot verify signature: insecure algorithm SHA1-RSA (temporarily override with GODEBUG=x509sha1=1)"},
	})
}
