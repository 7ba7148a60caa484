// Package catalog holds the causes of TLS handshake failures as data: ID, title, severity,
// the deeper causes that hide it, the rule that recognises it, its evidence and its fix.
//
// The IDs are a contract shared by the doctor, the capture reader, the gateway's faults and
// the management API: once released, never renamed.
package catalog

import (
	"sync"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// The cause IDs.
const (
	NetworkUnreachable     = "network.unreachable"
	NetworkTimeout         = "network.timeout"
	NotTLS                 = "tls.not-tls"
	ProtocolMismatch       = "protocol.mismatch"
	CipherMismatch         = "cipher.mismatch"
	SNIRequired            = "sni.required"
	SNIDefaultCertificate  = "sni.default-certificate"
	ChainIncomplete        = "chain.incomplete"
	ChainWrongIntermediate = "chain.wrong-intermediate"
	ChainMisordered        = "chain.misordered"
	TruststoreMissingRoot  = "truststore.missing-anchor"
	TruststoreEmpty        = "truststore.empty"
	HostnameMismatch       = "hostname.mismatch"
	CertExpired            = "cert.expired"
	CertNotYetValid        = "cert.not-yet-valid"
	CertInsecureSignature  = "cert.insecure-signature"
	ClientCertMissing      = "clientcert.missing"
	ClientCertIssuer       = "clientcert.issuer-not-accepted"
	ClientCertRejected     = "clientcert.rejected"
	ClientCertExpired      = "clientcert.expired"
	ClientCertKeyMismatch  = "clientcert.key-mismatch"
	AlertUnclassified      = "alert.unclassified"
)

// Outbound returns the causes of a client's failed handshake (the doctor's and the gateway's
// towards its targets), in report order: deeper causes first.
func Outbound() []tlsdiag.Cause {
	var out []tlsdiag.Cause
	out = append(out, networkCauses()...)
	out = append(out, versionCauses()...)
	out = append(out, sniCauses()...)
	out = append(out, chainCauses()...)
	out = append(out, clientCertCauses()...)
	out = append(out, fallbackCauses()...)
	return withWireRules(out)
}

var (
	engineOnce sync.Once
	engine     *tlsdiag.Engine
)

// Engine returns the engine over the outbound causes.
func Engine() *tlsdiag.Engine {
	engineOnce.Do(func() { engine = tlsdiag.NewEngine(Outbound()...) })
	return engine
}

// Diagnose runs the outbound causes over f under x.
func Diagnose(f *tlsdiag.Facts, x *tlsdiag.Expectations) []tlsdiag.Finding {
	return Engine().Diagnose(f, x)
}
