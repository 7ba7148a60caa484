package explain

import (
	"slices"
	"strings"
	"testing"
)

// explainCase is a paste and what Explain must make of it.
type explainCase struct {
	name   string
	text   string
	system string   // the first match's system
	ids    []string // the candidates of all matches, in the first match's order then the others'
	next   string   // a substring of the first match's Next, when set
	line   string   // a substring of the first match's Line, when set
}

func runCases(t *testing.T, cases []explainCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms := Explain(c.text)
			if len(ms) == 0 {
				t.Fatalf("no match for:\n%s", c.text)
			}
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.IDs()...)
			}
			if !slices.Equal(ids, c.ids) {
				t.Errorf("candidates = %v; want %v", ids, c.ids)
			}
			if ms[0].System != c.system {
				t.Errorf("system = %s; want %s", ms[0].System, c.system)
			}
			if !strings.Contains(ms[0].Next, c.next) {
				t.Errorf("next = %q; want it to contain %q", ms[0].Next, c.next)
			}
			if !strings.Contains(ms[0].Line, c.line) {
				t.Errorf("line = %q; want it to contain %q", ms[0].Line, c.line)
			}
		})
	}
}
