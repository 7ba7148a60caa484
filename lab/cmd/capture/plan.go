package main

import (
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// recording is one capture: a lab scenario played by a server peer, a real client acting
// it out, and the verdict tlsgate pcap must reach from the capture alone.
type recording struct {
	name     string // the capture's file name, without extension
	scenario string // the lab scenario
	peer     lab.Peer
	client   string // "curl", "openssl", "go", "java", or "curl-http" (plain HTTP)
	// tls limits the client to one version: "1.2", "1.3" or "" (its defaults).
	tls    string
	keylog bool // the client writes a key log, given to tlsgate pcap with --keylog
	// clientCert gives the client the scenario's certificate; passCert also tells tlsgate
	// pcap about it (--client-cert).
	clientCert, passCert bool
	noSNI                bool
	snaplen              int // tcpdump -s; 0: whole packets
	// expect is the cause tlsgate pcap must report, "" for no error finding.
	expect string
	note   string
}

// recordings are the captures of testdata/scenarios, in the order they are recorded.
func recordings() []recording {
	return []recording{
		{name: "healthy-tls12-openssl-curl", scenario: "healthy.tls1.2-only", peer: lab.PeerOpenSSL, client: "curl",
			note: "a healthy TLS 1.2 handshake"},
		{name: "healthy-tls13-nginx-curl-keylog", scenario: "healthy.one-way", peer: lab.PeerNginx, client: "curl", keylog: true,
			note: "a healthy TLS 1.3 handshake, decrypted with curl's key log"},
		{name: "healthy-tls13-go-openssl", scenario: "healthy.one-way", peer: lab.PeerGo, client: "openssl",
			note: "a healthy TLS 1.3 handshake without key log: completion inferred, chain not judged"},
		{name: "healthy-two-way-tls13-go-go-keylog", scenario: "healthy.two-way", peer: lab.PeerGo, client: "go", keylog: true,
			clientCert: true, passCert: true, note: "two-way TLS 1.3, the client's certificate accepted"},
		{name: "clientcert-missing-tls12-openssl-curl", scenario: catalog.ClientCertMissing, peer: lab.PeerOpenSSL, client: "curl", tls: "1.2",
			expect: catalog.ClientCertMissing, note: "CertificateRequest, an empty client Certificate, a fatal alert"},
		{name: "clientcert-missing-tls13-go-openssl-keylog", scenario: catalog.ClientCertMissing, peer: lab.PeerGo, client: "openssl", tls: "1.3",
			keylog: true, expect: catalog.ClientCertMissing, note: "the server's certificate_required after the client's Finished, decrypted"},
		{name: "clientcert-missing-tls13-go-openssl", scenario: catalog.ClientCertMissing, peer: lab.PeerGo, client: "openssl", tls: "1.3",
			expect: catalog.AlertUnclassified, note: "the same without key log: the failure is encrypted, and said to be"},
		{name: "clientcert-missing-tls12-nginx-curl-keylog", scenario: catalog.ClientCertMissing, peer: lab.PeerNginx, client: "curl", tls: "1.2",
			keylog: true, expect: catalog.ClientCertMissing, note: "nginx completes the handshake and answers 400 \"No required SSL certificate was sent\", read with the key log (TLS 1.2 decrypted)"},
		{name: "clientcert-missing-tls12-nginx-curl", scenario: catalog.ClientCertMissing, peer: lab.PeerNginx, client: "curl", tls: "1.2",
			note: "the same without key log: the handshake completes, the 400 answer is encrypted, and a note says so"},
		{name: "clientcert-missing-tls13-nginx-curl-keylog", scenario: catalog.ClientCertMissing, peer: lab.PeerNginx, client: "curl", tls: "1.3",
			keylog: true, expect: catalog.ClientCertMissing, note: "nginx's 400 answer in TLS 1.3, decrypted"},
		{name: "clientcert-issuer-not-accepted-tls12-go-go", scenario: catalog.ClientCertIssuer, peer: lab.PeerGo, client: "go", tls: "1.2",
			clientCert: true, passCert: true, expect: catalog.ClientCertIssuer, note: "the client's CA is not among the CA names listed; it sends none"},
		{name: "clientcert-rejected-tls12-openssl-curl", scenario: catalog.ClientCertRejected, peer: lab.PeerOpenSSL, client: "curl", tls: "1.2",
			clientCert: true, expect: catalog.ClientCertRejected, note: "the client sends its certificate and the server refuses it"},
		{name: "protocol-mismatch-tls10-nginx-curl", scenario: catalog.ProtocolMismatch, peer: lab.PeerNginx, client: "curl",
			expect: catalog.ProtocolMismatch, note: "a TLSv1.0-only server, a client of TLS 1.2 and 1.3"},
		{name: "protocol-mismatch-tls10-go-openssl", scenario: catalog.ProtocolMismatch, peer: lab.PeerGo, client: "openssl",
			expect: catalog.ProtocolMismatch, note: "a TLSv1.0-only server, a client of TLS 1.2 and 1.3"},
		{name: "protocol-mismatch-tls10-go-go", scenario: catalog.ProtocolMismatch, peer: lab.PeerGo, client: "go",
			expect: catalog.ProtocolMismatch, note: "a TLSv1.0-only server refuses a ClientHello of TLS 1.2 and 1.3 with protocol_version"},
		{name: "cipher-mismatch-openssl-go", scenario: catalog.CipherMismatch, peer: lab.PeerOpenSSL, client: "go",
			expect: catalog.CipherMismatch, note: "TLS 1.2 with one RSA suite on the server, Go's defaults on the client"},
		{name: "sni-required-nginx-openssl", scenario: catalog.SNIRequired, peer: lab.PeerNginx, client: "openssl", noSNI: true,
			expect: catalog.SNIRequired, note: "nginx rejects handshakes without server_name"},
		{name: "hostname-mismatch-tls12-go-curl", scenario: catalog.HostnameMismatch, peer: lab.PeerGo, client: "curl", tls: "1.2",
			expect: catalog.HostnameMismatch, note: "the certificate is for other.test"},
		{name: "hostname-mismatch-tls13-nginx-curl-keylog", scenario: catalog.HostnameMismatch, peer: lab.PeerNginx, client: "curl", tls: "1.3",
			keylog: true, expect: catalog.HostnameMismatch, note: "the same in TLS 1.3, decrypted"},
		{name: "truststore-missing-anchor-tls12-openssl-curl", scenario: catalog.TruststoreMissingRoot, peer: lab.PeerOpenSSL, client: "curl", tls: "1.2",
			expect: catalog.TruststoreMissingRoot, note: "the client's truststore holds another root"},
		{name: "truststore-missing-anchor-tls13-go-openssl-keylog", scenario: catalog.TruststoreMissingRoot, peer: lab.PeerGo, client: "openssl", tls: "1.3",
			keylog: true, expect: catalog.TruststoreMissingRoot, note: "the same in TLS 1.3, decrypted"},
		{name: "chain-incomplete-tls12-nginx-curl", scenario: catalog.ChainIncomplete, peer: lab.PeerNginx, client: "curl", tls: "1.2",
			expect: catalog.ChainIncomplete, note: "the server sends its leaf without the intermediate"},
		{name: "cert-expired-tls12-go-curl", scenario: catalog.CertExpired, peer: lab.PeerGo, client: "curl", tls: "1.2",
			expect: catalog.CertExpired, note: "the server's certificate expired 30 days before the capture"},
		{name: "cert-expired-tls13-openssl-go-keylog", scenario: catalog.CertExpired, peer: lab.PeerOpenSSL, client: "go", tls: "1.3",
			keylog: true, expect: catalog.CertExpired, note: "the same in TLS 1.3, decrypted"},
		{name: "healthy-tls12-openssl-java", scenario: "healthy.tls1.2-only", peer: lab.PeerOpenSSL, client: "java", tls: "1.2",
			note: "a healthy TLS 1.2 handshake from Java's JSSE (HttpsURLConnection)"},
		{name: "truststore-missing-anchor-tls12-go-java", scenario: catalog.TruststoreMissingRoot, peer: lab.PeerGo, client: "java", tls: "1.2",
			expect: catalog.TruststoreMissingRoot, note: "Java's JKS truststore holds another root; JSSE refuses the chain with certificate_unknown"},
		{name: "clientcert-missing-tls12-openssl-java", scenario: catalog.ClientCertMissing, peer: lab.PeerOpenSSL, client: "java", tls: "1.2",
			expect: catalog.ClientCertMissing, note: "Java without a keystore answers the CertificateRequest with an empty Certificate"},
		{name: "clientcert-issuer-not-accepted-tls12-go-java", scenario: catalog.ClientCertIssuer, peer: lab.PeerGo, client: "java", tls: "1.2",
			clientCert: true, passCert: true, expect: catalog.ClientCertIssuer, note: "Java's keystore holds a certificate of a CA the server does not list; JSSE sends an empty Certificate"},
		{name: "not-tls-nginx-curl", scenario: catalog.NotTLS, peer: lab.PeerNginx, client: "curl",
			expect: catalog.NotTLS, note: "the port serves plain HTTP"},
		{name: "plain-http-nginx-curl", scenario: catalog.NotTLS, peer: lab.PeerNginx, client: "curl-http",
			note: "plain HTTP, no TLS at all: nothing to judge, and the capture says so"},
		{name: "snaplen96-tls12-go-curl", scenario: catalog.ClientCertMissing, peer: lab.PeerGo, client: "curl", tls: "1.2", snaplen: 96,
			note: "tcpdump -s 96: the handshake cannot be judged, and the capture says why"},
	}
}

// interleaved are the scenarios played at once, several connections each, into one
// capture: the connections must be kept apart.
var interleaved = []recording{
	{scenario: "healthy.one-way", peer: lab.PeerGo, client: "curl", tls: "1.2"},
	{scenario: catalog.ClientCertMissing, peer: lab.PeerOpenSSL, client: "curl", tls: "1.2", expect: catalog.ClientCertMissing},
	{scenario: catalog.ProtocolMismatch, peer: lab.PeerGo, client: "go", expect: catalog.ProtocolMismatch},
	{scenario: catalog.HostnameMismatch, peer: lab.PeerNginx, client: "curl", tls: "1.2", expect: catalog.HostnameMismatch},
	{scenario: catalog.CertExpired, peer: lab.PeerGo, client: "openssl", tls: "1.2", expect: catalog.CertExpired},
}

// interleavedRounds is how many connections each interleaved scenario makes.
const interleavedRounds = 4
