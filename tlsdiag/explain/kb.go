package explain

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// The systems whose messages the knowledge base knows.
const (
	Java    = "java"
	OpenSSL = "openssl"
	Curl    = "curl"
	Go      = "go"
	Node    = "nodejs"
	Python  = "python"
	Nginx   = "nginx"
	Envoy   = "envoy"
	Apigee  = "apigee"
	Browser = "browser"
)

// Systems lists the systems in the order of the knowledge base's files.
var Systems = []string{Java, OpenSSL, Curl, Go, Node, Python, Nginx, Envoy, Apigee, Browser}

// systemLevel orders systems by how they wrap one another's messages: OpenSSL's strings
// appear inside curl's, Python's, Node's, nginx's and Envoy's; Java's inside Apigee's; nginx's
// error pages inside curl's output. The outermost program names a match.
var systemLevel = map[string]int{
	OpenSSL: 0,
	Java:    1, Go: 1, Nginx: 1, Browser: 1,
	Curl: 2, Python: 2, Node: 2, Envoy: 2,
	Apigee: 3,
}

// role says how a pattern takes part in a diagnosis.
type role int

const (
	// roleFailure: the line reports a failure; the pattern yields a match.
	roleFailure role = iota
	// roleHint: a line that is no failure by itself (a trace of the handshake's steps) but
	// narrows the failure it accompanies.
	roleHint
	// roleFrame: a line that only tells which program wrote the text.
	roleFrame
)

// Pattern is one entry of the knowledge base.
type Pattern struct {
	System  string
	Name    string // unique: system, a dot, a short name
	Expr    string // the regular expression, matched against each line
	Meaning string
	Causes  []Candidate // nil for a frame
	Check   string
	Example string // a real message the pattern recognises
	role    role
}

// Hint reports whether the pattern only narrows failures found by others.
func (p Pattern) Hint() bool { return p.role != roleFailure }

// entry is a pattern as the tables write it; the table's system completes it.
type entry struct {
	name, expr, meaning string
	v                   verdict
	example             string
	role                role
}

// verdict is what a message leaves open and how to tell it apart.
type verdict struct {
	causes []Candidate
	check  string
}

func hi(ids ...string) []Candidate  { return ranked(High, ids) }
func med(ids ...string) []Candidate { return ranked(Medium, ids) }
func lo(ids ...string) []Candidate  { return ranked(Low, ids) }

func ranked(l Likelihood, ids []string) []Candidate {
	cs := make([]Candidate, len(ids))
	for i, id := range ids {
		cs[i] = Candidate{ID: id, Likelihood: l}
	}
	return cs
}

// v builds a verdict from groups of candidates, most likely first.
func v(check string, groups ...[]Candidate) verdict {
	var cs []Candidate
	for _, g := range groups {
		cs = append(cs, g...)
	}
	return verdict{causes: cs, check: check}
}

// with returns vd with other candidates added (ignoring those it holds).
func (vd verdict) with(groups ...[]Candidate) verdict {
	out := verdict{causes: append([]Candidate(nil), vd.causes...), check: vd.check}
	for _, g := range groups {
		for _, c := range g {
			if !holds(out.causes, c.ID) {
				out.causes = append(out.causes, c)
			}
		}
	}
	sortCandidates(out.causes)
	return out
}

// checked returns vd with another check.
func (vd verdict) checked(check string) verdict {
	vd.check = check
	return vd
}

func holds(cs []Candidate, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// compiled is a pattern ready to match.
type compiled struct {
	Pattern
	re   *regexp.Regexp
	keys []int // the index's literals of which every match holds one; nil when none is known
}

// base is the compiled knowledge base.
type base struct {
	patterns []*compiled
	index    *keyIndex
}

var (
	kbOnce sync.Once
	kb     *base
)

// tables are the knowledge base's tables, one per system.
func tables() map[string][]entry {
	return map[string][]entry{
		Java:    javaTable(),
		OpenSSL: opensslTable(),
		Curl:    curlTable(),
		Go:      goTable(),
		Node:    nodeTable(),
		Python:  pythonTable(),
		Nginx:   nginxTable(),
		Envoy:   envoyTable(),
		Apigee:  apigeeTable(),
		Browser: browserTable(),
	}
}

// knowledge compiles the tables once. A malformed entry (a bad expression, an unknown
// cause, a duplicate name) panics: the tables are code.
func knowledge() *base {
	kbOnce.Do(func() {
		kb = &base{index: newKeyIndex()}
		ts := tables()
		names := map[string]bool{}
		for _, sys := range Systems {
			for _, e := range ts[sys] {
				p := Pattern{System: sys, Name: sys + "." + e.name, Expr: e.expr, Meaning: e.meaning,
					Causes: e.v.causes, Check: e.v.check, Example: e.example, role: e.role}
				if names[p.Name] {
					panic("explain: duplicate pattern " + p.Name)
				}
				names[p.Name] = true
				for _, c := range p.Causes {
					if !catalog.Known(c.ID) {
						panic(fmt.Sprintf("explain: pattern %s: unknown cause %q", p.Name, c.ID))
					}
				}
				if p.role == roleFailure && (len(p.Causes) == 0 || p.Check == "") {
					panic("explain: pattern " + p.Name + " has no causes or no check")
				}
				c := &compiled{Pattern: p, re: regexp.MustCompile(p.Expr)}
				for _, k := range literalKeys(p.Expr) {
					c.keys = append(c.keys, kb.index.add(k))
				}
				kb.patterns = append(kb.patterns, c)
			}
		}
	})
	return kb
}

// Patterns returns a copy of the knowledge base, system by system.
func Patterns() []Pattern {
	var ps []Pattern
	for _, c := range knowledge().patterns {
		p := c.Pattern
		p.Causes = append([]Candidate(nil), p.Causes...)
		ps = append(ps, p)
	}
	return ps
}

// literalKeys returns lower-case ASCII literals of which every match of expr contains one:
// a line that holds none cannot match, and the regular expression need not run. It returns
// nil when it finds no such literals.
func literalKeys(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return keysOf(re.Simplify())
}

// minKey is the shortest literal worth indexing.
const minKey = 3

func keysOf(re *syntax.Regexp) []string {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	switch re.Op {
	case syntax.OpLiteral:
		lit := strings.ToLower(string(re.Rune))
		if len(lit) >= minKey && isASCII(lit) {
			return []string{lit}
		}
	case syntax.OpAlternate:
		var keys []string
		for _, sub := range re.Sub {
			k := keysOf(sub)
			if k == nil {
				return nil
			}
			keys = append(keys, k...)
		}
		return keys
	case syntax.OpConcat:
		// The single longest literal, or else the smallest set of alternatives.
		var best []string
		for _, sub := range re.Sub {
			k := keysOf(sub)
			switch {
			case k == nil:
			case best == nil:
				best = k
			case len(k) == 1 && len(best) == 1 && len(k[0]) > len(best[0]):
				best = k
			case len(k) < len(best):
				best = k
			}
		}
		return best
	}
	return nil
}

// keyIndex finds which of many literals a line holds, in one pass: literals are indexed by
// their first three bytes.
type keyIndex struct {
	keys  []string
	byTri map[[3]byte][]int
}

func newKeyIndex() *keyIndex { return &keyIndex{byTri: map[[3]byte][]int{}} }

// add returns the number of key k, adding it when new.
func (ix *keyIndex) add(k string) int {
	for i, have := range ix.keys {
		if have == k {
			return i
		}
	}
	ix.keys = append(ix.keys, k)
	tri := [3]byte{k[0], k[1], k[2]}
	ix.byTri[tri] = append(ix.byTri[tri], len(ix.keys)-1)
	return len(ix.keys) - 1
}

// find marks in present the keys that lower holds.
func (ix *keyIndex) find(lower string, present []bool) {
	clear(present)
	for i := 0; i+minKey <= len(lower); i++ {
		ids, ok := ix.byTri[[3]byte{lower[i], lower[i+1], lower[i+2]}]
		if !ok {
			continue
		}
		for _, id := range ids {
			if !present[id] && strings.HasPrefix(lower[i:], ix.keys[id]) {
				present[id] = true
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
