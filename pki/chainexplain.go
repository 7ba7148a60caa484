package pki

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// explainer turns the chosen path into problems.
type explainer struct {
	in          PathInput
	g           *graph
	path        *path
	sentOrderOK bool
}

// explain lists the problems of e.path; systemHas is the system root the top of an
// unanchored path leads to when the client does not use the system roots.
func (e *explainer) explain(systemHas *x509.Certificate) []Problem {
	var out []Problem
	if len(e.in.Roots) == 0 && !e.in.SystemRoots {
		out = append(out, Problem{Kind: ProblemEmptyTruststore, Index: -1,
			Detail: "The truststore holds no certificate, so no path can reach a trust anchor."})
	}
	linked := map[*node]bool{} // sent certificates already named by a link problem
	if e.path.anchored() {
		for i, n := range e.path.nodes[1:] {
			if n.sent < 0 && !n.root {
				child := e.path.nodes[i]
				p := e.issuerProblem(ProblemMissingIssuer, child, "intermediates")
				p.Detail = fmt.Sprintf("The peer did not send %s, the issuer of %s; the path builds only because the client's own intermediates hold it.",
					name(n.cert), name(child.cert))
				out = append(out, p)
			}
		}
	} else {
		out = append(out, e.explainTop(systemHas, linked))
	}
	out = append(out, certProblems(e.in, e.path)...)
	out = append(out, e.orderProblems(linked)...)
	sortProblems(out)
	return out
}

// explainTop says why the top of an unanchored path has no anchor above it.
func (e *explainer) explainTop(systemHas *x509.Certificate, linked map[*node]bool) Problem {
	top := e.path.top()
	c := top.cert
	if IsSelfSigned(c) {
		p := Problem{Kind: ProblemUntrustedRoot, Cert: c, Index: top.sent}
		p.Detail = fmt.Sprintf("The path ends at the self-signed %s, which the truststore does not hold.", name(c))
		if top.sent < 0 && top.inter {
			p.FoundIn = "intermediates"
			p.Detail += " The peer did not send it; the client's own intermediates hold it."
		}
		if systemHas != nil && bytes.Equal(systemHas.RawSubject, c.RawSubject) {
			p.FoundIn = "system"
			p.Detail += " The system's roots hold it, but the client does not use them."
		}
		return p
	}
	// A certificate bearing the issuer's name that did not sign c: sent, or trusted.
	for _, n := range e.g.bySubject[string(c.RawIssuer)] {
		if n == top || e.path.contains(n) {
			continue
		}
		p := e.issuerProblem(ProblemSignatureLink, top, "")
		where := "is in the truststore"
		switch {
		case n.sent >= 0:
			where = fmt.Sprintf("was sent in position %d", n.sent+1)
			linked[n] = true
		case !n.root:
			where = "is among the client's intermediates"
		}
		p.Detail = fmt.Sprintf("%s names %q as its issuer, and a certificate with that name %s, but its key did not sign %s: it belongs to another CA or another generation of that CA.",
			name(c), p.MissingIssuer, where, name(c))
		return p
	}
	if top.sent >= 0 && top.sent+1 < len(e.in.Sent) {
		next := e.g.node(e.in.Sent[top.sent+1])
		if !e.path.contains(next) {
			linked[next] = true
			p := e.issuerProblem(ProblemNameLink, top, "")
			p.Detail = fmt.Sprintf("%s names %q as its issuer, but the next certificate sent is %s, which did not issue it.",
				name(c), p.MissingIssuer, name(next.cert))
			return p
		}
	}
	p := e.issuerProblem(ProblemMissingIssuer, top, "")
	where := "the truststore does not hold it"
	if top.sent >= 0 {
		where = "the peer did not send it and the truststore does not hold it"
	}
	if systemHas != nil {
		p.FoundIn = "system"
		where += "; the system's roots hold " + name(systemHas) + ", but the client does not use them"
	}
	p.Detail = fmt.Sprintf("The issuer of %s, %q, is not available: %s.", name(c), p.MissingIssuer, where)
	if len(p.AIA) > 0 {
		p.Detail += " Its certificate can be fetched from " + strings.Join(p.AIA, ", ") + "."
	}
	return p
}

// issuerProblem fills the issuer fields of a problem about n's issuer.
func (e *explainer) issuerProblem(kind ProblemKind, n *node, foundIn string) Problem {
	return Problem{
		Kind:          kind,
		Cert:          n.cert,
		Index:         n.sent,
		MissingIssuer: n.cert.Issuer.String(),
		AKI:           hexColons(n.cert.AuthorityKeyId),
		AIA:           n.cert.IssuingCertificateURL,
		FoundIn:       foundIn,
	}
}

// orderProblems reports sent certificates out of path order or not on the path, and sets
// e.sentOrderOK.
func (e *explainer) orderProblems(linked map[*node]bool) []Problem {
	var out []Problem
	pos := map[*node]int{}
	for i, n := range e.path.nodes {
		pos[n] = i
	}
	e.sentOrderOK = true
	seen := map[*node]bool{}
	last, lastNode := -1, (*node)(nil)
	firstExtra := -1
	for i, c := range e.in.Sent {
		n := e.g.node(c)
		if seen[n] {
			e.sentOrderOK = false
			out = append(out, Problem{Kind: ProblemExtraCerts, Cert: c, Index: i,
				Detail: fmt.Sprintf("The peer sent %s twice (again in position %d).", name(c), i+1)})
			continue
		}
		seen[n] = true
		p, on := pos[n]
		if !on {
			if firstExtra < 0 {
				firstExtra = i
			}
			if linked[n] {
				continue
			}
			d := fmt.Sprintf("The peer sent %s in position %d, but it is not on the path to the trust anchor.", name(c), i+1)
			if i > 0 && e.signedBy(n, e.g.node(e.in.Sent[0])) {
				out = append(out, Problem{Kind: ProblemMisordered, Cert: c, Index: i,
					Detail: fmt.Sprintf("The peer sent %s in position %d, but %s, sent first, issued it: the peer's own certificate must come first.",
						name(c), i+1, name(e.in.Sent[0]))})
				e.sentOrderOK = false
				continue
			}
			out = append(out, Problem{Kind: ProblemExtraCerts, Cert: c, Index: i, Detail: d})
			continue
		}
		if firstExtra >= 0 {
			e.sentOrderOK = false
		}
		if p < last {
			e.sentOrderOK = false
			out = append(out, Problem{Kind: ProblemMisordered, Cert: c, Index: i,
				Detail: fmt.Sprintf("The peer sent %s in position %d, after %s, which it should precede: each certificate should be followed by its issuer.",
					name(c), i+1, name(lastNode.cert))})
			continue
		}
		last, lastNode = p, n
	}
	return out
}

func (e *explainer) signedBy(child, parent *node) bool {
	return bytes.Equal(child.cert.RawIssuer, parent.cert.RawSubject) && e.g.signed(child, parent)
}

// certProblems judges each certificate of p on its own: validity, algorithms, CA
// constraints and the purpose.
func certProblems(in PathInput, p *path) []Problem {
	var out []Problem
	anchored := p.anchored()
	for i, n := range p.nodes {
		c := n.cert
		isTop := i == len(p.nodes)-1
		isAnchor := isTop && anchored
		if in.Now.After(c.NotAfter) {
			out = append(out, Problem{Kind: ProblemExpired, Cert: c, Index: n.sent, Since: c.NotAfter,
				Detail: fmt.Sprintf("%s expired on %s, %s before the time checked.", name(c), stamp(c.NotAfter), ago(in.Now.Sub(c.NotAfter)))})
		} else if in.Now.Before(c.NotBefore) {
			out = append(out, Problem{Kind: ProblemNotYetValid, Cert: c, Index: n.sent, Since: c.NotBefore,
				Detail: fmt.Sprintf("%s is not valid until %s, %s after the time checked.", name(c), stamp(c.NotBefore), ago(c.NotBefore.Sub(in.Now)))})
		}
		signedOnPath := !isAnchor && !(isTop && IsSelfSigned(c))
		if signedOnPath && weakSignature(c.SignatureAlgorithm, in.Policy) {
			out = append(out, Problem{Kind: ProblemWeakSignature, Cert: c, Index: n.sent,
				Detail: fmt.Sprintf("%s is signed with %s, which the client refuses.", name(c), c.SignatureAlgorithm)})
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < in.Policy.MinRSA() {
			out = append(out, Problem{Kind: ProblemWeakKey, Cert: c, Index: n.sent,
				Detail: fmt.Sprintf("%s has a %d-bit RSA key; the client requires at least %d bits.", name(c), k.N.BitLen(), in.Policy.MinRSA())})
		}
		if i > 0 {
			if why := notCA(c, isAnchor, i-1); why != "" {
				out = append(out, Problem{Kind: ProblemNotCA, Cert: c, Index: n.sent,
					Detail: fmt.Sprintf("%s issued %s but %s.", name(c), name(p.nodes[i-1].cert), why)})
			}
		}
		if !usableFor(c, in.KeyUsage) {
			what := "it"
			if i > 0 {
				what = "it, so nothing below it,"
			}
			out = append(out, Problem{Kind: ProblemKeyUsage, Cert: c, Index: n.sent,
				Detail: fmt.Sprintf("%s may not be used for %s: its extended key usage lets %s serve only for %s.",
					name(c), usageName(in.KeyUsage), what, usageList(c))})
		}
	}
	return out
}

// notCA says why c may not sign certificates with below intermediates under it, or "".
func notCA(c *x509.Certificate, anchor bool, below int) string {
	switch {
	case !c.BasicConstraintsValid && (!anchor || c.Version == 3):
		return "it has no basic constraints marking it as a CA"
	case c.BasicConstraintsValid && !c.IsCA:
		return "its basic constraints say CA:FALSE"
	case c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0:
		return "its key usage does not allow signing certificates"
	case c.BasicConstraintsValid && c.MaxPathLen >= 0 && below > c.MaxPathLen:
		return fmt.Sprintf("its path length constraint (%d) allows fewer intermediates below it than the %d on the path", c.MaxPathLen, below)
	}
	return ""
}

// usableFor mirrors crypto/x509: a certificate restricts the purposes only when it lists
// extended key usages.
func usableFor(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	return slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) || slices.Contains(c.ExtKeyUsage, want)
}

var usageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any purpose",
	x509.ExtKeyUsageServerAuth:      "server authentication",
	x509.ExtKeyUsageClientAuth:      "client authentication",
	x509.ExtKeyUsageCodeSigning:     "code signing",
	x509.ExtKeyUsageEmailProtection: "email protection",
	x509.ExtKeyUsageTimeStamping:    "time stamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSP signing",
}

func usageName(u x509.ExtKeyUsage) string {
	if s, ok := usageNames[u]; ok {
		return s
	}
	return fmt.Sprintf("extended key usage %d", u)
}

func usageList(c *x509.Certificate) string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		out = append(out, usageName(u))
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return strings.Join(out, ", ")
}

func isSHA1(a x509.SignatureAlgorithm) bool {
	return a == x509.SHA1WithRSA || a == x509.ECDSAWithSHA1 || a == x509.DSAWithSHA1
}

// weakSignature reports whether the policy refuses signatures made with a.
func weakSignature(a x509.SignatureAlgorithm, pol Policy) bool {
	switch {
	case a == x509.MD2WithRSA || a == x509.MD5WithRSA:
		return true
	case isSHA1(a):
		return !pol.AllowSHA1
	}
	return false
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return rank[a.Kind] - rank[b.Kind] })
}

// name names a certificate by its subject, quoted.
func name(c *x509.Certificate) string {
	s := c.Subject.String()
	if s == "" {
		s = "(empty subject, serial " + SerialHex(c) + ")"
	}
	return `"` + s + `"`
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// ago renders a positive duration roughly, for people: "3 days", "5 hours", "40 seconds".
func ago(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= 2*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	case d >= 2*time.Minute:
		return plural(int64(d/time.Minute), "minute")
	}
	return plural(int64(d/time.Second), "second")
}

func hexColons(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}
