package explain

import (
	"slices"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// TestPatternExamples runs every pattern's own example: a failure pattern must be the
// decisive pattern of its example and leave open exactly its causes; a hint or a frame
// must yield nothing by itself.
func TestPatternExamples(t *testing.T) {
	for _, p := range Patterns() {
		t.Run(p.Name, func(t *testing.T) {
			if p.Example == "" {
				t.Fatal("no example")
			}
			ms := Explain(p.Example)
			if p.Hint() {
				if len(ms) != 0 {
					t.Errorf("a hint alone yielded %v", ms)
				}
				if !matchesAlone(p, p.Example) {
					t.Errorf("the pattern does not match its example %q", p.Example)
				}
				return
			}
			if len(ms) != 1 {
				t.Fatalf("got %d matches for %q; want 1: %+v", len(ms), p.Example, ms)
			}
			m := ms[0]
			if m.Pattern != p.Name {
				t.Errorf("decisive pattern = %s; want %s", m.Pattern, p.Name)
			}
			want := promoted(p.Causes)
			if !slices.Equal(m.Causes, want) {
				t.Errorf("causes = %v; want %v", m.Causes, want)
			}
			if m.Meaning != p.Meaning || m.Check == "" || !strings.HasPrefix(m.Next, "tlsgate doctor ") {
				t.Errorf("meaning %q, check %q, next %q", m.Meaning, m.Check, m.Next)
			}
		})
	}
}

// matchesAlone reports whether p's expression matches some line of text.
func matchesAlone(p Pattern, text string) bool {
	for _, c := range knowledge().patterns {
		if c.Name == p.Name {
			for _, line := range strings.Split(text, "\n") {
				if c.re.MatchString(line) {
					return true
				}
			}
		}
	}
	return false
}

func TestKnowledgeBaseIsWellFormed(t *testing.T) {
	perSystem := map[string]int{}
	for _, p := range Patterns() {
		perSystem[p.System]++
		if !strings.HasPrefix(p.Name, p.System+".") {
			t.Errorf("%s: name does not start with its system %s", p.Name, p.System)
		}
		for i, c := range p.Causes {
			if !catalog.Known(c.ID) {
				t.Errorf("%s: unknown cause %s", p.Name, c.ID)
			}
			if i > 0 && c.Likelihood.rank() < p.Causes[i-1].Likelihood.rank() {
				t.Errorf("%s: causes not ordered by likelihood: %v", p.Name, p.Causes)
			}
			for _, d := range p.Causes[:i] {
				if d.ID == c.ID {
					t.Errorf("%s: cause %s listed twice", p.Name, c.ID)
				}
			}
		}
		if !p.Hint() && (p.Meaning == "" || p.Check == "") {
			t.Errorf("%s: no meaning or no check", p.Name)
		}
	}
	for _, s := range Systems {
		if perSystem[s] == 0 {
			t.Errorf("system %s has no pattern", s)
		}
	}
	t.Logf("patterns per system: %v", perSystem)
}
