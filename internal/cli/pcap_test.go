package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scenarios are the captures tlsdiag/capture's tests record from real peers.
const scenarios = "../../tlsdiag/capture/testdata/scenarios/"

func runPcapCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), append([]string{"pcap"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPcapVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"healthy", []string{"--truststore", scenarios + "healthy-tls12-openssl-curl.truststore.pem", scenarios + "healthy-tls12-openssl-curl.pcap"},
			ExitOK, []string{"TLSv1.2  completed", "ClientHello", "Certificate: 2 certificate(s)", "OK    handshake completed"}},
		{"client certificate missing", []string{"--truststore", scenarios + "clientcert-missing-tls12-openssl-curl.truststore.pem", scenarios + "clientcert-missing-tls12-openssl-curl.pcap"},
			ExitFindings, []string{"clientcert.missing", "Certificate Length: 0", "accepts CN=Lab Client CA A", "FAIL  clientcert.missing"}},
		{"tls 1.3 decrypted", []string{"--keylog", scenarios + "clientcert-missing-tls13-go-openssl-keylog.keylog", "--truststore",
			scenarios + "clientcert-missing-tls13-go-openssl-keylog.truststore.pem", scenarios + "clientcert-missing-tls13-go-openssl-keylog.pcap"},
			ExitFindings, []string{"CertificateRequest (decrypted)", "certificate_required", "FAIL  clientcert.missing"}},
		{"tls 1.3 without key log", []string{scenarios + "clientcert-missing-tls13-go-openssl.pcap"},
			ExitFindings, []string{"Give --keylog", "alert.unclassified"}},
		{"plain HTTP only", []string{scenarios + "plain-http-nginx-curl.pcap"},
			ExitOK, []string{"0 with TLS, other protocols: HTTP 1", "no TLS handshake in the capture"}},
		{"port filter keeps none", []string{"--port", "1", scenarios + "interleaved.pcap"},
			ExitOK, []string{"0 TCP connection(s)"}},
		{"host filter by SNI", []string{"--host", "nowhere.test", scenarios + "interleaved.pcap"},
			ExitOK, []string{"no TLS handshake in the capture"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPcapCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\nstderr: %s", code, tt.code, errOut)
			}
			for _, s := range tt.contains {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestPcapJSON(t *testing.T) {
	name := scenarios + "interleaved"
	code, out, errOut := runPcapCmd(t, "--format", "json", "--truststore", name+".truststore.pem", name+".pcap")
	if code != ExitFindings {
		t.Fatalf("exit %d; want %d; stderr: %s", code, ExitFindings, errOut)
	}
	var got struct {
		Connections []struct {
			Client, Server string
			Findings       []struct{ ID, Severity string }
			Transcript     []map[string]any
			Facts          map[string]any
		}
		Capture struct{ Connections, TLS int }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got.Connections) != 20 || got.Capture.TLS != 20 {
		t.Fatalf("%d connections (%d TLS); want 20", len(got.Connections), got.Capture.TLS)
	}
	for _, c := range got.Connections {
		if c.Client == "" || c.Server == "" || len(c.Transcript) == 0 || c.Facts == nil || c.Findings == nil {
			t.Errorf("incomplete connection: %+v", c)
		}
	}
	// The host filter by address keeps them all (every one is on 127.0.0.1).
	_, out2, _ := runPcapCmd(t, "--format", "json", "--host", "127.0.0.1", "--truststore", name+".truststore.pem", name+".pcap")
	if out2 != out {
		t.Error("--host 127.0.0.1 changed the report")
	}
}

func TestPcapBadInput(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("hello, not a capture\n"), 0o600)
	whole, err := os.ReadFile(scenarios + "interleaved.pcap")
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "cut.pcap")
	os.WriteFile(truncated, whole[:len(whole)*2/3], 0o600)
	// A record header of the tenth packet claims 4 GiB.
	corrupted := filepath.Join(dir, "corrupt.pcap")
	bad := bytes.Clone(whole)
	off := 24
	for range 9 {
		off += 16 + int(binary.LittleEndian.Uint32(bad[off+8:]))
	}
	binary.LittleEndian.PutUint32(bad[off+8:], 0xffffffff)
	os.WriteFile(corrupted, bad, 0o600)
	badKeys := filepath.Join(dir, "keys.log")
	os.WriteFile(badKeys, []byte("# comment\nCLIENT_RANDOM zz 00\n"+
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET "+strings.Repeat("ab", 32)+" "+strings.Repeat("cd", 32)+"\n"), 0o600)

	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		{name: "no file", code: ExitUsage, stderr: []string{"expected exactly one FILE"}},
		{name: "bad format", args: []string{"--format", "xml", truncated}, code: ExitUsage, stderr: []string{"--format"}},
		{name: "missing", args: []string{filepath.Join(dir, "none.pcap")}, code: ExitUsage, stderr: []string{"none.pcap", "check the path"}},
		{name: "not a capture", args: []string{notCapture}, code: ExitUsage, stderr: []string{"notes.txt", "not a pcap or pcapng file"}, noStdout: true},
		{name: "truncated", args: []string{truncated}, code: ExitUsage,
			stdout: []string{"client → server", "ClientHello"}, stderr: []string{"cut.pcap", "truncated"}},
		{name: "corrupted", args: []string{corrupted}, code: ExitUsage, stderr: []string{"corrupt.pcap", "corrupted"}},
		{name: "bad key log lines", args: []string{"--keylog", badKeys, scenarios + "healthy-tls12-openssl-curl.pcap"}, code: ExitOK,
			stderr: []string{"line 2"}},
		{name: "bad truststore", args: []string{"--truststore", notCapture, scenarios + "healthy-tls12-openssl-curl.pcap"}, code: ExitUsage,
			stderr: []string{"notes.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runPcapCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			if tt.noStdout && out != "" {
				t.Errorf("stdout: %s; want nothing", out)
			}
		})
	}
}
