package explain

import "testing"

func TestEnvoy(t *testing.T) {
	runCases(t, []explainCase{
		{name: "verify failed", system: Envoy,
			ids:  []string{missingAnchor, incomplete, wrongInter, hostname, expired, notYetValid, insecure, emptyStore, sniDefault},
			text: "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED"},
		{name: "verify failed, with the validator's reason", system: Envoy, ids: []string{missingAnchor, incomplete, wrongInter, emptyStore},
			text: `[2025-03-05 07:22:38.631][15][debug][connection] [source/common/tls/cert_validator/default_validator.cc:321] verify cert failed: X509_verify_cert: certificate verification error at depth 0: unable to get local issuer certificate
[2025-03-05 07:22:38.631][15][debug][connection] [source/common/tls/ssl_socket.cc:251] [Tags: "ConnectionId":"0"] remote address:172.20.0.5:50218,TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end`},
		{name: "SAN matcher", system: Envoy, ids: []string{hostname, sniDefault},
			text: "verify cert failed: SAN matcher, certificate SANs are [other.test]\nTLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end"},
		{name: "not TLS", system: Envoy, ids: []string{notTLS},
			text: "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end"},
		{name: "handshake failure", system: Envoy, ids: []string{protocol, cipher, ccMissing, sniRequired},
			text: "transport failure reason: TLS_error:|268436496:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE:TLS_error_end"},
		{name: "unknown CA: the upstream refuses Envoy's certificate", system: Envoy, ids: []string{ccRejected, ccIssuer},
			text: "remote address:172.20.0.4:443,TLS_error:|268436504:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA:TLS_error_end"},
		{name: "certificate required, BoringSSL's name", system: Envoy, ids: []string{ccMissing},
			text: "TLS_error:|268436572:SSL routines:OPENSSL_internal:TLSV1_CERTIFICATE_REQUIRED:TLS_error_end"},
		{name: "refused", system: Envoy, ids: []string{unreachable},
			text: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: 111"},
		{name: "timeout", system: Envoy, ids: []string{timeout},
			text: "upstream connect error or disconnect/reset before headers. reset reason: connection timeout"},
		{name: "no healthy upstream", system: Envoy, ids: []string{unreachable, timeout, notTLS}, text: "no healthy upstream"},
		{name: "access log UF", system: Envoy,
			ids:  []string{unreachable, protocol, cipher, sniRequired, sniDefault, incomplete, wrongInter, missingAnchor, emptyStore, hostname, expired, notYetValid, insecure, ccMissing, ccIssuer, ccRejected, ccExpired, ccKey, timeout, notTLS, misordered, unclassified},
			text: `[2024-05-01T10:00:00.000Z] "GET / HTTP/1.1" 503 UF 0 91 5 - "-" "curl/8.5.0" "3c7d" "api.test" "10.0.0.9:443"`},
	})
}
