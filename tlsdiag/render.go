package tlsdiag

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for a person: the verdict first (cause, why, fix), then the evidence
// (the chain as a tree showing where it breaks, versions and suites, the experiments).
func WriteText(w io.Writer, r *Report) error {
	p := &printer{w: w}
	target := r.Target
	if r.Address != "" && r.Address != r.Target {
		target += " (" + r.Address + ")"
	}
	p.line("tlsgate doctor %s", target)
	p.line("")
	errs, others := split(r.Findings)
	if len(errs) == 0 {
		p.line("OK    %s", healthyLine(r))
	}
	for i, f := range errs {
		if i > 0 {
			p.line("")
		}
		p.finding("FAIL", f)
	}
	for _, f := range others {
		p.line("")
		p.finding(strings.ToUpper(string(f.Severity)), f)
	}
	p.line("")
	p.evidence(r)
	return p.err
}

func split(fs []Finding) (errs, others []Finding) {
	for _, f := range fs {
		if f.Severity == SeverityError {
			errs = append(errs, f)
		} else {
			others = append(others, f)
		}
	}
	return errs, others
}

func healthyLine(r *Report) string {
	a := configured(r.Facts)
	if a == nil {
		return "no error found"
	}
	parts := []string{fmt.Sprintf("handshake completed: %s %s", a.Version, a.Suite)}
	if c := r.Context; c != nil && c.Path != nil && c.Path.Anchor != nil {
		parts = append(parts, fmt.Sprintf("chain verified up to %q", c.Path.Anchor.Subject.String()))
	}
	if c := r.Context; c != nil && c.Host != nil && c.Host.OK {
		parts = append(parts, fmt.Sprintf("name %q matches", c.Host.Host))
	}
	if a.CertRequest != nil {
		parts = append(parts, fmt.Sprintf("client certificate requested, %d sent", max(a.ClientCertSent, 0)))
	}
	return strings.Join(parts, "; ")
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *printer) finding(label string, f Finding) {
	p.line("%-5s %s: %s", label, f.ID, f.Title)
	p.wrapped("      why: ", f.Detail)
	for i, fix := range f.Fix {
		prefix := "      fix: "
		if i > 0 {
			prefix = "       or: "
			if rest, ok := strings.CutPrefix(fix, "Or "); ok {
				fix = upperFirst(rest)
			} else if rest, ok := strings.CutPrefix(fix, "Or, "); ok {
				fix = upperFirst(rest)
			}
		}
		p.wrapped(prefix, fix)
	}
}

// textWidth is the column at which the verdict's sentences wrap.
const textWidth = 100

// wrapped prints text after prefix, wrapped at textWidth with a hanging indent.
func (p *printer) wrapped(prefix, text string) {
	indent := strings.Repeat(" ", len(prefix))
	line := prefix
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > textWidth {
			p.line("%s", line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	p.line("%s", line)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func configured(f *Facts) *Attempt {
	if f == nil {
		return nil
	}
	for _, a := range f.Attempts {
		if a.Name == AttemptConfigured {
			return a
		}
	}
	return nil
}

func (p *printer) evidence(r *Report) {
	f := r.Facts
	a := configured(f)
	if a == nil {
		return
	}
	p.line("Evidence")
	p.line("  handshake as configured: %s", attemptLine(a))
	if c := r.Context; c != nil && len(a.Chain) > 0 {
		p.line("  server chain, as sent (leaf first), and the path the client built:")
		p.chainTree(c)
	}
	for _, x := range f.AIA {
		if i := x.Issuer(); i != nil {
			p.line("  AIA: fetched %s from %s", i.Subject.String(), x.URL)
		} else {
			p.line("  AIA: %s: %s", x.URL, x.Error)
		}
	}
	if c := r.Context; c != nil && c.Host != nil && c.Host.OK {
		p.line("  host name %q: matches the server's certificate", c.Host.Host)
	}
	if c := r.Context; c != nil && c.Host != nil && !c.Host.OK {
		p.line("  host name %q: no name of the server's certificate matches:", c.Host.Host)
		for _, n := range c.Host.Checks {
			mark := "no "
			if n.Match {
				mark = "yes"
			}
			reason := ""
			if !n.Match && n.Reason != "" {
				reason = " (" + n.Reason + ")"
			}
			p.line("    %s %s %s%s", mark, n.Kind, n.Name, reason)
		}
	}
	if a.CertRequest != nil {
		p.line("  certificate request: %d acceptable CA name(s); client sent %d certificate(s)", len(a.CertRequest.AcceptableCAs), max(a.ClientCertSent, 0))
		for _, ca := range a.CertRequest.AcceptableCAs {
			p.line("    accepts %s", ca)
		}
	}
	for _, x := range f.Attempts {
		if x.Name == AttemptConfigured {
			continue
		}
		p.line("  experiment %s: %s", x.Name, attemptLine(x))
	}
	if s := f.Server; s != nil {
		if len(a.OfferedVersions) > 0 {
			p.line("  client versions: %s", strings.Join(a.OfferedVersions, ", "))
		}
		if len(a.OfferedSuites) > 0 {
			p.line("  client suites (%d): %s", len(a.OfferedSuites), strings.Join(a.OfferedSuites, ", "))
		}
		if len(s.VersionsProbed) > 0 {
			p.line("  server versions: %s (probed %s)", orNone(s.Versions), strings.Join(s.VersionsProbed, ", "))
		}
		for _, v := range []string{"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"} {
			if suites, ok := s.Suites[v]; ok {
				p.line("  server suites for %s (%d):", v, len(suites))
				for _, su := range suites {
					p.line("    %s", su)
				}
			}
		}
		for _, e := range s.Errors {
			p.line("  probe: %s", e)
		}
	}
	p.line("  observed at %s", f.Time.UTC().Format(time.RFC3339))
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func attemptLine(a *Attempt) string {
	var parts []string
	sni := "no SNI"
	if a.ServerName != "" {
		sni = "SNI " + a.ServerName
	}
	parts = append(parts, sni)
	switch {
	case a.DialError != "":
		parts = append(parts, "dial failed: "+a.DialError)
	case a.Completed:
		parts = append(parts, fmt.Sprintf("completed %s %s", a.Version, a.Suite))
	default:
		parts = append(parts, "failed at "+a.Step)
		if a.Version != "" {
			parts = append(parts, a.Version)
		}
		if a.AlertReceived != nil {
			parts = append(parts, "alert received: "+a.AlertReceived.Name)
		}
		if a.AlertSent != nil {
			parts = append(parts, "alert sent: "+a.AlertSent.Name)
		}
		if a.Closed != "" {
			parts = append(parts, "closed by server ("+a.Closed+")")
		}
		if a.TimedOut {
			parts = append(parts, "timed out")
		}
		if a.NotTLS != nil {
			parts = append(parts, fmt.Sprintf("not TLS: %q", a.NotTLS.FirstBytes))
		}
	}
	if len(a.Chain) > 0 {
		parts = append(parts, fmt.Sprintf("server certificate %q", a.Chain[0].Subject.String()))
	}
	if h := a.HTTP; h != nil {
		answer := "HTTP answer: " + h.Line
		if h.Title != "" {
			answer += fmt.Sprintf(" (%q)", h.Title)
		}
		parts = append(parts, answer)
	}
	return strings.Join(parts, "; ")
}

// chainTree draws the path as a tree, marking each certificate as sent or not and where the
// path breaks.
func (p *printer) chainTree(c *Context) {
	sent := map[string]int{}
	for i, x := range c.Configured.Chain {
		sent[pki.Fingerprint(x)] = i
	}
	notes := map[string][]string{}
	var tail []string
	breaks := false
	for _, pr := range c.Path.Problems {
		if pr.Cert == nil {
			tail = append(tail, pr.Detail)
			continue
		}
		if pr.Kind == pki.ProblemMissingIssuer && pr.FoundIn == "" {
			breaks = true
			continue // drawn as the node where the path breaks
		}
		fp := pki.Fingerprint(pr.Cert)
		notes[fp] = append(notes[fp], fetchedNote(c, pr))
	}
	path := c.Path.Path
	if len(path) == 0 {
		path = c.Configured.Chain[:1]
	}
	for depth, x := range path {
		fp := pki.Fingerprint(x)
		where := "not sent"
		if i, ok := sent[fp]; ok {
			where = fmt.Sprintf("sent #%d", i+1)
		} else if a := c.FetchedFrom(x); a != nil {
			where = "not sent, fetched from " + a.URL
		}
		if c.Path.Anchor != nil && pki.Fingerprint(c.Path.Anchor) == fp {
			where += ", trust anchor"
		}
		indent := strings.Repeat("  ", depth)
		branch := ""
		if depth > 0 {
			branch = "└─ "
		}
		p.line("    %s%s%s  [%s; %s; until %s]", indent, branch, x.Subject.String(), where, pki.KeyDescription(x), x.NotAfter.UTC().Format("2006-01-02"))
		for _, n := range notes[fp] {
			p.line("    %s   ✗ %s", indent, n)
		}
	}
	if breaks && c.Path.Anchor == nil {
		last := path[len(path)-1]
		indent := strings.Repeat("  ", len(path))
		if !pki.IsSelfSigned(last) {
			p.line("    %s└─ %s  ✗ not sent by the server, not in the truststore: the path breaks here", indent, last.Issuer.String())
		}
	}
	for i, x := range c.Configured.Chain {
		if !onPath(x, path) {
			p.line("    (sent #%d, not on the path: %s)", i+1, x.Subject.String())
		}
	}
	for _, t := range tail {
		p.line("    ✗ %s", t)
	}
}

// fetchedNote is pr's detail, said in the doctor's terms when the certificate it is about
// came from an AIA URL rather than from the client's configuration.
func fetchedNote(c *Context, pr pki.Problem) string {
	if pr.FoundIn != "intermediates" {
		return pr.Detail
	}
	switch pr.Kind {
	case pki.ProblemMissingIssuer:
		path := c.Path.Path
		for i, x := range path[:max(len(path)-1, 0)] {
			if x.Equal(pr.Cert) {
				if a := c.FetchedFrom(path[i+1]); a != nil {
					return fmt.Sprintf("The server did not send %q, the issuer of %q; the doctor fetched it from %s, as browsers do and the configured client does not.",
						path[i+1].Subject.String(), pr.Cert.Subject.String(), a.URL)
				}
			}
		}
	case pki.ProblemUntrustedRoot:
		if a := c.FetchedFrom(pr.Cert); a != nil {
			return fmt.Sprintf("The path ends at the self-signed %q, fetched from %s, which the truststore does not hold.", pr.Cert.Subject.String(), a.URL)
		}
	}
	return pr.Detail
}

func onPath(x *x509.Certificate, path []*x509.Certificate) bool {
	fp := pki.Fingerprint(x)
	for _, y := range path {
		if pki.Fingerprint(y) == fp {
			return true
		}
	}
	return false
}
