package explain

// pythonTable holds the errors of CPython's ssl module (Modules/_ssl.c: "[SSL: REASON]
// reason (_ssl.c:NNNN)", the verify message after "certificate verify failed:"), its socket
// errors, and the wrappers of urllib3 and requests.
func pythonTable() []entry {
	t := []entry{
		{name: "verify-failed", expr: `\[SSL: CERTIFICATE_VERIFY_FAILED\]`,
			meaning: "Python refused the server's certificate; the text after 'certificate verify failed:' says why.", v: verifyFailed,
			example: "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)"},
		{name: "key-mismatch", expr: `\[X509: KEY_VALUES_MISMATCH\]`,
			meaning: "The client's private key does not belong to its certificate.", v: keyMismatch,
			example: "ssl.SSLError: [X509: KEY_VALUES_MISMATCH] key values mismatch (_ssl.c:3926)"},
		{name: "no-ca-certificates", expr: `\[X509: NO_CERTIFICATE_OR_CRL_FOUND\]`,
			meaning: "The CA file given to Python holds no certificate.", v: truststoreEmpty,
			example: "ssl.SSLError: [X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4154)"},
		{name: "pem-lib", expr: `\[SSL\] PEM lib`,
			meaning: "Python could not load the client's certificate or key.", v: clientCredUnusable,
			example: "ssl.SSLError: [SSL] PEM lib (_ssl.c:3926)"},
		{name: "eof", expr: `EOF occurred in violation of protocol`,
			meaning: "The server closed the connection during the handshake without an alert.", v: closed,
			example: "ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:1006)"},
		{name: "reset", expr: `\[Errno 104\] Connection reset by peer`,
			meaning: "The server reset the connection during the handshake without an alert.", v: closed,
			example: "ConnectionResetError: [Errno 104] Connection reset by peer"},
		{name: "refused", expr: `\[Errno 111\] Connection refused|ConnectionRefusedError`,
			meaning: "The TCP connection was refused: nothing listens on that port, or a firewall rejects it.", v: unreachableOnly,
			example: "ConnectionRefusedError: [Errno 111] Connection refused"},
		{name: "resolve", expr: `\[Errno -[235]\] (?:Name or service not known|Temporary failure in name resolution|No address associated with hostname)|NameResolutionError|nodename nor servname provided`,
			meaning: "The host name does not resolve.", v: unreachableOnly,
			example: "socket.gaierror: [Errno -2] Name or service not known"},
		{name: "no-route", expr: `\[Errno 11[03]\] (?:No route to host|Connection timed out)`,
			meaning: "The TCP connection failed: no route, or no answer in time.", v: connectFailed,
			example: "OSError: [Errno 113] No route to host"},
		{name: "handshake-timeout", expr: `_ssl\.c:\d+: The handshake operation timed out|The read operation timed out`,
			meaning: "The server accepted the connection but did not complete the handshake in time.", v: timeoutOnly,
			example: "TimeoutError: _ssl.c:989: The handshake operation timed out"},
		{name: "timeout", expr: `(?:socket\.timeout|TimeoutError): timed out|ConnectTimeoutError\(|ConnectTimeout\(`,
			meaning: "The connection or the handshake did not complete in time.", v: timeoutOnly,
			example: "TimeoutError: timed out"},
	}
	t = append(t, verifyEntries("verify.", false,
		func(e verifyError) string { return `certificate verify failed: ` + e.expr() },
		func(e verifyError) string {
			return "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: " + e.exampleText() + " (_ssl.c:1006)"
		}, nil)...)
	for _, r := range sslReasons {
		if r.text == "certificate verify failed" {
			continue
		}
		t = append(t, entry{name: "ssl." + r.slug(), expr: `\[SSL: ` + r.constName() + `\]`,
			meaning: r.meaning, v: r.out, example: "ssl.SSLError: [SSL: " + r.constName() + "] " + r.text + " (_ssl.c:1006)"})
	}
	t = append(t, alertEntries("alert.", func(a tlsAlert) string { return `\[SSL: ` + a.constName() + `\]` },
		func(a tlsAlert) verdict { return a.received(opensslClient) }, tlsAlert.meaningReceived,
		func(a tlsAlert) string {
			return "ssl.SSLError: [SSL: " + a.constName() + "] " + a.opensslText() + " (_ssl.c:1006)"
		})...)
	t = append(t, entry{name: "after-handshake", expr: `self\._sslobj\.(?:read|write)\(`,
		meaning: "The failure came after the handshake, on the first read or write.", v: afterHandshake, role: roleHint,
		example: "    return self._sslobj.read(len)"})
	t = append(t, entry{name: "frame", expr: `^Traceback \(most recent call last\)|^\s*File ".*", line \d+|\bssl\.SSL\w*Error\b|\burllib3\.|\brequests\.exceptions\.|HTTPSConnectionPool\(|\(_ssl\.c:\d+\)`,
		meaning: "The text is Python's.", role: roleFrame, example: "Traceback (most recent call last):"})
	return t
}
