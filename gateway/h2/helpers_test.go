package h2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// testCerts is a root and a server certificate for localhost and 127.0.0.1.
type testCerts struct {
	root *pkitest.Cert
	leaf tls.Certificate
	pool *x509.CertPool
}

var certs = sync.OnceValue(func() *testCerts {
	root := pkitest.NewRoot("h2 test root")
	leaf := root.Issue(pkitest.Options{
		CommonName:  "localhost",
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return &testCerts{root: root, leaf: leaf.TLS(), pool: pool}
})

// testServer serves a handler on a loopback port; it counts the connections it accepted.
type testServer struct {
	s     *Server
	addr  string
	tls   bool
	conns atomic.Int32
	wg    sync.WaitGroup
}

// serveTLS serves h over TLS with ALPN "h2" on 127.0.0.1.
func serveTLS(t *testing.T, h http.Handler, o Options) *testServer {
	return startServer(t, h, o, true)
}

// servePlain serves h on plain TCP (HTTP/2 with prior knowledge) on 127.0.0.1.
func servePlain(t *testing.T, h http.Handler, o Options) *testServer {
	return startServer(t, h, o, false)
}

func startServer(t *testing.T, h http.Handler, o Options, useTLS bool) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{certs().leaf}, NextProtos: []string{"h2"}})
	}
	ts := &testServer{s: NewServer(h, o), addr: ln.Addr().String(), tls: useTLS}
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ts.conns.Add(1)
			ts.wg.Add(1)
			go func() {
				defer ts.wg.Done()
				if tc, ok := c.(*tls.Conn); ok {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := tc.HandshakeContext(ctx)
					cancel()
					if err != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
						c.Close()
						return
					}
				}
				ts.s.ServeConn(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		ts.s.Close()
		done := make(chan struct{})
		go func() { ts.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("ServeConn did not return within 10 s of Close")
		}
	})
	return ts
}

func (ts *testServer) url(path string) string { return "https://" + ts.addr + path }

// client returns an HTTP/2-only client trusting the test root.
func (ts *testServer) client(t *testing.T) *http.Client {
	p := new(http.Protocols)
	p.SetHTTP2(true)
	tr := &http.Transport{
		ForceAttemptHTTP2:     true,
		Protocols:             p,
		TLSClientConfig:       &tls.Config{RootCAs: certs().pool},
		ExpectContinueTimeout: 5 * time.Second,
		DisableCompression:    true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// gate blocks handlers until opened; opening twice is harmless.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate() *gate       { return &gate{ch: make(chan struct{})} }
func (g *gate) open()      { g.once.Do(func() { close(g.ch) }) }
func (g *gate) wait() bool { return waitFor(g.ch) }

// waitFor waits for ch to be closed or to deliver, up to 5 s.
func waitFor[T any](ch <-chan T) bool {
	select {
	case <-ch:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// pattern returns n deterministic bytes that do not repeat with a short period.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>11)
	}
	return b
}

// do performs req and returns the response and its whole body; it fails the test on
// an error or an answer that is not HTTP/2.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("%s %s: answered over %s; want HTTP/2", req.Method, req.URL.Path, resp.Proto)
	}
	return resp, string(b)
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// echo answers with the request body, its declared length in X-Request-Length.
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("X-Request-Length", strconv.FormatInt(r.ContentLength, 10))
	w.Write(b)
}

// blocking returns a handler that answers "/block" with "done" once g opens (signalling
// started first), and anything else with "quick".
func blocking(g *gate, started chan<- struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			started <- struct{}{}
			g.wait()
			io.WriteString(w, "done")
			return
		}
		io.WriteString(w, "quick")
	})
}

type result struct {
	status int
	body   string
	err    error
}

func getAsync(c *http.Client, url string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := c.Get(url)
		if err != nil {
			ch <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch <- result{resp.StatusCode, string(b), err}
	}()
	return ch
}
