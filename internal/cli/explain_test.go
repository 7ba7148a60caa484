package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// runExplainWith runs tlsgate explain with args and stdin, and returns the exit status and
// both outputs.
func runExplainWith(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := explainStdin
	explainStdin = strings.NewReader(stdin)
	t.Cleanup(func() { explainStdin = old })
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), append([]string{"explain"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

const pkixMessage = "javax.net.ssl.SSLHandshakeException: PKIX path building failed: " +
	"sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"

func TestExplainText(t *testing.T) {
	code, out, errOut := runExplainWith(t, "", "curl: (60) SSL certificate problem: unable to get local issuer certificate")
	if code != ExitOK {
		t.Fatalf("exit %d; want %d; stderr:\n%s", code, ExitOK, errOut)
	}
	for _, want := range []string{
		"curl: curl: (60) SSL certificate problem: unable to get local issuer certificate",
		"means:",
		"high  truststore.missing-anchor  The truststore lacks the root of the server's chain",
		"high  chain.incomplete",
		"tell apart:",
		"next:        tlsgate doctor --truststore TRUSTSTORE.pem HOST:PORT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExplainJSON(t *testing.T) {
	code, out, _ := runExplainWith(t, pkixMessage+"\n", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d; want %d", code, ExitOK)
	}
	var got struct {
		Matches []struct {
			System  string `json:"system"`
			Line    string `json:"line"`
			Meaning string `json:"meaning"`
			Causes  []struct {
				ID         string `json:"id"`
				Likelihood string `json:"likelihood"`
			} `json:"causes"`
			Check string `json:"check"`
			Next  string `json:"next"`
		} `json:"matches"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	if len(got.Matches) != 1 {
		t.Fatalf("got %d matches; want 1", len(got.Matches))
	}
	m := got.Matches[0]
	if m.System != "java" || m.Line != pkixMessage || m.Meaning == "" || m.Check == "" {
		t.Errorf("match = %+v", m)
	}
	if len(m.Causes) != 4 || m.Causes[0].ID != "truststore.missing-anchor" || m.Causes[0].Likelihood != "high" {
		t.Errorf("causes = %+v", m.Causes)
	}
	if !strings.HasPrefix(m.Next, "tlsgate doctor --truststore ") {
		t.Errorf("next = %q", m.Next)
	}
	var raw map[string][]map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for k := range raw["matches"][0] {
		switch k {
		case "system", "line", "meaning", "causes", "check", "next":
		default:
			t.Errorf("unexpected key %q", k)
		}
	}
}

func TestExplainStdin(t *testing.T) {
	for _, args := range [][]string{nil, {"-"}} {
		code, out, _ := runExplainWith(t, "Get \"https://backend.test:8443/\": remote error: tls: protocol version not supported\n", args...)
		if code != ExitOK || !strings.Contains(out, "protocol.mismatch") || !strings.Contains(out, "backend.test:8443") {
			t.Errorf("args %q: exit %d, output:\n%s", args, code, out)
		}
	}
}

func TestExplainArgumentsAreJoined(t *testing.T) {
	code, out, _ := runExplainWith(t, "", "javax.net.ssl.SSLHandshakeException:", "Received", "fatal", "alert:", "protocol_version")
	if code != ExitOK || !strings.Contains(out, "protocol.mismatch") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestExplainNothingRecognised(t *testing.T) {
	for _, c := range []struct {
		name, stdin string
		args        []string
	}{
		{"argument", "", []string{"GET /index.html 200"}},
		{"empty stdin", "", nil},
		{"binary stdin", "\x00\x01\xfe\xff\x16\x03\x01", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runExplainWith(t, c.stdin, c.args...)
			if code != ExitFindings {
				t.Errorf("exit %d; want %d", code, ExitFindings)
			}
			if out != "" {
				t.Errorf("stdout = %q; want nothing", out)
			}
			if !strings.Contains(errOut, "error: explain: no known TLS failure") || !strings.Contains(errOut, "hint: paste the whole error, including the 'Caused by' lines") {
				t.Errorf("stderr = %q", errOut)
			}
		})
	}
	code, out, _ := runExplainWith(t, "", "--format", "json", "nothing to see")
	if code != ExitFindings || strings.TrimSpace(out) != `{
  "matches": []
}` {
		t.Errorf("json: exit %d, output %q", code, out)
	}
}

func TestExplainUsage(t *testing.T) {
	code, _, errOut := runExplainWith(t, "", "--format", "xml", "x")
	if code != ExitUsage || !strings.Contains(errOut, "--format") {
		t.Errorf("bad format: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runExplainWith(t, "", "--nope")
	if code != ExitUsage || !strings.Contains(errOut, "hint: see tlsgate explain --help") {
		t.Errorf("bad flag: exit %d, stderr %q", code, errOut)
	}
	code, out, _ := runExplainWith(t, "", "--help")
	if code != ExitOK || !strings.Contains(out, "Usage: tlsgate explain [flags] [TEXT...]") || !strings.Contains(out, "Examples:") {
		t.Errorf("help: exit %d, output:\n%s", code, out)
	}
}

func TestExplainBoundsStdin(t *testing.T) {
	big := strings.Repeat("an ordinary line\n", (3<<20)/17) + pkixMessage
	old := explainStdin
	explainStdin = io.MultiReader(strings.NewReader(big))
	t.Cleanup(func() { explainStdin = old })
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"explain"}, &stdout, &stderr); code != ExitFindings {
		t.Errorf("exit %d; want %d: a message after the first MiB must not be read", code, ExitFindings)
	}
}

func TestExplainListed(t *testing.T) {
	var stdout, stderr bytes.Buffer
	Main(context.Background(), []string{"help"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "explain   map an error message") {
		t.Errorf("usage does not list explain:\n%s", stdout.String())
	}
}
