package explain

import (
	"sort"
	"strings"
)

// Limits on the input Explain reads; the rest is ignored.
const (
	MaxBytes = 1 << 20 // bytes read from the text
	MaxLines = 20000   // lines read from the text
)

// maxShown bounds the decisive line as reported: a longer line is cut around the match.
const maxShown = 320

// Likelihood ranks a candidate cause among those a message leaves open.
type Likelihood string

// Likelihoods, most likely first.
const (
	High   Likelihood = "high"
	Medium Likelihood = "medium"
	Low    Likelihood = "low"
)

func (l Likelihood) rank() int {
	switch l {
	case High:
		return 0
	case Medium:
		return 1
	}
	return 2
}

// Candidate is one cause a message leaves open.
type Candidate struct {
	ID         string     `json:"id"`
	Likelihood Likelihood `json:"likelihood"`
}

// Match is one failure recognised in a text.
type Match struct {
	// System is the program that produced the text: java, openssl, curl, go, nodejs,
	// python, nginx, envoy, apigee or browser.
	System string `json:"system"`
	// Line is the decisive line, cut around the message when it is long.
	Line string `json:"line"`
	// Meaning says what the message means, in one sentence.
	Meaning string `json:"meaning"`
	// Causes are the catalog's causes the text leaves open, most likely first.
	Causes []Candidate `json:"causes"`
	// Check says how to tell the candidates apart.
	Check string `json:"check"`
	// Next is the tlsgate command that settles the question, with what the text reveals of
	// the target filled in and placeholders (HOST:PORT, TRUSTSTORE.pem) for the rest.
	Next string `json:"next"`
	// Pattern names the knowledge-base pattern of the decisive line.
	Pattern string `json:"-"`
}

// IDs returns the IDs of m's candidates, in order.
func (m Match) IDs() []string {
	ids := make([]string, len(m.Causes))
	for i, c := range m.Causes {
		ids[i] = c.ID
	}
	return ids
}

// hit is one pattern found on one line.
type hit struct {
	p          *compiled
	line       int
	start, end int // the match within the line
	text       string
}

func (h *hit) span() int { return h.end - h.start }

// result is a Match under construction: the decisive hit and what folded into it.
type result struct {
	decisive *hit
	causes   []Candidate
	by       *hit   // the hit whose candidates the result holds now (decisive or a narrower)
	contrib  []*hit // every hit that agreed with the result
}

// Explain returns the failures recognised in text, most specific first. Unknown text yields
// no match: Explain never guesses.
func Explain(text string) []Match {
	lines := splitLines(text)
	kb := knowledge()
	present := make([]bool, len(kb.index.keys))
	lower := make([]string, len(lines))
	var hits []*hit
	for i, line := range lines {
		lower[i] = strings.ToLower(line)
		hits = append(hits, scanLine(kb, i, line, lower[i], present)...)
	}
	var failures, hints []*hit
	seen := map[string]bool{}
	for _, h := range hits {
		if seen[h.p.Name] {
			continue
		}
		seen[h.p.Name] = true
		if h.p.role == roleFailure {
			failures = append(failures, h)
		} else {
			hints = append(hints, h)
		}
	}
	results := fold(failures)
	narrow(results, hints)
	// Most specific first; among equals, in the order of the text.
	sort.SliceStable(results, func(i, j int) bool {
		a, b := results[i], results[j]
		if len(a.causes) != len(b.causes) {
			return len(a.causes) < len(b.causes)
		}
		return a.decisive.line < b.decisive.line
	})
	tgt := findTarget(lines, lower)
	matches := make([]Match, 0, len(results))
	for _, r := range results {
		matches = append(matches, r.match(hints, tgt))
	}
	return matches
}

// splitLines bounds text and splits it into lines.
func splitLines(text string) []string {
	if len(text) > MaxBytes {
		text = text[:MaxBytes]
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.SplitN(text, "\n", MaxLines+1)
	if len(lines) > MaxLines {
		lines = lines[:MaxLines]
	}
	return lines
}

// scanLine returns the patterns found on one line, without those whose match lies within
// the match of a longer failure pattern on the same line (the longer one is the same
// message with more of its context, as curl's "SSL certificate problem: ..." around
// OpenSSL's verify text). lower is the line in lower case; present is scratch space for the
// literal index.
func scanLine(kb *base, n int, line, lower string, present []bool) []*hit {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	kb.index.find(lower, present)
	var hs []*hit
	for _, p := range kb.patterns {
		if !p.candidate(present) {
			continue
		}
		loc := p.re.FindStringSubmatchIndex(line)
		if loc == nil {
			continue
		}
		hs = append(hs, &hit{p: p, line: n, start: loc[0], end: loc[1], text: line})
	}
	kept := hs[:0]
	for _, h := range hs {
		if !within(h, hs) {
			kept = append(kept, h)
		}
	}
	return kept
}

// candidate reports whether the line may match p: it holds one of p's literals, or p has
// none.
func (p *compiled) candidate(present []bool) bool {
	if p.keys == nil {
		return true
	}
	for _, k := range p.keys {
		if present[k] {
			return true
		}
	}
	return false
}

// within reports whether h's match lies inside the longer match of a failure in hs.
func within(h *hit, hs []*hit) bool {
	if h.p.role == roleFrame {
		return false
	}
	for _, o := range hs {
		if o != h && o.p.role == roleFailure && o.start <= h.start && h.end <= o.end && o.span() > h.span() {
			return true
		}
	}
	return false
}

// fold groups the failures: most specific first, each failure whose candidates overlap an
// earlier result's is the same failure told less precisely, and the result keeps the
// candidates both leave open.
func fold(failures []*hit) []*result {
	sort.SliceStable(failures, func(i, j int) bool {
		a, b := failures[i], failures[j]
		if len(a.p.Causes) != len(b.p.Causes) {
			return len(a.p.Causes) < len(b.p.Causes)
		}
		if a.span() != b.span() {
			return a.span() > b.span()
		}
		return a.line < b.line
	})
	var results []*result
	for _, h := range failures {
		var into *result
		for _, r := range results {
			if r.onLine(h.line) || len(intersect(r.causes, h.p.Causes, false)) > 0 {
				into = r
				break
			}
		}
		if into == nil {
			results = append(results, &result{decisive: h, causes: h.p.Causes, by: h})
			continue
		}
		sameLine := into.onLine(h.line)
		into.contrib = append(into.contrib, h)
		if sameLine {
			// The same line told more precisely: the frame around a message (curl's exit
			// code, Python's [SSL: ...] tag) adds nothing to what the message leaves open.
			continue
		}
		if in := intersect(into.causes, h.p.Causes, false); len(in) < len(into.causes) {
			into.causes = in
			into.by = h
		}
	}
	return results
}

// onLine reports whether a failure that r holds was found on line n.
func (r *result) onLine(n int) bool {
	if r.decisive.line == n {
		return true
	}
	for _, h := range r.contrib {
		if h.line == n && h.p.role == roleFailure {
			return true
		}
	}
	return false
}

// narrow applies the hints (trace lines that are no failure by themselves) to every result
// they overlap. A hint's likelihoods are floors: a hint that points at a cause raises it, a
// hint that only rules causes out leaves the others as they were.
func narrow(results []*result, hints []*hit) {
	sort.SliceStable(hints, func(i, j int) bool { return len(hints[i].p.Causes) < len(hints[j].p.Causes) })
	for _, r := range results {
		for _, h := range hints {
			if h.p.role != roleHint {
				continue
			}
			in := intersect(r.causes, h.p.Causes, true)
			if len(in) == 0 {
				continue
			}
			r.contrib = append(r.contrib, h)
			if len(in) < len(r.causes) {
				r.causes = in
				if !filterOnly(h.p.Causes) {
					r.by = h
				}
			}
		}
	}
}

// filterOnly reports whether a hint only rules causes out (all its candidates are low).
func filterOnly(cs []Candidate) bool {
	for _, c := range cs {
		if c.Likelihood != Low {
			return false
		}
	}
	return true
}

// intersect returns the candidates of a whose IDs b holds, with a's likelihoods, or the
// more likely of a's and b's when raise; ordered by likelihood, then as in a.
func intersect(a, b []Candidate, raise bool) []Candidate {
	lb := make(map[string]Likelihood, len(b))
	for _, c := range b {
		lb[c.ID] = c.Likelihood
	}
	var out []Candidate
	for _, c := range a {
		l, ok := lb[c.ID]
		if !ok {
			continue
		}
		if !raise || c.Likelihood.rank() < l.rank() {
			l = c.Likelihood
		}
		out = append(out, Candidate{ID: c.ID, Likelihood: l})
	}
	sortCandidates(out)
	return out
}

func sortCandidates(cs []Candidate) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Likelihood.rank() < cs[j].Likelihood.rank() })
}

// match renders r. The system is the outermost program among the hits that agree with r
// and the frames of the text (Apigee around Java, curl around OpenSSL and nginx's pages).
func (r *result) match(hints []*hit, t target) Match {
	causes := promoted(r.causes)
	system := r.decisive.p.System
	level := systemLevel[system]
	consider := func(h *hit) {
		if l := systemLevel[h.p.System]; l > level {
			system, level = h.p.System, l
		}
	}
	for _, h := range r.contrib {
		consider(h)
	}
	for _, h := range hints {
		if h.p.role == roleFrame {
			consider(h)
		}
	}
	check := r.by.p.Check
	if r.by.p.role == roleHint || len(causes) == 1 && len(r.by.p.Causes) > 1 {
		check = composeCheck(causes, r.by)
	}
	d := r.decisive
	return Match{
		System:  system,
		Line:    shown(d.text, d.start, d.end),
		Meaning: d.p.Meaning,
		Causes:  causes,
		Check:   check,
		Next:    nextCommand(system, causes, t),
		Pattern: d.p.Name,
	}
}

// promoted returns a copy of cs in which the most likely candidates are high: likelihoods
// rank the candidates a text leaves open against each other, and a single candidate, or
// the best of those a narrowing left, is the one to check first.
func promoted(cs []Candidate) []Candidate {
	out := append([]Candidate(nil), cs...)
	if len(out) == 0 {
		return out
	}
	best := out[0].Likelihood
	for i := range out {
		if out[i].Likelihood == best {
			out[i].Likelihood = High
		}
	}
	return out
}

// shown trims line for display and cuts it around [start, end) when it is long.
func shown(line string, start, end int) string {
	if len(line) > maxShown {
		from := start - 80
		if from < 0 {
			from = 0
		}
		to := from + maxShown
		if to < end {
			to = min(end, from+2*maxShown)
		}
		if to > len(line) {
			to = len(line)
		}
		cut := line[from:to]
		if from > 0 {
			cut = "..." + cut
		}
		if to < len(line) {
			cut += "..."
		}
		line = cut
	}
	return strings.ToValidUTF8(strings.TrimSpace(line), "\uFFFD")
}
