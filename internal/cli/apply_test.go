package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// writeConfig writes a declarative file naming certificate and key files beside it.
func writeConfig(t *testing.T, dir, truststore string) (path string, leaf *pkitest.Cert) {
	t.Helper()
	root := pkitest.NewRoot("Apply Root")
	leaf = root.Issue(pkitest.Options{CommonName: "api.apply.test", DNSNames: []string{"api.apply.test"}})
	for name, data := range map[string][]byte{
		"server.pem": pkitest.PEM(leaf.Cert, root.Cert),
		"server.key": leaf.KeyPEM(),
		"root.pem":   root.CertPEM(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	yaml := `organizations:
  - name: org
    environments:
      - name: test
        keystores:
          - name: serverks
            aliases:
              - name: server
                certFile: server.pem
                keyFile: server.key
          - name: backendts
            aliases:
              - name: root
                certFile: root.pem
        references:
          - name: ts-ref
            refers: ` + truststore + `
            resourceType: TrustStore
        targetServers:
          - name: backend
            host: 127.0.0.1
            port: 8443
            sslInfo:
              enabled: true
              trustStore: ref://ts-ref
              protocols: [TLSv1.2, TLSv1.3]
`
	path = filepath.Join(dir, "tlsgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, leaf
}

func TestApplyAndExportThroughServer(t *testing.T) {
	t.Setenv("TLSGATE_MASTER_KEY", "")
	const token = "apply-test-token-0123456789"
	t.Setenv("TLSGATE_ADMIN_TOKEN", token)
	t.Setenv("TLSGATE_TOKEN", token)
	dir := t.TempDir()
	s := startServe(t, filepath.Join(dir, "data"))
	admin := strings.TrimPrefix(s.url, "http://")
	file, leaf := writeConfig(t, dir, "backendts")

	code, out, errOut := runMain(t, "apply", "--admin", admin, "--dry-run", "-f", file)
	if code != ExitOK || !strings.Contains(out, "would apply") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if code, body := s.get(t, "/v1/organizations", token); code != 200 || strings.Contains(body, "org") {
		t.Errorf("after a dry run the organization exists: %d %s", code, body)
	}

	code, out, errOut = runMain(t, "apply", "--admin", admin, "-f", file)
	if code != ExitOK || !strings.Contains(out, "created") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	code, body := s.get(t, "/v1/organizations/org/environments/test/keystores/backendts/certs", token)
	if code != 200 || !strings.Contains(body, "root") {
		t.Errorf("truststore certs after apply: %d %s", code, body)
	}

	code, exported, errOut := runMain(t, "export", "--admin", admin)
	if code != ExitOK {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	if strings.Contains(exported, "PRIVATE KEY") || strings.Contains(exported, string(leaf.KeyPEM())) {
		t.Fatal("export wrote a private key")
	}
	for _, want := range []string{"serverks", "backendts", "ts-ref", "ref://ts-ref", "BEGIN CERTIFICATE"} {
		if !strings.Contains(exported, want) {
			t.Errorf("export lacks %q:\n%s", want, exported)
		}
	}

	// Applying the export changes nothing and keeps the stored key.
	again := filepath.Join(dir, "exported.yaml")
	if err := os.WriteFile(again, []byte(exported), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runMain(t, "apply", "--admin", admin, "-f", again)
	if code != ExitOK || !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Errorf("re-applying the export: exit %d\n%s%s", code, out, errOut)
	}
	if code, body := s.get(t, "/v1/organizations/org/environments/test/keystores/serverks", token); code != 200 || !strings.Contains(body, `"keys"`) || !strings.Contains(body, `"server"`) {
		t.Errorf("the key alias after re-applying the export: %d %s", code, body)
	}

	// A dangling reference is refused, naming it, and nothing changes.
	bad, _ := writeConfig(t, t.TempDir(), "nosuchstore")
	code, _, errOut = runMain(t, "apply", "--admin", admin, "-f", bad)
	if code != ExitFindings || !strings.Contains(errOut, "nosuchstore") {
		t.Errorf("dangling reference: exit %d, %q; want 1 naming nosuchstore", code, errOut)
	}
	if _, body := s.get(t, "/v1/organizations/org/environments/test/references/ts-ref", token); !strings.Contains(body, "backendts") {
		t.Errorf("a refused apply changed the reference: %s", body)
	}
}

func TestApplyOffline(t *testing.T) {
	t.Setenv("TLSGATE_MASTER_KEY", "")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	file, _ := writeConfig(t, dir, "backendts")
	code, out, errOut := runMain(t, "apply", "--data", data, "-f", file)
	if code != ExitOK || !strings.Contains(out, "applied") {
		t.Fatalf("apply --data: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runMain(t, "export", "--data", data)
	if code != ExitOK || !strings.Contains(out, "backendts") {
		t.Errorf("export --data: exit %d\n%s%s", code, out, errOut)
	}
}

func TestApplyBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "bad.yaml")
	os.WriteFile(garbage, []byte("organizations:\n  - name: org\n    environmets: []\n"), 0o600)
	good, _ := writeConfig(t, dir, "backendts")
	missing := filepath.Join(dir, "missing.yaml")
	os.WriteFile(missing, []byte("organizations:\n  - name: org\n    environments:\n      - name: test\n        keystores:\n          - name: ks\n            aliases:\n              - name: a\n                certFile: nowhere.pem\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no file", []string{"apply"}, []string{"-f FILE"}},
		{"unreadable", []string{"apply", "-f", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"unknown field with its line", []string{"apply", "-f", garbage}, []string{"bad.yaml", "3", "environmets"}},
		{"missing certificate file", []string{"apply", "-f", missing}, []string{"nowhere.pem"}},
		{"no token", []string{"apply", "--token", "", "--admin", "127.0.0.1:1", "-f", good}, []string{"no API token", "TLSGATE_TOKEN"}},
		{"server not running", []string{"apply", "--token", "some-token-0123456789", "--admin", "127.0.0.1:1", "-f", good}, []string{"127.0.0.1:1", "refused"}},
	}
	t.Setenv("TLSGATE_TOKEN", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runMain(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d; want 2 (%s)", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}
