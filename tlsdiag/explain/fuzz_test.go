package explain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// FuzzExplain checks that no text panics Explain, and that every match names a known system
// and known causes, ranked, with a doctor command.
func FuzzExplain(f *testing.F) {
	for _, p := range Patterns() {
		f.Add(p.Example)
	}
	if raw, err := os.ReadFile(filepath.Join("testdata", "corpus", "manifest.json")); err == nil {
		var manifest []corpusEntry
		if json.Unmarshal(raw, &manifest) == nil {
			for _, e := range manifest {
				if b, err := os.ReadFile(filepath.Join("testdata", "corpus", filepath.FromSlash(e.File))); err == nil {
					f.Add(string(b))
				}
			}
		}
	}
	f.Add(javaPKIXTrace + "\nCaused by: java.security.cert.CertificateException: No subject alternative DNS name matching backend.test found.")
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range Explain(text) {
			if !slices.Contains(Systems, m.System) {
				t.Errorf("unknown system %q", m.System)
			}
			if len(m.Causes) == 0 {
				t.Errorf("%s: no causes", m.Pattern)
			}
			for i, c := range m.Causes {
				if !catalog.Known(c.ID) {
					t.Errorf("%s: unknown cause %q", m.Pattern, c.ID)
				}
				if c.Likelihood != High && c.Likelihood != Medium && c.Likelihood != Low {
					t.Errorf("%s: likelihood %q", m.Pattern, c.Likelihood)
				}
				if i > 0 && c.Likelihood.rank() < m.Causes[i-1].Likelihood.rank() {
					t.Errorf("%s: causes not ranked: %v", m.Pattern, m.Causes)
				}
			}
			if !strings.HasPrefix(m.Next, "tlsgate doctor ") || m.Meaning == "" || m.Check == "" {
				t.Errorf("%s: next %q, meaning %q, check %q", m.Pattern, m.Next, m.Meaning, m.Check)
			}
			if len(m.Line) > 4*maxShown {
				t.Errorf("%s: line of %d bytes", m.Pattern, len(m.Line))
			}
		}
	})
}
