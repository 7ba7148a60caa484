package explain

import "testing"

const javaPKIXTrace = `javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target
	at java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)
	at java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:383)
	at java.base/sun.net.www.protocol.https.HttpsURLConnectionImpl.getResponseCode(HttpsURLConnectionImpl.java:308)
	at TLSClient.main(TLSClient.java:19)
Caused by: sun.security.validator.ValidatorException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target
	at java.base/sun.security.validator.PKIXValidator.doBuild(PKIXValidator.java:439)
	... 27 more
Caused by: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target
	at java.base/sun.security.provider.certpath.SunCertPathBuilder.build(SunCertPathBuilder.java:141)
	... 32 more`

func TestJava(t *testing.T) {
	runCases(t, []explainCase{
		{name: "pkix", text: javaPKIXTrace, system: Java,
			ids:  []string{missingAnchor, incomplete, wrongInter, hostname},
			next: "tlsgate doctor --truststore TRUSTSTORE.jks --truststore-password PASSWORD HOST:PORT",
			line: "PKIX path building failed"},
		{name: "pkix and no SAN: the name decides", system: Java, ids: []string{hostname},
			text: javaPKIXTrace + "\nCaused by: java.security.cert.CertificateException: No subject alternative DNS name matching backend.test found.",
			next: "backend.test:PORT", line: "No subject alternative DNS name"},
		{name: "no SAN alone: the server's default certificate stays open", system: Java, ids: []string{hostname, sniDefault},
			text: "javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching backend.test found."},
		{name: "expired", system: Java, ids: []string{expired},
			text: "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed\n" +
				"Caused by: java.security.cert.CertificateExpiredException: NotAfter: Fri Oct 23 16:54:50 UTC 2026"},
		{name: "validity without the cause", system: Java, ids: []string{expired, notYetValid},
			text: "Caused by: java.security.cert.CertPathValidatorException: validity check failed"},
		{name: "handshake_failure", system: Java, ids: []string{protocol, cipher, ccMissing, sniRequired, ccIssuer},
			text: "javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure", next: "--scan"},
		{name: "handshake_failure after a CertificateRequest", system: Java, ids: []string{ccMissing, ccIssuer},
			text: `javax.net.ssl|DEBUG|01|main|2024-05-01 10:00:00.000 UTC|ServerHello.java:888|Consuming ServerHello handshake message (
javax.net.ssl|DEBUG|01|main|2024-05-01 10:00:00.000 UTC|CertificateRequest.java:683|Consuming CertificateRequest handshake message (
"CertificateRequest": {
  "certificate types": [ecdsa_sign, rsa_sign, dss_sign]
  "certificate authorities": [CN=Partner CA]
}
)
javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure`,
			next: "--keystore KEYSTORE.jks"},
		{name: "bad_certificate after an empty client certificate", system: Java, ids: []string{ccMissing, ccIssuer},
			text: `javax.net.ssl|DEBUG|01|main|2024-05-01 10:00:00.000 UTC|CertificateRequest.java:683|Consuming CertificateRequest handshake message (
javax.net.ssl|WARNING|01|main|2024-05-01 10:00:00.000 UTC|CertificateMessage.java:1066|No X.509 certificate for client authentication, use empty Certificate message instead
javax.net.ssl.SSLHandshakeException: Received fatal alert: bad_certificate`},
		{name: "bad_certificate alone", system: Java, ids: []string{ccRejected, ccMissing, ccIssuer, ccExpired, inRejectedByCli},
			text: "javax.net.ssl.SSLException: Received fatal alert: bad_certificate"},
		{name: "certificate_unknown in a client", system: Java, ids: []string{ccRejected, ccExpired, ccIssuer},
			text: "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_unknown\n" +
				"\tat java.base/sun.net.www.protocol.https.HttpsURLConnectionImpl.getInputStream(HttpsURLConnectionImpl.java:224)"},
		{name: "certificate_unknown in a server", system: Java, ids: []string{inRejectedByCli},
			text: "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_unknown\n" +
				"\tat org.apache.tomcat.util.net.SecureNioChannel.handshake(SecureNioChannel.java:238)"},
		{name: "TLS 1.2 client certificate sent, then the server closed", system: Java,
			ids: []string{ccRejected, ccExpired, ccKey, unclassified},
			text: "java.net.SocketException: Broken pipe\n" +
				"\tat java.base/sun.security.ssl.CertificateVerify$T12CertificateVerifyProducer.produce(CertificateVerify.java:773)"},
		{name: "server version refused", system: Java, ids: []string{protocol},
			text: "javax.net.ssl.SSLHandshakeException: The server selected protocol version TLS10 is not accepted by client preferences [TLS13, TLS12]"},
		{name: "empty truststore", system: Java, ids: []string{emptyStore},
			text: "Caused by: java.security.InvalidAlgorithmParameterException: the trustAnchors parameter must be non-empty"},
		{name: "not TLS", system: Java, ids: []string{notTLS}, text: "javax.net.ssl.SSLException: Unsupported or unrecognized SSL message"},
		{name: "refused", system: Java, ids: []string{unreachable}, text: "java.net.ConnectException: Connection refused", next: "tlsgate doctor HOST:PORT"},
		{name: "server without suites in common", system: Java, ids: []string{cipher, inCipher},
			text: "javax.net.ssl.SSLHandshakeException: no cipher suites in common"},
		{name: "server sees no client certificate", system: Java, ids: []string{inCCMissing, ccMissing, ccIssuer},
			text: "javax.net.ssl.SSLHandshakeException: Empty client certificate chain"},
	})
}
