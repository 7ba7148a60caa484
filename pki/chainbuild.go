package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
)

// node is one distinct certificate known while building paths, with where it came from.
type node struct {
	cert   *x509.Certificate
	sent   int  // first position in Sent, -1 when not sent
	root   bool // in the truststore: an anchor
	inter  bool // in the client's extra intermediates
	system bool // a system root
}

// graph holds the certificates of one verification and the issuer links between them.
type graph struct {
	in        PathInput
	nodes     []*node
	byRaw     map[string]*node
	bySubject map[string][]*node
	sigs      map[[2]*node]bool
	sigCount  int
}

func newGraph(in PathInput) *graph {
	g := &graph{
		in:        in,
		byRaw:     map[string]*node{},
		bySubject: map[string][]*node{},
		sigs:      map[[2]*node]bool{},
	}
	for i, c := range in.Sent {
		g.addNode(c, i, false, false)
	}
	for _, c := range in.Roots {
		g.addNode(c, -1, true, false)
	}
	for _, c := range in.Intermediates {
		g.addNode(c, -1, false, true)
	}
	return g
}

// addNode records c (once), merging where it came from, and returns its node.
func (g *graph) addNode(c *x509.Certificate, sent int, root, inter bool) *node {
	n := g.byRaw[string(c.Raw)]
	if n == nil {
		n = &node{cert: c, sent: sent}
		g.nodes = append(g.nodes, n)
		g.byRaw[string(c.Raw)] = n
		g.bySubject[string(c.RawSubject)] = append(g.bySubject[string(c.RawSubject)], n)
	}
	n.root = n.root || root
	n.inter = n.inter || inter
	return n
}

// addChain records a chain crypto/x509 built; its last certificate is an anchor.
func (g *graph) addChain(ch []*x509.Certificate) {
	for i, c := range ch {
		n := g.byRaw[string(c.Raw)]
		if n == nil {
			n = g.addNode(c, -1, false, false)
		}
		if i == len(ch)-1 && !n.root {
			n.root, n.system = true, true
		}
	}
}

// node returns the node of c, or nil.
func (g *graph) node(c *x509.Certificate) *node { return g.byRaw[string(c.Raw)] }

// sentIndex returns c's position in Sent, or -1.
func (g *graph) sentIndex(c *x509.Certificate) int {
	if n := g.node(c); n != nil {
		return n.sent
	}
	return -1
}

// signed reports whether parent's key verifies child's signature. SHA-1 is accepted here
// (the policy judges it later); an algorithm that cannot be checked at all (MD5) counts
// as signed when the key identifiers match, so that the path can be explained.
func (g *graph) signed(child, parent *node) bool {
	k := [2]*node{child, parent}
	if ok, seen := g.sigs[k]; seen {
		return ok
	}
	if g.sigCount >= maxSigs {
		return false
	}
	g.sigCount++
	c := child.cert
	err := parent.cert.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
	ok := err == nil
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) || errors.Is(err, x509.ErrUnsupportedAlgorithm) {
		ok = len(c.AuthorityKeyId) > 0 && bytes.Equal(c.AuthorityKeyId, parent.cert.SubjectKeyId)
	}
	g.sigs[k] = ok
	return ok
}

// issuers returns the nodes that issued n: anchors first, then what the peer sent, then
// the client's intermediates; within each, certificates valid now first.
func (g *graph) issuers(n *node) []*node {
	var out []*node
	for pass := 0; pass < 3; pass++ {
		var valid, invalid []*node
		for _, p := range g.bySubject[string(n.cert.RawIssuer)] {
			if p == n {
				continue
			}
			if pass == 0 && !p.root || pass == 1 && (p.root || p.sent < 0) || pass == 2 && (p.root || p.sent >= 0) {
				continue
			}
			if !g.signed(n, p) {
				continue
			}
			if g.in.Now.Before(p.cert.NotBefore) || g.in.Now.After(p.cert.NotAfter) {
				invalid = append(invalid, p)
			} else {
				valid = append(valid, p)
			}
		}
		out = append(out, valid...)
		out = append(out, invalid...)
	}
	return out
}

// path is a candidate path, leaf first, with the problems of its certificates.
type path struct {
	nodes  []*node
	errors int // fatal problems of its certificates
}

func (p *path) top() *node     { return p.nodes[len(p.nodes)-1] }
func (p *path) anchored() bool { return p.top().root }
func (p *path) contains(n *node) bool {
	for _, x := range p.nodes {
		if x == n {
			return true
		}
	}
	return false
}

// certs returns the path's certificates.
func (p *path) certs() []*x509.Certificate {
	out := make([]*x509.Certificate, len(p.nodes))
	for i, n := range p.nodes {
		out[i] = n.cert
	}
	return out
}

// unsent counts the certificates below the anchor that the peer did not send.
func (p *path) unsent() int {
	k := 0
	for _, n := range p.nodes {
		if n.sent < 0 && !n.root {
			k++
		}
	}
	return k
}

// hasSHA1 reports whether a certificate signed on the path uses SHA-1.
func (p *path) hasSHA1() bool {
	for i, n := range p.nodes {
		if i == len(p.nodes)-1 && (n.root || IsSelfSigned(n.cert)) {
			break
		}
		if isSHA1(n.cert.SignatureAlgorithm) {
			return true
		}
	}
	return false
}

// better reports whether p is a better explanation than q.
func (p *path) better(q *path) bool {
	if q == nil {
		return true
	}
	if p.anchored() != q.anchored() {
		return p.anchored()
	}
	if p.errors != q.errors {
		return p.errors < q.errors
	}
	if p.anchored() {
		if a, b := p.unsent(), q.unsent(); a != b {
			return a < b
		}
		return len(p.nodes) < len(q.nodes)
	}
	return len(p.nodes) > len(q.nodes)
}

// search returns the best path from the leaf, trying at most maxPaths complete paths.
func (g *graph) search() *path {
	s := searcher{g: g}
	s.walk([]*node{g.node(g.in.Sent[0])})
	return s.best
}

type searcher struct {
	g     *graph
	steps int
	found int
	best  *path
}

func (s *searcher) done() bool {
	return s.steps >= maxSteps || s.found >= maxPaths ||
		s.best != nil && s.best.anchored() && s.best.errors == 0 && s.best.unsent() == 0
}

func (s *searcher) walk(nodes []*node) {
	s.steps++
	cur := nodes[len(nodes)-1]
	if cur.root || len(nodes) >= maxPathLen || s.done() {
		s.record(nodes)
		return
	}
	extended := false
	for _, p := range s.g.issuers(cur) {
		if (&path{nodes: nodes}).contains(p) {
			continue
		}
		extended = true
		s.walk(append(nodes[:len(nodes):len(nodes)], p))
		if s.done() {
			return
		}
	}
	if !extended {
		s.record(nodes)
	}
}

func (s *searcher) record(nodes []*node) {
	s.found++
	p := &path{nodes: append([]*node(nil), nodes...)}
	for _, pr := range certProblems(s.g.in, p) {
		if pr.Fatal() {
			p.errors++
		}
	}
	if p.better(s.best) {
		s.best = p
	}
}
