package tlsdiag

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/tlsgate/tlsgate/pki"
)

// Cause is one entry of the cause catalog: a stable ID and the rule that recognises it.
type Cause struct {
	ID       string
	Title    string
	Severity Severity
	// HiddenBy lists deeper causes: when one of them is found, this cause is a symptom of it
	// and is not reported.
	HiddenBy []string
	// Match returns the finding when the cause is present in the context, nil otherwise.
	// The engine fills ID, Severity and Title when Match leaves them empty.
	Match func(c *Context) *Finding
}

// Context is what a cause's rule reads: the facts, the expectations and the analyses derived
// from them once for all rules.
type Context struct {
	Facts  *Facts
	Expect *Expectations
	// Configured is the as-configured attempt (never nil: an empty attempt when the facts
	// hold none).
	Configured *Attempt
	// Path is the verification of the chain the server sent in the configured attempt; nil
	// when no chain was received.
	Path *pki.PathResult
	// Host is the match of the expected name against the server's leaf; nil when no chain was
	// received or no name is expected.
	Host *pki.HostResult
}

// Attempt returns the attempt with the given name, or nil.
func (c *Context) Attempt(name string) *Attempt {
	for _, a := range c.Facts.Attempts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Now is the time at which certificates are judged.
func (c *Context) Now() time.Time { return c.Facts.Time }

// Engine turns facts into findings with a set of causes.
type Engine struct {
	causes []Cause
}

// NewEngine returns an engine over causes, in the order given (the order of reports). It
// panics on a duplicate or empty ID, or a HiddenBy naming an unknown ID: the catalog is
// static data and such a mistake must not ship.
func NewEngine(causes ...Cause) *Engine {
	seen := map[string]bool{}
	for _, c := range causes {
		if c.ID == "" || seen[c.ID] {
			panic(fmt.Sprintf("tlsdiag: duplicate or empty cause ID %q", c.ID))
		}
		if c.Match == nil {
			panic(fmt.Sprintf("tlsdiag: cause %q has no rule", c.ID))
		}
		seen[c.ID] = true
	}
	for _, c := range causes {
		for _, h := range c.HiddenBy {
			if !seen[h] {
				panic(fmt.Sprintf("tlsdiag: cause %q hidden by unknown cause %q", c.ID, h))
			}
		}
	}
	return &Engine{causes: causes}
}

// Causes returns the engine's causes in report order.
func (e *Engine) Causes() []Cause { return slices.Clone(e.causes) }

// Cause returns the cause with the given ID.
func (e *Engine) Cause(id string) (Cause, bool) {
	for _, c := range e.causes {
		if c.ID == id {
			return c, true
		}
	}
	return Cause{}, false
}

// NewContext derives the shared analyses of f and x.
func NewContext(f *Facts, x *Expectations) *Context {
	if x == nil {
		x = &Expectations{}
	}
	c := &Context{Facts: f, Expect: x, Configured: &Attempt{Name: AttemptConfigured, ClientCertSent: -1}}
	for _, a := range f.Attempts {
		if a.Name == AttemptConfigured {
			c.Configured = a
			break
		}
	}
	if chain := c.Configured.Chain; len(chain) > 0 {
		res := VerifyServerPath(chain, x, f.Time, f.FetchedIssuers())
		c.Path = &res
		if x.ServerName != "" {
			h := pki.MatchHost(chain[0], x.ServerName)
			c.Host = &h
		}
	}
	return c
}

// VerifyServerPath verifies a server's chain (leaf first) as the client configured by x
// builds its path, at now. Fetched are issuers the server did not send that were fetched
// from AIA URLs: they are the path's intermediates, so that a missing issuer found there
// has FoundIn "intermediates" and a fetched root ends the path.
func VerifyServerPath(chain []*x509.Certificate, x *Expectations, now time.Time, fetched []*x509.Certificate) pki.PathResult {
	return pki.VerifyPath(pki.PathInput{
		Sent:          chain,
		Roots:         x.Roots,
		SystemRoots:   x.SystemRoots,
		Intermediates: fetched,
		Now:           now,
		Policy:        x.Policy,
		KeyUsage:      x509.ExtKeyUsageServerAuth,
	})
}

// FetchedFrom returns the AIA fetch that supplied cert, or nil when cert was not fetched.
func (c *Context) FetchedFrom(cert *x509.Certificate) *AIAFetch {
	if cert == nil {
		return nil
	}
	for _, a := range c.Facts.AIA {
		if i := a.Issuer(); i != nil && i.Equal(cert) {
			return a
		}
	}
	return nil
}

// Diagnose returns the findings of every cause present in f under x, deeper causes hiding
// their symptoms, in catalog order.
func (e *Engine) Diagnose(f *Facts, x *Expectations) []Finding {
	return e.DiagnoseContext(NewContext(f, x))
}

// DiagnoseContext is Diagnose over an already derived context.
func (e *Engine) DiagnoseContext(c *Context) []Finding {
	found := map[string]*Finding{}
	for _, cause := range e.causes {
		f := cause.Match(c)
		if f == nil {
			continue
		}
		if f.ID == "" {
			f.ID = cause.ID
		}
		if f.Severity == "" {
			f.Severity = cause.Severity
		}
		if f.Title == "" {
			f.Title = cause.Title
		}
		found[cause.ID] = f
	}
	out := []Finding{}
	for _, cause := range e.causes {
		f, ok := found[cause.ID]
		if !ok || hidden(cause, found) {
			continue
		}
		out = append(out, *f)
	}
	return out
}

// hidden reports whether a deeper cause of cause was found with severity error, following
// HiddenBy transitively only through causes that are themselves reported.
func hidden(cause Cause, found map[string]*Finding) bool {
	for _, h := range cause.HiddenBy {
		if f, ok := found[h]; ok && f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Report diagnoses f under x and assembles the report.
func (e *Engine) Report(f *Facts, x *Expectations) *Report {
	c := NewContext(f, x)
	r := NewReport(f, e.DiagnoseContext(c))
	r.Context = c
	return r
}

// NewReport assembles the report of a diagnosis.
func NewReport(f *Facts, findings []Finding) *Report {
	if findings == nil {
		findings = []Finding{}
	}
	return &Report{
		Target:   f.Target,
		Address:  f.Address,
		OK:       !HasError(findings),
		Findings: findings,
		Facts:    f,
	}
}
