package explain

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
)

// corpusEntry is one recorded message of testdata/corpus/manifest.json.
type corpusEntry struct {
	File     string `json:"file"`
	System   string `json:"system"`
	Scenario string `json:"scenario"`
	Cause    string `json:"cause"`
	Command  string `json:"command"`
	Exit     int    `json:"exit"`
}

// corpusSystem maps the recorder's system names to the knowledge base's.
var corpusSystem = map[string]string{"node": Node}

// minCorpusMessages is the least number of distinct messages the corpus must cover.
const minCorpusMessages = 60

// TestCorpus holds the knowledge base to the messages real programs printed on this
// machine against the lab's failing servers: for each, Explain must name the program,
// include the true cause, and leave open exactly the candidates testdata/expected.json
// lists for it, a judgment made by reading the message.
func TestCorpus(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "corpus", "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no recorded corpus (testdata/corpus/manifest.json)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var manifest []corpusEntry
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	raw, err = os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]string
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	listed := map[string]bool{}
	covered := map[string]int{}
	messages := map[string]bool{}
	patterns := map[string]bool{}
	for _, e := range manifest {
		listed[e.File] = true
		if e.Cause == "" {
			continue
		}
		t.Run(e.File, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("testdata", "corpus", filepath.FromSlash(e.File)))
			if err != nil {
				t.Fatal(err)
			}
			want, ok := expected[e.File]
			if !ok {
				t.Fatalf("testdata/expected.json has no candidates for %s (true cause %s): read the message and add them", e.File, e.Cause)
			}
			ms := Explain(string(text))
			if len(ms) == 0 {
				t.Fatalf("nothing recognised in:\n%s", text)
			}
			system := e.System
			if s, ok := corpusSystem[system]; ok {
				system = s
			}
			if ms[0].System != system {
				t.Errorf("system = %s; want %s (decisive line %q)", ms[0].System, system, ms[0].Line)
			}
			got := candidateSet(ms)
			if !slices.Contains(got, e.Cause) {
				t.Errorf("candidates %v leave out the true cause %s", got, e.Cause)
			}
			if w := sorted(want); !slices.Equal(got, w) {
				t.Errorf("candidates = %v; want %v (decisive line %q)", got, w, ms[0].Line)
			}
			if !t.Failed() {
				covered[system]++
				for _, m := range ms {
					messages[m.System+" "+normalised(m.Line)] = true
					patterns[m.Pattern] = true
				}
			}
		})
	}
	for f := range expected {
		if !listed[f] {
			t.Errorf("testdata/expected.json lists %s, which the manifest does not", f)
		}
	}
	t.Logf("covered %d entries, %d distinct decisive messages, %d decisive patterns; per system: %v",
		sum(covered), len(messages), len(patterns), covered)
	if len(messages) < minCorpusMessages {
		t.Errorf("the corpus covers %d distinct messages; want at least %d", len(messages), minCorpusMessages)
	}
}

// candidateSet returns the IDs all matches leave open, sorted.
func candidateSet(ms []Match) []string {
	var ids []string
	for _, m := range ms {
		for _, c := range m.Causes {
			if !slices.Contains(ids, c.ID) {
				ids = append(ids, c.ID)
			}
		}
	}
	return sorted(ids)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// volatile matches what changes from one recording of a message to the next: dates,
// times, process and thread ids, addresses; two decisive lines that differ only there are
// one message.
var volatile = regexp.MustCompile(`[0-9A-Fa-f]{12,}|\d+`)

func normalised(text string) string { return volatile.ReplaceAllString(text, "N") }
