package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/gateway/inbound"
	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/gateway/rsasign"
	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// snapshot is the compiled configuration the gateway serves at one store revision. It is
// immutable once built; a reload builds a new one.
type snapshot struct {
	revision int64
	ports    map[int]*portConfig
	// pools are the load balancers of the snapshot's proxies.
	pools []*poolInfo
	// problems are objects that could not be compiled (a key that does not open, a
	// keystore that does not exist); they are logged and left out.
	problems []string
}

// poolInfo names a load balancer for status.
type poolInfo struct {
	org, env, proxy string
	pool            *outbound.Pool
}

// portConfig is what one listening port serves.
type portConfig struct {
	port   int
	tls    bool
	vhosts []*vhost // in name order; the first is the default for clients without SNI
	// inbound is the TLS view of vhosts, for the listener.
	inbound []*inbound.VirtualHost
}

// vhost is a virtual host with its routes.
type vhost struct {
	org, env string
	tls      *inbound.VirtualHost
	name     string
	aliases  []string
	routes   []*route // longest base path first
}

// route sends requests under basePath to a proxy's target.
type route struct {
	org, env string
	proxy    string
	basePath string
	target   *target
}

// target is where a route sends requests: one transport (a URL), or a pool over target
// servers (a load balancer).
type target struct {
	name   string // URL host or "loadbalancer"
	scheme string
	path   string // prefix put before the request's path after the base path
	host   string // Host header for a URL target
	single *outbound.Transport
	pool   *outbound.Pool
	// servers names each pool member's transport by member name.
	servers map[string]*outbound.Transport
}

// compiler builds a snapshot, reusing the transports of the previous one whose
// configuration did not change (their keep-alive pools survive a reload).
type compiler struct {
	g        *Gateway
	old      map[string]*outbound.Transport
	used     map[string]*outbound.Transport
	problems []string
	pools    []*poolInfo
}

func (c *compiler) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// compile turns the stored document into a snapshot.
func (g *Gateway) compile(doc *config.Document, rev int64, old map[string]*outbound.Transport) (*snapshot, map[string]*outbound.Transport) {
	c := &compiler{g: g, old: old, used: map[string]*outbound.Transport{}}
	s := &snapshot{revision: rev, ports: map[int]*portConfig{}}
	for _, o := range doc.Organizations {
		for i := range o.Environments {
			c.environment(s, o.Name, &o.Environments[i])
		}
	}
	for _, p := range s.ports {
		sort.Slice(p.vhosts, func(i, j int) bool { return p.vhosts[i].name < p.vhosts[j].name })
		for _, v := range p.vhosts {
			if v.tls != nil {
				p.inbound = append(p.inbound, v.tls)
			}
			sort.Slice(v.routes, func(i, j int) bool { return len(v.routes[i].basePath) > len(v.routes[j].basePath) })
		}
	}
	s.problems = c.problems
	s.pools = c.pools
	return s, c.used
}

func (c *compiler) environment(s *snapshot, org string, e *config.Environment) {
	byName := map[string]*vhost{}
	for i := range e.VirtualHosts {
		cv := &e.VirtualHosts[i]
		v, err := c.virtualHost(org, e, cv)
		if err != nil {
			c.problem("%s/%s virtual host %s: %v", org, e.Name, cv.Name, err)
			continue
		}
		p := s.ports[cv.Port]
		if p == nil {
			p = &portConfig{port: cv.Port, tls: v.tls != nil}
			s.ports[cv.Port] = p
		}
		if p.tls != (v.tls != nil) {
			c.problem("%s/%s virtual host %s: port %d mixes TLS and plain virtual hosts", org, e.Name, cv.Name, cv.Port)
			continue
		}
		p.vhosts = append(p.vhosts, v)
		byName[cv.Name] = v
	}
	for i := range e.Proxies {
		px := &e.Proxies[i]
		t, err := c.target(org, e, px)
		if err != nil {
			c.problem("%s/%s proxy %s: %v", org, e.Name, px.Name, err)
			continue
		}
		for _, vn := range px.VirtualHosts {
			if v := byName[vn]; v != nil {
				v.routes = append(v.routes, &route{org: org, env: e.Name, proxy: px.Name, basePath: strings.TrimRight(px.BasePath, "/"), target: t})
			}
		}
	}
}

// virtualHost resolves a virtual host's keystore, alias and truststore.
func (c *compiler) virtualHost(org string, e *config.Environment, cv *config.VirtualHost) (*vhost, error) {
	v := &vhost{org: org, env: e.Name, name: cv.Name, aliases: cv.HostAliases}
	si := cv.SSLInfo
	if si == nil || !bool(si.Enabled) {
		return v, nil
	}
	cert, from, err := c.keyPair(org, e, si.KeyStore, si.KeyAlias)
	if err != nil {
		return nil, err
	}
	iv := &inbound.VirtualHost{Name: cv.Name, HostAliases: cv.HostAliases, Cert: cert, CertFrom: from, ClientAuth: bool(si.ClientAuthEnabled)}
	if iv.ClientAuth {
		if iv.ClientCAs, iv.ClientCAsFrom, err = c.trust(e, si.TrustStore); err != nil {
			return nil, err
		}
	}
	protocols := si.Protocols
	if p := cv.Properties["ssl_protocols"]; p != "" {
		protocols = strings.Fields(p)
	}
	if iv.Protocols, err = versions(protocols); err != nil {
		return nil, err
	}
	ciphers := si.Ciphers
	if p := cv.Properties["ssl_ciphers"]; p != "" {
		ciphers = strings.FieldsFunc(p, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	}
	if iv.Ciphers, err = suites(ciphers); err != nil {
		return nil, err
	}
	v.tls = iv
	return v, nil
}

// keyPair opens alias of the keystore named by nameOrRef.
func (c *compiler) keyPair(org string, e *config.Environment, nameOrRef, alias string) (*tls.Certificate, string, error) {
	ks, err := config.ResolveStore(e, nameOrRef)
	if err != nil {
		return nil, "", err
	}
	a := ks.Alias(alias)
	if a == nil {
		return nil, "", fmt.Errorf("keystore %s has no alias %s", ks.Name, alias)
	}
	key, err := config.OpenKey(c.g.sealer, org, e.Name, ks.Name, a)
	if err != nil {
		return nil, "", err
	}
	chain, err := pki.ParseCertificates([]byte(a.Cert))
	if err != nil {
		return nil, "", fmt.Errorf("keystore %s alias %s: %w", ks.Name, alias, err)
	}
	b := pki.Bundle{Chain: chain, Key: key}
	tc := b.TLSCertificate()
	tc.PrivateKey = rsasign.Wrap(tc.PrivateKey) // RSA signatures by libcrypto, when the system has it
	return &tc, storeName("keystore", nameOrRef, ks.Name) + " alias " + alias, nil
}

// trust returns the certificates of the truststore named by nameOrRef.
func (c *compiler) trust(e *config.Environment, nameOrRef string) ([]*x509.Certificate, string, error) {
	if nameOrRef == "" {
		return nil, "", nil
	}
	ks, err := config.ResolveStore(e, nameOrRef)
	if err != nil {
		return nil, "", err
	}
	var out []*x509.Certificate
	for _, a := range ks.Aliases {
		certs, err := pki.ParseCertificates([]byte(a.Cert))
		if err != nil {
			return nil, "", fmt.Errorf("truststore %s alias %s: %w", ks.Name, a.Name, err)
		}
		out = append(out, certs...)
	}
	return out, storeName("truststore", nameOrRef, ks.Name), nil
}

func storeName(what, given, name string) string {
	if ref, ok := strings.CutPrefix(given, config.RefPrefix); ok {
		return fmt.Sprintf("%s %s (through reference %s)", what, name, ref)
	}
	return what + " " + name
}

// target builds a proxy's target: a URL, or a load balancer over target servers.
func (c *compiler) target(org string, e *config.Environment, px *config.Proxy) (*target, error) {
	te := &px.Target
	connect := time.Duration(te.ConnectTimeoutMillis) * time.Millisecond
	io := time.Duration(te.IOTimeoutMillis) * time.Millisecond
	if te.URL != "" {
		u, err := url.Parse(te.URL)
		if err != nil {
			return nil, err
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
		}
		cfg, err := c.outboundConfig(org, e, te.SSLInfo, fmt.Sprintf("proxy %s target %s", px.Name, te.URL), u.Hostname(), port, u.Scheme == "https", connect, io)
		if err != nil {
			return nil, err
		}
		return &target{name: u.Host, scheme: u.Scheme, path: strings.TrimRight(u.Path, "/"), host: u.Host, single: c.transport(cfg)}, nil
	}
	lb := te.LoadBalancer
	if lb == nil {
		return nil, fmt.Errorf("no target URL and no load balancer")
	}
	t := &target{name: "loadbalancer", path: strings.TrimRight(te.Path, "/"), servers: map[string]*outbound.Transport{}}
	var members []outbound.Member
	for _, name := range lb.Servers {
		ts := e.TargetServer(name)
		if ts == nil {
			return nil, fmt.Errorf("target server %s does not exist", name)
		}
		if !ts.Enabled() {
			continue
		}
		si := ts.SSLInfo
		if si == nil {
			si = te.SSLInfo
		}
		enabled := si != nil && bool(si.Enabled)
		cfg, err := c.outboundConfig(org, e, si, "target server "+name, ts.Host, strconv.Itoa(ts.Port), enabled, connect, io)
		if err != nil {
			return nil, fmt.Errorf("target server %s: %w", name, err)
		}
		tr := c.transport(cfg)
		t.servers[name] = tr
		members = append(members, outbound.Member{Name: name, Transport: tr})
		if t.scheme == "" {
			t.scheme = map[bool]string{true: "https", false: "http"}[enabled]
		}
	}
	t.pool = outbound.NewPool(members, lb.Algorithm, lb.MaxFailures)
	c.pools = append(c.pools, &poolInfo{org: org, env: e.Name, proxy: px.Name, pool: t.pool})
	return t, nil
}

// outboundConfig resolves an SSLInfo into the transport's configuration.
func (c *compiler) outboundConfig(org string, e *config.Environment, si *config.SSLInfo, name, host, port string, useTLS bool, connect, io time.Duration) (outbound.Config, error) {
	cfg := outbound.Config{Target: name, Address: net.JoinHostPort(host, port), Host: host, TLS: useTLS, SNI: true, ConnectTimeout: connect, IOTimeout: io}
	if !useTLS || si == nil {
		return cfg, nil
	}
	var err error
	if si.TrustStore != "" {
		if cfg.Roots, cfg.RootsFrom, err = c.trust(e, si.TrustStore); err != nil {
			return cfg, err
		}
	}
	if bool(si.ClientAuthEnabled) {
		if cfg.ClientCert, cfg.ClientCertFrom, err = c.keyPair(org, e, si.KeyStore, si.KeyAlias); err != nil {
			return cfg, err
		}
	}
	if cfg.Protocols, err = versions(si.Protocols); err != nil {
		return cfg, err
	}
	if cfg.Ciphers, err = suites(si.Ciphers); err != nil {
		return cfg, err
	}
	cfg.SNI = si.SNIEnabled()
	if cn := si.CommonName; cn != nil {
		cfg.CommonName, cfg.WildcardMatch = cn.Value, cn.WildcardMatch
	}
	cfg.IgnoreValidationErrors, cfg.Enforce = si.IgnoreValidationErrors, si.Enforce
	return cfg, nil
}

// transport returns the transport of cfg, reusing the previous snapshot's when the
// configuration is the same.
func (c *compiler) transport(cfg outbound.Config) *outbound.Transport {
	key := configKey(cfg)
	if t := c.used[key]; t != nil {
		return t
	}
	t := c.old[key]
	if t == nil {
		t = outbound.NewTransport(cfg, outbound.Options{Logger: c.g.log, Now: c.g.now, Diagnoser: c.g.diagnoser, Dial: c.g.dial})
	}
	c.used[key] = t
	return t
}

// configKey identifies a transport configuration: equal keys, same behaviour.
func configKey(cfg outbound.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%v|%v|%v|%v|%s|%v|%v|%v|%v|%v|%s|%s", cfg.Target, cfg.Address, cfg.Host, cfg.TLS, cfg.Protocols, cfg.Ciphers,
		cfg.SNI, cfg.CommonName, cfg.WildcardMatch, cfg.IgnoreValidationErrors, cfg.Enforce, cfg.ConnectTimeout, cfg.IOTimeout, cfg.RootsFrom, cfg.ClientCertFrom)
	for _, r := range cfg.Roots {
		b.Write(r.Raw[len(r.Raw)-min(len(r.Raw), 32):])
	}
	if cfg.ClientCert != nil {
		for _, d := range cfg.ClientCert.Certificate {
			b.Write(d[len(d)-min(len(d), 32):])
		}
	}
	return b.String()
}

// versions maps Edge protocol names to TLS versions.
func versions(names []string) ([]uint16, error) {
	var out []uint16
	for _, n := range names {
		v, ok := config.ProtocolVersion(n)
		if !ok {
			var err error
			if v, err = tlswire.ParseVersion(n); err != nil {
				return nil, fmt.Errorf("protocol %q: %w", n, err)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// suites maps IANA or OpenSSL suite names to IDs.
func suites(names []string) ([]uint16, error) {
	var out []uint16
	for _, n := range names {
		s, ok := tlswire.SuiteByName(n)
		if !ok {
			return nil, fmt.Errorf("unknown cipher suite %q", n)
		}
		out = append(out, s.ID)
	}
	return out, nil
}
