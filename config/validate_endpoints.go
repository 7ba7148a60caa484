package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Protocol versions as Edge (Java) names them in SSLInfo's Protocols.
var edgeProtocols = map[string]uint16{
	"SSLv3":   0x0300,
	"TLSv1":   0x0301,
	"TLSv1.0": 0x0301,
	"TLSv1.1": 0x0302,
	"TLSv1.2": 0x0303,
	"TLSv1.3": 0x0304,
}

// edgeProtocolList is what messages offer.
const edgeProtocolList = "SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"

// ProtocolVersion returns the TLS version (tls.VersionTLS12, ...) of a protocol name as
// Edge spells it in SSLInfo: SSLv3, TLSv1 (or TLSv1.0), TLSv1.1, TLSv1.2, TLSv1.3.
func ProtocolVersion(name string) (uint16, bool) {
	v, ok := edgeProtocols[name]
	return v, ok
}

// Load balancer algorithms Edge knows.
var lbAlgorithms = []string{"RoundRobin", "Weighted", "LeastConnections"}

// sslRole says where an SSLInfo sits: inbound on a virtual host, or outbound.
type sslRole int

const (
	roleVirtualHost sslRole = iota
	roleTarget
)

// sslInfo checks an SSLInfo: the stores and alias it names, and what its role needs.
func (c *checker) sslInfo(obj ObjectRef, path string, s *SSLInfo, role sslRole) {
	ks := c.store(obj, path+".keyStore", s.KeyStore)
	c.store(obj, path+".trustStore", s.TrustStore)
	switch {
	case s.KeyAlias == "":
	case strings.HasPrefix(s.KeyAlias, RefPrefix):
		c.add(obj, path+".keyAlias", "keyAlias %q cannot be a reference; give the alias itself", s.KeyAlias)
	case s.KeyStore == "":
		c.add(obj, path+".keyAlias", "keyAlias %q needs keyStore, the keystore that holds it", s.KeyAlias)
	case ks != nil:
		where := fmt.Sprintf("keystore %q", ks.Name)
		if strings.HasPrefix(s.KeyStore, RefPrefix) {
			where += fmt.Sprintf(" (%s)", s.KeyStore)
		}
		a := ks.Alias(s.KeyAlias)
		if a == nil {
			c.add(obj, path+".keyAlias", "alias %q does not exist in %s", s.KeyAlias, where)
		} else if !a.HasKey() {
			c.add(obj, path+".keyAlias", "alias %q of %s holds a certificate only, no private key", s.KeyAlias, where)
		}
	}
	switch role {
	case roleVirtualHost:
		if s.Enabled && (s.KeyStore == "" || s.KeyAlias == "") {
			c.add(obj, path+missing(s), "TLS is enabled: give keyStore and keyAlias, the server's certificate and key")
		}
		if s.ClientAuthEnabled {
			if !s.Enabled {
				c.add(obj, path+".clientAuthEnabled", "two-way TLS needs enabled: true")
			}
			if s.TrustStore == "" {
				c.add(obj, path+".trustStore", "clientAuthEnabled needs trustStore, the CAs that client certificates are verified against")
			}
		}
	case roleTarget:
		if s.ClientAuthEnabled && (s.KeyStore == "" || s.KeyAlias == "") {
			c.add(obj, path+missing(s), "clientAuthEnabled needs keyStore and keyAlias, the client certificate the gateway presents")
		}
	}
	for i, p := range s.Protocols {
		if _, ok := edgeProtocols[p]; !ok {
			c.add(obj, fmt.Sprintf("%s.protocols[%d]", path, i), "unknown protocol %q; want one of %s", p, edgeProtocolList)
		}
	}
	for i, name := range s.Ciphers {
		if _, ok := tlswire.SuiteByName(name); !ok {
			c.add(obj, fmt.Sprintf("%s.ciphers[%d]", path, i), "unknown cipher suite %q; give its IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or OpenSSL name (ECDHE-RSA-AES128-GCM-SHA256)", name)
		}
	}
	if s.CommonName != nil && strings.TrimSpace(s.CommonName.Value) == "" {
		c.add(obj, path+".commonName.value", "commonName has no value; give the name to expect or remove commonName")
	}
}

// missing returns the field of the pair keyStore/keyAlias that is empty.
func missing(s *SSLInfo) string {
	if s.KeyStore == "" {
		return ".keyStore"
	}
	return ".keyAlias"
}

// store checks a KeyStore or TrustStore field and returns the keystore it resolves to.
func (c *checker) store(obj ObjectRef, path, nameOrRef string) *Keystore {
	if nameOrRef == "" {
		return nil
	}
	ks, err := ResolveStore(c.env, nameOrRef)
	if err != nil {
		c.add(obj, path, "%v", err)
	}
	return ks
}

// checkPort reports a port out of 1..65535.
func (c *checker) checkPort(obj ObjectRef, path string, port int) {
	if port < 1 || port > 65535 {
		c.add(obj, path, "port %d is out of range 1..65535", port)
	}
}

// virtualHost checks a virtual host.
func (c *checker) virtualHost(i int, v *VirtualHost) {
	obj := ObjectRef{KindVirtualHost, v.Name}
	path := elem("virtualHosts", v.Name, i)
	if len(v.HostAliases) == 0 {
		c.add(obj, path+".hostAliases", "no host alias: give the host names clients reach this virtual host by")
	}
	seen := map[string]bool{}
	for j, h := range v.HostAliases {
		hp := fmt.Sprintf("%s.hostAliases[%d]", path, j)
		switch {
		case !validHostAlias(h):
			c.add(obj, hp, "host alias %q is not a DNS name or IP address (a leading \"*.\" is allowed)", h)
		case seen[strings.ToLower(h)]:
			c.add(obj, hp, "host alias %q is listed twice", h)
		}
		seen[strings.ToLower(h)] = true
	}
	c.checkPort(obj, path+".port", v.Port)
	if v.BaseURL != "" {
		if u, err := url.Parse(v.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.add(obj, path+".baseUrl", "base URL %q is not an http:// or https:// URL", v.BaseURL)
		}
	}
	if v.SSLInfo != nil {
		c.sslInfo(obj, path+".sslInfo", v.SSLInfo, roleVirtualHost)
	}
	if p, ok := v.Properties["ssl_protocols"]; ok {
		for _, f := range strings.Fields(p) {
			if f != "SSLv2" && f != "SSLv3" && f != "TLSv1" && f != "TLSv1.1" && f != "TLSv1.2" && f != "TLSv1.3" {
				c.add(obj, path+".properties.ssl_protocols", "unknown protocol %q; want some of SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3, separated by spaces", f)
			}
		}
	}
}

// hostPorts checks that no two virtual hosts of the environment claim the same host
// alias on the same port, and that a port is TLS or plain for all of them.
func (c *checker) hostPorts() {
	c.out = append(c.out, vhostConflicts(c.env, map[int]*listener{}, "", false)...)
}

// listener is what virtual hosts claimed of one port.
type listener struct {
	tls   bool
	first claim            // the first virtual host on the port
	hosts map[string]claim // host alias → the virtual host that claimed it
}

// claim is a virtual host that claimed a port or host alias: its environment (a path
// prefix) and its path within.
type claim struct{ env, path string }

// vhostConflicts returns the conflicts of the virtual hosts of e (at path prefix env)
// with the listeners claimed (which it extends): those with virtual hosts of other
// environments when cross is set, else those within e.
func vhostConflicts(e *Environment, claimed map[int]*listener, env string, cross bool) []Problem {
	var out []Problem
	report := func(other claim) bool { return (other.env != env) == cross }
	for i := range e.VirtualHosts {
		v := &e.VirtualHosts[i]
		if v.Port < 1 || v.Port > 65535 {
			continue
		}
		obj := ObjectRef{KindVirtualHost, v.Name}
		path := elem("virtualHosts", v.Name, i)
		me := claim{env, path}
		tls := v.SSLInfo != nil && bool(v.SSLInfo.Enabled)
		l := claimed[v.Port]
		if l == nil {
			l = &listener{tls: tls, first: me, hosts: map[string]claim{}}
			claimed[v.Port] = l
		} else if l.tls != tls && report(l.first) {
			out = append(out, Problem{env + path + ".port", obj, fmt.Sprintf("port %d serves %s here and %s on %s: one port cannot be both",
				v.Port, tlsWord(tls), tlsWord(l.tls), l.first.env+l.first.path)})
		}
		for j, h := range v.HostAliases {
			h = strings.ToLower(h)
			other, dup := l.hosts[h]
			if !dup {
				l.hosts[h] = me
				continue
			}
			if other != me && report(other) {
				out = append(out, Problem{fmt.Sprintf("%s%s.hostAliases[%d]", env, path, j), obj,
					fmt.Sprintf("host alias %q on port %d is also claimed by %s", h, v.Port, other.env+other.path)})
			}
		}
	}
	return out
}

func tlsWord(tls bool) string {
	if tls {
		return "TLS"
	}
	return "plain HTTP"
}

// listenerProblems checks that the virtual hosts of different environments do not claim
// the same host alias and port, or the same port for TLS and plain HTTP: the gateway's
// listeners serve every environment. Conflicts within one environment are reported by
// Environment.Problems.
func listenerProblems(d *Document) []Problem {
	claimed := map[int]*listener{}
	var out []Problem
	for i := range d.Organizations {
		o := &d.Organizations[i]
		for j := range o.Environments {
			e := &o.Environments[j]
			env := elem("organizations", o.Name, i) + "." + elem("environments", e.Name, j) + "."
			out = append(out, vhostConflicts(e, claimed, env, true)...)
		}
	}
	return out
}

// validHostAlias reports whether h is a DNS name, optionally starting with "*.", or an IP
// address.
func validHostAlias(h string) bool {
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		return validDNSName(rest, false)
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	return validDNSName(h, false)
}

// validDNSName reports whether s is a host name: dot-separated labels of 1 to 63 letters,
// digits and hyphens (and underscores when allowed), not starting or ending with a
// hyphen, 253 bytes at most.
func validDNSName(s string, underscore bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			ok := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || underscore && r == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// targetServer checks a target server.
func (c *checker) targetServer(i int, t *TargetServer) {
	obj := ObjectRef{KindTargetServer, t.Name}
	path := elem("targetServers", t.Name, i)
	c.checkHost(obj, path+".host", t.Host)
	c.checkPort(obj, path+".port", t.Port)
	if t.SSLInfo != nil {
		c.sslInfo(obj, path+".sslInfo", t.SSLInfo, roleTarget)
		if t.SSLInfo.ClientAuthEnabled && !t.SSLInfo.Enabled {
			c.add(obj, path+".sslInfo.clientAuthEnabled", "two-way TLS needs enabled: true")
		}
	}
}

// checkHost checks a target server's host: a name or address, not a URL.
func (c *checker) checkHost(obj ObjectRef, path, host string) {
	switch {
	case host == "":
		c.add(obj, path, "host is empty: give the backend's host name or IP address")
	case strings.Contains(host, "://"):
		c.add(obj, path, "host %q is a URL; give the host name only (the port goes in port, TLS in sslInfo)", host)
	case validDNSName(host, true):
	default:
		if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && a.Zone() == "" {
			return
		}
		c.add(obj, path, "host %q is not a host name or IP address", host)
	}
}

// proxies checks every proxy, and that no two proxies share a base path on a virtual host.
func (c *checker) proxies() {
	type slot struct{ vhost, basePath string }
	taken := map[slot]string{}
	for i := range c.env.Proxies {
		p := &c.env.Proxies[i]
		obj := ObjectRef{KindProxy, p.Name}
		path := elem("proxies", p.Name, i)
		bp := p.BasePath
		switch {
		case !strings.HasPrefix(bp, "/"):
			c.add(obj, path+".basePath", "base path %q does not start with \"/\"", bp)
		case strings.ContainsAny(bp, "?# \t"):
			c.add(obj, path+".basePath", "base path %q holds a query, fragment or space", bp)
		}
		if len(bp) > 1 {
			bp = strings.TrimRight(bp, "/")
		}
		if len(p.VirtualHosts) == 0 {
			c.add(obj, path+".virtualHosts", "no virtual host: give the virtual hosts the proxy serves on")
		}
		for j, vh := range p.VirtualHosts {
			vp := fmt.Sprintf("%s.virtualHosts[%d]", path, j)
			switch {
			case c.env.VirtualHost(vh) == nil:
				c.add(obj, vp, "virtual host %q does not exist", vh)
			case slices.Index(p.VirtualHosts, vh) < j:
				c.add(obj, vp, "virtual host %q is listed twice", vh)
			default:
				s := slot{vh, bp}
				if other, dup := taken[s]; dup && other != p.Name {
					c.add(obj, path+".basePath", "base path %q on virtual host %q is also the base path of proxy %q", p.BasePath, vh, other)
				} else {
					taken[s] = p.Name
				}
			}
		}
		c.target(obj, path+".target", &p.Target)
	}
}

// target checks a proxy's target endpoint.
func (c *checker) target(obj ObjectRef, path string, t *TargetEndpoint) {
	switch {
	case t.URL != "" && t.LoadBalancer != nil:
		c.add(obj, path, "give url or loadBalancer, not both")
	case t.URL == "" && t.LoadBalancer == nil:
		c.add(obj, path, "no url or loadBalancer: give where requests go")
	case t.URL != "":
		u, err := url.Parse(t.URL)
		switch {
		case err != nil:
			c.add(obj, path+".url", "%v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			c.add(obj, path+".url", "url %q: want an http:// or https:// URL", t.URL)
		case u.Hostname() == "":
			c.add(obj, path+".url", "url %q has no host", t.URL)
		default:
			if ps := u.Port(); ps != "" {
				if n, err := strconv.Atoi(ps); err != nil || n < 1 || n > 65535 {
					c.add(obj, path+".url", "url %q: port %s is out of range 1..65535", t.URL, ps)
				}
			}
			if u.Scheme == "http" && t.SSLInfo != nil {
				c.add(obj, path+".sslInfo", "an http:// target does not use TLS: use https:// or remove sslInfo")
			}
		}
		if t.Path != "" {
			c.add(obj, path+".path", "path goes with a load balancer; with url, put the path in the URL")
		}
	default:
		lb := t.LoadBalancer
		lp := path + ".loadBalancer"
		if len(lb.Servers) == 0 {
			c.add(obj, lp+".servers", "no server: give the target servers to balance over")
		}
		for j, s := range lb.Servers {
			sp := fmt.Sprintf("%s.servers[%d]", lp, j)
			switch {
			case c.env.TargetServer(s) == nil:
				c.add(obj, sp, "target server %q does not exist", s)
			case slices.Index(lb.Servers, s) < j:
				c.add(obj, sp, "target server %q is listed twice", s)
			}
		}
		if lb.Algorithm != "" && !slices.Contains(lbAlgorithms, lb.Algorithm) {
			c.add(obj, lp+".algorithm", "algorithm %q: want %s", lb.Algorithm, strings.Join(lbAlgorithms, ", "))
		}
		if lb.MaxFailures < 0 {
			c.add(obj, lp+".maxFailures", "maxFailures %d is negative", lb.MaxFailures)
		}
		if t.Path != "" && !strings.HasPrefix(t.Path, "/") {
			c.add(obj, path+".path", "path %q does not start with \"/\"", t.Path)
		}
	}
	if t.ConnectTimeoutMillis < 0 {
		c.add(obj, path+".connectTimeoutMillis", "timeout %d is negative", t.ConnectTimeoutMillis)
	}
	if t.IOTimeoutMillis < 0 {
		c.add(obj, path+".ioTimeoutMillis", "timeout %d is negative", t.IOTimeoutMillis)
	}
	if t.SSLInfo != nil {
		c.sslInfo(obj, path+".sslInfo", t.SSLInfo, roleTarget)
	}
}
