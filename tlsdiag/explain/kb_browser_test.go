package explain

import "testing"

func TestBrowser(t *testing.T) {
	runCases(t, []explainCase{
		{name: "authority", system: Browser, ids: []string{missingAnchor, incomplete, wrongInter}, text: "Your connection is not private\nNET::ERR_CERT_AUTHORITY_INVALID"},
		{name: "name", system: Browser, ids: []string{hostname}, text: "NET::ERR_CERT_COMMON_NAME_INVALID"},
		{name: "date", system: Browser, ids: []string{expired, notYetValid}, text: "NET::ERR_CERT_DATE_INVALID"},
		{name: "protocol error", system: Browser, ids: []string{notTLS, protocol, ccMissing, unclassified},
			text: "This site can't provide a secure connection\nbackend.test sent an invalid response.\nERR_SSL_PROTOCOL_ERROR"},
		{name: "version or cipher", system: Browser, ids: []string{protocol, cipher, sniRequired}, text: "ERR_SSL_VERSION_OR_CIPHER_MISMATCH"},
		{name: "client certificate", system: Browser, ids: []string{ccRejected, ccExpired, ccMissing}, text: "ERR_BAD_SSL_CLIENT_AUTH_CERT"},
		{name: "weak signature", system: Browser, ids: []string{insecure}, text: "NET::ERR_CERT_WEAK_SIGNATURE_ALGORITHM"},
		{name: "firefox domain", system: Browser, ids: []string{hostname}, text: "Error code: SSL_ERROR_BAD_CERT_DOMAIN"},
		{name: "firefox issuer", system: Browser, ids: []string{missingAnchor, incomplete, wrongInter}, text: "Error code: SEC_ERROR_UNKNOWN_ISSUER"},
		{name: "firefox expired", system: Browser, ids: []string{expired}, text: "Error code: SEC_ERROR_EXPIRED_CERTIFICATE"},
		{name: "firefox no cipher overlap", system: Browser, ids: []string{cipher, protocol}, text: "Error code: SSL_ERROR_NO_CYPHER_OVERLAP"},
	})
}
