package explain

// nginxTable holds nginx's error log (src/event/ngx_event_openssl.c, src/http/ngx_http_request.c,
// src/http/ngx_http_upstream.c) and its error pages. nginx is the server towards its clients
// ("while SSL handshaking, client: ...": the inbound readings) and a client towards its
// upstreams ("... to upstream": the outbound readings, for a client that sends no
// server_name unless proxy_ssl_server_name is on).
func nginxTable() []entry {
	const sslErr = `failed \(SSL: error:[0-9A-Fa-f]+:SSL routines:[^:]*:`
	const toUpstream = `[^)]*\) while [^,]*upstream`
	const fromClient = `[^)]*\) while (?:SSL handshaking|reading client request)`
	upstreamVerify := func(e verifyError, vd verdict) verdict {
		switch e.name {
		case "HOSTNAME_MISMATCH", "IP_ADDRESS_MISMATCH":
			return vd.with(med(sniDefault))
		case "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN":
			return vd.with(lo(sniDefault))
		}
		return vd
	}
	t := []entry{
		{name: "upstream-name", expr: `upstream SSL certificate does not match "[^"]*"`,
			meaning: "The upstream's certificate does not name the host nginx verifies (proxy_ssl_name).",
			v: v(hostnameNoSNI.check+" nginx sends no server_name to upstreams unless proxy_ssl_server_name is on.",
				hi(hostname), med(sniDefault)),
			example: `2024/05/01 10:00:00 [error] 12#12: *1 upstream SSL certificate does not match "backend.test" while SSL handshaking to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:8443/", host: "localhost:8080"`},
		{name: "upstream-closed", expr: `peer closed connection in SSL handshake.* while SSL handshaking to upstream`,
			meaning: "The upstream closed the connection during the handshake without an alert.",
			v:       closedNoSNI.checked(checkClosed + " nginx sends no server_name to upstreams unless proxy_ssl_server_name is on."),
			example: `2024/05/01 10:00:00 [error] 12#12: *1 peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:8443/"`},
		{name: "client-closed", expr: `(?:peer closed connection in SSL handshake|client closed connection).* while SSL handshaking, client:`,
			meaning: "The client closed the connection during the handshake without an alert: it refused nginx's certificate or offer without saying so.",
			v:       v(confirm[inRejectedByCli], med(inRejectedByCli, inProtocol), lo(inCipher, inSNI)),
			example: `2024/05/01 10:00:00 [info] 12#12: *1 peer closed connection in SSL handshake while SSL handshaking, client: 127.0.0.1, server: 0.0.0.0:8443`},
		{name: "client-left", expr: `client closed connection while waiting for request`,
			meaning: "The client completed the handshake and closed without a request: a TLS 1.3 client that refuses the server's certificate does so.",
			v:       v(confirm[inRejectedByCli], med(inRejectedByCli)),
			example: `2024/05/01 10:00:00 [info] 12#12: *1 client closed connection while waiting for request, client: 127.0.0.1, server: 0.0.0.0:8443`},
		{name: "handshake-rejected", expr: `handshake rejected while SSL handshaking`,
			meaning: "nginx rejected the handshake (ssl_reject_handshake): the client's server_name, or the lack of one, matches no server block that serves TLS.",
			v:       v(confirm[inSNI], hi(inSNI)),
			example: `2024/05/01 10:00:00 [info] 12#12: *1 handshake rejected while SSL handshaking, client: 127.0.0.1, server: 0.0.0.0:8443`},
		{name: "upstream-reset", expr: `\(104: Connection reset by peer\) while (?:connecting to|SSL handshaking to|reading response header from) upstream`,
			meaning: "The upstream reset the connection: during the handshake, or right after it when it refuses nginx's client certificate (TLS 1.3).",
			v:       closedNoSNI.checked(checkClosed + " nginx sends no server_name to upstreams unless proxy_ssl_server_name is on."),
			example: `2024/05/01 10:00:00 [error] 12#12: *1 connect() failed (104: Connection reset by peer) while connecting to upstream, client: 127.0.0.1, upstream: "https://127.0.0.1:8443/"`},
		{name: "page-bad-gateway", expr: `<(?:title|h1)>502 Bad Gateway</`,
			meaning: "nginx could not get an answer from its upstream: refused, closed, or a failed TLS handshake; its error log says which.",
			v:       anyTLS.checked("nginx answers 502 to every upstream failure: read its error log at that time (the line with 'upstream') and paste it.").with(med(unreachable)),
			example: "<head><title>502 Bad Gateway</title></head>"},
		{name: "page-gateway-timeout", expr: `<(?:title|h1)>504 Gateway Time-out</`,
			meaning: "nginx's upstream did not answer in time.", v: timeoutOnly,
			example: "<head><title>504 Gateway Time-out</title></head>"},
		{name: "upstream-refused", expr: `connect\(\) failed \(111: Connection refused\) while connecting to upstream`,
			meaning: "The upstream refused the TCP connection.", v: unreachableOnly,
			example: `2024/05/01 10:00:00 [error] 12#12: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:8443/"`},
		{name: "upstream-unreachable", expr: `connect\(\) failed \((?:113: No route to host|101: Network is unreachable)\) while connecting to upstream`,
			meaning: "There is no route to the upstream.", v: unreachableOnly,
			example: `2024/05/01 10:00:00 [error] 12#12: *1 connect() failed (113: No route to host) while connecting to upstream, client: 127.0.0.1`},
		{name: "upstream-resolve", expr: `could not be resolved \(\d+: [^)]*\)|no resolver defined to resolve`,
			meaning: "nginx could not resolve the upstream's host name.", v: unreachableOnly,
			example: `2024/05/01 10:00:00 [error] 12#12: *1 backend.invalid could not be resolved (3: Host not found), client: 127.0.0.1`},
		{name: "upstream-timeout", expr: `upstream timed out \(110: Connection timed out\) while (?:connecting to upstream|SSL handshaking to upstream)`,
			meaning: "The upstream did not accept the connection, or complete the handshake, in time.", v: timeoutOnly,
			example: `2024/05/01 10:00:00 [error] 12#12: *1 upstream timed out (110: Connection timed out) while SSL handshaking to upstream, client: 127.0.0.1`},
		{name: "no-client-cert", expr: `client sent no required SSL certificate`,
			meaning: "nginx requires a client certificate (ssl_verify_client on) and the client sent none.", v: v(confirm[inCCMissing], hi(inCCMissing)),
			example: `2024/05/01 10:00:00 [info] 12#12: *1 client sent no required SSL certificate while reading client request headers, client: 127.0.0.1, server: api.test, request: "GET / HTTP/1.1", host: "api.test:8443"`},
		{name: "page-no-cert", expr: `No required SSL certificate was sent`,
			meaning: "nginx answered 400: it requires a client certificate and the client sent none.", v: noClientCertPage,
			example: "<head><title>400 No required SSL certificate was sent</title></head>"},
		{name: "page-cert-error", expr: `The SSL certificate error`,
			meaning: "nginx answered 400: the client's certificate did not verify (expired, or not issued by a CA of ssl_client_certificate).",
			v:       inboundClientCertError,
			example: "<head><title>400 The SSL certificate error</title></head>"},
		{name: "no-certificate-runtime", expr: `no "ssl_certificate" is defined in server listening on SSL port`,
			meaning: "The server block chosen for the client's server_name (or the default one, without server_name) has no certificate.",
			v:       v(confirm[inSNI], hi(inSNI)),
			example: `2024/05/01 10:00:00 [error] 12#12: *1 no "ssl_certificate" is defined in server listening on SSL port while SSL handshaking, client: 127.0.0.1, server: 0.0.0.0:8443`},
		{name: "no-certificate-config", expr: `no "ssl_certificate" is defined for the "(?:listen \.\.\. ssl|ssl)" directive`,
			meaning: "nginx refuses its configuration: a TLS listener has no certificate, so nginx does not start or reload.",
			v:       unreachableOnly.checked("Fix the configuration (nginx -t) and reload: until then nothing listens, or the old configuration still serves. " + checkNetwork),
			example: `nginx: [emerg] no "ssl_certificate" is defined for the "listen ... ssl" directive in /etc/nginx/conf.d/api.conf:3`},
	}
	t = append(t, verifyEntries("upstream-verify.", false,
		func(e verifyError) string { return `upstream SSL certificate verify error: \(\d+:` + e.expr() + `\)` },
		func(e verifyError) string {
			return "2024/05/01 10:00:00 [error] 12#12: *1 upstream SSL certificate verify error: (0:" + e.exampleText() + `) while SSL handshaking to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:8443/"`
		}, upstreamVerify)...)
	t = append(t, verifyEntries("client-verify.", true,
		func(e verifyError) string { return `client SSL certificate verify error: \(\d+:` + e.expr() + `\)` },
		func(e verifyError) string {
			return "2024/05/01 10:00:00 [info] 12#12: *1 client SSL certificate verify error: (0:" + e.exampleText() + `) while reading client request headers, client: 127.0.0.1, server: api.test`
		}, nil)...)
	t = append(t, alertEntries("upstream-alert.", func(a tlsAlert) string { return sslErr + a.openssl + toUpstream },
		func(a tlsAlert) verdict { return a.received(proxyClient) }, tlsAlert.meaningReceived,
		func(a tlsAlert) string {
			return "2024/05/01 10:00:00 [error] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A000000:SSL routines::" + a.opensslText() +
				":SSL alert number " + itoa(a.code) + `) while SSL handshaking to upstream, client: 127.0.0.1, upstream: "https://127.0.0.1:8443/"`
		})...)
	t = append(t, alertEntries("client-alert.", func(a tlsAlert) string { return sslErr + a.openssl + fromClient },
		tlsAlert.sent, tlsAlert.meaningSent,
		func(a tlsAlert) string {
			return "2024/05/01 10:00:00 [info] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A000000:SSL routines::" + a.opensslText() +
				":SSL alert number " + itoa(a.code) + ") while SSL handshaking, client: 127.0.0.1, server: 0.0.0.0:8443"
		})...)
	for _, r := range sslReasons {
		t = append(t, entry{name: "upstream-ssl." + r.slug(), expr: sslErr + r.text + toUpstream, meaning: r.meaning, v: r.out,
			example: "2024/05/01 10:00:00 [error] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A000000:SSL routines::" + r.text + `) while SSL handshaking to upstream, client: 127.0.0.1`})
		if len(r.in.causes) > 0 {
			t = append(t, entry{name: "client-ssl." + r.slug(), expr: sslErr + r.text + fromClient, meaning: r.meaning, v: r.in,
				example: "2024/05/01 10:00:00 [info] 12#12: *1 SSL_do_handshake() failed (SSL: error:0A000000:SSL routines::" + r.text + ") while SSL handshaking, client: 127.0.0.1, server: 0.0.0.0:8443"})
		}
	}
	t = append(t, entry{name: "frame", expr: `^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#\d+:|<center>nginx(?:/[\d.]+)?</center>|^nginx: \[\w+\]`,
		meaning: "The text is nginx's.", role: roleFrame, example: "<hr><center>nginx/1.22.1</center>"})
	return t
}
