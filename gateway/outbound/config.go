package outbound

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// Defaults for Config's timeouts (Edge's connect.timeout.millis and io.timeout.millis).
const (
	DefaultConnectTimeout = 3 * time.Second
	DefaultIOTimeout      = 55 * time.Second
)

// Config is one target's resolved TLS configuration (keystores and references already
// resolved by the caller).
type Config struct {
	// Target is how evidence and fixes name the target: "target server backend-1",
	// "proxy orders → https://legacy:8443".
	Target string
	// Address is the host:port to dial.
	Address string
	// Host is the configured host name: verified, and sent in SNI unless SNI is false.
	Host string
	// TLS is SSLInfo's Enabled; false means plain HTTP.
	TLS bool

	// Roots is the truststore; RootsFrom names it ("truststore backendTS (through
	// reference backendRef)"). Roots empty and RootsFrom "" mean the system roots; Roots
	// empty with RootsFrom set is an empty truststore.
	Roots     []*x509.Certificate
	RootsFrom string

	// ClientCert is the client certificate and key for two-way TLS; ClientCertFrom names
	// it ("keystore clientKS alias client").
	ClientCert     *tls.Certificate
	ClientCertFrom string
	// ClientCertProblem is set by the caller when the configured client credential cannot
	// be used (its key belongs to another certificate, the alias does not exist): the
	// handshake goes without a certificate and its failure is clientcert.key-mismatch.
	ClientCertProblem string

	// Protocols are the versions allowed (tls.VersionTLS12...); empty means TLS 1.2 and
	// 1.3. Ciphers are the suites offered; empty means Go's defaults.
	Protocols []uint16
	Ciphers   []uint16

	// SNI sends Host in server_name.
	SNI bool

	// CommonName, when set, is verified instead of Host (Edge's <CommonName>), as a
	// pattern when WildcardMatch.
	CommonName    string
	WildcardMatch bool

	// IgnoreValidationErrors accepts any chain and name unless Enforce.
	IgnoreValidationErrors bool
	Enforce                bool

	// ConnectTimeout bounds the TCP connection and the handshake; IOTimeout bounds the wait
	// for the response's header. Zero means DefaultConnectTimeout, DefaultIOTimeout.
	ConnectTimeout time.Duration
	IOTimeout      time.Duration
}

// Options are a Transport's dependencies.
type Options struct {
	// Logger receives a record of each diagnosed failure; nil discards.
	Logger *slog.Logger
	// Now is the clock certificates are judged by; nil means time.Now.
	Now func() time.Time
	// Dial opens TCP connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Diagnoser runs and caches follow-up diagnoses; share one between the transports of a
	// gateway. Nil means a private one with default settings.
	Diagnoser *Diagnoser
}

func (c Config) withDefaults() Config {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = DefaultIOTimeout
	}
	if c.Target == "" {
		c.Target = c.Address
	}
	if c.Host == "" {
		if h, _, err := net.SplitHostPort(c.Address); err == nil {
			c.Host = h
		}
	}
	return c
}

// insecure reports whether the chain and name go unverified.
func (c Config) insecure() bool { return c.IgnoreValidationErrors && !c.Enforce }

// expectations is what the recording handshake is configured with: Host is the name sent
// (and verified unless CommonName is set).
func (c Config) expectations() *tlsdiag.Expectations {
	x := &tlsdiag.Expectations{
		ServerName:        c.Host,
		NoSNI:             !c.SNI,
		Roots:             c.Roots,
		ClientCert:        c.ClientCert,
		ClientCertFrom:    c.ClientCertFrom,
		ClientCertProblem: c.ClientCertProblem,
		Protocols:         c.Protocols,
		Ciphers:           c.Ciphers,
	}
	if c.ClientCertProblem != "" {
		x.ClientCert = nil
	}
	switch {
	case c.RootsFrom != "":
		x.RootsFrom = []string{c.RootsFrom}
	case len(c.Roots) == 0:
		x.SystemRoots = true
	}
	return x
}

// doctorExpectations is what the doctor needs to re-check the target: the name it sends and
// verifies is CommonName when that is one name (not a pattern), Host otherwise.
func (c Config) doctorExpectations() *tlsdiag.Expectations {
	x := c.expectations()
	if c.CommonName != "" && !(c.WildcardMatch && strings.Contains(c.CommonName, "*")) {
		x.ServerName = c.CommonName
	}
	return x
}

// verifyName returns the check of the leaf against CommonName, or nil when Host is
// verified.
func (c Config) verifyName() func(*x509.Certificate) error {
	if c.CommonName == "" {
		return nil
	}
	want, wildcard := c.CommonName, c.WildcardMatch
	return func(leaf *x509.Certificate) error {
		if matchCommonName(leaf, want, wildcard) {
			return nil
		}
		how := "exactly"
		if wildcard {
			how = "as a wildcard pattern"
		}
		return fmt.Errorf("x509: certificate names %s; none matches the target's CommonName %q %s", leafNames(leaf), want, how)
	}
}

// matchCommonName reports whether one of the leaf's names (subject CN, DNS SANs) is want,
// or, with wildcard, matches want's leading "*." as one label.
func matchCommonName(leaf *x509.Certificate, want string, wildcard bool) bool {
	for _, n := range append([]string{leaf.Subject.CommonName}, leaf.DNSNames...) {
		if n == "" {
			continue
		}
		if strings.EqualFold(n, want) {
			return true
		}
		if wildcard && strings.HasPrefix(want, "*.") {
			label, rest, ok := strings.Cut(n, ".")
			if ok && label != "" && label != "*" && strings.EqualFold(rest, want[2:]) {
				return true
			}
		}
	}
	return false
}

func leafNames(leaf *x509.Certificate) string {
	var names []string
	if cn := leaf.Subject.CommonName; cn != "" {
		names = append(names, "CN="+cn)
	}
	for _, d := range leaf.DNSNames {
		names = append(names, "DNS:"+d)
	}
	for _, ip := range leaf.IPAddresses {
		names = append(names, "IP:"+ip.String())
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// key identifies the target's address and TLS configuration, for the Diagnoser: two
// transports with the same key fail the same way.
func (c Config) key() string {
	h := sha256.New()
	str := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	u16s := func(xs []uint16) {
		str(fmt.Sprint(xs))
	}
	str(c.Address)
	str(c.Host)
	str(fmt.Sprint(c.TLS, c.SNI, c.WildcardMatch, c.IgnoreValidationErrors, c.Enforce, c.ConnectTimeout))
	str(c.CommonName)
	str(c.RootsFrom)
	for _, r := range c.Roots {
		str(string(r.Raw))
	}
	str("client")
	if c.ClientCert != nil {
		for _, der := range c.ClientCert.Certificate {
			str(string(der))
		}
	}
	str(c.ClientCertProblem)
	u16s(c.Protocols)
	u16s(c.Ciphers)
	return c.Address + "/" + hex.EncodeToString(h.Sum(nil)[:12])
}
