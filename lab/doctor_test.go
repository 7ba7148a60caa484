package lab_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/internal/cli"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// doctor runs `tlsgate doctor args...` as a user would and returns its exit status and
// output.
func doctor(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(t.Context(), append([]string{"doctor"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func scenario(t *testing.T, name string) lab.Scenario {
	t.Helper()
	for _, s := range lab.Scenarios() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %s", name)
	return lab.Scenario{}
}

// serve starts a scenario with the Go peer and returns the doctor's TARGET for it and the
// --connect flag.
func serve(t *testing.T, s lab.Scenario) (target string, connect []string) {
	t.Helper()
	r, err := lab.Start(t.Context(), s, lab.PeerGo, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.Target, []string{"--connect", r.Address}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keyPEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// stores writes the lab's root as a truststore in every format the doctor reads, and the
// lab's client credential as a PEM pair and a PKCS#12 keystore, with the tools people use.
type stores struct {
	pem, der, p12, jks          string
	clientCert, clientKey, cp12 string
}

const storePassword = "changeit"

func makeStores(t *testing.T) stores {
	t.Helper()
	dir := t.TempDir()
	root := scenario(t, "healthy.one-way").Client.Roots[0]
	client := scenario(t, "healthy.two-way").Client.Cert
	var s stores
	s.pem = write(t, dir, "root.pem", pkitest.PEM(root))
	s.der = write(t, dir, "root.der", root.Raw)
	s.p12 = filepath.Join(dir, "trust.p12")
	run(t, "openssl", "pkcs12", "-export", "-nokeys", "-in", s.pem, "-out", s.p12, "-passout", "pass:"+storePassword)
	s.jks = filepath.Join(dir, "trust.jks")
	run(t, "keytool", "-importcert", "-storetype", "JKS", "-keystore", s.jks, "-storepass", storePassword,
		"-alias", "labroot", "-file", s.pem, "-noprompt")
	s.clientCert = write(t, dir, "client.pem", pkitest.PEM(client.Chain...))
	s.clientKey = write(t, dir, "client.key", keyPEM(t, client.Key))
	s.cp12 = filepath.Join(dir, "client.p12")
	run(t, "openssl", "pkcs12", "-export", "-in", s.clientCert, "-inkey", s.clientKey, "-name", "client",
		"-out", s.cp12, "-passout", "pass:"+storePassword)
	return s
}

func TestDoctorAgainstLabServers(t *testing.T) {
	st := makeStores(t)
	oneWay, oneWayConnect := serve(t, scenario(t, "healthy.one-way"))
	twoWay, twoWayConnect := serve(t, scenario(t, "healthy.two-way"))
	incomplete, incompleteConnect := serve(t, scenario(t, "chain.incomplete"))
	sni, sniConnect := serve(t, scenario(t, "sni.required"))
	pw := []string{"--truststore-password", storePassword}
	tests := []struct {
		name    string
		args    []string
		want    int
		finding string
	}{
		{"truststore PEM", slices.Concat(oneWayConnect, []string{"--truststore", st.pem, oneWay}), 0, ""},
		{"truststore DER", slices.Concat(oneWayConnect, []string{"--truststore", st.der, "https://" + oneWay + "/path"}), 0, ""},
		{"truststore PKCS#12", slices.Concat(oneWayConnect, pw, []string{"--truststore", st.p12, oneWay}), 0, ""},
		{"truststore JKS", slices.Concat(oneWayConnect, pw, []string{"--truststore", st.jks, oneWay}), 0, ""},
		{"client PEM pair", slices.Concat(twoWayConnect, []string{"--truststore", st.pem, "--client-cert", st.clientCert, "--client-key", st.clientKey, twoWay}), 0, ""},
		{"client PKCS#12", slices.Concat(twoWayConnect, []string{"--truststore", st.pem, "--keystore", st.cp12, "--keystore-password", storePassword, twoWay}), 0, ""},
		{"no client certificate", slices.Concat(twoWayConnect, []string{"--truststore", st.pem, twoWay}), 1, "clientcert.missing"},
		{"incomplete chain", slices.Concat(incompleteConnect, []string{"--truststore", st.jks, "--truststore-password", storePassword, incomplete}), 1, "chain.incomplete"},
		{"no SNI", slices.Concat(sniConnect, []string{"--truststore", st.pem, "--no-sni", sni}), 1, "sni.required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := doctor(t, append([]string{"--format", "json", "--timeout", "5s"}, tt.args...)...)
			if code != tt.want {
				t.Fatalf("exit status %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, out, errOut)
			}
			r := checkJSONShape(t, out)
			if tt.finding == "" {
				return
			}
			for _, f := range r.Findings {
				if f["id"] == tt.finding && f["severity"] == "error" {
					return
				}
			}
			t.Errorf("no error finding %s in %s", tt.finding, out)
		})
	}
}

type jsonReport struct {
	Target   string           `json:"target"`
	Address  string           `json:"address"`
	OK       *bool            `json:"ok"`
	Findings []map[string]any `json:"findings"`
	Facts    map[string]any   `json:"facts"`
}

// checkJSONShape checks the shape DESIGN.md documents for `doctor --format json`.
func checkJSONShape(t *testing.T, out string) jsonReport {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"target", "address", "ok", "findings", "facts"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("JSON shape: %v", err)
	}
	if r.Target == "" || r.Address == "" || r.OK == nil || r.Facts == nil || r.Findings == nil {
		t.Errorf("JSON misses target, address, ok, findings or facts: %s", out)
	}
	hasError := false
	for _, f := range r.Findings {
		for _, k := range []string{"id", "severity", "title", "detail", "evidence", "fix"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v has no %q", f["id"], k)
			}
		}
		if _, ok := f["evidence"].(map[string]any); !ok {
			t.Errorf("finding %v: evidence is not an object", f["id"])
		}
		if fix, _ := f["fix"].([]any); len(fix) == 0 {
			t.Errorf("finding %v: no fix", f["id"])
		}
		hasError = hasError || f["severity"] == "error"
	}
	if r.OK != nil && *r.OK == hasError {
		t.Errorf("ok is %v with error findings %v", *r.OK, hasError)
	}
	return r
}

func TestDoctorBadInputNamesTheFile(t *testing.T) {
	st := makeStores(t)
	target, connect := serve(t, scenario(t, "healthy.one-way"))
	dir := t.TempDir()
	notCert := write(t, dir, "notes.txt", []byte("this is not a certificate\n"))
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"missing file", []string{"--truststore", missing, target}, []string{missing, "no such file"}},
		{"not a certificate", []string{"--truststore", notCert, target}, []string{notCert, "not a certificate"}},
		{"wrong password", []string{"--truststore", st.p12, "--truststore-password", "wrong", target}, []string{st.p12, "wrong password"}},
		{"wrong keystore password", []string{"--truststore", st.pem, "--keystore", st.cp12, "--keystore-password", "wrong", target}, []string{st.cp12, "wrong password"}},
		{"unparsable target", []string{"--truststore", st.pem, "backend.test:notaport"}, []string{"backend.test:notaport", "port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := doctor(t, slices.Concat(connect, tt.args)...)
			if code != cli.ExitUsage {
				t.Fatalf("exit status %d; want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitUsage, out, errOut)
			}
			if !strings.HasPrefix(errOut, "error: ") {
				t.Errorf("stderr does not start with \"error: \": %q", errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not name %q: %q", w, errOut)
				}
			}
		})
	}
}

// TestDoctorHostileServers checks that no server can hold the doctor past --timeout.
func TestDoctorHostileServers(t *testing.T) {
	const timeout = 2 * time.Second
	for _, b := range []lab.Behaviour{lab.ServeGarbage, lab.ServeEndless, lab.ServeDrip, lab.ServeSilent} {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			target, connect := serve(t, lab.Scenario{Name: string(b), Server: lab.ServerSpec{Behaviour: b}, Peers: []lab.Peer{lab.PeerGo}})
			start := time.Now()
			code, out, errOut := doctor(t, slices.Concat(connect, []string{"--timeout", timeout.String(), "--format", "json", target})...)
			took := time.Since(start)
			// The slack is for loaded machines: a doctor that waited on these servers
			// would run until their 30 s connection limit.
			if took > timeout+3*time.Second {
				t.Errorf("the doctor took %s with --timeout %s", took, timeout)
			}
			if code != cli.ExitFindings {
				t.Fatalf("exit status %d; want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFindings, out, errOut)
			}
			checkJSONShape(t, out)
		})
	}
}

// TestDoctorAIA runs the doctor against a server that sends only its leaf, issued directly
// by a root the truststore lacks: the root fetched from the leaf's AIA URL makes it
// truststore.missing-anchor; with --no-aia the doctor can only infer, and infers
// chain.incomplete, saying it is an inference.
func TestDoctorAIA(t *testing.T) {
	s := scenario(t, "truststore.missing-anchor.leaf-only")
	target, connect := serve(t, s)
	trust := write(t, t.TempDir(), "other-root.pem", pkitest.PEM(s.Client.Roots...))
	tests := []struct {
		name    string
		flags   []string
		finding string
		fetches int
		detail  string
	}{
		{"with AIA", nil, "truststore.missing-anchor", 1, "self-signed root CA"},
		{"--no-aia", []string{"--no-aia"}, "chain.incomplete", 0, "This is an inference: it was not fetched from the leaf's AIA URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := slices.Concat([]string{"--format", "json", "--timeout", "5s", "--truststore", trust}, tt.flags, connect, []string{target})
			code, out, errOut := doctor(t, args...)
			if code != cli.ExitFindings {
				t.Fatalf("exit status %d; want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFindings, out, errOut)
			}
			r := checkJSONShape(t, out)
			if len(r.Findings) != 1 || r.Findings[0]["id"] != tt.finding {
				t.Fatalf("findings %v; want only %s", r.Findings, tt.finding)
			}
			if d, _ := r.Findings[0]["detail"].(string); !strings.Contains(d, tt.detail) {
				t.Errorf("detail %q; want it to contain %q", d, tt.detail)
			}
			aia, _ := r.Facts["aia"].([]any)
			if len(aia) != tt.fetches {
				t.Fatalf("facts.aia has %d fetches; want %d: %v", len(aia), tt.fetches, r.Facts["aia"])
			}
			if tt.fetches > 0 {
				f, _ := aia[0].(map[string]any)
				cert, _ := f["certificate"].(map[string]any)
				if f["url"] == "" || f["error"] != nil || cert["subject"] != "CN=Lab Private Root CA" {
					t.Errorf("facts.aia[0] = %v; want the private root fetched without error", f)
				}
			}
		})
	}
}
