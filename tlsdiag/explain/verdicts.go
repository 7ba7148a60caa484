package explain

import (
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// Short names of the cause IDs, for the tables.
const (
	unreachable     = catalog.NetworkUnreachable
	timeout         = catalog.NetworkTimeout
	notTLS          = catalog.NotTLS
	protocol        = catalog.ProtocolMismatch
	cipher          = catalog.CipherMismatch
	sniRequired     = catalog.SNIRequired
	sniDefault      = catalog.SNIDefaultCertificate
	incomplete      = catalog.ChainIncomplete
	wrongInter      = catalog.ChainWrongIntermediate
	misordered      = catalog.ChainMisordered
	missingAnchor   = catalog.TruststoreMissingRoot
	emptyStore      = catalog.TruststoreEmpty
	hostname        = catalog.HostnameMismatch
	expired         = catalog.CertExpired
	notYetValid     = catalog.CertNotYetValid
	insecure        = catalog.CertInsecureSignature
	ccMissing       = catalog.ClientCertMissing
	ccIssuer        = catalog.ClientCertIssuer
	ccRejected      = catalog.ClientCertRejected
	ccExpired       = catalog.ClientCertExpired
	ccKey           = catalog.ClientCertKeyMismatch
	unclassified    = catalog.AlertUnclassified
	inCCMissing     = catalog.InboundClientCertMissing
	inCCExpired     = catalog.InboundClientCertExpired
	inCCUntrusted   = catalog.InboundClientCertUntrusted
	inStale         = catalog.InboundTruststoreStale
	inProtocol      = catalog.InboundProtocolMismatch
	inCipher        = catalog.InboundCipherMismatch
	inSNI           = catalog.InboundSNIUnknown
	inRejectedByCli = catalog.InboundCertRejectedByClient
)

// Checks shared by many patterns.
const (
	checkChain = "Run the doctor with the client's truststore: it shows whether the server sends its " +
		"intermediates (chain.incomplete), whether they link (chain.wrong-intermediate) and which root the " +
		"truststore lacks (truststore.missing-anchor)."
	checkChainAndName = checkChain + " It also checks that the leaf names the host (hostname.mismatch) and is " +
		"within its validity period."
	checkVersions = "Run the doctor with --scan: it lists the versions and suites the server accepts; " +
		"compare them with the client's (--protocols, --ciphers), and it retries without server_name " +
		"and with a client certificate to tell sni.required and clientcert.missing apart."
	checkClosed = "The server closed the connection without an alert. Run the doctor with --scan: it " +
		"retries with other versions and suites, with and without server_name, and sees whether the " +
		"server asks for a client certificate."
	checkClientCert = "Run the doctor with the client's certificate and key (or keystore): it shows whether " +
		"the server asks for a certificate, which CAs it accepts, whether the client's certificate is " +
		"among them and what the server answers to it."
	checkInboundClientCert = "Run the doctor against the virtual host with the client's certificate and " +
		"key: it shows whether that certificate is expired or does not chain to the virtual host's " +
		"truststore; run it against each gateway node (--connect NODE:PORT) to find a node that did not " +
		"load the new truststore."
	checkNetwork = "Run the doctor against the same host and port: it says whether the name resolves, " +
		"whether the port is refused or filtered, and whether a TLS server answers."
)

// Verdicts shared by many patterns.
var (
	// pkix is Java's "PKIX path building failed": the path to a trusted root does not build.
	pkix = v(checkChainAndName+" If the client sends no server_name (Java with jsse.enableSNIExtension=false, "+
		"a target given by IP address), add --no-sni: a server may return another chain then.",
		hi(missingAnchor, incomplete), med(wrongInter), lo(hostname))
	// verifyFailed: the client refused the server's chain, reason unknown.
	verifyFailed = v(checkChainAndName+" The verify error text (after 'certificate verify failed:') names the reason.",
		hi(missingAnchor, incomplete), med(wrongInter, hostname, expired), lo(notYetValid, insecure, emptyStore, sniDefault))
	// hostnameOnly: the chain verified but does not name the host.
	hostnameOnly = v("Compare the host the client asked for with the leaf's SAN entries; the doctor "+
		"lists each name and why it does not match (wildcard depth, IP against DNS, CN ignored).",
		hi(hostname))
	// hostnameNoSNI: as hostnameOnly, for clients that may send no server_name.
	hostnameNoSNI = v("Compare the host the client asked for with the leaf's SAN entries; if the client "+
		"sends no server_name (SNI disabled, a target given by IP address), run the doctor with --no-sni: "+
		"a server may return its default certificate then (sni.default-certificate).",
		hi(hostname), lo(sniDefault))
	expiredOnly = v("The doctor names the expired certificate of the chain (leaf, intermediate or root) "+
		"and since when; check the client's clock too.", hi(expired))
	notYetOnly = v("The doctor names the certificate and its notBefore; compare with the client's clock "+
		"(a skewed clock, or a certificate deployed before its start date).", hi(notYetValid))
	validity = v("The doctor names the certificate outside its validity period; 'after' means expired, "+
		"'before' means not yet valid (or a skewed clock).", hi(expired, notYetValid))
	insecureOnly = v("The doctor names the certificate signed with SHA-1 or MD5, or with a key the client "+
		"refuses (RSA below 2048 bits).", hi(insecure))
	wrongInterOnly = v("The doctor shows which link of the chain breaks: an issuer name that differs from "+
		"the next subject, a signature that does not verify, an issuer that is no CA.", hi(wrongInter))
	notTLSOnly = v(checkNetwork+" The doctor shows the first bytes the port answers with (an HTTP "+
		"response, an SSH banner): use the TLS port, or http://.", hi(notTLS))
	protocolOnly = v("Run the doctor with --scan: it lists the versions the server accepts; compare them "+
		"with the client's (--protocols), then upgrade the server or allow a shared version in the client "+
		"(<Protocols> of the SSLInfo).", hi(protocol))
	cipherOnly = v("Run the doctor with --scan: it lists the suites the server accepts per version; add a "+
		"shared one to the client (<Ciphers>, --ciphers) or enable one on the server.", hi(cipher))
	versionOrCipher = v(checkVersions, hi(protocol, cipher))
	unreachableOnly = v(checkNetwork, hi(unreachable))
	timeoutOnly     = v(checkNetwork+" A timeout is a filtering firewall, a host that is down, or a "+
		"server that accepts the connection and never answers the ClientHello.", hi(timeout))
	connectFailed = v(checkNetwork, hi(unreachable), lo(timeout))
	// closed: the server closed or reset the connection during the handshake, without an
	// alert: before its certificate (versions, suites, server_name) or, in TLS 1.3, after the
	// client's certificate.
	closed = v(checkClosed, med(protocol, cipher, sniRequired), lo(ccMissing, ccIssuer, ccRejected, ccExpired, notTLS))
	// closedNoSNI: as closed, for clients that send no server_name by default (nginx upstreams,
	// Java with SNI off, Apigee).
	closedNoSNI = v(checkClosed, hi(sniRequired), med(protocol, cipher), lo(ccMissing, ccIssuer, ccRejected, ccExpired, notTLS))
	// closedAfterHandshake: the handshake completed as the client saw it, then the server
	// closed: in TLS 1.3 a server judges the client's certificate only then.
	closedAfterHandshake = v("The server closed the connection once the client had finished its handshake: "+
		"in TLS 1.3 that is how a server refuses the client's certificate, or the lack of one. "+checkClientCert,
		med(ccMissing, ccIssuer, ccRejected), lo(ccExpired, ccKey, unclassified))
	keyMismatch = v("Check that the private key belongs to the certificate (tlsgate cert inspect shows "+
		"both public keys) and that the alias named in the configuration exists.", hi(ccKey))
	clientCredUnusable = v("The client could not load its certificate or key: check the file paths, "+
		"the format (PEM, PKCS#12), the password and that the key belongs to the certificate.",
		hi(ccKey), med(ccMissing))
	// noClientCert: a server saw no client certificate; the server may be the gateway or a
	// backend.
	noClientCert = v(checkClientCert+" If this log is the gateway's, the API client sent none "+
		"(inbound.clientcert.missing); if it is a backend's, the gateway's client had none or none "+
		"issued by a CA the server accepts.",
		hi(inCCMissing, ccMissing), med(ccIssuer))
	truststoreEmpty = v("Check the truststore the client uses (its file, its reference): the doctor "+
		"reports truststore.empty when it holds no certificate.", hi(emptyStore))
	// anyTLS: a handshake failed and the message does not say why.
	anyTLS = v("The message says only that the handshake failed: find the underlying error (the "+
		"'Caused by' lines, error.cause in the trace, the client's log) and paste it too, or run the "+
		"doctor against the target with the client's truststore and certificate.",
		med(protocol, cipher, sniRequired, sniDefault, incomplete, wrongInter, missingAnchor, emptyStore,
			hostname, expired, notYetValid, insecure, ccMissing, ccIssuer, ccRejected, ccExpired, ccKey),
		lo(notTLS, misordered, unclassified))
	// handshakeNoVerify: a handshake failed before any application data, certificate
	// verification aside (curl's exit 35).
	handshakeNoVerify = v("The handshake failed; the OpenSSL error on the same line names the reason. "+
		checkVersions,
		med(notTLS, protocol, cipher, ccMissing, ccRejected), lo(sniRequired, ccExpired, ccKey, unclassified))
	// noClientCertPage: nginx's "400 No required SSL certificate was sent", as a client
	// receives it from the gateway or from a backend.
	noClientCertPage = v(checkClientCert+" If the page came from the gateway, the API client sent no certificate "+
		"(inbound.clientcert.missing); if from a backend, the gateway's client had none, or none issued by a CA "+
		"the backend accepts.", hi(inCCMissing), med(ccMissing, ccIssuer))
	// inboundClientCertError: nginx's "400 The SSL certificate error".
	inboundClientCertError = v(checkInboundClientCert+" If this nginx is a backend, it is the gateway's "+
		"client certificate that was refused (clientcert.rejected, clientcert.expired).",
		hi(inCCUntrusted, inCCExpired), med(inStale, ccRejected, ccExpired))
	unclassifiedOnly = v("No cause of the catalog explains this alert by itself: read the peer's log at "+
		"the time of the failure, or capture the handshake (tcpdump -w) and run tlsgate pcap on it.",
		hi(unclassified))
)

// Hints: lines of a handshake trace that narrow the failure they accompany.
var (
	// afterHandshake: the client had completed its handshake when the failure came.
	afterHandshake = v(closedAfterHandshake.check, med(ccMissing, ccIssuer, ccRejected), lo(ccExpired, ccKey, unclassified))
	// beforeClientFinished: the client was sending its last handshake flight (its
	// certificate, or none, then Finished) when the server closed.
	beforeClientFinished = v("The server closed the connection while the client sent its certificate (or an "+
		"empty one) and Finished. "+checkClientCert, med(ccMissing, ccIssuer, ccRejected, ccExpired), lo(ccKey, unclassified))
	// afterCertRequest: the server sent a CertificateRequest, so versions, suites and SNI were
	// agreed; what fails after it is about certificates.
	afterCertRequest = v("The server asked for a client certificate, so versions, suites and SNI were "+
		"agreed. "+checkClientCert,
		med(ccMissing, ccIssuer, ccRejected, ccExpired, ccKey),
		lo(incomplete, wrongInter, missingAnchor, emptyStore, hostname, expired, notYetValid, insecure,
			sniDefault, misordered, unclassified, inCCMissing, inCCExpired, inCCUntrusted, inStale))
	// noClientCertToSend: the client had no certificate fit for the server's request.
	noClientCertToSend = v("The client found no certificate to send: either its keystore holds none "+
		"(clientcert.missing) or none is issued by a CA the server lists in its CertificateRequest "+
		"(clientcert.issuer-not-accepted). "+checkClientCert,
		hi(ccMissing, ccIssuer))
	// clientCertSent: the client sent a certificate and proved its key.
	clientCertSent = v("The client sent a certificate; the server refused it. "+checkClientCert,
		med(ccRejected), lo(ccExpired, ccKey, unclassified))
	// serverChainVerified: the client verified the server's chain.
	serverChainVerified = v("The server's chain verified, so the failure is elsewhere.",
		lo(ccMissing, ccIssuer, ccRejected, ccExpired, ccKey, protocol, cipher, sniRequired, unclassified,
			unreachable, timeout, notTLS, inCCMissing, inCCExpired, inCCUntrusted, inStale, inProtocol,
			inCipher, inSNI))
	// clientSide: the text is a client's; the inbound readings fall.
	clientSide = v("The text is a client's.", outboundAll())
	// serverSide: the text is a server's; the client-side readings of its alerts fall.
	serverSide = v("The text is a server's: the alert came from its client.",
		lo(inCCMissing, inCCExpired, inCCUntrusted, inStale, inProtocol, inCipher, inSNI, inRejectedByCli,
			missingAnchor, incomplete, wrongInter, hostname, expired, notYetValid, insecure, protocol, cipher,
			unclassified))
)

// outboundAll returns every outbound cause, low: a filter that ranks nothing.
func outboundAll() []Candidate {
	var ids []string
	for _, id := range catalog.IDs() {
		if !strings.HasPrefix(id, "inbound.") {
			ids = append(ids, id)
		}
	}
	return lo(ids...)
}

// confirm says, per cause, what confirms it; a match left with one candidate shows it.
var confirm = map[string]string{
	unreachable:     checkNetwork,
	timeout:         timeoutOnly.check,
	notTLS:          notTLSOnly.check,
	protocol:        protocolOnly.check,
	cipher:          cipherOnly.check,
	sniRequired:     "Run the doctor with --no-sni, as the client sends no server_name: it shows that the server aborts without one and completes the handshake with one; enable SNI for the target, or give the server a default certificate.",
	sniDefault:      "Run the doctor with --no-sni: it compares the certificate returned without server_name with the one returned for the expected name.",
	incomplete:      "Run the doctor with the client's truststore: it names the intermediate the server does not send (fetched from the leaf's AIA URL where there is one).",
	wrongInter:      wrongInterOnly.check,
	misordered:      "The doctor shows the chain as sent and the order it should have.",
	missingAnchor:   "Run the doctor with the client's truststore: it names the root (subject, SHA-256 fingerprint) the truststore lacks.",
	emptyStore:      truststoreEmpty.check,
	hostname:        hostnameOnly.check,
	expired:         expiredOnly.check,
	notYetValid:     notYetOnly.check,
	insecure:        insecureOnly.check,
	ccMissing:       "Run the doctor with the client's keystore, if it has one: the doctor shows the server's CertificateRequest and that no certificate was sent.",
	ccIssuer:        "Compare the issuer of the client's certificate with the CA names of the server's CertificateRequest: the doctor lists both.",
	ccRejected:      "Run the doctor with the client's certificate and key: the server's alert after the client's Certificate shows it refuses that certificate; add its CA to the server's truststore.",
	ccExpired:       "Run the doctor with the client's certificate and key: it reports the certificate's notAfter.",
	ccKey:           keyMismatch.check,
	unclassified:    unclassifiedOnly.check,
	inCCMissing:     "The API client sent no certificate to a virtual host that requires one: configure the client's certificate, or check that its issuer is among the CAs the virtual host accepts.",
	inCCExpired:     "Run the doctor against the virtual host with the client's certificate and key: it reports the certificate's notAfter.",
	inCCUntrusted:   "Run the doctor against the virtual host with the client's certificate and key; compare the certificate's issuer with the virtual host's truststore.",
	inStale:         "Run the doctor against each gateway node (--connect NODE:PORT) with the client's certificate: a node that refuses it did not load the new truststore.",
	inProtocol:      "Run the doctor with --scan against the virtual host to list the versions it accepts; compare with the client's (a capture run through tlsgate pcap shows its ClientHello).",
	inCipher:        "Run the doctor with --scan against the virtual host to list the suites it accepts; compare with the client's (a capture run through tlsgate pcap shows its ClientHello).",
	inSNI:           "Compare the client's server_name with the virtual host's host aliases; the doctor with --servername NAME or --no-sni shows what each gets.",
	inRejectedByCli: "Run the doctor against the virtual host with the client's truststore and the host name the client uses: it shows why the client refuses the gateway's chain.",
}

// composeCheck returns the check of a match whose candidates a hint or a narrower message
// decided.
func composeCheck(causes []Candidate, by *hit) string {
	if len(causes) == 1 {
		if c, ok := confirm[causes[0].ID]; ok {
			return c
		}
	}
	return by.p.Check
}
