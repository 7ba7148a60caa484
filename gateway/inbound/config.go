package inbound

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Match returns the virtual host serverName picks: the first whose host aliases hold
// serverName exactly (letter case and a trailing dot aside), else the first with a
// wildcard alias "*.domain" that covers it (one label only: *.example.com covers
// a.example.com, not a.b.example.com nor example.com), else nil. A port on an alias
// ("api.example.com:443") is ignored.
//
// With no server_name at all (serverName ""), Match returns the port's first virtual
// host, as nginx serves its default server to clients that send no SNI (old Java, some
// load balancers' health checks); nil when there is none.
func Match(vhosts []*VirtualHost, serverName string) *VirtualHost {
	i := MatchIndex(len(vhosts), func(i int) []string { return vhosts[i].HostAliases }, serverName)
	if i < 0 {
		return nil
	}
	return vhosts[i]
}

// MatchIndex is Match over any n virtual hosts whose host aliases aliases(i) gives: the
// index of the one serving name, or -1. An empty name selects the first (index 0 when n >
// 0). The gateway routes plain HTTP requests by their Host with it, so that both kinds of
// ports choose virtual hosts by the same rules.
func MatchIndex(n int, aliases func(i int) []string, serverName string) int {
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if name == "" {
		if n == 0 {
			return -1
		}
		return 0
	}
	for i := range n {
		for _, a := range aliases(i) {
			if aliasHost(a) == name {
				return i
			}
		}
	}
	_, parent, ok := strings.Cut(name, ".")
	if !ok || parent == "" {
		return -1
	}
	for i := range n {
		for _, a := range aliases(i) {
			if aliasHost(a) == "*."+parent {
				return i
			}
		}
	}
	return -1
}

// aliasHost returns an alias in lower case without a port or trailing dot.
func aliasHost(a string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	if strings.IndexByte(a, ':') >= 0 { // (SplitHostPort's error for a name alone costs an allocation)
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
	}
	return strings.TrimSuffix(a, ".")
}

// handshakeState is what one handshake's GetConfigForClient saw and chose.
type handshakeState struct {
	hello      bool // a ClientHello was read
	serverName string
	versions   []uint16 // offered
	suites     []uint16 // offered
	curves     []tls.CurveID
	aliases    []string // of every virtual host, when the name matched none
	vhost      *VirtualHost
	plainHTTP  bool // the client sent an HTTP request (set by classify)
}

// configFor picks the virtual host of a ClientHello and returns its tls.Config. When the
// name matches none, it returns a config without certificate, so that crypto/tls
// answers with the unrecognized_name alert.
func (l *Listener) configFor(chi *tls.ClientHelloInfo) (*tls.Config, error) {
	wc, ok := chi.Conn.(*wireConn)
	if !ok {
		return nil, errors.New("inbound: handshake on a connection the listener did not accept")
	}
	st := wc.st
	st.hello = true
	st.serverName = chi.ServerName
	st.versions = slices.Clone(chi.SupportedVersions)
	st.suites = slices.Clone(chi.CipherSuites)
	st.curves = slices.Clone(chi.SupportedCurves)

	vhosts := l.current()
	vh := Match(vhosts, chi.ServerName)
	if vh == nil {
		for _, v := range vhosts {
			st.aliases = append(st.aliases, v.Name+" ("+strings.Join(v.HostAliases, ", ")+")")
		}
		return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS13}, nil
	}
	st.vhost = vh
	cfg := serverConfig(vh)
	// Session tickets of one virtual host do not resume on another: a session without a
	// client certificate must not skip a two-way virtual host's certificate request.
	cfg.SetSessionTicketKeys([][32]byte{sha256.Sum256(append(l.ticket[:], vh.Name...))})
	return cfg, nil
}

// serverConfig is the tls.Config of one virtual host.
func serverConfig(vh *VirtualHost) *tls.Config {
	lo, hi := versionSpan(vh)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*vh.Cert},
		MinVersion:   lo,
		MaxVersion:   hi,
		CipherSuites: slices.Clone(vh.Ciphers),
		// As nginx: a client offering only "http/1.0" (curl -0) is served too; crypto/tls
		// would refuse it with no_application_protocol.
		NextProtos: []string{"h2", "http/1.1", "http/1.0"},
	}
	if !h2Capable(vh, hi) {
		// HTTP/2 refuses TLS 1.2 without an ephemeral AEAD suite (RFC 9113 §9.2.2): offer
		// HTTP/1.1 only rather than a connection net/http would reset.
		cfg.NextProtos = []string{"http/1.1", "http/1.0"}
	}
	if vh.ClientAuth {
		// Ask, never require nor verify: the HTTP layer answers as nginx does
		// (CheckClient). The pool makes the CertificateRequest list the CAs' names.
		cfg.ClientAuth = tls.RequestClientCert
		pool := x509.NewCertPool()
		for _, c := range vh.ClientCAs {
			pool.AddCert(c)
		}
		cfg.ClientCAs = pool
	}
	return cfg
}

// h2Capable reports whether a virtual host can carry HTTP/2: it accepts TLS 1.3, or an
// ECDHE AEAD suite of TLS 1.2.
func h2Capable(vh *VirtualHost, hi uint16) bool {
	if hi >= tls.VersionTLS13 {
		return true
	}
	for _, id := range acceptedSuites(vh, tls.VersionTLS12) {
		if s, ok := tlswire.SuiteByID(id); ok && s.MAC == "AEAD" && s.KeyExchange == tlswire.KxECDHE {
			return true
		}
	}
	return false
}

// versionSpan returns the lowest and highest version a virtual host accepts.
func versionSpan(vh *VirtualHost) (lo, hi uint16) {
	if len(vh.Protocols) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13
	}
	return slices.Min(vh.Protocols), slices.Max(vh.Protocols)
}

// acceptedVersions lists the versions a virtual host accepts, oldest first.
func acceptedVersions(vh *VirtualHost) []uint16 {
	lo, hi := versionSpan(vh)
	var out []uint16
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
		if lo <= v && v <= hi {
			out = append(out, v)
		}
	}
	return out
}

// acceptedSuites lists the suites a virtual host may select in version v: TLS 1.3's
// three, or the configured (else Go's default) suites that exist in v and suit the
// certificate's key (ECDSA suites for ECDSA and Ed25519 keys, RSA suites for RSA keys).
func acceptedSuites(vh *VirtualHost, v uint16) []uint16 {
	if v == tls.VersionTLS13 {
		return []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}
	}
	conf := vh.Ciphers
	if len(conf) == 0 {
		conf = defaultSuites()
	}
	auth := certAuth(vh.Cert)
	var out []uint16
	for _, id := range conf {
		s, ok := tlswire.SuiteByID(id)
		if !ok || !s.SupportsVersion(v) || !goSupports(id) {
			continue
		}
		if auth != "" && s.Auth != auth {
			continue
		}
		out = append(out, id)
	}
	return out
}

// defaultSuites are crypto/tls's default TLS 1.0–1.2 suites: its secure suites without
// RSA key exchange and CBC with SHA-256, which it disables by default.
func defaultSuites() []uint16 {
	var out []uint16
	for _, cs := range tls.CipherSuites() {
		if strings.HasPrefix(cs.Name, "TLS_RSA_") || strings.HasSuffix(cs.Name, "_CBC_SHA256") {
			continue
		}
		out = append(out, cs.ID)
	}
	return out
}

// goSupports reports whether crypto/tls implements suite id at all.
func goSupports(id uint16) bool {
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			if cs.ID == id {
				return true
			}
		}
	}
	return false
}

// certAuth is the TLS 1.2 suite authentication a certificate's key allows, or "" when
// unknown.
func certAuth(c *tls.Certificate) tlswire.Authentication {
	leaf := leafOf(c)
	if leaf == nil {
		return ""
	}
	switch leaf.PublicKey.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return tlswire.AuthECDSA
	case *rsa.PublicKey:
		return tlswire.AuthRSA
	}
	return ""
}

// leafOf returns the parsed leaf of a certificate, or nil.
func leafOf(c *tls.Certificate) *x509.Certificate {
	if c == nil || len(c.Certificate) == 0 {
		return nil
	}
	if c.Leaf != nil {
		return c.Leaf
	}
	return parseCert(c.Certificate[0])
}

func parseCert(der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c
}
