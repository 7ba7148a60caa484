package explain

import (
	"strconv"
	"strings"
)

// tlsAlert is one TLS alert (RFC 8446 section 6, RFC 5246 section 7.2) as each system spells
// it. Java, OpenSSL, Go and curl report the alerts a peer sends; which causes an alert leaves
// open depends on who received it: a client (the server refused something of the client's)
// or a server (its client refused the server's certificate or offer).
type tlsAlert struct {
	code    int
	name    string // the RFC name, as Java prints it: handshake_failure
	openssl string // OpenSSL's reason string: sslv3 alert handshake failure
	goText  string // Go's text: handshake failure
	boring  string // BoringSSL's reason name where it differs from OpenSSL's
	meaning string // what the alert says, as a clause after "the server"
}

// tlsAlerts lists every alert a handshake can fail with.
var tlsAlerts = []tlsAlert{
	{code: 10, name: "unexpected_message", openssl: "sslv3 alert unexpected message", goText: "unexpected message", meaning: "received a message it did not expect at that step"},
	{code: 20, name: "bad_record_mac", openssl: "sslv3 alert bad record mac", goText: "bad record MAC", meaning: "could not authenticate a record"},
	{code: 21, name: "decryption_failed", openssl: "tlsv1 alert decryption failed", goText: "decryption failed", meaning: "could not decrypt a record"},
	{code: 22, name: "record_overflow", openssl: "tlsv1 alert record overflow", goText: "record overflow", meaning: "received a record longer than allowed"},
	{code: 30, name: "decompression_failure", openssl: "sslv3 alert decompression failure", goText: "decompression failure", meaning: "could not decompress a record"},
	{code: 40, name: "handshake_failure", openssl: "sslv3 alert handshake failure", goText: "handshake failure", meaning: "refused the handshake without a more precise reason: no shared version or suite, no server_name, or no client certificate"},
	{code: 41, name: "no_certificate", openssl: "sslv3 alert no certificate", goText: "no certificate", meaning: "received no certificate where it required one"},
	{code: 42, name: "bad_certificate", openssl: "sslv3 alert bad certificate", goText: "bad certificate", meaning: "refused the certificate it was sent, or the lack of one"},
	{code: 43, name: "unsupported_certificate", openssl: "sslv3 alert unsupported certificate", goText: "unsupported certificate", meaning: "refused a certificate of a type or usage it does not accept"},
	{code: 44, name: "certificate_revoked", openssl: "sslv3 alert certificate revoked", goText: "revoked certificate", meaning: "found the certificate it was sent revoked"},
	{code: 45, name: "certificate_expired", openssl: "sslv3 alert certificate expired", goText: "expired certificate", meaning: "found the certificate it was sent expired"},
	{code: 46, name: "certificate_unknown", openssl: "sslv3 alert certificate unknown", goText: "unknown certificate", meaning: "refused the certificate it was sent (untrusted, expired or otherwise unacceptable)"},
	{code: 47, name: "illegal_parameter", openssl: "sslv3 alert illegal parameter", goText: "illegal parameter", meaning: "received a field out of range or inconsistent"},
	{code: 48, name: "unknown_ca", openssl: "tlsv1 alert unknown ca", goText: "unknown certificate authority", meaning: "does not trust the CA of the certificate it was sent"},
	{code: 49, name: "access_denied", openssl: "tlsv1 alert access denied", goText: "access denied", meaning: "accepted the certificate it was sent but denies it access"},
	{code: 50, name: "decode_error", openssl: "tlsv1 alert decode error", goText: "error decoding message", meaning: "could not decode a message"},
	{code: 51, name: "decrypt_error", openssl: "tlsv1 alert decrypt error", goText: "error decrypting message", meaning: "could not verify a signature or the Finished message (a client key that does not belong to its certificate, among others)"},
	{code: 60, name: "export_restriction", openssl: "tlsv1 alert export restriction", goText: "export restriction", meaning: "refused an export-grade negotiation"},
	{code: 70, name: "protocol_version", openssl: "tlsv1 alert protocol version", goText: "protocol version not supported", meaning: "supports none of the protocol versions offered"},
	{code: 71, name: "insufficient_security", openssl: "tlsv1 alert insufficient security", goText: "insufficient security level", meaning: "requires stronger cipher suites than those offered"},
	{code: 80, name: "internal_error", openssl: "tlsv1 alert internal error", goText: "internal error", meaning: "failed for a reason of its own, unrelated to the peer"},
	{code: 86, name: "inappropriate_fallback", openssl: "tlsv1 alert inappropriate fallback", goText: "inappropriate fallback", meaning: "saw a version fallback it considers a downgrade"},
	{code: 90, name: "user_canceled", openssl: "tlsv1 alert user cancell?ed", goText: "user canceled", meaning: "cancelled the handshake"},
	{code: 100, name: "no_renegotiation", openssl: "tlsv1 alert no renegotiation", goText: "no renegotiation", meaning: "refuses to renegotiate"},
	{code: 109, name: "missing_extension", openssl: "tlsv13 alert missing extension", goText: "missing extension", meaning: "requires an extension that was not sent (in TLS 1.3, server_name among others)"},
	{code: 110, name: "unsupported_extension", openssl: "tlsv1 unsupported extension", goText: "unsupported extension", meaning: "received an extension it did not offer or does not accept"},
	{code: 111, name: "certificate_unobtainable", openssl: "tlsv1 certificate unobtainable", goText: "certificate unobtainable", meaning: "could not obtain a certificate from a URL"},
	{code: 112, name: "unrecognized_name", openssl: "tlsv1 unrecognized name", goText: "unrecognized name", meaning: "does not serve the name sent in server_name, or requires one"},
	{code: 113, name: "bad_certificate_status_response", openssl: "tlsv1 bad certificate status response", goText: "bad certificate status response", meaning: "refused the OCSP response it was sent"},
	{code: 114, name: "bad_certificate_hash_value", openssl: "tlsv1 bad certificate hash value", goText: "bad certificate hash value", meaning: "found a certificate hash that does not match"},
	{code: 115, name: "unknown_psk_identity", openssl: "tlsv1 alert unknown psk identity", goText: "unknown PSK identity", meaning: "does not know the pre-shared key offered"},
	{code: 116, name: "certificate_required", openssl: "tlsv13 alert certificate required", goText: "certificate required", boring: "TLSV1_CERTIFICATE_REQUIRED", meaning: "requires a client certificate and received none"},
	{code: 120, name: "no_application_protocol", openssl: "tlsv1 alert no application protocol", goText: "no application protocol", meaning: "supports none of the application protocols (ALPN) offered"},
}

// constName is the alert's reason as Python, Node and BoringSSL spell it:
// SSLV3_ALERT_HANDSHAKE_FAILURE.
func (a tlsAlert) constName() string {
	return strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(a.openssl, "l?", "l"), " ", "_"))
}

// constExpr matches constName and BoringSSL's spelling where it differs.
func (a tlsAlert) constExpr() string {
	if a.boring != "" {
		return "(?:" + a.constName() + "|" + a.boring + ")"
	}
	return a.constName()
}

// opensslText is the reason string without the expression's tolerance.
func (a tlsAlert) opensslText() string { return strings.ReplaceAll(a.openssl, "l?", "l") }

// client describes how a client behaves, which decides what an alert it received leaves open.
type client struct {
	// sni: the client sends server_name by default (curl, Go, Node, Python, browsers); Java
	// with SNI off or an IP target, Apigee's Message Processor, nginx and Envoy upstreams
	// often do not.
	sni bool
	// byIssuer: the client sends only a certificate issued by a CA the server's
	// CertificateRequest lists, and none otherwise (Java, Go, browsers); OpenSSL's clients
	// send theirs regardless.
	byIssuer bool
	// eitherSide: the same text is printed by servers too (Java's "Received fatal alert"),
	// so the server-side reading stays open, low.
	eitherSide bool
}

var (
	opensslClient = client{sni: true}
	javaClient    = client{byIssuer: true, eitherSide: true}
	goClient      = client{sni: true, byIssuer: true}
	browserClient = client{sni: true, byIssuer: true}
	proxyClient   = client{} // nginx and Envoy towards their upstreams
)

// received returns what the alert leaves open when a client received it from the server.
func (a tlsAlert) received(c client) verdict {
	var vd verdict
	switch a.code {
	case 40:
		vd = v(checkVersions, hi(protocol, cipher), med(ccMissing))
		if c.sni {
			vd = vd.with(lo(sniRequired))
		} else {
			vd = vd.with(med(sniRequired))
		}
		if c.byIssuer {
			vd = vd.with(med(ccIssuer))
		}
	case 41, 116:
		vd = v(checkClientCert, hi(ccMissing))
		if c.byIssuer {
			vd = vd.with(hi(ccIssuer))
		}
	case 42:
		// A Java or Go server answers no certificate with bad_certificate too.
		vd = v(checkClientCert, hi(ccRejected), med(ccMissing, ccIssuer), lo(ccExpired))
	case 48:
		// A client that sends its certificate whatever CAs the server lists (OpenSSL's) is
		// refused with unknown_ca when its issuer is not accepted.
		vd = v(checkClientCert, hi(ccRejected), med(ccIssuer))
	case 43, 44, 49:
		vd = v(checkClientCert, hi(ccRejected))
	case 45:
		vd = v(checkClientCert, hi(ccExpired))
	case 46:
		vd = v(checkClientCert, hi(ccRejected), med(ccExpired, ccIssuer))
	case 51:
		vd = v(checkClientCert+" A key that does not belong to the certificate fails the CertificateVerify.",
			med(ccKey, unclassified))
	case 70:
		vd = protocolOnly
	case 71:
		vd = v(checkVersions, hi(cipher), med(protocol))
	case 86:
		vd = v(checkVersions, med(protocol, unclassified))
	case 80:
		// A Go server that has no certificate for the name asked (or for none) fails with
		// internal_error.
		vd = v(unclassifiedOnly.check+" A server with no certificate for the client's server_name (or for none) may send internal_error: "+confirm[sniRequired],
			hi(unclassified), med(sniRequired))
	case 109:
		vd = v(confirm[sniRequired], hi(unclassified), med(sniRequired))
	case 112:
		if c.sni {
			vd = v("The server does not serve the name the client sent: compare the target's host with "+
				"the names the server is configured for; the doctor shows the certificate for each.",
				hi(hostname), med(sniRequired))
		} else {
			vd = v(confirm[sniRequired], hi(sniRequired), med(hostname))
		}
	default:
		vd = unclassifiedOnly
	}
	if c.eitherSide {
		vd = vd.with(a.sentReading())
	}
	return vd
}

// sentReading is the low, server-side reading of a certificate alert printed by a program
// that may be either side.
func (a tlsAlert) sentReading() []Candidate {
	switch a.code {
	case 42, 43, 44, 45, 46, 48:
		return lo(inRejectedByCli)
	}
	return nil
}

// sent returns what the alert leaves open when a server (the gateway, inbound) received it
// from its client: the client refused the server's certificate or offer.
func (a tlsAlert) sent() verdict {
	const check = "The client refused the server's certificate: run the doctor against this server with " +
		"the client's truststore and the host name the client uses; it shows why the chain fails."
	switch a.code {
	case 42, 43, 44, 45, 46, 48:
		return v(check, hi(inRejectedByCli))
	case 70:
		return v(confirm[inProtocol], hi(inProtocol))
	case 71:
		return v(confirm[inCipher], hi(inCipher))
	case 80:
		// OpenSSL and Java clients send internal_error on failures of their own: a truststore
		// they cannot use, a signature algorithm their security level refuses.
		return v(unclassifiedOnly.check+" "+confirm[inRejectedByCli], med(unclassified, inRejectedByCli), lo(inProtocol))
	}
	return unclassifiedOnly
}

// meaningReceived says what the alert means to the client that received it.
func (a tlsAlert) meaningReceived() string {
	return "The server sent the fatal alert " + a.name + " (" + strconv.Itoa(a.code) + "): it " + a.meaning + "."
}

// meaningSent says what the alert means to the server that received it.
func (a tlsAlert) meaningSent() string {
	return "The client sent the fatal alert " + a.name + " (" + strconv.Itoa(a.code) + "): it " + a.meaning + "."
}

// alertEntries generates one entry per alert: name and example are built by the callers'
// functions from the alert.
func alertEntries(prefix string, expr func(tlsAlert) string, vd func(tlsAlert) verdict,
	meaning func(tlsAlert) string, example func(tlsAlert) string) []entry {
	out := make([]entry, 0, len(tlsAlerts))
	for _, a := range tlsAlerts {
		out = append(out, entry{
			name:    prefix + strings.ReplaceAll(a.name, "_", "-"),
			expr:    expr(a),
			meaning: meaning(a),
			v:       vd(a),
			example: example(a),
		})
	}
	return out
}
