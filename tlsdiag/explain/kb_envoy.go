package explain

// envoyTable holds Envoy's messages (source/common/tls, formerly
// source/extensions/transport_sockets/tls): the reset reasons of its 503 bodies, BoringSSL's
// reason names in "TLS_error:|268435581:SSL routines:OPENSSL_internal:REASON", its
// certificate validator's debug lines, and the response flags of its access log.
func envoyTable() []entry {
	const boring = `OPENSSL_internal:`
	t := []entry{
		{name: "reset-refused", expr: `transport failure reason: delayed connect error: (?:111|113|101)\b`,
			meaning: "Envoy could not connect to the upstream: refused or unroutable.", v: unreachableOnly,
			example: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: 111"},
		{name: "reset-timeout", expr: `reset reason: connection timeout`,
			meaning: "Envoy's connection to the upstream did not complete in time.", v: timeoutOnly,
			example: "upstream connect error or disconnect/reset before headers. reset reason: connection timeout"},
		{name: "reset-tls", expr: `transport failure reason: TLS[_ ]error`,
			meaning: "The TLS handshake with the upstream failed; the reason name follows.", v: anyTLS,
			example: "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: unrecognised"},
		{name: "reset-termination", expr: `reset reason: connection termination`,
			meaning: "The upstream closed the connection before answering.",
			v:       closedNoSNI.with(lo(ccRejected)).checked(checkClosed + " Envoy sends server_name only when the cluster sets sni or auto_sni."),
			example: "upstream connect error or disconnect/reset before headers. reset reason: connection termination"},
		{name: "reset", expr: `upstream connect error or disconnect/reset before headers`,
			meaning: "Envoy could not get an answer from the upstream; the reset reason says why.",
			v:       anyTLS.with(med(unreachable, timeout)),
			example: "upstream connect error or disconnect/reset before headers. reset reason: overflow"},
		{name: "san-matcher", expr: `verify cert failed: (?:SAN matcher|verify SAN list)`,
			meaning: "The upstream's certificate has no SAN that the cluster's match_typed_subject_alt_names accepts.",
			v: v(hostnameOnly.check+" Envoy sends server_name only when the cluster sets sni or auto_sni: without it the upstream may return its default certificate.",
				hi(hostname), med(sniDefault)),
			example: "verify cert failed: SAN matcher, certificate SANs are [other.test]"},
		{name: "no-healthy", expr: `no healthy upstream`,
			meaning: "Every host of the cluster is marked unhealthy (failed health checks or connections).",
			v:       v(checkNetwork, hi(unreachable), med(timeout), lo(notTLS)),
			example: "no healthy upstream"},
		{name: "flag-uf", expr: `" 503 UF\b|\bUF,URX\b|"response_flags":"UF`,
			meaning: "Envoy's access log: the connection to the upstream failed (UF).", v: anyTLS.with(hi(unreachable), med(timeout)),
			example: `[2024-05-01T10:00:00.000Z] "GET / HTTP/1.1" 503 UF 0 91 5 - "-" "curl/8.5.0" "3c7d" "api.test" "10.0.0.9:443"`},
		{name: "flag-uh", expr: `" 503 UH\b|"response_flags":"UH`,
			meaning: "Envoy's access log: no healthy upstream host (UH).", v: v(checkNetwork, hi(unreachable), med(timeout)),
			example: `[2024-05-01T10:00:00.000Z] "GET / HTTP/1.1" 503 UH 0 19 0 - "-" "curl/8.5.0" "3c7d" "api.test" "-"`},
		{name: "flag-ut", expr: `" 504 UT\b|"response_flags":"UT`,
			meaning: "Envoy's access log: the upstream request timed out (UT).", v: timeoutOnly,
			example: `[2024-05-01T10:00:00.000Z] "GET / HTTP/1.1" 504 UT 0 24 15000 - "-" "curl/8.5.0" "3c7d" "api.test" "10.0.0.9:443"`},
	}
	t = append(t, verifyEntries("verify.", false,
		func(e verifyError) string { return `certificate verification error at depth \d+: ` + e.expr() },
		func(e verifyError) string {
			return "verify cert failed: X509_verify_cert: certificate verification error at depth 0: " + e.exampleText()
		}, func(_ verifyError, vd verdict) verdict { return vd })...)
	for _, r := range sslReasons {
		t = append(t, entry{name: "ssl." + r.slug(), expr: boring + r.constName() + `\b`, meaning: r.meaning, v: r.out,
			example: "TLS_error:|268435456:SSL routines:" + boring + r.constName() + ":TLS_error_end"})
	}
	t = append(t, alertEntries("alert.", func(a tlsAlert) string { return boring + a.constExpr() + `\b` },
		func(a tlsAlert) verdict { return a.received(proxyClient) }, tlsAlert.meaningReceived,
		func(a tlsAlert) string {
			return "TLS_error:|268435456:SSL routines:" + boring + a.constName() + ":TLS_error_end"
		})...)
	t = append(t, entry{name: "frame", expr: `TLS_error_end|\[source/(?:common|extensions)/|envoy (?:connection|upstream|router|pool)\b|OPENSSL_internal:`,
		meaning: "The text is Envoy's.", role: roleFrame, example: "[source/common/tls/ssl_socket.cc:246]"})
	return t
}
