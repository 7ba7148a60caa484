package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// certFiles is a small PKI written to a temporary directory.
type certFiles struct {
	dir                             string
	root, inter, leaf, expired      *pkitest.Cert
	rootPEM, interPEM, leafPEM      string // leafPEM holds the leaf alone
	chainPEM, keyPEM, expiredPEM    string // chainPEM: leaf then intermediate
	garbage, empty, p12, truststore string
	otherPEM                        string // an unrelated root
}

func newCertFiles(t *testing.T) *certFiles {
	t.Helper()
	f := &certFiles{dir: t.TempDir()}
	f.root = pkitest.NewRoot("CLI Root CA")
	f.inter = f.root.Issue(pkitest.Options{CommonName: "CLI Intermediate CA", IsCA: true})
	f.leaf = f.inter.Issue(pkitest.Options{CommonName: "api.example.com", DNSNames: []string{"api.example.com", "*.api.example.com"}})
	f.expired = f.inter.Issue(pkitest.Options{CommonName: "old.example.com", DNSNames: []string{"old.example.com"},
		NotBefore: pkitest.Epoch.Add(-90 * 24 * time.Hour), NotAfter: pkitest.Epoch.Add(-3 * 24 * time.Hour)})
	w := func(name string, data []byte) string {
		p, err := pkitest.WriteFile(f.dir, name, data)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.rootPEM = w("root.pem", f.root.CertPEM())
	f.interPEM = w("inter.pem", f.inter.CertPEM())
	f.leafPEM = w("leaf.pem", f.leaf.CertPEM())
	f.chainPEM = w("chain.pem", pkitest.PEM(f.leaf.Cert, f.inter.Cert))
	f.keyPEM = w("leaf.key", f.leaf.KeyPEM())
	f.expiredPEM = w("expired.pem", pkitest.PEM(f.expired.Cert, f.inter.Cert))
	f.otherPEM = w("other.pem", pkitest.NewRoot("Unrelated Root CA").CertPEM())
	f.garbage = w("garbage.txt", []byte("not a certificate at all"))
	f.empty = w("empty.pem", nil)
	f.p12 = filepath.Join(f.dir, "server.p12")
	certTool(t, "openssl", "pkcs12", "-export", "-in", f.chainPEM, "-inkey", f.keyPEM, "-name", "server",
		"-passout", "pass:changeit", "-out", f.p12)
	f.truststore = filepath.Join(f.dir, "trust.jks")
	certTool(t, "keytool", "-importcert", "-storetype", "JKS", "-keystore", f.truststore, "-storepass", "changeit",
		"-alias", "cliroot", "-file", f.rootPEM, "-noprompt")
	return f
}

func certTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		pkg := map[string]string{"keytool": "default-jdk-headless", "openssl": "openssl"}[name]
		t.Fatalf("%s not found: install the Debian package %s", name, pkg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func runCertCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"cert"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCertCommand(t *testing.T) {
	f := newCertFiles(t)
	later := pkitest.Epoch.Add(400 * 24 * time.Hour).Format(time.RFC3339)
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     []string // substrings of stdout
		stderr     []string // substrings of stderr
		notStdout  []string
		jsonStdout bool
	}{
		{name: "help", args: []string{"--help"}, code: ExitOK, stdout: []string{"inspect", "verify", "Examples:"}},
		{name: "no command", args: nil, code: ExitUsage, stderr: []string{"Usage: tlsgate cert"}},
		{name: "unknown command", args: []string{"frob"}, code: ExitUsage, stderr: []string{`error: cert: unknown command "frob"`, "hint:"}},
		{name: "inspect help", args: []string{"inspect", "--help"}, code: ExitOK,
			stdout: []string{"Usage: tlsgate cert inspect", "Example:", "-password", "-format"}},
		{name: "verify help", args: []string{"verify", "--help"}, code: ExitOK,
			stdout: []string{"Usage: tlsgate cert verify", "Example:", "-truststore", "-intermediates", "-host", "-at"}},

		{name: "inspect pem", args: []string{"inspect", f.chainPEM}, code: ExitOK,
			stdout: []string{"PEM, 2 certificates", "Subject:     CN=api.example.com", "Issuer:      CN=CLI Intermediate CA",
				"DNS:api.example.com", "ECDSA P-256", "SHA256withECDSA", "SHA-256:", "more days", "CA:          yes"}},
		{name: "inspect expired", args: []string{"inspect", f.expiredPEM}, code: ExitOK, stdout: []string{"expired 3 days ago"}},
		{name: "inspect at", args: []string{"inspect", "--at", later, f.leafPEM}, code: ExitOK, stdout: []string{"expired 35 days ago"}},
		{name: "inspect pkcs12", args: []string{"inspect", "--password", "changeit", f.p12}, code: ExitOK,
			stdout: []string{"PKCS12, 2 certificates, with a private key", `alias "server": private key with a chain of 2 certificates`}},
		{name: "inspect jks", args: []string{"inspect", "--password", "changeit", f.truststore}, code: ExitOK,
			stdout: []string{"JKS, 1 certificate", `alias "cliroot": trusted certificate`, "CN=CLI Root CA"}},
		{name: "inspect key file", args: []string{"inspect", f.keyPEM}, code: ExitOK, stdout: []string{"PEM, 0 certificates, with a private key"}},
		{name: "inspect json", args: []string{"inspect", "--format", "json", f.chainPEM}, code: ExitOK, jsonStdout: true,
			stdout: []string{`"certInfo"`, `"sigAlgName": "SHA256withECDSA"`, `"subject": "CN=api.example.com"`, `"summary"`, `"sha256"`}},
		{name: "inspect wrong password", args: []string{"inspect", "--password", "Wr0ngPass", f.p12}, code: ExitUsage,
			stderr: []string{"error: reading " + f.p12 + " (pkcs12): wrong password", "hint: check --password"}},
		{name: "inspect missing", args: []string{"inspect", filepath.Join(f.dir, "nope.pem")}, code: ExitUsage,
			stderr: []string{"no such file", "hint: check the path"}},
		{name: "inspect garbage", args: []string{"inspect", f.garbage}, code: ExitUsage,
			stderr: []string{"not a certificate or keystore", "hint:"}},
		{name: "inspect empty", args: []string{"inspect", f.empty}, code: ExitUsage, stderr: []string{"file is empty"}},
		{name: "inspect no file", args: []string{"inspect"}, code: ExitUsage, stderr: []string{"expected at least one FILE"}},
		{name: "inspect bad format", args: []string{"inspect", "--format", "xml", f.leafPEM}, code: ExitUsage, stderr: []string{"want text or json"}},

		{name: "verify ok", args: []string{"verify", "--truststore", f.rootPEM, f.chainPEM}, code: ExitOK,
			stdout: []string{"OK: path CN=api.example.com → CN=CLI Intermediate CA → CN=CLI Root CA (anchor in truststore " + f.rootPEM + ")"}},
		{name: "verify jks truststore", args: []string{"verify", "--truststore", f.truststore, "--truststore-password", "changeit", f.chainPEM},
			code: ExitOK, stdout: []string{"OK: path", "anchor in truststore " + f.truststore}},
		{name: "verify missing intermediate", args: []string{"verify", "--truststore", f.rootPEM, f.leafPEM}, code: ExitFindings,
			stdout: []string{"FAIL", "problem (missing-issuer)", `"CN=CLI Intermediate CA"`, "hint:"}},
		{name: "verify with intermediates", args: []string{"verify", "--truststore", f.rootPEM, "--intermediates", f.interPEM, f.leafPEM},
			code: ExitOK, stdout: []string{"OK: path", "warning (missing-issuer)", "--intermediates"}},
		{name: "verify untrusted root", args: []string{"verify", "--truststore", f.interPEM + "x", f.chainPEM}, code: ExitUsage,
			stderr: []string{"hint: check the path"}},
		{name: "verify root absent", args: []string{"verify", "--truststore", f.otherPEM, f.chainPEM}, code: ExitFindings,
			stdout: []string{"FAIL", "problem (missing-issuer)", `"CN=CLI Root CA"`}},
		{name: "verify expired", args: []string{"verify", "--truststore", f.rootPEM, f.expiredPEM}, code: ExitFindings,
			stdout: []string{"FAIL", "problem (expired)", "renew"}},
		{name: "verify at a later time", args: []string{"verify", "--truststore", f.rootPEM, "--at", later, f.chainPEM}, code: ExitFindings,
			stdout: []string{"problem (expired)"}},
		{name: "verify host ok", args: []string{"verify", "--truststore", f.rootPEM, "--host", "x.api.example.com", f.chainPEM}, code: ExitOK,
			stdout: []string{"OK: path", "host x.api.example.com: matches"}},
		{name: "verify host mismatch", args: []string{"verify", "--truststore", f.rootPEM, "--host", "a.b.api.example.com", f.chainPEM}, code: ExitFindings,
			stdout: []string{"FAIL: the chain verifies", "wildcard covers one label only", "CN ignored", "hint:"}},
		{name: "verify client purpose", args: []string{"verify", "--truststore", f.rootPEM, "--purpose", "client", f.chainPEM}, code: ExitOK},
		{name: "verify json", args: []string{"verify", "--format", "json", "--truststore", f.rootPEM, f.leafPEM}, code: ExitFindings, jsonStdout: true,
			stdout: []string{`"ok": false`, `"kind": "missing-issuer"`, `"missingIssuer": "CN=CLI Intermediate CA"`, `"hint"`}},
		{name: "verify no truststore", args: []string{"verify", f.chainPEM}, code: ExitUsage, stderr: []string{"no truststore", "hint:"}},
		{name: "verify no leaf", args: []string{"verify", "--truststore", f.rootPEM}, code: ExitUsage, stderr: []string{"expected exactly one LEAF"}},
		{name: "verify bad time", args: []string{"verify", "--truststore", f.rootPEM, "--at", "yesterday", f.chainPEM}, code: ExitUsage,
			stderr: []string{"--at", "hint: write the time as RFC 3339"}},
		{name: "verify bad purpose", args: []string{"verify", "--truststore", f.rootPEM, "--purpose", "mail", f.chainPEM}, code: ExitUsage},
		{name: "verify truststore wrong password", args: []string{"verify", "--truststore", f.truststore, "--truststore-password", "Wr0ngPass", f.chainPEM},
			code: ExitUsage, stderr: []string{"error: reading " + f.truststore + " (jks): wrong password", "hint: check --truststore-password"}},
		{name: "verify leaf not a certificate", args: []string{"verify", "--truststore", f.rootPEM, f.keyPEM}, code: ExitUsage,
			stderr: []string{"no certificate", "hint:"}},
		{name: "verify garbage truststore", args: []string{"verify", "--truststore", f.garbage, f.chainPEM}, code: ExitUsage,
			stderr: []string{"error: reading " + f.garbage, "hint:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCertCmd(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tt.jsonStdout && !json.Valid([]byte(stdout)) {
				t.Errorf("stdout is not JSON:\n%s", stdout)
			}
			if strings.Contains(stdout+stderr, "Wr0ngPass") || !strings.Contains(tt.name, "help") && tt.args != nil && strings.Contains(stdout+stderr, "changeit") {
				t.Errorf("output shows a password")
			}
		})
	}
}
