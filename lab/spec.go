package lab

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// Peer names a server implementation that can play a scenario.
type Peer string

// The peers.
const (
	PeerGo      Peer = "go"      // crypto/tls, in this process
	PeerOpenSSL Peer = "openssl" // openssl s_server (Debian package openssl)
	PeerNginx   Peer = "nginx"   // nginx (Debian package nginx-light)
)

// Peers returns every peer, in the order tables list them.
func Peers() []Peer { return []Peer{PeerGo, PeerOpenSSL, PeerNginx} }

// ParsePeer returns the peer named s.
func ParsePeer(s string) (Peer, error) {
	for _, p := range Peers() {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("lab: unknown peer %q (want go, openssl or nginx)", s)
}

// Behaviour is what a server does with a connection.
type Behaviour string

// Behaviours. Only the Go peer plays those other than ServeTLS and ServePlainHTTP.
const (
	ServeTLS       Behaviour = ""           // a TLS server as the rest of the spec says
	ServePlainHTTP Behaviour = "plain-http" // answers whatever it reads with an HTTP 400 response
	ServeSilent    Behaviour = "silent"     // accepts connections and never sends a byte
	ServeClosed    Behaviour = "closed"     // nothing listens on the port
	ServeAbort     Behaviour = "abort"      // aborts every handshake with an internal_error alert
	ServeGarbage   Behaviour = "garbage"    // answers with bytes that are no known protocol, then waits
	ServeEndless   Behaviour = "endless"    // answers with TLS handshake records that never end
	ServeDrip      Behaviour = "drip"       // answers with a TLS record header, one byte per second
)

// ClientAuth is whether a server asks for a client certificate.
type ClientAuth int

// Client authentication modes.
const (
	ClientAuthNone    ClientAuth = iota // no CertificateRequest
	ClientAuthRequest                   // asks, accepts none, verifies one that is sent
	ClientAuthRequire                   // asks and aborts without a certificate it trusts
)

func (a ClientAuth) String() string {
	return [...]string{"none", "request", "require"}[a]
}

// Credential is a certificate chain, leaf first, and the private key of its leaf.
type Credential struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// NamedCredential is the credential a server presents to clients that send Name in SNI.
type NamedCredential struct {
	Name string
	Credential
}

// ServerSpec is what a lab server does, in terms every peer can play (or refuse to, when it
// cannot: see Scenario.Peers).
type ServerSpec struct {
	Behaviour Behaviour

	// Cert is the default credential. Its Chain is sent exactly as given: possibly only the
	// leaf, out of order, or with an intermediate that did not issue the leaf.
	Cert Credential
	// ByName are the credentials chosen by the server_name the client sends; clients that
	// send no name, or another one, get Cert.
	ByName []NamedCredential
	// RequireSNI aborts every handshake whose server_name is not one of ByName's.
	RequireSNI bool

	// MinVersion and MaxVersion bound the versions (tls.VersionTLS10...); zero means TLS 1.2
	// and TLS 1.3 respectively.
	MinVersion, MaxVersion uint16
	// Ciphers are the TLS 1.2 and older suites the server accepts; empty: the peer's defaults.
	Ciphers []uint16

	ClientAuth ClientAuth
	// ClientCAs verify client certificates and, unless NoCANames, are listed in the
	// CertificateRequest as the acceptable CAs.
	ClientCAs []*x509.Certificate
	NoCANames bool
}

// versions returns the spec's version bounds with the defaults applied.
func (s ServerSpec) versions() (lo, hi uint16) {
	lo, hi = s.MinVersion, s.MaxVersion
	if lo == 0 {
		lo = tls.VersionTLS12
	}
	if hi == 0 {
		hi = tls.VersionTLS13
	}
	return lo, hi
}

// legacy reports whether the spec needs what OpenSSL's default security level refuses: a
// version before TLS 1.2, SHA-1 signatures or RSA keys below 2048 bits.
func (s ServerSpec) legacy() bool {
	if lo, _ := s.versions(); lo < tls.VersionTLS12 {
		return true
	}
	weak := func(c *x509.Certificate) bool {
		switch c.SignatureAlgorithm {
		case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.MD5WithRSA, x509.DSAWithSHA1:
			return true
		}
		return false
	}
	all := slices.Clone(s.Cert.Chain)
	for _, n := range s.ByName {
		all = append(all, n.Chain...)
	}
	return slices.ContainsFunc(all, weak)
}

// ClientSpec is how the doctor's client is configured. The lab never uses the system roots,
// so that a verdict does not depend on the machine.
type ClientSpec struct {
	// Roots is the truststore; empty means an empty truststore.
	Roots []*x509.Certificate
	// ServerName is the name the client expects (and sends unless NoSNI); empty means
	// DefaultServerName.
	ServerName string
	NoSNI      bool
	// Cert is the client's certificate chain and key; a Key that does not belong to the
	// leaf is a misconfigured credential (Start loads it from files as the doctor does).
	Cert *Credential
	// Protocols and Ciphers limit the client; empty means TLS 1.2 and 1.3, and Go's
	// default suites.
	Protocols []uint16
	Ciphers   []uint16
	// Timeout bounds the doctor's run; zero means DefaultTimeout.
	Timeout time.Duration
}

// DefaultServerName is the name lab clients expect and lab certificates carry.
const DefaultServerName = "backend.test"

// DefaultTimeout bounds a doctor run in the lab.
const DefaultTimeout = 10 * time.Second

// Scenario is one reproducible situation: a server, a client, and the doctor's expected
// verdict.
type Scenario struct {
	Name string
	// Expect is the cause ID the doctor must report, "" for a healthy setup.
	Expect string
	// Severity is the expected finding's severity.
	Severity    tlsdiag.Severity
	Description string
	Server      ServerSpec
	Client      ClientSpec
	// Peers are the server implementations that can play the scenario.
	Peers []Peer
	// Evidence is the key evidence the expected finding must carry. Values are compared
	// as JSON: a map matches when each of its keys matches, a list when it has the same
	// length and each element matches, anything else when equal.
	Evidence map[string]any
}

// Healthy reports whether the doctor must find no error.
func (s Scenario) Healthy() bool { return s.Expect == "" }

// PlayedBy reports whether p can play s.
func (s Scenario) PlayedBy(p Peer) bool { return slices.Contains(s.Peers, p) }

// ExpectText is the expected verdict as tables show it.
func (s Scenario) ExpectText() string {
	if s.Healthy() {
		return "ok"
	}
	if s.Severity != tlsdiag.SeverityError {
		return s.Expect + " (" + string(s.Severity) + ")"
	}
	return s.Expect
}
