package capture

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/scenarios")

// scenarioMeta is NAME.meta.json, as lab/cmd/capture writes it.
type scenarioMeta struct {
	Scenario     string            `json:"scenario"`
	Truststore   string            `json:"truststore"`
	ClientCert   string            `json:"clientCert"`
	Keylog       string            `json:"keylog"`
	Expect       string            `json:"expect"`
	Snaplen      int               `json:"snaplen"`
	Connections  int               `json:"connections"`
	ExpectByPort map[string]string `json:"expectByPort"`
}

const scenarioDir = "testdata/scenarios"

func readMeta(t *testing.T, name string) scenarioMeta {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, name+".meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m scenarioMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.meta.json: %v", name, err)
	}
	return m
}

// scenarioConfig reads the files a scenario's meta names, as tlsgate pcap reads its flags.
func scenarioConfig(t *testing.T, m scenarioMeta) (ClientConfig, Options) {
	t.Helper()
	var cc ClientConfig
	var opts Options
	load := func(name string) []*x509.Certificate {
		certs, err := pki.LoadCertificates(filepath.Join(scenarioDir, name), "")
		if err != nil {
			t.Fatal(err)
		}
		return certs
	}
	if m.Truststore != "" {
		cc.Roots, cc.RootsFrom = load(m.Truststore), []string{m.Truststore}
	}
	if m.ClientCert != "" {
		cc.ClientCert, cc.ClientCertFrom = load(m.ClientCert)[0], m.ClientCert
	}
	if m.Keylog != "" {
		k, err := LoadKeyLog(filepath.Join(scenarioDir, m.Keylog))
		if err != nil {
			t.Fatal(err)
		}
		opts.Keys = k
	}
	return cc, opts
}

// goldenConn is what the golden files hold of a connection: the transcript, the notes and
// the findings, without their fixes (prose that changes more often than verdicts).
type goldenConn struct {
	Client     string          `json:"client"`
	Server     string          `json:"server"`
	ServerName string          `json:"serverName,omitempty"`
	Version    string          `json:"version,omitempty"`
	Outcome    string          `json:"outcome"`
	Findings   []goldenFinding `json:"findings"`
	Transcript []Entry         `json:"transcript"`
	Notes      []string        `json:"notes,omitempty"`
}

type goldenFinding struct {
	ID       string           `json:"id"`
	Severity tlsdiag.Severity `json:"severity"`
	Detail   string           `json:"detail"`
	Evidence map[string]any   `json:"evidence,omitempty"`
}

// readScenario reads a capture and returns its judged connections.
func readScenario(t *testing.T, path string, cc ClientConfig, opts Options) []*Result {
	t.Helper()
	j := &Judge{Engine: catalog.Engine(), Client: cc}
	var out []*Result
	if _, err := ReadFile(path, opts, j, func(r *Result) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return out
}

func goldenOf(t *testing.T, rs []*Result) []byte {
	t.Helper()
	var g []goldenConn
	for _, r := range rs {
		c := goldenConn{Client: r.Client, Server: r.Server, ServerName: r.ServerName, Version: r.Version,
			Outcome: r.Outcome, Findings: []goldenFinding{}, Transcript: r.Transcript, Notes: r.Notes}
		if r.Report != nil {
			for _, f := range r.Report.Findings {
				c.Findings = append(c.Findings, goldenFinding{ID: f.ID, Severity: f.Severity, Detail: f.Detail, Evidence: f.Evidence})
			}
		}
		g = append(g, c)
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// firstError returns the ID of r's first error finding, "" when it has none.
func firstError(r *Result) string {
	if r.Report == nil {
		return ""
	}
	for _, f := range r.Report.Findings {
		if f.Severity == tlsdiag.SeverityError {
			return f.ID
		}
	}
	return ""
}

// TestScenarios reads every capture recorded from real peers (lab/cmd/capture), checks
// the cause each connection must have, compares the verdicts with the golden files, and
// checks that the pcapng copy gives the same verdicts.
func TestScenarios(t *testing.T) {
	metas, _ := filepath.Glob(filepath.Join(scenarioDir, "*.meta.json"))
	if len(metas) == 0 {
		t.Fatal("no scenario captures in " + scenarioDir)
	}
	for _, mp := range metas {
		name := strings.TrimSuffix(filepath.Base(mp), ".meta.json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := readMeta(t, name)
			cc, opts := scenarioConfig(t, m)
			rs := readScenario(t, filepath.Join(scenarioDir, name+".pcap"), cc, opts)
			if len(rs) != m.Connections {
				t.Errorf("%d connections; want %d", len(rs), m.Connections)
			}
			for i, r := range rs {
				want := m.Expect
				if m.ExpectByPort != nil {
					_, port, _ := net.SplitHostPort(r.Server)
					want = m.ExpectByPort[port]
				}
				if got := firstError(r); got != want {
					t.Errorf("connection %d (%s → %s, %s): first error finding %q; want %q", i+1, r.Client, r.Server, r.Outcome, got, want)
				}
				if m.Snaplen > 0 && r.Report != nil {
					t.Errorf("connection %d: judged from a capture cut at %d bytes a packet", i+1, m.Snaplen)
				}
			}
			got := goldenOf(t, rs)
			golden := filepath.Join(scenarioDir, name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if want, err := os.ReadFile(golden); err != nil {
				t.Errorf("reading the golden file (go test -update writes it): %v", err)
			} else if !bytes.Equal(got, want) {
				t.Errorf("verdicts differ from %s (go test -update rewrites it); got:\n%s", golden, got)
			}
			ng := filepath.Join(scenarioDir, name+".pcapng")
			if _, err := os.Stat(ng); err == nil {
				if gotNG := goldenOf(t, readScenario(t, ng, cc, opts)); !bytes.Equal(gotNG, got) {
					t.Errorf("the pcapng copy gives other verdicts:\n%s", gotNG)
				}
			}
		})
	}
}

// TestEmbeddedKeys reads a pcapng file whose key log editcap --inject-secrets put in
// Decryption Secrets Blocks: its TLS 1.3 handshakes are decrypted without --keylog.
func TestEmbeddedKeys(t *testing.T) {
	var rs []*Result
	j := &Judge{Engine: catalog.Engine()}
	sum, err := ReadFile("testdata/tls13-lo6-nano-dsb.pcapng", Options{}, j, func(r *Result) error {
		rs = append(rs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.EmbeddedKeys == 0 || len(rs) == 0 {
		t.Fatalf("%d embedded keys, %d connections; want some of each", sum.EmbeddedKeys, len(rs))
	}
	for _, r := range rs {
		if !r.Decrypted || !strings.HasPrefix(r.Outcome, "completed") {
			t.Errorf("%s → %s: decrypted %v, outcome %q; want decrypted, completed", r.Client, r.Server, r.Decrypted, r.Outcome)
		}
	}
}
