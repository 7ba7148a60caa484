package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/lab"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestLabText(t *testing.T) {
	code, out, errOut := runMain(t, "lab", "--run", `^(healthy\.one-way|chain\.incomplete|chain\.misordered)$`)
	if code != ExitOK {
		t.Fatalf("exit status %d; want 0\n%s%s", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet got %q", errOut)
	}
	lines := strings.Split(out, "\n")
	wantRows := []string{"healthy.one-way", "chain.incomplete", "chain.misordered"}
	if len(lines) < len(wantRows)+1 || !strings.HasPrefix(lines[0], "SCENARIO") {
		t.Fatalf("no table:\n%s", out)
	}
	for i, name := range wantRows {
		row := strings.Fields(lines[i+1])
		if len(row) < 5 || row[0] != name || row[1] != "go" {
			t.Errorf("row %d = %q; want %s played by go, in Scenarios() order", i+1, lines[i+1], name)
		}
		if !strings.Contains(lines[i+1], "✓") {
			t.Errorf("row %q is not marked as expected", lines[i+1])
		}
	}
	if !strings.Contains(lines[3], "chain.misordered (warning)") {
		t.Errorf("the warning scenario's row does not show its severity: %q", lines[3])
	}
	if !strings.Contains(out, "3/3 as expected") {
		t.Errorf("no summary in\n%s", out)
	}
}

func TestLabJSONVerbose(t *testing.T) {
	code, out, errOut := runMain(t, "lab", "--format", "json", "--verbose", "--run", `^network\.unreachable$|^tls\.not-tls$`)
	if code != ExitOK {
		t.Fatalf("exit status %d; want 0\n%s%s", code, out, errOut)
	}
	var got struct {
		Results []struct {
			Scenario   string         `json:"scenario"`
			Peer       string         `json:"peer"`
			Expected   string         `json:"expected"`
			Found      []labFound     `json:"found"`
			AsExpected bool           `json:"asExpected"`
			Report     map[string]any `json:"report"`
		} `json:"results"`
		AsExpected, Total int
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Total != 2 || got.AsExpected != 2 || len(got.Results) != 2 {
		t.Fatalf("total %d, as expected %d, %d results; want 2, 2, 2", got.Total, got.AsExpected, len(got.Results))
	}
	for _, r := range got.Results {
		if !r.AsExpected || len(r.Found) != 1 || r.Found[0].ID != r.Expected || r.Peer != "go" {
			t.Errorf("result %+v; want %s found, as expected", r, r.Expected)
		}
		if r.Report["findings"] == nil || r.Report["facts"] == nil {
			t.Errorf("--verbose: %s has no full report", r.Scenario)
		}
	}
}

func TestLabVerboseText(t *testing.T) {
	code, out, _ := runMain(t, "lab", "--verbose", "--run", `^hostname\.mismatch$`)
	if code != ExitOK {
		t.Fatalf("exit status %d; want 0\n%s", code, out)
	}
	for _, want := range []string{"── hostname.mismatch (go)", "FAIL  hostname.mismatch", "fix:"} {
		if !strings.Contains(out, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, out)
		}
	}
}

func TestLabAllPeers(t *testing.T) {
	code, out, errOut := runMain(t, "lab", "--peer", "all", "--run", `^sni\.required$`)
	if code != ExitOK {
		t.Fatalf("exit status %d; want 0\n%s%s", code, out, errOut)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"sni.required go sni.required sni.required 503 SslHandshakeFailed sni.required ✓",
		"sni.required nginx sni.required sni.required 503 SslHandshakeFailed sni.required ✓", "2/2 as expected"} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLabWithoutGateway(t *testing.T) {
	code, out, errOut := runMain(t, "lab", "--no-gateway", "--run", `^cert\.expired$`)
	flat := strings.Join(strings.Fields(out), " ")
	if code != ExitOK || strings.Contains(out, "GATEWAY") || !strings.Contains(flat, "cert.expired go cert.expired cert.expired ✓") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = runMain(t, "lab", "--format", "json", "--run", `^cert\.expired$`)
	if code != ExitOK || !strings.Contains(out, `"faultCode": "messaging.adaptors.http.flow.SslHandshakeFailed"`) || !strings.Contains(out, `"cause": "cert.expired"`) {
		t.Errorf("JSON with the gateway: exit %d:\n%s%s", code, out, errOut)
	}
}

func TestLabUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--peer", "apache"}, "unknown peer"},
		{[]string{"--run", "("}, "--run"},
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--run", "no-such-scenario"}, "no scenario matches"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		code, _, errOut := runMain(t, append([]string{"lab"}, tt.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("lab %v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, ExitUsage, tt.want)
		}
	}
	code, out, _ := runMain(t, "lab", "--help")
	if code != ExitOK || !strings.Contains(out, "--peer") {
		t.Errorf("lab --help: exit %d, %q", code, out)
	}
}

// TestLabReportsFailures checks how a job that is not as expected is shown and counted.
func TestLabReportsFailures(t *testing.T) {
	s := lab.Scenarios()[0]
	jobs := []*labJob{{scenario: s, peer: lab.PeerNginx, err: errors.New("lab: nginx: program not installed (on Debian: apt-get install nginx-light)")}}
	var text, js bytes.Buffer
	if err := writeLabText(&text, jobs, 0, 0, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"✗", "nginx-light", "0/1 as expected"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := writeLabJSON(&js, jobs, 0, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"asExpected": false`) || !strings.Contains(js.String(), "nginx-light") {
		t.Errorf("JSON does not report the failure:\n%s", js.String())
	}
}
