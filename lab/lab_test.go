package lab

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

func TestScenariosCoverTheCatalog(t *testing.T) {
	names := map[string]bool{}
	causes := map[string]bool{}
	for _, c := range catalog.Outbound() {
		causes[c.ID] = true
	}
	covered := map[string]bool{}
	for _, s := range Scenarios() {
		if names[s.Name] {
			t.Errorf("scenario %s is listed twice", s.Name)
		}
		names[s.Name] = true
		if !s.PlayedBy(PeerGo) {
			t.Errorf("%s: the Go peer cannot play it; every scenario must run with Go alone", s.Name)
		}
		if s.Healthy() {
			if s.Severity != "" || len(s.Evidence) > 0 {
				t.Errorf("%s: a healthy scenario expects no severity and no evidence", s.Name)
			}
			continue
		}
		if !causes[s.Expect] {
			t.Errorf("%s: expects %q, which is not an outbound cause", s.Name, s.Expect)
		}
		covered[s.Expect] = true
	}
	for id := range causes {
		if !covered[id] {
			t.Errorf("no scenario reproduces %s", id)
		}
	}
	for _, h := range []string{"healthy.one-way", "healthy.two-way", "healthy.tls1.2-only", "healthy.tls1.3-only"} {
		if !names[h] {
			t.Errorf("no scenario %s", h)
		}
	}
}

// keyEvidence, by scenario name, checks, independently of Scenario.Evidence, that a finding carries the
// evidence that proves it, derived from the certificates the lab minted.
var keyEvidence = map[string]func(t *testing.T, f tlsdiag.Finding){
	catalog.ChainIncomplete: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "missingIssuer", labPKI().inter.Cert.Subject.String())
		// The leaf names no AIA URL: the intermediate is inferred, and the finding says so.
		wantEvidence(t, f, "inferred", true)
		if !strings.Contains(f.Detail, "inference") {
			t.Errorf("detail %q; want it to say the missing issuer is inferred", f.Detail)
		}
	},
	catalog.ChainIncomplete + ".aia": func(t *testing.T, f tlsdiag.Finding) {
		p := labPKI()
		wantEvidence(t, f, "missingIssuer", p.inter.Cert.Subject.String())
		wantEvidence(t, f, "aiaFetched", p.interURL)
		wantEvidence(t, f, "intermediate", map[string]any{"sha256": pki.Fingerprint(p.inter.Cert)})
		if _, ok := f.Evidence["inferred"]; ok {
			t.Errorf("evidence inferred = %v; want none: the fetched intermediate proves it", f.Evidence["inferred"])
		}
		for _, want := range []string{"found at " + p.interURL, "With it, the path builds up to \"" + p.root.Cert.Subject.String() + "\""} {
			if !strings.Contains(f.Detail, want) {
				t.Errorf("detail %q; want it to contain %q", f.Detail, want)
			}
		}
	},
	catalog.TruststoreMissingRoot + ".leaf-only": func(t *testing.T, f tlsdiag.Finding) {
		p := labPKI()
		wantEvidence(t, f, "root", map[string]any{"subject": p.privateRoot.Cert.Subject.String(), "sha256": pki.Fingerprint(p.privateRoot.Cert)})
		wantEvidence(t, f, "aiaFetched", p.privateURL)
		wantEvidence(t, f, "truststore", []string{p.otherRoot.Cert.Subject.String()})
		if !strings.Contains(f.Detail, pki.Fingerprint(p.privateRoot.Cert)) {
			t.Errorf("detail %q; want the root's fingerprint", f.Detail)
		}
	},
	catalog.ProtocolMismatch: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "serverVersions", []string{"TLSv1.0"})
	},
	catalog.CipherMismatch: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "serverSuites", map[string][]string{"TLSv1.2": {"TLS_RSA_WITH_AES_128_CBC_SHA"}})
	},
	catalog.ClientCertIssuer: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "acceptableCAs", []string{labPKI().clientA.Cert.Subject.String()})
		wantEvidence(t, f, "clientCertIssuer", labPKI().clientB.Cert.Subject.String())
	},
	catalog.ClientCertMissing: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "acceptableCAs", []string{labPKI().clientA.Cert.Subject.String()})
	},
	catalog.ClientCertRejected: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "clientCertIssuer", labPKI().clientB.Cert.Subject.String())
	},
	catalog.ClientCertRejected + ".same-name-ca": func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "clientCertIssuer", labPKI().clientA.Cert.Subject.String())
		wantEvidence(t, f, "clientCert", labPKI().clientForged.Cert.Subject.String())
	},
	catalog.HostnameMismatch: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "host", DefaultServerName)
	},
	catalog.TruststoreMissingRoot: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "truststore", []string{labPKI().otherRoot.Cert.Subject.String()})
	},
	catalog.ClientCertKeyMismatch: func(t *testing.T, f tlsdiag.Finding) {
		if p, _ := f.Evidence["problem"].(string); !strings.Contains(p, "does not match") {
			t.Errorf("evidence problem = %q; want the key mismatch", p)
		}
	},
	catalog.NetworkUnreachable: func(t *testing.T, f tlsdiag.Finding) {
		wantEvidence(t, f, "kind", "refused")
	},
}

func wantEvidence(t *testing.T, f tlsdiag.Finding, key string, want any) {
	t.Helper()
	if why := matchJSON(f.Evidence[key], want); why != "" {
		t.Errorf("%s evidence %s: %s", f.ID, key, why)
	}
}

// TestRun plays every scenario with every peer that can and checks the doctor's verdict.
// A missing openssl or nginx fails the test: .ci/run installs them.
func TestRun(t *testing.T) {
	for _, s := range Scenarios() {
		for _, p := range s.Peers {
			t.Run(s.Name+"/"+string(p), func(t *testing.T) {
				t.Parallel()
				res, err := Run(t.Context(), s, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, why := range res.Problems {
					t.Errorf("%s", why)
				}
				if !res.AsExpected {
					t.Fatalf("found %v; want %s", res.Found(), s.ExpectText())
				}
				if s.Healthy() {
					if !res.Report.OK || tlsdiag.HasError(res.Report.Findings) {
						t.Errorf("healthy scenario: report OK=%v, findings %v", res.Report.OK, res.Found())
					}
					return
				}
				i := slices.IndexFunc(res.Report.Findings, func(f tlsdiag.Finding) bool { return f.ID == s.Expect })
				f := res.Report.Findings[i]
				if f.Severity != s.Severity {
					t.Errorf("%s severity %s; want %s", f.ID, f.Severity, s.Severity)
				}
				if check := keyEvidence[s.Name]; check != nil {
					check(t, f)
				}
				if s.Severity == tlsdiag.SeverityError && res.Report.OK {
					t.Errorf("report OK with an error finding")
				}
			})
		}
	}
}

// TestServersSendChainAsSpecified connects with a plain crypto/tls client to every TLS
// scenario and checks that each peer sends exactly the chain the spec says, in its order.
func TestServersSendChainAsSpecified(t *testing.T) {
	for _, s := range Scenarios() {
		if s.Server.Behaviour != ServeTLS {
			continue
		}
		for _, p := range s.Peers {
			t.Run(s.Name+"/"+string(p), func(t *testing.T) {
				t.Parallel()
				r := start(t, s, p)
				want := s.Server.Cert.Chain
				conf := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, CipherSuites: s.Server.Ciphers}
				if !s.Client.NoSNI || s.Server.RequireSNI {
					conf.ServerName = r.ServerName
					for _, n := range s.Server.ByName {
						if n.Name == r.ServerName {
							want = n.Chain
						}
					}
				}
				var got []*x509.Certificate
				errSeen := errors.New("chain seen")
				conf.VerifyConnection = func(cs tls.ConnectionState) error {
					got = cs.PeerCertificates
					return errSeen
				}
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", r.Address, conf)
				if err == nil {
					c.Close()
				}
				if !errors.Is(err, errSeen) {
					t.Fatalf("handshake ended with %v before the server's certificate", err)
				}
				if !slices.EqualFunc(got, want, func(a, b *x509.Certificate) bool { return a.Equal(b) }) {
					t.Errorf("server sent %s; want %s", subjects(got), subjects(want))
				}
			})
		}
	}
}

func subjects(cs []*x509.Certificate) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Subject.String())
	}
	return "[" + strings.Join(out, " | ") + "]"
}

// TestHealthyWithOpenSSLClient checks the healthy servers with openssl s_client, a client
// the doctor does not share code with.
func TestHealthyWithOpenSSLClient(t *testing.T) {
	openssl, err := opensslTool.find()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Scenarios() {
		if !s.Healthy() {
			continue
		}
		for _, p := range s.Peers {
			t.Run(s.Name+"/"+string(p), func(t *testing.T) {
				t.Parallel()
				r := start(t, s, p)
				dir := t.TempDir()
				roots, err := writePEM(dir, "roots.pem", s.Client.Roots...)
				if err != nil {
					t.Fatal(err)
				}
				args := []string{"s_client", "-connect", r.Address, "-servername", r.ServerName,
					"-verify_hostname", r.ServerName, "-CAfile", roots, "-verify_return_error", "-brief"}
				if c := s.Client.Cert; c != nil {
					cert, _ := writePEM(dir, "client.pem", c.Chain...)
					key, _ := writeKey(dir, "client.key", c.Key)
					args = append(args, "-cert", cert, "-key", key)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, openssl, args...)
				cmd.Stdin = strings.NewReader("GET / HTTP/1.0\r\n\r\n")
				out, err := cmd.CombinedOutput()
				if err != nil || !bytes.Contains(out, []byte("Verification: OK")) {
					t.Fatalf("openssl s_client: %v\n%s", err, out)
				}
			})
		}
	}
}

func start(t *testing.T, s Scenario, p Peer) *Running {
	t.Helper()
	r, err := Start(t.Context(), s, p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestCloseCleansUp checks that Close stops every peer's server and removes its files.
func TestCloseCleansUp(t *testing.T) {
	s := Scenarios()[0]
	for _, p := range Peers() {
		t.Run(string(p), func(t *testing.T) {
			r, err := Start(t.Context(), s, p, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var proc *os.Process
			if ps, ok := r.srv.(*procServer); ok {
				proc = ps.p.cmd.Process
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := os.Stat(r.Dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s still exists after Close (%v)", r.Dir, err)
			}
			if c, err := net.DialTimeout("tcp", r.Address, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Close", r.Address)
			}
			if proc != nil {
				if err := proc.Signal(syscall.Signal(0)); err == nil {
					t.Errorf("process %d still runs after Close", proc.Pid)
				}
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	byName := map[string]Scenario{}
	for _, s := range Scenarios() {
		byName[s.Name] = s
	}
	t.Run("peer cannot play", func(t *testing.T) {
		_, err := Start(t.Context(), byName[catalog.NetworkTimeout], PeerOpenSSL, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "cannot be played by openssl") {
			t.Errorf("got %v; want an error saying openssl cannot play it", err)
		}
	})
	t.Run("spec a peer refuses", func(t *testing.T) {
		s := byName[catalog.ClientCertRejected]
		s.Peers = Peers()
		dir := t.TempDir()
		_, err := Start(t.Context(), s, PeerNginx, dir)
		if err == nil || !strings.Contains(err.Error(), "cannot list none") {
			t.Errorf("got %v; want nginx to refuse a CertificateRequest without CA names", err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("a failed Start left %d files in %s", len(left), dir)
		}
	})
	t.Run("missing program", func(t *testing.T) {
		saved := nginxTool
		t.Cleanup(func() { nginxTool = saved })
		nginxTool = tool{name: "nginx-not-installed-here", pkg: "nginx-light"}
		_, err := Start(t.Context(), Scenarios()[0], PeerNginx, t.TempDir())
		if !errors.Is(err, ErrMissingTool) || !strings.Contains(err.Error(), "nginx-light") {
			t.Errorf("got %v; want ErrMissingTool naming the package nginx-light", err)
		}
	})
}

// TestGoBehaviours checks the special behaviours of the Go peer with a raw connection.
func TestGoBehaviours(t *testing.T) {
	hello := []byte{22, 3, 1, 0, 4, 1, 0, 0, 0} // enough to look like a ClientHello
	tests := []struct {
		b    Behaviour
		want func([]byte) bool
	}{
		{ServePlainHTTP, func(b []byte) bool { return bytes.HasPrefix(b, []byte("HTTP/1.1 400")) }},
		{ServeSilent, func(b []byte) bool { return len(b) == 0 }},
		{ServeGarbage, func(b []byte) bool { return len(b) > 0 && b[0] == 0 }},
		{ServeEndless, func(b []byte) bool { return len(b) > 16384 && b[0] == 22 }},
		{ServeDrip, func(b []byte) bool { return len(b) >= 1 && len(b) <= 3 && b[0] == 22 }},
	}
	for _, tt := range tests {
		t.Run(string(tt.b), func(t *testing.T) {
			t.Parallel()
			r := start(t, Scenario{Name: string(tt.b), Server: ServerSpec{Behaviour: tt.b}, Peers: []Peer{PeerGo}}, PeerGo)
			c, err := net.Dial("tcp", r.Address)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(hello)
			c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
			var got []byte
			buf := make([]byte, 4096)
			for len(got) < 20000 {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			if !tt.want(got) {
				t.Errorf("read %d bytes %q...", len(got), got[:min(len(got), 20)])
			}
		})
	}
}

// TestAIAServer checks that the lab's AIA server serves the DER of the certificates the
// AIA scenarios' leaves name, and nothing else.
func TestAIAServer(t *testing.T) {
	p := labPKI()
	tests := []struct {
		url    string
		status int
		want   []byte
	}{
		{p.interURL, http.StatusOK, p.inter.Cert.Raw},
		{p.privateURL, http.StatusOK, p.privateRoot.Cert.Raw},
		{p.aia.base + "/nothing-here.cer", http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tt.status)
			}
			if tt.want != nil && !bytes.Equal(body, tt.want) {
				t.Errorf("got %d bytes; want the certificate's %d bytes of DER", len(body), len(tt.want))
			}
		})
	}
	if !strings.HasPrefix(p.aia.base, "http://127.0.0.1:") {
		t.Errorf("AIA server at %s; want loopback", p.aia.base)
	}
	if !usesAIA(ServerSpec{Cert: cred(p.aiaLeaf)}, p.aia.base) || usesAIA(ServerSpec{Cert: cred(p.leaf)}, p.aia.base) {
		t.Errorf("usesAIA does not tell the AIA leaf from the plain one")
	}
}
