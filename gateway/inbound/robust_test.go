package inbound_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/inbound"
)

// dialSilent opens n TCP connections to port that send nothing.
func dialSilent(t *testing.T, port, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// tlsClient completes a handshake with api.example.com on port, or fails after timeout.
func tlsClient(p *testPKI, port int, timeout time.Duration) (*tls.Conn, error) {
	roots := x509.NewCertPool()
	roots.AddCert(p.rootA.Cert)
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), timeout)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, &tls.Config{RootCAs: roots, ServerName: "api.example.com"})
	_ = tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		tc.Close()
		return nil, err
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

func TestSilentClientsDoNotBlockOthers(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	const timeout = time.Second
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{HandshakeTimeout: timeout})

	start := time.Now()
	silent := dialSilent(t, ts.port, 200)
	// One more trickles a ClientHello, a byte every 100 ms.
	trickler := dialSilent(t, ts.port, 1)[0]
	stopTrickle := make(chan struct{})
	go func() {
		hello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
		for _, b := range hello {
			select {
			case <-stopTrickle:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := trickler.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	defer close(stopTrickle)

	before := time.Now()
	r := ts.curl(t, "api.example.com", "--cacert", p.file("rootA.pem"))
	if r.err != nil || r.status != "200" {
		t.Fatalf("curl behind 201 silent connections: got %s (%v: %s); want 200", r.status, r.err, r.stderr)
	}
	if d := time.Since(before); d > timeout/2 {
		t.Errorf("curl took %s behind silent connections; want well under the handshake timeout %s", d, timeout)
	}

	// Every silent connection is closed by the gateway after the timeout, not before.
	var wg sync.WaitGroup
	closedAt := make([]time.Duration, len(silent)+1)
	for i, c := range append(silent, trickler) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(timeout + 5*time.Second))
			var b [1]byte
			_, err := c.Read(b[:])
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				closedAt[i] = -1
				return
			}
			closedAt[i] = time.Since(start)
		}()
	}
	wg.Wait()
	for i, d := range closedAt {
		if d < 0 {
			t.Errorf("connection %d still open %s after the handshake timeout", i, 5*time.Second)
			break
		}
		if d < timeout-100*time.Millisecond {
			t.Errorf("connection %d closed after %s; want no sooner than the timeout %s", i, d, timeout)
			break
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.ln.Stats()["network.timeout"] < 201 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := ts.ln.Stats()["network.timeout"]; got != 201 {
		t.Errorf("got %d network.timeout failures; want 201", got)
	}
}

func TestMaxConnsBoundsConcurrency(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	const timeout = time.Second
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{HandshakeTimeout: timeout, MaxConns: 2})

	t.Run("handshaking connections hold slots", func(t *testing.T) {
		dialSilent(t, ts.port, 2)
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		c, err := tlsClient(p, ts.port, 5*time.Second)
		if err != nil {
			t.Fatalf("handshake after the silent connections timed out: %v", err)
		}
		c.Close()
		if d := time.Since(start); d < timeout-200*time.Millisecond {
			t.Errorf("handshake completed after %s while both slots were held; want it to wait for the %s timeout", d, timeout)
		}
	})

	t.Run("open connections hold slots", func(t *testing.T) {
		var open []*tls.Conn
		for range 2 {
			c, err := tlsClient(p, ts.port, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, c)
		}
		if _, err := tlsClient(p, ts.port, 500*time.Millisecond); err == nil {
			t.Fatal("a third connection was handshaken while two were open; want it to wait")
		}
		open[0].Close()
		c, err := tlsClient(p, ts.port, 5*time.Second)
		if err != nil {
			t.Fatalf("no handshake after an open connection closed: %v", err)
		}
		c.Close()
		open[1].Close()
	})
}

func TestCloseAbortsHandshakes(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failures []inbound.Failure
	ln := inbound.Listen(tcp, func() []*inbound.VirtualHost { return vhs }, inbound.Options{
		OnFailure: func(f inbound.Failure) { mu.Lock(); failures = append(failures, f); mu.Unlock() },
	})
	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		accepted <- err
	}()
	c := dialSilent(t, tcp.Addr().(*net.TCPAddr).Port, 1)[0]
	time.Sleep(50 * time.Millisecond)
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: got %v; want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("a handshaking connection survived Close: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(failures) != 0 {
		t.Errorf("Close reported failures %+v; want none", failures)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
