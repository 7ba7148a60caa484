package main

import (
	"strings"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// The inbound causes of shared/CAUSES.md: the gateway is the server. nginx plays it.
const (
	inboundClientCertMissing   = "inbound.clientcert.missing"
	inboundClientCertExpired   = "inbound.clientcert.expired"
	inboundClientCertUntrusted = "inbound.clientcert.untrusted"
	inboundProtocolMismatch    = "inbound.protocol.mismatch"
	inboundCipherMismatch      = "inbound.cipher.mismatch"
	inboundSNIUnknown          = "inbound.sni.unknown"
	inboundCertRejected        = "inbound.cert.rejected-by-client"
)

// variant is a change to the scenario's client, and the cause it makes the failure have.
type variant struct {
	name  string // "" for the scenario's own client
	cause string // "" for the scenario's expected cause
	// maxTLS12 limits the client to TLS 1.2 and below; onlyTLS13 to TLS 1.3; onlyTLS10 to
	// TLS 1.0.
	maxTLS12, onlyTLS13, onlyTLS10 bool
	// ciphers limits the client's TLS 1.2 suites to ECDHE with AES-GCM.
	ciphers bool
}

// The TLS 1.2 suites of the ciphers variant, in each client's spelling.
const (
	opensslGCM = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"
	ianaGCM    = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
)

// plan is how one scenario is recorded: by which server peers, with which client variants.
type plan struct {
	peers    []lab.Peer
	variants []variant
	// multiPeer names files after the peer too: the server's implementation changes what
	// the client sees (its alerts, its version negotiation).
	multiPeer bool
}

// planFor returns how s is recorded; no peers means it is not (a healthy setup without a
// variant that fails).
func planFor(s lab.Scenario) plan {
	base := []variant{{}}
	switch {
	case s.Name == "healthy.tls1.2-only":
		return plan{peers: s.Peers, multiPeer: true,
			variants: []variant{{name: "tls1.3", cause: catalog.ProtocolMismatch, onlyTLS13: true}}}
	case s.Name == "healthy.tls1.3-only":
		return plan{peers: s.Peers, multiPeer: true,
			variants: []variant{{name: "tls1.2", cause: catalog.ProtocolMismatch, maxTLS12: true}}}
	case s.Name == "healthy.one-way":
		// A client that allows only TLS 1.0, which its own defaults refuse.
		return plan{peers: []lab.Peer{lab.PeerGo, lab.PeerNginx},
			variants: []variant{{name: "tls1.0", cause: catalog.ProtocolMismatch, onlyTLS10: true}}}
	case s.Healthy():
		return plan{}
	case strings.HasPrefix(s.Expect, "clientcert."):
		return plan{peers: s.Peers, multiPeer: true,
			variants: []variant{{}, {name: "tls1.2", maxTLS12: true}}}
	case s.Expect == catalog.CipherMismatch:
		return plan{peers: s.Peers, multiPeer: true,
			variants: []variant{{}, {name: "ciphers", ciphers: true}}}
	case s.Expect == catalog.ProtocolMismatch:
		// A client limited to TLS 1.2 sends no supported_versions: the server answers with
		// its TLS 1.0 ServerHello instead of an alert.
		return plan{peers: s.Peers, multiPeer: true,
			variants: []variant{{}, {name: "tls1.2", maxTLS12: true}, {name: "tls1.0", onlyTLS10: true}}}
	case s.Expect == catalog.SNIRequired, s.Expect == catalog.NotTLS:
		return plan{peers: s.Peers, multiPeer: true, variants: base}
	}
	// What the client sees depends on the certificates only: one peer plays it for the
	// clients, and nginx, when it can, for its own log of the client's alert.
	peers := []lab.Peer{s.Peers[0]}
	if s.Peers[0] != lab.PeerNginx && s.PlayedBy(lab.PeerNginx) {
		peers = append(peers, lab.PeerNginx)
	}
	return plan{peers: peers, variants: base}
}

// clientsSee reports whether the clients' own view of s played by peer is recorded. With
// nginx as the server of a scenario whose failure is in the certificates, the clients see
// what they see with any server, and nginx's 400 pages are the gateway's answer: only
// nginx's view (its log and its page) is recorded.
func clientsSee(s lab.Scenario, p plan, peer lab.Peer) bool {
	if peer != lab.PeerNginx {
		return true
	}
	if strings.HasPrefix(s.Expect, "clientcert.") {
		return false
	}
	return p.multiPeer || p.peers[0] == lab.PeerNginx
}

// inboundCause is the cause nginx, as the server of s, shows in its log when a client fails
// as v makes it fail; "" when there is none to record.
func inboundCause(s lab.Scenario, v variant) string {
	cause := s.Expect
	if v.cause != "" {
		cause = v.cause
	}
	if strings.HasPrefix(s.Expect, "clientcert.") && v.name != "" {
		return "" // nginx answers a client limited to TLS 1.2 as it answers any other
	}
	if v.ciphers {
		return inboundCipherMismatch
	}
	switch cause {
	case catalog.ProtocolMismatch:
		return inboundProtocolMismatch
	case catalog.CipherMismatch:
		return inboundCipherMismatch
	case catalog.SNIRequired:
		return inboundSNIUnknown
	case catalog.ClientCertMissing:
		return inboundClientCertMissing
	case catalog.ClientCertExpired:
		return inboundClientCertExpired
	case catalog.ClientCertIssuer, catalog.ClientCertRejected:
		return inboundClientCertUntrusted
	case catalog.SNIDefaultCertificate, catalog.ChainIncomplete, catalog.ChainWrongIntermediate,
		catalog.ChainMisordered, catalog.TruststoreMissingRoot, catalog.TruststoreEmpty,
		catalog.HostnameMismatch, catalog.CertExpired, catalog.CertNotYetValid, catalog.CertInsecureSignature:
		return inboundCertRejected
	}
	return ""
}
