package explain

// apigeeTable holds Apigee Edge's fault codes and fault strings (the fault JSON, the
// X-Apigee-fault-code header, API Monitoring, the Router's access log) and the Message
// Processor's log lines. The Message Processor is a Java client that often sends no
// server_name; the Java table reads the exception the fault string carries.
func apigeeTable() []entry {
	const checkCause = "Find the underlying error: error.cause in the Trace, the faultstring's text after " +
		"'SSL Handshake failed', or the Message Processor's log, and paste it; or run the doctor against " +
		"the target server with the target's truststore and keystore."
	serviceUnavailable := anyTLS.checked("The backend refused the connection, or a TLS failure surfaced as " +
		"ServiceUnavailable (as 'Received fatal alert: bad_certificate' does). " + checkCause).with(hi(unreachable))
	return []entry{
		{name: "ssl-handshake-failed", expr: `messaging\.adaptors\.http\.flow\.SslHandshakeFailed`,
			meaning: "The Message Processor's TLS handshake with the backend failed (503).", v: anyTLS.checked(checkCause),
			example: `{"fault":{"faultstring":"SSL Handshake failed","detail":{"errorcode":"messaging.adaptors.http.flow.SslHandshakeFailed"}}}`},
		{name: "faultstring-handshake", expr: `"faultstring"\s*:\s*"SSL Handshake failed|^\s*(?:error\s*[:|]\s*)?SSL Handshake failed\b`,
			meaning: "The Message Processor's TLS handshake with the backend failed; the exception follows.", v: anyTLS.checked(checkCause),
			example: `"faultstring":"SSL Handshake failed javax.net.ssl.SSLException: unrecognised",`},
		{name: "service-unavailable", expr: `messaging\.adaptors\.http\.flow\.ServiceUnavailable|"faultstring"\s*:\s*"The Service is temporarily unavailable"`,
			meaning: "The Message Processor could not reach the backend, or its TLS handshake failed in a way reported as unavailability (503).",
			v:       serviceUnavailable,
			example: `{"fault":{"faultstring":"The Service is temporarily unavailable","detail":{"errorcode":"messaging.adaptors.http.flow.ServiceUnavailable"}}}`},
		{name: "gateway-timeout", expr: `messaging\.adaptors\.http\.flow\.GatewayTimeout|"faultstring"\s*:\s*"Gateway Timeout"`,
			meaning: "The backend did not answer the Message Processor in time (504).", v: timeoutOnly,
			example: `{"fault":{"faultstring":"Gateway Timeout","detail":{"errorcode":"messaging.adaptors.http.flow.GatewayTimeout"}}}`},
		{name: "no-active-targets", expr: `messaging\.adaptors\.http\.flow\.NoActiveTargets`,
			meaning: "Every target server of the load balancer is marked down.", v: v(checkNetwork, hi(unreachable), med(timeout)),
			example: `{"fault":{"faultstring":"The Service is temporarily unavailable","detail":{"errorcode":"messaging.adaptors.http.flow.NoActiveTargets"}}}`},
		{name: "mp-handshake-failed", expr: `HTTPClient\$Context\.handshakeFailed\(\)|handshake failed, message:`,
			meaning: "The Message Processor logged a failed handshake with the backend; the message follows.", v: anyTLS.checked(checkCause),
			example: "NIOThread@1 ERROR HTTP.CLIENT - HTTPClient$Context.handshakeFailed() : SSLClientChannel[Connected: Remote:10.0.0.9:443 Local:192.168.0.5:55102]@64596 useCount=1 bytesRead=0 bytesWritten=0 age=233ms lastIO=233ms isOpen=true handshake failed, message: unrecognised"},
		{name: "fault-source-target", expr: `X-Apigee-fault-source\W+target\b`,
			meaning: "The fault came from the target: the Message Processor was the client.", v: clientSide, role: roleHint,
			example: "X-Apigee-fault-source | target |"},
		{name: "frame", expr: `X-Apigee-|messaging\.adaptors\.|com\.apigee\.|NIOThread@\d+|\bapigee\b`,
			meaning: "The text is Apigee Edge's.", role: roleFrame, example: "X-Apigee-Message-ID: 1234"},
	}
}
