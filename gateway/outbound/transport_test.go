package outbound_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

func TestIgnoreValidationErrors(t *testing.T) {
	for _, name := range []string{catalog.CertExpired, catalog.TruststoreMissingRoot, catalog.HostnameMismatch, catalog.TruststoreEmpty} {
		t.Run(name, func(t *testing.T) {
			r := startLab(t, name, lab.PeerGo)
			cfg := labConfig(r)
			cfg.IgnoreValidationErrors = true
			if status, _, err := get(t, newTransport(t, cfg, outbound.Options{})); err != nil || status != http.StatusOK {
				t.Fatalf("IgnoreValidationErrors: got %d, %v; want 200", status, err)
			}
			cfg.Enforce = true
			_, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
			wantCause(t, err, outbound.HandshakeFailed, name)
		})
	}
}

// TestIgnoreValidationErrorsOtherCause: with IgnoreValidationErrors, a handshake that fails
// for another reason is not blamed on the chain the gateway accepts.
func TestIgnoreValidationErrorsOtherCause(t *testing.T) {
	p := pkiOnce()
	conf := tlsConf(p.expired)
	conf.MinVersion = tls.VersionTLS12
	conf.MaxVersion = tls.VersionTLS12 // the refusal comes inside the handshake
	conf.ClientAuth = tls.RequireAndVerifyClientCert
	conf.ClientCAs = x509.NewCertPool()
	conf.ClientCAs.AddCert(p.root.Cert)
	s := serveHTTP(t, conf, nil)

	cfg := baseConfig(s.addr)
	cfg.IgnoreValidationErrors = true
	_, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
	e := wantCause(t, err, outbound.HandshakeFailed, catalog.ClientCertMissing)
	var expired *tlsdiag.Finding
	for i, f := range e.Report.Findings {
		if f.ID == catalog.CertExpired {
			expired = &e.Report.Findings[i]
		}
	}
	if expired == nil || expired.Severity != tlsdiag.SeverityWarning || !strings.Contains(expired.Detail, "IgnoreValidationErrors") {
		t.Errorf("cert.expired finding %+v; want a warning saying IgnoreValidationErrors accepts it", expired)
	}

	cfg.ClientCert = new(p.client.TLS())
	if status, _, err := get(t, newTransport(t, cfg, outbound.Options{})); err != nil || status != http.StatusOK {
		t.Fatalf("with a client certificate: got %d, %v; want 200", status, err)
	}
}

func TestSNI(t *testing.T) {
	r := startLab(t, catalog.SNIRequired, lab.PeerGo)
	cfg := labConfig(r)
	if cfg.SNI {
		t.Fatal("the lab's client sends no SNI in this scenario")
	}
	_, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
	e := wantCause(t, err, outbound.HandshakeFailed, catalog.SNIRequired)
	if !e.FollowUp {
		t.Errorf("sni.required proven without the doctor's experiment: %+v", e.Report.Findings)
	}
	cfg.SNI = true
	if status, _, err := get(t, newTransport(t, cfg, outbound.Options{})); err != nil || status != http.StatusOK {
		t.Fatalf("with SNI: got %d, %v; want 200", status, err)
	}
}

func TestCommonName(t *testing.T) {
	p := pkiOnce()
	for _, tc := range []struct {
		name       string
		cert       tls.Certificate
		host       string
		commonName string
		wildcard   bool
		wantOK     bool
	}{
		{"host verified", p.wildcard.TLS(), "127.0.0.1", "", false, false},
		{"exact", p.wildcard.TLS(), "127.0.0.1", "api.myhost.test", false, true},
		{"exact is case-insensitive", p.wildcard.TLS(), "127.0.0.1", "API.MyHost.test", false, true},
		{"pattern without wildcardMatch", p.wildcard.TLS(), "127.0.0.1", "*.myhost.test", false, false},
		{"wildcardMatch", p.wildcard.TLS(), "127.0.0.1", "*.myhost.test", true, true},
		{"wildcardMatch covers one label", p.wildcard.TLS(), "127.0.0.1", "*.test", true, false},
		{"wildcardMatch other domain", p.wildcard.TLS(), "127.0.0.1", "*.other.test", true, false},
		{"common name only", p.cnOnly.TLS(), "backend.test", "legacy.test", false, true},
		{"common name instead of host", p.wildcard.TLS(), "backend.test", "api.myhost.test", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := serveHTTP(t, &tls.Config{Certificates: []tls.Certificate{tc.cert}}, nil)
			cfg := baseConfig(s.addr)
			cfg.Host, cfg.CommonName, cfg.WildcardMatch = tc.host, tc.commonName, tc.wildcard
			status, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
			if tc.wantOK {
				if err != nil || status != http.StatusOK {
					t.Fatalf("got %d, %v; want 200", status, err)
				}
				return
			}
			e := wantCause(t, err, outbound.HandshakeFailed, catalog.HostnameMismatch)
			if tc.commonName != "" && !strings.Contains(e.Error(), tc.commonName) {
				t.Errorf("error %q does not name the CommonName %q", e.Error(), tc.commonName)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, useTLS := range []bool{true, false} {
		cfg := baseConfig(addr)
		cfg.TLS = useTLS
		_, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
		e := wantCause(t, err, outbound.Unreachable, catalog.NetworkUnreachable)
		if e.Report.Findings[0].Evidence["kind"] != "refused" {
			t.Errorf("TLS %v: evidence %v; want kind refused", useTLS, e.Report.Findings[0].Evidence)
		}
	}
}

func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // accept and say nothing
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	cfg := baseConfig(ln.Addr().String())
	cfg.ConnectTimeout = 300 * time.Millisecond
	start := time.Now()
	_, _, err = get(t, newTransport(t, cfg, outbound.Options{}))
	took := time.Since(start)
	wantCause(t, err, outbound.Timeout, catalog.NetworkTimeout)
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v; want about the connect timeout of 300ms", took)
	}
}

func TestIOTimeout(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	s := serveHTTP(t, tlsConf(pkiOnce().leaf), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	cfg := baseConfig(s.addr)
	cfg.IOTimeout = 300 * time.Millisecond
	start := time.Now()
	_, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
	took := time.Since(start)
	e := wantCause(t, err, outbound.Timeout, "")
	if e.Report != nil {
		t.Errorf("report %+v; want none for a response that did not come", e.Report)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v; want about the I/O timeout of 300ms", took)
	}
}

func TestKeepAlive(t *testing.T) {
	s := serveHTTP(t, tlsConf(pkiOnce().leaf), nil)
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	for i := range 5 {
		status, body, err := get(t, tr)
		if err != nil || status != http.StatusOK {
			t.Fatalf("request %d: got %d, %v", i, status, err)
		}
		if body != "hello from backend.test" {
			t.Errorf("body %q; want the Host header to be the request's host", body)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections (handshakes) for 5 requests; want 1", n)
	}
	tr.CloseIdleConnections()
	if _, _, err := get(t, tr); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections after CloseIdleConnections and one more request; want 2", n)
	}
}

func TestResponseTLSState(t *testing.T) {
	s := serveHTTP(t, tlsConf(pkiOnce().leaf), nil)
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://backend.test/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.TLS == nil || !resp.TLS.HandshakeComplete || resp.TLS.ServerName != "backend.test" {
		t.Errorf("resp.TLS = %+v; want the handshake's state with SNI backend.test", resp.TLS)
	}
}

func TestPlainHTTP(t *testing.T) {
	s := serveHTTP(t, nil, nil)
	cfg := baseConfig(s.addr)
	cfg.TLS = false
	status, _, err := get(t, newTransport(t, cfg, outbound.Options{}))
	if err != nil || status != http.StatusOK {
		t.Fatalf("got %d, %v; want 200", status, err)
	}
}

func TestExpectations(t *testing.T) {
	p := pkiOnce()
	cfg := baseConfig("127.0.0.1:1")
	cfg.SNI = false
	cfg.Protocols = []uint16{tls.VersionTLS12}
	cfg.Ciphers = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	cfg.ClientCert = new(p.client.TLS())
	x := newTransport(t, cfg, outbound.Options{}).Expectations()
	if x.ServerName != "backend.test" || !x.NoSNI || x.SystemRoots || len(x.Roots) != 1 || x.ClientCert == nil ||
		len(x.Protocols) != 1 || len(x.Ciphers) != 1 || x.RootsFrom[0] != "truststore testTS" {
		t.Errorf("expectations %+v", x)
	}
	cfg.CommonName = "api.myhost.test"
	if x := newTransport(t, cfg, outbound.Options{}).Expectations(); x.ServerName != "api.myhost.test" {
		t.Errorf("with CommonName: ServerName %q; want the CommonName", x.ServerName)
	}
	cfg.CommonName, cfg.WildcardMatch = "*.myhost.test", true
	if x := newTransport(t, cfg, outbound.Options{}).Expectations(); x.ServerName != "backend.test" {
		t.Errorf("with a CommonName pattern: ServerName %q; want the host", x.ServerName)
	}
	cfg.Roots, cfg.RootsFrom = nil, ""
	if x := newTransport(t, cfg, outbound.Options{}).Expectations(); !x.SystemRoots {
		t.Errorf("no truststore: SystemRoots false; want the system roots")
	}
}

// TestClientCertRefusedByClose: a TLS 1.3 server that asks for a client certificate,
// completes the handshake, then closes the connection without an alert when it does not
// like the certificate: the first request fails, and it is a refused client certificate.
func TestClientCertRefusedByClose(t *testing.T) {
	p := pkiOnce()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conf := tlsConf(p.leaf)
	conf.ClientAuth = tls.RequestClientCert
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close() // no close_notify, no alert
				tc := tls.Server(c, conf)
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				if tc.Handshake() != nil {
					return
				}
				if len(tc.ConnectionState().PeerCertificates) > 0 {
					io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				}
			}()
		}
	}()
	cfg := baseConfig(ln.Addr().String())
	_, _, err = get(t, newTransport(t, cfg, outbound.Options{}))
	e := wantCause(t, err, outbound.HandshakeFailed, catalog.ClientCertMissing)
	if a := e.Report.Facts.Attempts[0]; a.Step != tlsdiag.StepPostHandshake || a.Closed == "" {
		t.Errorf("attempt step %q closed %q; want a close after the handshake", a.Step, a.Closed)
	}
	cfg.ClientCert = new(p.client.TLS())
	if status, _, err := get(t, newTransport(t, cfg, outbound.Options{})); err != nil || status != http.StatusOK {
		t.Fatalf("with a client certificate: got %d, %v; want 200", status, err)
	}
}

// TestNoGoroutineLeft: once idle connections are closed and the Diagnoser is closed, a
// transport that served requests and diagnosed failures (with a follow-up) leaves no
// goroutine behind.
func TestNoGoroutineLeft(t *testing.T) {
	good := startLab(t, "healthy.one-way", lab.PeerGo)
	bad := startLab(t, catalog.CipherMismatch, lab.PeerGo)
	before := runtime.NumGoroutine()
	diag := outbound.NewDiagnoser(outbound.DiagnoserOptions{})
	trs := []*outbound.Transport{
		outbound.NewTransport(labConfig(good), outbound.Options{Diagnoser: diag}),
		outbound.NewTransport(labConfig(bad), outbound.Options{Diagnoser: diag}),
	}
	for range 3 {
		for _, tr := range trs {
			get(t, tr)
		}
	}
	for _, tr := range trs {
		tr.CloseIdleConnections()
	}
	diag.Close()
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}
