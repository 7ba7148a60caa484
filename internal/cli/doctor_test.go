package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, host, addr string
		bad            bool
	}{
		{in: "backend.test:8443", host: "backend.test", addr: "backend.test:8443"},
		{in: "backend.test", host: "backend.test", addr: "backend.test:443"},
		{in: "https://backend.test/path?q=1", host: "backend.test", addr: "backend.test:443"},
		{in: "https://backend.test:9443", host: "backend.test", addr: "backend.test:9443"},
		{in: "[::1]:8443", host: "::1", addr: "[::1]:8443"},
		{in: "https://[::1]:8443/", host: "::1", addr: "[::1]:8443"},
		{in: "http://backend.test", bad: true},
		{in: "backend.test:99999", bad: true},
		{in: "backend.test:https", bad: true},
		{in: ":443", bad: true},
		{in: "", bad: true},
		{in: "a:b:c", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			host, addr, err := parseTarget(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseTarget(%q) = %q, %q; want an error", tt.in, host, addr)
				}
				return
			}
			if err != nil || host != tt.host || addr != tt.addr {
				t.Fatalf("parseTarget(%q) = %q, %q, %v; want %q, %q", tt.in, host, addr, err, tt.host, tt.addr)
			}
		})
	}
}

func TestDoctorBadInput(t *testing.T) {
	dir := t.TempDir()
	notCert := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notCert, []byte("hello, not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := pkitest.NewRoot("Doctor Root")
	rootPEM, err := pkitest.WriteFile(dir, "root.pem", root.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	leaf := root.Issue(pkitest.Options{CommonName: "c"})
	other := root.Issue(pkitest.Options{CommonName: "d"})
	leafPEM, _ := pkitest.WriteFile(dir, "leaf.pem", leaf.CertPEM())
	otherKey, _ := pkitest.WriteFile(dir, "other.key", other.KeyPEM())
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"no target", []string{}, "exactly one TARGET"},
		{"two targets", []string{"a:1", "b:2"}, "exactly one TARGET"},
		{"bad target", []string{"a:b:c"}, "TARGET"},
		{"bad format", []string{"--format", "xml", "a:1"}, "--format"},
		{"missing truststore", []string{"--truststore", filepath.Join(dir, "nope.pem"), "a:1"}, "nope.pem"},
		{"not a certificate", []string{"--truststore", notCert, "a:1"}, "notes.txt"},
		{"cert without key", []string{"--truststore", rootPEM, "--client-cert", leafPEM, "a:1"}, "--client-key"},
		{"both credentials", []string{"--keystore", leafPEM, "--client-cert", leafPEM, "--client-key", otherKey, "a:1"}, "either --keystore"},
		{"bad protocol", []string{"--truststore", rootPEM, "--protocols", "TLSv9", "a:1"}, "--protocols"},
		{"bad cipher", []string{"--truststore", rootPEM, "--ciphers", "NOPE-CIPHER", "a:1"}, "NOPE-CIPHER"},
		{"bad connect", []string{"--connect", "nohostport", "a:1"}, "--connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), append([]string{"doctor"}, tt.args...), &out, &errb)
			if code != ExitUsage {
				t.Fatalf("exit %d; want %d (stderr %q)", code, ExitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tt.err) || !strings.HasPrefix(errb.String(), "error: ") {
				t.Errorf("stderr %q; want an error line containing %q", errb.String(), tt.err)
			}
		})
	}
}

// TestDoctorRefused runs the whole doctor against a closed loopback port: exit 1, JSON with
// network.unreachable.
func TestDoctorRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	root := pkitest.NewRoot("Doctor Root")
	rootPEM, err := pkitest.WriteFile(t.TempDir(), "root.pem", root.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"doctor", "--format", "json", "--truststore", rootPEM, "--timeout", "3s", addr}, &out, &errb)
	if code != ExitFindings {
		t.Fatalf("exit %d; want %d (stderr %q)", code, ExitFindings, errb.String())
	}
	var r struct {
		Target   string `json:"target"`
		Address  string `json:"address"`
		OK       bool   `json:"ok"`
		Findings []struct {
			ID       string   `json:"id"`
			Severity string   `json:"severity"`
			Title    string   `json:"title"`
			Detail   string   `json:"detail"`
			Fix      []string `json:"fix"`
		} `json:"findings"`
		Facts map[string]any `json:"facts"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if r.OK || len(r.Findings) == 0 || r.Findings[0].ID != "network.unreachable" || r.Findings[0].Severity != "error" {
		t.Fatalf("got ok=%v findings=%+v; want network.unreachable error", r.OK, r.Findings)
	}
	if r.Target != addr || r.Address != addr || r.Facts == nil {
		t.Errorf("target %q address %q facts %v; want %q and facts", r.Target, r.Address, r.Facts != nil, addr)
	}
}
