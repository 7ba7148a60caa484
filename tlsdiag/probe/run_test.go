package probe

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// attemptNames returns the names of facts' attempts, in order.
func attemptNames(f *tlsdiag.Facts) string {
	var names []string
	for _, a := range f.Attempts {
		names = append(names, a.Name)
	}
	return strings.Join(names, ",")
}

func findAttempt(t *testing.T, f *tlsdiag.Facts, name string) *tlsdiag.Attempt {
	t.Helper()
	for _, a := range f.Attempts {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no %q attempt among %s", name, attemptNames(f))
	return nil
}

// serverWant is what facts.Server must hold; nil when no crafted hello may have been sent.
type serverWant struct {
	versions string // comma-separated
	probed   string // comma-separated, "" to skip
	suites   map[string][]string
	sorted   bool // compare suites as sets
	complete bool
}

func checkServer(t *testing.T, got *tlsdiag.ServerFacts, want *serverWant) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("Server = %+v; want nil", got)
		}
		return
	}
	if got == nil {
		t.Fatalf("Server = nil; want versions %s", want.versions)
	}
	if v := strings.Join(got.Versions, ","); v != want.versions {
		t.Errorf("Server.Versions = %s; want %s", v, want.versions)
	}
	if p := strings.Join(got.VersionsProbed, ","); want.probed != "" && p != want.probed {
		t.Errorf("Server.VersionsProbed = %s; want %s", p, want.probed)
	}
	if len(got.Suites) != len(want.suites) {
		t.Errorf("Server.Suites = %q; want %q", got.Suites, want.suites)
	}
	for v, w := range want.suites {
		g := slices.Clone(got.Suites[v])
		if want.sorted {
			slices.Sort(g)
			w = slices.Sorted(slices.Values(w))
		}
		if !slices.Equal(g, w) {
			t.Errorf("Server.Suites[%s] = %q; want %q", v, g, w)
		}
	}
	if got.SuitesComplete != want.complete {
		t.Errorf("Server.SuitesComplete = %v; want %v", got.SuitesComplete, want.complete)
	}
	if len(got.Errors) > 0 {
		t.Errorf("Server.Errors = %q; want none", got.Errors)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	p := pkiOnce()
	leaf := serverCert(p.leaf)
	clientCert := p.clientLeaf.TLS()
	all := "SSLv3,TLSv1.0,TLSv1.1,TLSv1.2,TLSv1.3"
	noSNI := func(e *tlsdiag.Expectations) { e.NoSNI = true }

	tests := []struct {
		name     string
		server   func(t *testing.T) string
		expect   func(e *tlsdiag.Expectations)
		scan     bool
		attempts string
		want     *serverWant
		// anyServer skips the check of facts.Server: experiments racing the one that
		// proves the cause may or may not have concluded.
		anyServer bool
		check     func(t *testing.T, f *tlsdiag.Facts)
	}{
		{
			name:     "healthy",
			server:   tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}}),
			attempts: "configured",
		},
		{
			name:     "TLS 1.0-only server, TLS 1.2+ client",
			server:   tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}),
			attempts: "configured",
			want:     &serverWant{versions: "TLSv1.0", probed: all},
		},
		{
			name: "cipher mismatch",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}),
			expect: func(e *tlsdiag.Expectations) {
				e.Protocols = []uint16{tls.VersionTLS12}
				e.Ciphers = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
			},
			attempts: "configured",
			want: &serverWant{versions: "TLSv1.2", probed: all, complete: true,
				suites: map[string][]string{"TLSv1.2": {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"}}},
		},
		{
			name:      "server requiring SNI, client sending none",
			server:    sniRequiredServer(leaf),
			expect:    noSNI,
			attempts:  "configured,with-sni",
			anyServer: true,
			check: func(t *testing.T, f *tlsdiag.Facts) {
				if a := findAttempt(t, f, tlsdiag.AttemptWithSNI); !a.Completed || a.ServerName != "backend.test" {
					t.Errorf("with-sni: Completed = %v, ServerName = %q; want a completed handshake with SNI", a.Completed, a.ServerName)
				}
			},
		},
		{
			name:     "default certificate without SNI",
			server:   defaultCertServer(leaf, serverCert(p.defaultLeaf)),
			expect:   noSNI,
			attempts: "configured,with-sni",
			check: func(t *testing.T, f *tlsdiag.Facts) {
				a := findAttempt(t, f, tlsdiag.AttemptWithSNI)
				if !a.Completed || len(a.Chain) == 0 || a.Chain[0].Subject.CommonName != "backend.test" {
					t.Errorf("with-sni: Completed = %v; want backend.test's certificate and success", a.Completed)
				}
			},
		},
		{
			name:     "certificate for another name, with SNI",
			server:   tlsServer(&tls.Config{Certificates: []tls.Certificate{serverCert(p.defaultLeaf)}}),
			attempts: "configured,without-sni",
			check: func(t *testing.T, f *tlsdiag.Facts) {
				a := findAttempt(t, f, tlsdiag.AttemptWithoutSNI)
				if a.ServerName != "" || !strings.Contains(a.VerifyError, "backend.test") {
					t.Errorf("without-sni: ServerName = %q, VerifyError = %q; want no SNI and a name mismatch", a.ServerName, a.VerifyError)
				}
			},
		},
		{
			name:     "intermediate omitted",
			server:   tlsServer(&tls.Config{Certificates: []tls.Certificate{p.leaf.TLS()}}),
			attempts: "configured",
		},
		{
			name: "client certificate rejected",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, ClientAuth: tls.RequireAndVerifyClientCert,
				ClientCAs: pool()}),
			expect:   func(e *tlsdiag.Expectations) { e.ClientCert = &clientCert },
			attempts: "configured,without-client-cert",
			check: func(t *testing.T, f *tlsdiag.Facts) {
				a := findAttempt(t, f, tlsdiag.AttemptWithoutClientCert)
				if a.ClientCertSent != 0 || alertString(a.AlertReceived) != "certificate_required@post-handshake" {
					t.Errorf("without-client-cert: ClientCertSent = %d, alert %q; want 0 and certificate_required",
						a.ClientCertSent, alertString(a.AlertReceived))
				}
			},
		},
		{
			name: "client certificate required, none configured",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, ClientAuth: tls.RequireAndVerifyClientCert,
				ClientCAs: pool(p.clientRoot)}),
			attempts: "configured",
		},
		{
			name:     "closed port",
			server:   closedPort,
			attempts: "configured",
		},
		{
			name:     "plain HTTP",
			server:   httpServer,
			attempts: "configured",
		},
		{
			// The crafted TLS 1.3 hellos carry an X25519 key share: this server answers with a
			// HelloRetryRequest, which names the suite it chose.
			name: "scan of a TLS 1.3 server asking for P-256",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS13,
				CurvePreferences: []tls.CurveID{tls.CurveP256}}),
			scan:     true,
			attempts: "configured",
			want: &serverWant{versions: "TLSv1.3", probed: all, complete: true, sorted: true,
				suites: map[string][]string{
					"TLSv1.3": {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"},
				}},
		},
		{
			name:     "scan of a crypto/tls server",
			server:   tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}}),
			scan:     true,
			attempts: "configured",
			want: &serverWant{versions: "TLSv1.2,TLSv1.3", probed: all, complete: true, sorted: true,
				suites: map[string][]string{
					"TLSv1.3": {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"},
					"TLSv1.2": {
						"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
						"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
						"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
					},
				}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := expect(p)
			if tt.expect != nil {
				tt.expect(e)
			}
			cfg := Config{Target: "backend.test:443", Address: tt.server(t), Expect: e, Timeout: 5 * time.Second, Scan: tt.scan}
			f, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if f.Target != "backend.test:443" || f.Address != cfg.Address {
				t.Errorf("Target, Address = %q, %q; want %q, %q", f.Target, f.Address, "backend.test:443", cfg.Address)
			}
			if got := attemptNames(f); got != tt.attempts {
				t.Errorf("attempts = %s; want %s", got, tt.attempts)
			}
			if !tt.anyServer {
				checkServer(t, f.Server, tt.want)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestRunTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f, err := Run(context.Background(), Config{Address: closedPort(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !f.Time.Equal(now) {
		t.Errorf("Time = %v; want %v", f.Time, now)
	}
	if f.Target != f.Address {
		t.Errorf("Target = %q; want the address %q when none is given", f.Target, f.Address)
	}
}

func TestRunBoundedByTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 600 * time.Millisecond
	start := time.Now()
	f, err := Run(context.Background(), Config{Address: silentServer(t), Expect: expect(pkiOnce()), Timeout: timeout, Scan: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > timeout+slack {
		t.Errorf("Run took %v; want at most %v", d, timeout)
	}
	if a := f.Attempts[0]; !a.TimedOut {
		t.Errorf("TimedOut = false; want true")
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no address", Config{Target: "backend.test"}},
		{"no port", Config{Address: "backend.test"}},
		{"negative timeout", Config{Address: "127.0.0.1:1", Timeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := Run(context.Background(), tt.cfg); err == nil {
				t.Errorf("Run = %+v, nil; want an error", f)
			}
		})
	}
}
