package capture

import (
	"crypto/tls"
	"crypto/x509"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// ClientConfig is what is known of the client that made the captured handshakes: its
// truststore and its certificate. The rest (the name it expects, the versions and suites
// it offers) is read from its ClientHellos.
type ClientConfig struct {
	// Roots is the client's truststore; RootsFrom names where it came from. Without
	// roots, a chain the client refused is judged against the system roots, and one it
	// accepted (it went on with the handshake) against the top certificate sent: the
	// client evidently trusts it.
	Roots     []*x509.Certificate
	RootsFrom []string
	// ClientCert is the leaf of the client's configured certificate, if it has one;
	// without it, the certificate the client sent (if any) stands for it.
	ClientCert     *x509.Certificate
	ClientCertFrom string
	Policy         pki.Policy
}

// Judge turns connections into reports with an engine. Chains and names seen in many
// handshakes are verified once per distinct chain, truststore and validity state. A Judge
// is safe for concurrent use.
type Judge struct {
	Engine *tlsdiag.Engine
	Client ClientConfig

	mu       sync.Mutex
	paths    map[string]*pki.PathResult
	hosts    map[string]*pki.HostResult
	verdicts map[string][]tlsdiag.Finding
}

// maxCachedVerdicts bounds the caches of a Judge; they are emptied when full.
const maxCachedVerdicts = 4096

// Expectations returns what the client of conn is taken to expect.
func (j *Judge) Expectations(conn *Connection) *tlsdiag.Expectations {
	a := conn.Facts.Attempts[0]
	cc := j.Client
	x := &tlsdiag.Expectations{
		ServerName: a.ServerName, NoSNI: a.ServerName == "",
		Roots: cc.Roots, RootsFrom: cc.RootsFrom, Policy: cc.Policy,
	}
	if len(cc.Roots) == 0 {
		x.SystemRoots = true
		x.RootsFrom = []string{"the system roots (no --truststore given)"}
		// A client that went on after the server's certificate (completed, or sent its own
		// Certificate or Finished) accepted the chain: it trusts the top of it.
		accepted := a.Completed || stepRank[a.Step] >= stepRank[tlsdiag.StepClientCertificate]
		if accepted && len(a.Chain) > 0 {
			x.Roots = a.Chain[len(a.Chain)-1:]
			x.RootsFrom = []string{"the top certificate the server sent, which the client accepted (no --truststore given)"}
		}
	}
	switch {
	case cc.ClientCert != nil:
		x.ClientCert = &tls.Certificate{Certificate: [][]byte{cc.ClientCert.Raw}, Leaf: cc.ClientCert}
		x.ClientCertFrom = cc.ClientCertFrom
	case len(conn.ClientChain) > 0:
		leaf := conn.ClientChain[0]
		x.ClientCert = &tls.Certificate{Certificate: [][]byte{leaf.Raw}, Leaf: leaf}
		x.ClientCertFrom = "the certificate the client sent"
	}
	return x
}

// Report judges conn; it returns nil when conn cannot be judged (no ClientHello).
func (j *Judge) Report(conn *Connection) *tlsdiag.Report {
	if !conn.Judged() {
		return nil
	}
	f := conn.Facts
	x := j.Expectations(conn)
	a := f.Attempts[0]
	c := &tlsdiag.Context{Facts: f, Expect: x, Configured: a}
	if len(a.Chain) > 0 {
		c.Path = j.path(a.Chain, x, f.Time)
		if x.ServerName != "" {
			c.Host = j.host(a.Chain[0], x.ServerName)
		}
	}
	r := tlsdiag.NewReport(f, j.findings(conn, c))
	r.Context = c
	return r
}

// findings runs the engine, once per connection key and second: the findings of
// connections that look alike to the engine are shared (they are not to be modified).
func (j *Judge) findings(conn *Connection, c *tlsdiag.Context) []tlsdiag.Finding {
	k := conn.key + "@" + strconv.FormatInt(c.Facts.Time.Unix(), 10)
	j.mu.Lock()
	fs, ok := j.verdicts[k]
	j.mu.Unlock()
	if ok {
		return fs
	}
	fs = j.Engine.DiagnoseContext(c)
	j.mu.Lock()
	if j.verdicts == nil || len(j.verdicts) >= maxCachedVerdicts {
		j.verdicts = map[string][]tlsdiag.Finding{}
	}
	j.verdicts[k] = fs
	j.mu.Unlock()
	return fs
}

// path is tlsdiag.VerifyServerPath, once per chain, truststore and validity state at now.
func (j *Judge) path(chain []*x509.Certificate, x *tlsdiag.Expectations, now time.Time) *pki.PathResult {
	var b strings.Builder
	key := func(c *x509.Certificate) {
		b.WriteString(certKey(c))
		switch {
		case now.Before(c.NotBefore):
			b.WriteByte('<')
		case now.After(c.NotAfter):
			b.WriteByte('>')
		default:
			b.WriteByte('.')
		}
	}
	for _, c := range chain {
		key(c)
	}
	b.WriteByte('|')
	for _, c := range x.Roots {
		key(c)
	}
	if x.SystemRoots {
		b.WriteByte('s')
	}
	k := b.String()
	j.mu.Lock()
	p, ok := j.paths[k]
	j.mu.Unlock()
	if ok {
		return p
	}
	res := tlsdiag.VerifyServerPath(chain, x, now, nil)
	j.mu.Lock()
	if j.paths == nil || len(j.paths) >= maxCachedVerdicts {
		j.paths = map[string]*pki.PathResult{}
	}
	j.paths[k] = &res
	j.mu.Unlock()
	return &res
}

// host is pki.MatchHost, once per leaf and name.
func (j *Judge) host(leaf *x509.Certificate, name string) *pki.HostResult {
	k := certKey(leaf) + "|" + name
	j.mu.Lock()
	h, ok := j.hosts[k]
	j.mu.Unlock()
	if ok {
		return h
	}
	res := pki.MatchHost(leaf, name)
	j.mu.Lock()
	if j.hosts == nil || len(j.hosts) >= maxCachedVerdicts {
		j.hosts = map[string]*pki.HostResult{}
	}
	j.hosts[k] = &res
	j.mu.Unlock()
	return &res
}

// certKey identifies a certificate by its signature, which covers all of its content.
func certKey(c *x509.Certificate) string {
	return strconv.Itoa(len(c.Signature)) + ":" + string(c.Signature)
}
