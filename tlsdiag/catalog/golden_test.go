package catalog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenReports renders reports whose facts hold no certificates (so their bytes are
// stable) and compares them with testdata/*.golden. Regenerate with go test -update.
func TestGoldenReports(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		facts *tlsdiag.Facts
	}{
		{"protocol-mismatch", &tlsdiag.Facts{Target: "backend.test:8443", Address: "127.0.0.1:8443", Time: at,
			Attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, ServerName: "backend.test", Step: tlsdiag.StepClientHello,
				ClientCertSent: -1, AlertReceived: &tlsdiag.Alert{Code: 70, Name: "protocol_version", Step: tlsdiag.StepClientHello},
				OfferedVersions: []string{"TLSv1.2", "TLSv1.3"}}},
			Server: &tlsdiag.ServerFacts{Versions: []string{"TLSv1.0"}, VersionsProbed: []string{"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}}}},
		{"cipher-mismatch", &tlsdiag.Facts{Target: "backend.test:8443", Address: "127.0.0.1:8443", Time: at,
			Attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, ServerName: "backend.test", Step: tlsdiag.StepClientHello,
				ClientCertSent: -1, AlertReceived: &tlsdiag.Alert{Code: 40, Name: "handshake_failure"},
				OfferedVersions: []string{"TLSv1.2"}, OfferedSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}}},
			Server: &tlsdiag.ServerFacts{Versions: []string{"TLSv1.2"}, VersionsProbed: []string{"TLSv1.2"},
				Suites: map[string][]string{"TLSv1.2": {"TLS_RSA_WITH_AES_128_CBC_SHA"}}}}},
		{"refused", &tlsdiag.Facts{Target: "backend.test:8443", Address: "127.0.0.1:8443", Time: at,
			Attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, Step: tlsdiag.StepConnect, ClientCertSent: -1,
				DialError: "dial tcp 127.0.0.1:8443: connect: connection refused", DialErrorKind: "refused"}}}},
	}
	x := &tlsdiag.Expectations{ServerName: "backend.test", RootsFrom: []string{"root.pem"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Engine().Report(tt.facts, x)
			var text, js bytes.Buffer
			if err := tlsdiag.WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			if err := tlsdiag.WriteJSON(&js, r); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name+".txt.golden", text.Bytes())
			golden(t, tt.name+".json.golden", js.Bytes())
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s\nwant:\n%s", name, got, want)
	}
}
