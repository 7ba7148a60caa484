package inbound_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/inbound"
	"github.com/tlsgate/tlsgate/internal/tooltest"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// testPKI holds the certificates of the tests and their PEM files.
type testPKI struct {
	dir string

	rootA, interA, leafA *pkitest.Cert // api.example.com, through an intermediate
	rootB, leafB         *pkitest.Cert // *.mtls.example.com
	clientRoot, client   *pkitest.Cert
	clientExpired        *pkitest.Cert // by clientRoot, expired a day ago
	otherRoot, other     *pkitest.Cert // a client certificate of a CA the vhost does not trust
}

var (
	pkiOnce   sync.Once
	sharedPKI *testPKI
)

// newPKI mints the test PKI once and writes it to a directory that outlives the tests.
func newPKI(t *testing.T) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{}
		p.rootA = pkitest.NewRoot("Test Root A")
		p.interA = p.rootA.Issue(pkitest.Options{CommonName: "Test Intermediate A", IsCA: true})
		p.leafA = p.interA.Issue(pkitest.Options{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}})
		p.rootB = pkitest.NewRoot("Test Root B")
		p.leafB = p.rootB.Issue(pkitest.Options{CommonName: "*.mtls.example.com", DNSNames: []string{"*.mtls.example.com"}})
		p.clientRoot = pkitest.NewRoot("Client CA")
		p.client = p.clientRoot.Issue(pkitest.Options{CommonName: "partner-app"})
		p.clientExpired = p.clientRoot.Issue(pkitest.Options{CommonName: "old-app",
			NotBefore: time.Now().Add(-400 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
		p.otherRoot = pkitest.NewRoot("Other CA")
		p.other = p.otherRoot.Issue(pkitest.Options{CommonName: "stranger-app"})
		dir, err := os.MkdirTemp("", "inbound-pki-")
		if err != nil {
			panic(err)
		}
		p.dir = dir
		files := map[string][]byte{
			"rootA.pem": p.rootA.CertPEM(), "rootB.pem": p.rootB.CertPEM(), "clientRoot.pem": p.clientRoot.CertPEM(),
			"leafA.pem": pkitest.PEM(p.leafA.Cert, p.interA.Cert), "leafA.key": p.leafA.KeyPEM(),
			"client.pem": p.client.CertPEM(), "client.key": p.client.KeyPEM(),
			"expired.pem": p.clientExpired.CertPEM(), "expired.key": p.clientExpired.KeyPEM(),
			"other.pem": p.other.CertPEM(), "other.key": p.other.KeyPEM(),
		}
		for name, data := range files {
			if _, err := pkitest.WriteFile(dir, name, data); err != nil {
				panic(err)
			}
		}
		sharedPKI = p
	})
	return sharedPKI
}

// TestMain removes the shared PKI's directory after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if sharedPKI != nil {
		_ = os.RemoveAll(sharedPKI.dir)
	}
	os.Exit(code)
}

func (p *testPKI) file(name string) string { return filepath.Join(p.dir, name) }

// vhosts returns the two virtual hosts of the tests: "default" (api.example.com, one-way,
// first on the port) and "partners" (*.mtls.example.com, two-way, trusting Client CA).
func (p *testPKI) vhosts() []*inbound.VirtualHost {
	certA := p.leafA.TLS(p.interA.Cert)
	certB := p.leafB.TLS()
	return []*inbound.VirtualHost{
		{Name: "default", HostAliases: []string{"api.example.com"}, Cert: &certA,
			CertFrom: "keystore gatewayKS (through reference gatewayRef) alias api"},
		{Name: "partners", HostAliases: []string{"*.mtls.example.com"}, Cert: &certB,
			CertFrom: "keystore partnersKS alias mtls", ClientAuth: true,
			ClientCAs: []*x509.Certificate{p.clientRoot.Cert}, ClientCAsFrom: "truststore clientCAs (through reference clientRef)",
			Ciphers: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
	}
}

// testServer is an http.Server serving an inbound.Listener on 127.0.0.1.
type testServer struct {
	ln       *inbound.Listener
	port     int
	failures chan inbound.Failure
}

// startServer serves vhosts with a handler that answers client-certificate problems with
// WriteFault (message ID "msg-1") and everything else with 200 "ok".
func startServer(t *testing.T, vhosts func() []*inbound.VirtualHost, o inbound.Options) *testServer {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{failures: make(chan inbound.Failure, 1000)}
	o.OnFailure = func(f inbound.Failure) { ts.failures <- f }
	ts.ln = inbound.Listen(tcp, vhosts, o)
	ts.port = tcp.Addr().(*net.TCPAddr).Port
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vh := inbound.Match(vhosts(), r.TLS.ServerName)
			if v := inbound.CheckClient(r.TLS, vh, time.Now()); v != nil {
				inbound.WriteFault(w, r, v, "msg-1")
				return
			}
			fmt.Fprint(w, "ok")
		}),
	}
	go srv.Serve(ts.ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ts
}

// waitFailure returns the next reported failure with the given cause, failing the test
// after a few seconds.
func (ts *testServer) waitFailure(t *testing.T, cause string) inbound.Failure {
	t.Helper()
	deadline := time.After(5 * time.Second)
	var seen []string
	for {
		select {
		case f := <-ts.failures:
			if f.Cause == cause {
				return f
			}
			seen = append(seen, fmt.Sprintf("%q (%s)", f.Cause, f.Detail))
		case <-deadline:
			t.Fatalf("no failure with cause %q reported; got %s", cause, strings.Join(seen, ", "))
			return inbound.Failure{}
		}
	}
}

// curlResult is what curl returned.
type curlResult struct {
	status, version string
	header          http.Header
	body            []byte
	stderr          string
	err             error
}

// curl runs curl against host on the test server, resolving host to 127.0.0.1.
func (ts *testServer) curl(t *testing.T, host string, args ...string) curlResult {
	t.Helper()
	tooltest.Need(t, "curl", "")
	dir := t.TempDir()
	hdr, body := filepath.Join(dir, "headers"), filepath.Join(dir, "body")
	url := fmt.Sprintf("https://%s:%d/", host, ts.port)
	all := append([]string{"-sS", "--max-time", "10", "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", host, ts.port),
		"-D", hdr, "-o", body, "-w", "%{http_code} %{http_version}"}, args...)
	all = append(all, url)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := curlResult{err: cmd.Run(), stderr: stderr.String(), header: http.Header{}}
	r.status, r.version, _ = strings.Cut(stdout.String(), " ")
	r.body, _ = os.ReadFile(body)
	raw, _ := os.ReadFile(hdr)
	for _, line := range strings.Split(string(raw), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			r.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return r
}

// sClient runs openssl s_client against the test server with args and returns its output.
func (ts *testServer) sClient(t *testing.T, args ...string) string {
	t.Helper()
	tooltest.Need(t, "openssl", "")
	all := append([]string{"s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", ts.port)}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", all...)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func TestSNIPicksCertificateAndHTTP2Works(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{})

	tests := []struct {
		name, host string
		args       []string
		version    string
	}{
		{"exact alias, HTTP/1.1", "api.example.com", []string{"--cacert", p.file("rootA.pem"), "--http1.1"}, "1.1"},
		{"exact alias, HTTP/2", "api.example.com", []string{"--cacert", p.file("rootA.pem"), "--http2"}, "2"},
		{"wildcard alias, two-way, HTTP/2", "orders.mtls.example.com", []string{"--cacert", p.file("rootB.pem"), "--http2",
			"--cert", p.file("client.pem"), "--key", p.file("client.key")}, "2"},
		{"wildcard alias, two-way, TLS 1.2", "x.mtls.example.com", []string{"--cacert", p.file("rootB.pem"), "--tlsv1.2", "--tls-max", "1.2",
			"--cert", p.file("client.pem"), "--key", p.file("client.key")}, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.curl(t, tt.host, tt.args...)
			if r.err != nil {
				t.Fatalf("curl: %v: %s", r.err, r.stderr)
			}
			if r.status != "200" || string(r.body) != "ok" {
				t.Errorf("got %s %q; want 200 \"ok\"", r.status, r.body)
			}
			if r.version != tt.version {
				t.Errorf("got HTTP version %s; want %s", r.version, tt.version)
			}
		})
	}

	t.Run("no SNI gets the first virtual host", func(t *testing.T) {
		out := ts.sClient(t, "-noservername")
		if !strings.Contains(out, "CN = api.example.com") {
			t.Errorf("got certificate not of api.example.com:\n%s", out)
		}
	})
	t.Run("wildcard covers one label only", func(t *testing.T) {
		out := ts.sClient(t, "-servername", "a.b.mtls.example.com")
		if !strings.Contains(out, "alert number 112") {
			t.Errorf("got no unrecognized_name alert:\n%s", out)
		}
		ts.waitFailure(t, "inbound.sni.unknown")
	})
}

func TestHotReload(t *testing.T) {
	p := newPKI(t)
	var mu sync.Mutex
	vhs := p.vhosts()[:1]
	current := func() []*inbound.VirtualHost { mu.Lock(); defer mu.Unlock(); return vhs }
	ts := startServer(t, current, inbound.Options{})
	if r := ts.curl(t, "api.example.com", "--cacert", p.file("rootA.pem")); r.status != "200" {
		t.Fatalf("before reload: got %s (%v %s); want 200", r.status, r.err, r.stderr)
	}
	// The new keystore: api.example.com from Root B.
	leaf := p.rootB.Issue(pkitest.Options{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}})
	cert := leaf.TLS()
	mu.Lock()
	vhs = []*inbound.VirtualHost{{Name: "default", HostAliases: []string{"api.example.com"}, Cert: &cert}}
	mu.Unlock()
	if r := ts.curl(t, "api.example.com", "--cacert", p.file("rootB.pem")); r.status != "200" {
		t.Fatalf("after reload: got %s (%v %s); want 200", r.status, r.err, r.stderr)
	}
}

func TestLegacyVirtualHost(t *testing.T) {
	p := newPKI(t)
	cert := p.leafA.TLS(p.interA.Cert)
	vhs := []*inbound.VirtualHost{{Name: "legacy", HostAliases: []string{"api.example.com"}, Cert: &cert,
		Protocols: []uint16{tls.VersionTLS10, tls.VersionTLS12},
		Ciphers:   []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}}
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{})

	t.Run("TLS 1.0 is served when configured", func(t *testing.T) {
		out := ts.sClient(t, "-servername", "api.example.com", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
		if !strings.Contains(out, "Protocol  : TLSv1\n") || !strings.Contains(out, "ECDHE-ECDSA-AES128-SHA") {
			t.Errorf("no TLSv1 session with ECDHE-ECDSA-AES128-SHA:\n%s", out)
		}
	})
	t.Run("no HTTP/2 without an AEAD suite", func(t *testing.T) {
		r := ts.curl(t, "api.example.com", "--cacert", p.file("rootA.pem"), "--http2", "--tls-max", "1.2")
		if r.err != nil || r.status != "200" || r.version != "1.1" {
			t.Errorf("got %s over HTTP/%s (%v %s); want 200 over HTTP/1.1", r.status, r.version, r.err, r.stderr)
		}
	})
}
