// Package outbound opens TLS connections to backends as a target's SSLInfo configures them, and diagnoses every failure on the spot.
//
// A Transport is one target's http.RoundTripper: its own pool of kept-alive HTTP/1.1
// connections, each opened with the recording client of tlsdiag/probe (probe.Dial), so
// that a failed handshake leaves the same facts the doctor gathers for its as-configured
// attempt. An exchange runs on the caller's goroutine: the request written, the response
// header read within IOTimeout, the body streamed to the caller, and the connection back in
// the pool once the body is read to its end. A request sent on a kept-alive connection
// that the server closed before answering is sent again, once, on a new connection when
// its body allows. Requests for a protocol upgrade go through an http.Transport dialling
// the same way, whose 101 response carries the connection. Every failure to reach the backend is an *Error
// of one Kind (HandshakeFailed, Unreachable, Timeout) carrying the diagnosis engine's
// Report: findings named by the cause catalog, with evidence and the fix.
//
// # Diagnosis
//
// The failed handshake's own facts go through catalog.Engine() at once. Most causes are
// decided there: a chain or name the client refused, a client certificate refused, a dial
// error, a timeout, a reply that is not TLS. Some are not, and the report says so: a bare
// handshake_failure alert (no version, no suite, or SNI required?), a close after the
// ClientHello, an intermediate inferred missing, a certificate refused while no SNI was
// sent (the server's default certificate?), an alert no cause explains. Those get a
// follow-up: the full doctor (probe.Run, with the target's Expectations), run by the
// Diagnoser shared by every Transport:
//
//   - at most one follow-up per target (address and TLS configuration) and symptom at a
//     time: callers failing the same way while it runs wait for the same one;
//   - its report is kept for a short time (Diagnoser TTL, 10 s by default), and failures
//     in that time take it without probing: a burst of failing requests costs one probe;
//   - a caller waits for the follow-up at most Diagnoser Wait (5 s by default) and within
//     its own context; past that it gets the quick report, and the follow-up, bounded by
//     its own timeout, still fills the cache for the next failures;
//   - the cache holds at most a bounded number of entries, the oldest finished evicted
//     first; when every entry is a follow-up still running, no new one starts.
//
// The follow-up's report replaces the quick one when it finds an error; otherwise (the
// backend recovered, or failed differently) the quick report stands.
//
// # Edge semantics
//
// IgnoreValidationErrors without Enforce accepts any chain and any name (curl -k); the
// chain is still recorded, and when a handshake fails for another reason the chain and
// name findings are reported as warnings, never as the cause. Edge's quirk that a name
// mismatch behind SNI cannot be ignored is not reproduced. CommonName replaces the host
// as the name verified (the host is still sent in SNI): it matches, case-insensitively,
// the leaf's subject common name or one of its DNS names, exactly, or with WildcardMatch
// as a pattern whose leading "*." stands for one label. The chain is verified as usual.
//
// A server that completes the handshake, then refuses the client certificate, is a
// handshake failure too: a TLS 1.3 server's alert on the first read of a new connection,
// and nginx's "400 No required SSL certificate was sent" or "400 The SSL certificate
// error" page (ssl_verify_client on), both after a CertificateRequest.
//
// A Pool is Edge's LoadBalancer over target servers: round robin (or least connections),
// MaxFailures consecutive failures take a member out of rotation, and a health monitor
// brings it back when a TLS handshake and a GET / succeed, keeping the diagnosis of each
// failed check meanwhile.
package outbound
