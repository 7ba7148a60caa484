package explain

// nodeTable holds Node.js's errors (lib/_tls_wrap.js, lib/net.js, the X509 and SSL error
// codes of src/crypto): Node prints OpenSSL's texts and adds its codes.
func nodeTable() []entry {
	t := []entry{
		{name: "altname", expr: `ERR_TLS_CERT_ALTNAME_INVALID|Hostname/IP does not match certificate's altnames`,
			meaning: "No SAN of the server's certificate matches the host or address Node connected to.", v: hostnameNoSNI,
			example: "  code: 'ERR_TLS_CERT_ALTNAME_INVALID'"},
		{name: "altname-host", expr: `Host: \S+ is not in the cert's altnames`,
			meaning: "No SAN of the server's certificate matches the host name Node connected to.", v: hostnameOnly,
			example: "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: backend.test. is not in the cert's altnames: DNS:other.test"},
		{name: "altname-ip", expr: `IP: \S+ is not in the cert's list`,
			meaning: "No IP SAN of the server's certificate matches the address Node connected to (and Node sends no server_name to an address).", v: hostnameNoSNI,
			example: "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: "},
		{name: "aborted", expr: `AbortError: The operation was aborted|code: '?ABORT_ERR`,
			meaning: "The client aborted the request before an answer came: its own timer, most often.", v: timeoutOnly,
			example: "AbortError: The operation was aborted"},
		{name: "refused", expr: `connect ECONNREFUSED`,
			meaning: "The TCP connection was refused: nothing listens on that port, or a firewall rejects it.", v: unreachableOnly,
			example: "Error: connect ECONNREFUSED 127.0.0.1:8443"},
		{name: "not-found", expr: `getaddrinfo (?:ENOTFOUND|EAI_AGAIN)`,
			meaning: "The host name does not resolve.", v: unreachableOnly,
			example: "Error: getaddrinfo ENOTFOUND backend.invalid"},
		{name: "unreachable", expr: `connect (?:EHOSTUNREACH|ENETUNREACH)`,
			meaning: "There is no route to the host.", v: unreachableOnly,
			example: "Error: connect EHOSTUNREACH 10.0.0.9:443"},
		{name: "timeout", expr: `connect ETIMEDOUT|code: 'ETIMEDOUT'`,
			meaning: "The TCP connection was not established in time: a filtering firewall or a host that is down.", v: timeoutOnly,
			example: "Error: connect ETIMEDOUT 10.0.0.9:443"},
		{name: "hang-up", expr: `socket hang up|read ECONNRESET|code: 'ECONNRESET'|Client network socket disconnected before secure TLS connection was established`,
			meaning: "The server closed or reset the connection during the handshake without an alert.", v: closed,
			example: "Error: Client network socket disconnected before secure TLS connection was established"},
		{name: "key-mismatch", expr: `ERR_OSSL_X509_KEY_VALUES_MISMATCH`,
			meaning: "The client's private key does not belong to its certificate.", v: keyMismatch,
			example: "code: 'ERR_OSSL_X509_KEY_VALUES_MISMATCH'"},
		{name: "pem", expr: `ERR_OSSL_PEM_NO_START_LINE|ERR_OSSL_UNSUPPORTED`,
			meaning: "The client's certificate or key is not in a format Node reads.", v: clientCredUnusable,
			example: "code: 'ERR_OSSL_PEM_NO_START_LINE'"},
	}
	t = append(t, verifyEntries("verify.", false,
		func(e verifyError) string { return `\b` + e.name + `\b` },
		func(e verifyError) string { return "  code: '" + e.name + "'" }, nil)...)
	for _, r := range sslReasons {
		t = append(t, entry{name: "ssl." + r.slug(), expr: `ERR_SSL_` + r.constName() + `\b`,
			meaning: r.meaning, v: r.out, example: "  code: 'ERR_SSL_" + r.constName() + "'"})
	}
	t = append(t, alertEntries("alert.", func(a tlsAlert) string { return `ERR_SSL_` + a.constName() + `\b` },
		func(a tlsAlert) verdict { return a.received(opensslClient) }, tlsAlert.meaningReceived,
		func(a tlsAlert) string { return "  code: 'ERR_SSL_" + a.constName() + "'" })...)
	t = append(t, entry{name: "frame", expr: `\(node:|node:internal/|node:_tls_wrap|at TLSSocket\.|TCPConnectWrap|GetAddrInfoReqWrap|^\s*code: '[A-Z_0-9]+',?$`,
		meaning: "The text is Node.js's.", role: roleFrame, example: "    at TLSSocket.onConnectSecure (node:_tls_wrap:1659:34)"})
	return t
}
