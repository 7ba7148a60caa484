// Package tlswire builds and parses TLS handshake messages and holds the IANA registries.
//
// It knows the wire format of SSL 3.0 through TLS 1.3 well enough to ask a
// server a question and read its answer, without ever completing a
// handshake:
//
//   - the IANA registries as data: cipher suites (with their OpenSSL names),
//     protocol versions, alerts, named groups, signature schemes, extension
//     and handshake types;
//   - a ClientHello builder ([ClientHelloSpec]) whose output real servers
//     accept, for any version from SSL 3.0 to TLS 1.3;
//   - a record reader that reassembles handshake messages under hard size
//     bounds ([ReadRecord], [HandshakeReader]) and recognises a peer that does
//     not speak TLS at all ([NotTLSError]);
//   - parsers for the messages a client sees before encryption starts
//     (ServerHello and HelloRetryRequest, Certificate, CertificateRequest,
//     ServerHelloDone, Alert) and for ClientHellos, including the
//     SSLv2-compatible form;
//   - [Exchange], which sends one ClientHello and reports what the server
//     answered.
//
// Handshake message parsers take a whole handshake message, header
// included (msg_type, 24-bit length, body), as [HandshakeReader.Next]
// returns it. Malformed or truncated input yields an error that wraps
// [ErrMalformed]; no parser panics on any input.
//
// Field comments cite the section of the RFC that defines them: RFC 8446 for
// TLS 1.3, RFC 5246 for TLS 1.2, RFC 6101 for SSL 3.0.
package tlswire
