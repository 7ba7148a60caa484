package explain

import "strings"

// verifyError is one of OpenSSL's certificate verification errors (X509_V_ERR_*, texts of
// crypto/x509/x509_txt.c). curl, Python, Node, nginx and Envoy print them in their own frames;
// the tables of those systems are generated from this one.
type verifyError struct {
	name    string // the constant without X509_V_ERR_, as Node's error codes spell it
	text    string // the text, as an expression tolerant of the 1.1.1 and 3.x wordings
	example string // the 3.x text
	meaning string
	out     verdict // a client verified the server's chain
	in      verdict // a server verified its client's certificate; zero when no cause fits
	bare    bool    // the text is distinctive enough to be recognised on its own
}

var (
	// inUntrusted and inExpired read a server's log about its client's certificate, the
	// gateway's inbound side.
	inUntrusted = v(checkInboundClientCert, hi(inCCUntrusted), med(inStale))
	inExpired   = v(checkInboundClientCert, hi(inCCExpired))
)

var verifyErrors = []verifyError{
	{name: "UNABLE_TO_GET_ISSUER_CERT", text: "unable to get issuer certificate", bare: true,
		meaning: "An issuer in the chain could not be found among the certificates sent or trusted.",
		out:     v(checkChain, hi(incomplete, missingAnchor), med(wrongInter), lo(emptyStore)), in: inUntrusted},
	{name: "UNABLE_TO_DECRYPT_CERT_SIGNATURE", text: "unable to decrypt certificate's signature", bare: true,
		meaning: "A certificate's signature could not be decrypted with its issuer's key.",
		out:     wrongInterOnly, in: inUntrusted},
	{name: "CERT_SIGNATURE_FAILURE", text: "certificate signature failure", bare: true,
		meaning: "A certificate's signature does not verify with the key of the certificate presented as its issuer.",
		out:     wrongInterOnly.with(lo(insecure)), in: inUntrusted},
	{name: "CERT_NOT_YET_VALID", text: "certificate is not yet valid", bare: true,
		meaning: "A certificate of the chain is before its notBefore date.",
		out:     notYetOnly, in: v(checkInboundClientCert, hi(inCCExpired))},
	{name: "CERT_HAS_EXPIRED", text: "certificate has expired", bare: true,
		meaning: "A certificate of the chain is past its notAfter date.",
		out:     expiredOnly, in: inExpired},
	{name: "DEPTH_ZERO_SELF_SIGNED_CERT", text: "self[- ]signed certificate", example: "self-signed certificate", bare: true,
		meaning: "The peer's certificate is self-signed and not trusted.",
		out:     v(confirm[missingAnchor]+" A server that picks its certificate by SNI may return a self-signed default to a client that sends no server_name (try --no-sni).", hi(missingAnchor), lo(sniDefault, emptyStore)),
		in:      inUntrusted},
	{name: "SELF_SIGNED_CERT_IN_CHAIN", text: "self[- ]signed certificate in certificate chain", example: "self-signed certificate in certificate chain", bare: true,
		meaning: "The chain ends at a self-signed root that the truststore does not hold.",
		out:     v(confirm[missingAnchor], hi(missingAnchor), lo(emptyStore)), in: inUntrusted},
	{name: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", text: "unable to get local issuer certificate", bare: true,
		meaning: "The issuer of the last certificate sent is neither sent nor in the truststore: an intermediate the server omits, or a root the truststore lacks.",
		out:     v(checkChain, hi(missingAnchor, incomplete), lo(wrongInter, emptyStore)), in: inUntrusted},
	{name: "UNABLE_TO_VERIFY_LEAF_SIGNATURE", text: "unable to verify the first certificate", bare: true,
		meaning: "The server sent only its leaf and its issuer is not in the truststore: usually an omitted intermediate.",
		out:     v(checkChain, hi(incomplete), med(missingAnchor), lo(wrongInter, emptyStore)), in: inUntrusted},
	{name: "CERT_REVOKED", text: "certificate revoked",
		meaning: "A certificate of the chain is revoked.", out: unclassifiedOnly},
	{name: "INVALID_CA", text: "invalid CA certificate", bare: true,
		meaning: "A certificate used as an issuer is not a valid CA certificate.",
		out:     wrongInterOnly, in: inUntrusted},
	{name: "INVALID_PURPOSE", text: "uns(?:uitable|upported) certificate purpose", example: "unsuitable certificate purpose", bare: true,
		meaning: "A certificate's extended key usage does not allow it for this use (a server certificate without serverAuth).",
		out:     unclassifiedOnly},
	{name: "CERT_UNTRUSTED", text: "certificate not trusted",
		meaning: "The root is in the truststore but not trusted for this purpose.",
		out:     v(confirm[missingAnchor], hi(missingAnchor)), in: inUntrusted},
	{name: "CERT_REJECTED", text: "certificate rejected",
		meaning: "The root is marked as rejected for this purpose in the truststore.",
		out:     v(confirm[missingAnchor], med(missingAnchor, unclassified)), in: inUntrusted},
	{name: "SUBJECT_ISSUER_MISMATCH", text: "subject issuer mismatch",
		meaning: "A certificate's issuer name differs from the subject of the certificate sent as its issuer.",
		out:     wrongInterOnly, in: inUntrusted},
	{name: "AKID_SKID_MISMATCH", text: "authority and subject key identifier mismatch", bare: true,
		meaning: "A certificate's authority key identifier differs from its presumed issuer's subject key identifier.",
		out:     wrongInterOnly, in: inUntrusted},
	{name: "KEYUSAGE_NO_CERTSIGN", text: "key usage does not include certificate signing", bare: true,
		meaning: "A certificate used as an issuer may not sign certificates.",
		out:     wrongInterOnly, in: inUntrusted},
	{name: "HOSTNAME_MISMATCH", text: "hostname mismatch",
		meaning: "The leaf's names do not include the host the client asked for.", out: hostnameOnly},
	{name: "IP_ADDRESS_MISMATCH", text: "IP address mismatch",
		meaning: "The leaf's IP SANs do not include the address the client asked for.", out: hostnameNoSNI},
	{name: "EE_KEY_TOO_SMALL", text: "EE certificate key too weak", bare: true,
		meaning: "The leaf's key is smaller than the client's security level allows.", out: insecureOnly},
	{name: "CA_KEY_TOO_SMALL", text: "CA certificate key too weak", bare: true,
		meaning: "An issuer's key is smaller than the client's security level allows.", out: insecureOnly},
	{name: "CA_MD_TOO_WEAK", text: "CA signature digest algorithm too weak", bare: true,
		meaning: "A certificate is signed with a digest (SHA-1, MD5) the client's security level refuses.", out: insecureOnly},
}

func (e verifyError) slug() string {
	return strings.ToLower(strings.ReplaceAll(e.name, "_", "-"))
}

func (e verifyError) exampleText() string {
	if e.example != "" {
		return e.example
	}
	return e.text
}

// expr matches the text, case aside (Python capitalises some).
func (e verifyError) expr() string { return "(?i:" + e.text + ")" }

// verifyEntries generates one entry per verification error, with its outbound reading, or
// its inbound one when inbound; errors without that reading are left out.
func verifyEntries(prefix string, inbound bool, expr func(verifyError) string, example func(verifyError) string,
	adjust func(verifyError, verdict) verdict) []entry {
	var out []entry
	for _, e := range verifyErrors {
		vd := e.out
		if inbound {
			vd = e.in
		}
		if len(vd.causes) == 0 {
			continue
		}
		if adjust != nil {
			vd = adjust(e, vd)
		}
		out = append(out, entry{name: prefix + e.slug(), expr: expr(e), meaning: e.meaning, v: vd, example: example(e)})
	}
	return out
}

// sslReason is one of OpenSSL's SSL reason strings (ssl/ssl_err.c) that is not an alert.
type sslReason struct {
	text    string // the reason string
	meaning string
	out     verdict // printed by a client (or by a program whose side the text tells)
	in      verdict // printed by a server about its client; zero when the reason is client-only
}

func (r sslReason) constName() string { return strings.ToUpper(strings.ReplaceAll(r.text, " ", "_")) }
func (r sslReason) slug() string      { return strings.ReplaceAll(r.text, " ", "-") }

var sslReasons = []sslReason{
	{text: "certificate verify failed", meaning: "The client refused the server's certificate chain.", out: verifyFailed},
	{text: "wrong version number", meaning: "The reply to the ClientHello is not a TLS record of a known version: the port speaks another protocol (plain HTTP, most often).", out: notTLSOnly},
	{text: "packet length too long", meaning: "The reply to the ClientHello is not a TLS record: the port speaks another protocol.", out: notTLSOnly},
	{text: "unsupported protocol", meaning: "The peer chose, or offered only, a protocol version this side does not allow.",
		out: protocolOnly, in: v(confirm[inProtocol], hi(inProtocol))},
	{text: "version too low", meaning: "The peer chose, or offered only, a protocol version below this side's minimum.",
		out: protocolOnly, in: v(confirm[inProtocol], hi(inProtocol))},
	{text: "no protocols available", meaning: "The configuration leaves no protocol version to offer (all disabled, or the minimum above the maximum).", out: protocolOnly},
	{text: "no shared cipher", meaning: "The server found no cipher suite of the ClientHello among those it accepts.",
		out: v(confirm[cipher], hi(cipher, inCipher)), in: v(confirm[inCipher], hi(inCipher))},
	{text: "no ciphers available", meaning: "The configuration leaves no cipher suite to offer for the versions allowed: the versions asked for are older than the library allows (TLS 1.0 and 1.1 at OpenSSL's default security level), or the cipher list excludes every suite.", out: versionOrCipher},
	{text: "no suitable signature algorithm", meaning: "No signature algorithm is shared for the certificate's key type.",
		out: v(checkVersions, med(cipher, insecure), lo(unclassified))},
	{text: "dh key too small", meaning: "The server's Diffie-Hellman parameters are weaker than the client allows.", out: v(cipherOnly.check, hi(cipher), lo(insecure))},
	{text: "legacy sigalg disallowed or unsupported", meaning: "The server signed its key exchange with an algorithm the client's security level refuses: the MD5-SHA1 of TLS 1.0 and 1.1, or SHA-1.",
		out: v(protocolOnly.check, hi(protocol), lo(cipher))},
	{text: "peer did not return a certificate", meaning: "The server requires a client certificate and the client sent none.", out: noClientCert, in: v(confirm[inCCMissing], hi(inCCMissing))},
	{text: "unexpected eof while reading", meaning: "The peer closed the connection in the middle of the handshake, without an alert.",
		out: closed, in: v("The client closed the connection during the handshake: often it refused the server's certificate without saying so. "+confirm[inRejectedByCli], med(inRejectedByCli), lo(inProtocol, inCipher))},
}

// toolVerify adjusts a verification error as OpenSSL's own tools print it: s_client sends
// no server_name with -noservername or to an address, so a hostname mismatch may be the
// server's default certificate.
func toolVerify(e verifyError, vd verdict) verdict {
	if e.name == "HOSTNAME_MISMATCH" {
		return vd.with(lo(sniDefault))
	}
	return vd
}

// opensslTable holds OpenSSL's texts: library reason and verify strings (which other programs
// embed), and the output of openssl s_client, s_server and verify.
func opensslTable() []entry {
	var t []entry
	for _, r := range sslReasons {
		t = append(t, entry{name: r.slug(), expr: r.text, meaning: r.meaning, v: r.out, example: "error:0A000000:SSL routines::" + r.text})
	}
	t = append(t, entry{name: "no-certificate-or-crl", expr: `no certificate or crl found`,
		meaning: "The CA file given holds no certificate: the truststore is empty.", v: truststoreEmpty,
		example: "error:05800088:x509 certificate routines:X509_load_cert_crl_file_ex:no certificate or crl found:../crypto/x509/by_file.c:252:"})
	t = append(t, entry{name: "key-values-mismatch", expr: `key values mismatch`,
		meaning: "The private key does not belong to the certificate it is loaded with.", v: keyMismatch,
		example: "error:05800074:x509 certificate routines::key values mismatch"})
	t = append(t, alertEntries("alert.", func(a tlsAlert) string { return a.openssl },
		func(a tlsAlert) verdict { return a.received(opensslClient) }, tlsAlert.meaningReceived,
		func(a tlsAlert) string {
			return "error:0A000000:SSL routines::" + a.opensslText()
		})...)
	t = append(t, alertEntries("alert-number.", func(a tlsAlert) string { return `SSL alert number ` + itoa(a.code) + `\b` },
		func(a tlsAlert) verdict { return a.received(opensslClient) }, tlsAlert.meaningReceived,
		func(a tlsAlert) string {
			return "ssl3_read_bytes:reason:../ssl/record/rec_layer_s3.c:1584:SSL alert number " + itoa(a.code)
		})...)
	for _, e := range verifyErrors {
		if e.bare {
			t = append(t, entry{name: "verify." + e.slug(), expr: e.expr(), meaning: e.meaning, v: toolVerify(e, e.out), example: e.exampleText()})
		}
	}
	t = append(t, verifyEntries("s-client-verify.", false,
		func(e verifyError) string { return `verify error:num=\d+:` + e.expr() },
		func(e verifyError) string { return "verify error:num=0:" + e.exampleText() }, toolVerify)...)
	t = append(t, verifyEntries("verify-return.", false,
		func(e verifyError) string { return `Verify return code: \d+ \(` + e.expr() + `\)` },
		func(e verifyError) string { return "Verify return code: 0 (" + e.exampleText() + ")" }, toolVerify)...)
	t = append(t, verifyEntries("verify-cmd.", false,
		func(e verifyError) string { return `error \d+ at \d+ depth lookup: ?` + e.expr() },
		func(e verifyError) string { return "error 0 at 0 depth lookup: " + e.exampleText() }, toolVerify)...)
	t = append(t, entry{name: "verify-cmd.root-missing", expr: `error 20 at [1-9]\d* depth lookup: ?unable to get local issuer certificate`,
		meaning: "The chain reached an intermediate whose issuer, a root, is not in the CA file.",
		v:       v(confirm[missingAnchor], hi(missingAnchor), lo(incomplete, emptyStore)),
		example: "error 20 at 1 depth lookup: unable to get local issuer certificate"})
	t = append(t,
		entry{name: "connect-refused", expr: `(?:BIO_connect:Connection refused|connect:errno=111\b)`,
			meaning: "The TCP connection was refused: nothing listens on that port.", v: unreachableOnly,
			example: "40A7F1C2D47F0000:error:8000006F:system library:BIO_connect:Connection refused:../crypto/bio/bio_sock2.c:114:calling connect()"},
		entry{name: "connect-errno", expr: `connect:errno=\d+`,
			meaning: "The TCP connection failed.", v: connectFailed, example: "connect:errno=113"},
		entry{name: "lookup", expr: `(?:BIO_lookup_ex|gethostbyname).*(?:Name or service not known|nodename nor servname|Temporary failure in name resolution|system lib)`,
			meaning: "The host name does not resolve.", v: unreachableOnly,
			example: "40E7:error:80000002:system library:BIO_lookup_ex:No such file or directory:../crypto/bio/bio_addr.c:738:calling getaddrinfo(backend.invalid, 443, ...): Name or service not known"},
		entry{name: "write-errno", expr: `write:errno=(?:104|32)\b`,
			meaning: "The server reset the connection during the handshake, without an alert.", v: closed, example: "write:errno=104"},
		entry{name: "no-peer-certificate", expr: `^no peer certificate available`,
			meaning: "The handshake ended before the server sent a certificate.",
			v:       v(checkVersions, med(protocol, cipher, sniRequired), lo(notTLS, unclassified)), example: "no peer certificate available"},
		entry{name: "cert-request", expr: `^(?:Acceptable client certificate CA names|No client certificate CA names sent|Client Certificate Types:)`,
			meaning: "The server asked for a client certificate.", v: afterCertRequest, role: roleHint,
			example: "Acceptable client certificate CA names"},
		entry{name: "verify-ok", expr: `(?:Verify return code: 0 \(ok\)|^Verification: OK)`,
			meaning: "The server's chain verified.", v: serverChainVerified, role: roleHint,
			example: "    Verify return code: 0 (ok)"},
	)
	return t
}
