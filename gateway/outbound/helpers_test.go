package outbound_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// testPKI is a root, and server certificates it issued, minted once.
type testPKI struct {
	root     *pkitest.Cert
	leaf     *pkitest.Cert // backend.test
	expired  *pkitest.Cert // backend.test, expired 30 days ago
	wildcard *pkitest.Cert // api.myhost.test
	cnOnly   *pkitest.Cert // CN=legacy.test, no subjectAltName
	client   *pkitest.Cert // a client certificate issued by root
}

var pkiOnce = sync.OnceValue(func() *testPKI {
	root := pkitest.NewRoot("Outbound Test Root CA")
	server := func(o pkitest.Options) *pkitest.Cert {
		o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		return root.Issue(o)
	}
	return &testPKI{
		root:     root,
		leaf:     server(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}}),
		expired:  server(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, NotBefore: pkitest.Epoch.Add(-60 * 24 * time.Hour), NotAfter: pkitest.Epoch.Add(-30 * 24 * time.Hour)}),
		wildcard: server(pkitest.Options{CommonName: "api.myhost.test", DNSNames: []string{"api.myhost.test"}}),
		cnOnly:   server(pkitest.Options{CommonName: "legacy.test"}),
		client:   root.Issue(pkitest.Options{CommonName: "gateway client", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}),
	}
})

// server is a TLS (or plain) HTTP server on loopback that counts its connections.
type server struct {
	addr  string
	conns atomic.Int64
}

// serveHTTP starts an HTTP server on loopback, over TLS with conf when conf is not nil.
func serveHTTP(t *testing.T, conf *tls.Config, h http.Handler) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String()}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from "+r.Host) })
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return s
}

// tlsConf is a server configuration presenting cert, issued by the test root.
func tlsConf(cert *pkitest.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert.TLS()}}
}

// baseConfig is a target trusting the test root, verifying backend.test, with SNI.
func baseConfig(addr string) outbound.Config {
	return outbound.Config{
		Target:    "target server test",
		Address:   addr,
		Host:      "backend.test",
		TLS:       true,
		SNI:       true,
		Roots:     []*x509.Certificate{pkiOnce().root.Cert},
		RootsFrom: "truststore testTS",
	}
}

// get sends GET / through rt and returns the status and body, or the error.
func get(t *testing.T, rt http.RoundTripper) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://backend.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp.StatusCode, string(b), nil
}

// wantCause checks that err is an *outbound.Error of kind with cause id.
func wantCause(t *testing.T, err error, kind outbound.Kind, id string) *outbound.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %v %s", kind, id)
	}
	var e *outbound.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T); want *outbound.Error", err, err)
	}
	got, _ := e.Cause()
	if e.Kind != kind || got != id {
		t.Fatalf("got %v %q (%v); want %v %q", e.Kind, got, err, kind, id)
	}
	return e
}

// newTransport returns a transport closed with the test.
func newTransport(t *testing.T, cfg outbound.Config, o outbound.Options) *outbound.Transport {
	t.Helper()
	if o.Diagnoser == nil {
		o.Diagnoser = outbound.NewDiagnoser(outbound.DiagnoserOptions{})
		t.Cleanup(o.Diagnoser.Close)
	}
	tr := outbound.NewTransport(cfg, o)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// startLab starts a lab scenario with peer, closed with the test.
func startLab(t *testing.T, name string, peer lab.Peer) *lab.Running {
	t.Helper()
	for _, s := range lab.Scenarios() {
		if s.Name == name {
			r, err := lab.Start(t.Context(), s, peer, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}
	}
	t.Fatalf("no lab scenario %s", name)
	return nil
}

// labConfig is the target configuration of a running lab scenario: its client's
// truststore, certificate, protocols, ciphers, expected name and SNI.
func labConfig(r *lab.Running) outbound.Config {
	x := r.Expectations
	cfg := outbound.Config{
		Target:            "lab " + r.Scenario.Name,
		Address:           r.Address,
		Host:              x.ServerName,
		TLS:               true,
		SNI:               !x.NoSNI,
		Roots:             x.Roots,
		RootsFrom:         "the scenario's truststore",
		ClientCert:        x.ClientCert,
		ClientCertFrom:    x.ClientCertFrom,
		ClientCertProblem: x.ClientCertProblem,
		Protocols:         x.Protocols,
		Ciphers:           x.Ciphers,
	}
	if d := r.Scenario.Client.Timeout; d > 0 {
		cfg.ConnectTimeout = d
	}
	return cfg
}

// clock is a settable clock for the Diagnoser's TTL.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }
