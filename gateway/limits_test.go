package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// oneWay returns a gateway with a one-way TLS virtual host on 9443 in front of a lab
// server, and a client trusting it.
func oneWay(t *testing.T, opts ...func(*Options)) (*testGW, *http.Client, string) {
	t.Helper()
	p := newInboundPKI(t)
	doc := twoWayDoc(t, p, startLab(t, "healthy.one-way"))
	si := doc.Organizations[0].Environments[0].VirtualHosts[1].SSLInfo
	si.ClientAuthEnabled, si.TrustStore = false, ""
	g := newTestGW(t, doc, opts...)
	addr := g.gw.Addr(9443).String()
	pool := x509.NewCertPool()
	pool.AddCert(p.gwRoot.Cert)
	var d net.Dialer
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "api.test"},
		DialContext:       func(ctx context.Context, n, _ string) (net.Conn, error) { return d.DialContext(ctx, n, addr) },
		DisableKeepAlives: true,
	}}
	return g, c, addr
}

// healthy sends n requests on new connections and fails the test unless all succeed.
func healthy(t *testing.T, c *http.Client, n int, during string) {
	t.Helper()
	for i := range n {
		resp, err := c.Get("https://api.test/backend/")
		if err != nil {
			t.Fatalf("%s: healthy request %d: %v", during, i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: healthy request %d: status %d", during, i, resp.StatusCode)
		}
	}
}

// TestHandshakeFlood: hundreds of connections that never finish a handshake (silent, or a
// ClientHello cut short) do not stop healthy clients, and are closed after the handshake
// timeout.
func TestHandshakeFlood(t *testing.T) {
	g, c, addr := oneWay(t, func(o *Options) { o.HandshakeTimeout = time.Second })
	var conns []net.Conn
	defer func() {
		for _, cn := range conns {
			cn.Close()
		}
	}()
	for i := range 300 {
		cn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			cn.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01}) // a record header promising more
		}
		conns = append(conns, cn)
	}
	healthy(t, c, 20, "during a handshake flood")
	// After the timeout the gateway has closed them.
	time.Sleep(1500 * time.Millisecond)
	closed := 0
	for _, cn := range conns[:20] {
		cn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := cn.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
			closed++
		}
	}
	if closed < 20 {
		t.Errorf("%d of 20 stalled handshakes were closed after the timeout", closed)
	}
	_ = g
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSlowloris: clients that finish the handshake then trickle their headers are cut off
// at the read-header timeout, while healthy clients are served.
func TestSlowloris(t *testing.T) {
	_, c, addr := oneWay(t, func(o *Options) { o.ReadHeaderTimeout = time.Second })
	var wg sync.WaitGroup
	cut := make(chan time.Duration, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "api.test"})
			if err != nil {
				return
			}
			defer cn.Close()
			start := time.Now()
			for _, b := range []byte("GET /backend/ HTTP/1.1\r\nHost: api.test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
				if _, err := cn.Write([]byte{b}); err != nil {
					cut <- time.Since(start)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			cut <- 0
		}()
	}
	time.Sleep(300 * time.Millisecond)
	healthy(t, c, 20, "during slowloris")
	wg.Wait()
	close(cut)
	for d := range cut {
		if d == 0 || d > 4*time.Second {
			t.Errorf("a slow client was not cut off at the read-header timeout (%v)", d)
			break
		}
	}
}

// TestOversizedHeaders: a header block over the limit gets 431, and the gateway goes on.
func TestOversizedHeaders(t *testing.T) {
	_, c, _ := oneWay(t, func(o *Options) { o.MaxHeaderBytes = 16 << 10 })
	req, _ := http.NewRequest("GET", "https://api.test/backend/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 100<<10))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d; want 431", resp.StatusCode)
	}
	healthy(t, c, 5, "after oversized headers")
}
