package outbound_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// members returns a pool member per address, named a, b, c...
func members(t *testing.T, addrs ...string) []outbound.Member {
	t.Helper()
	var out []outbound.Member
	for i, a := range addrs {
		out = append(out, outbound.Member{Name: string(rune('a' + i)), Transport: newTransport(t, baseConfig(a), outbound.Options{})})
	}
	return out
}

func healthyServer(t *testing.T) string {
	t.Helper()
	return serveHTTP(t, tlsConf(pkiOnce().leaf), nil).addr
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// send picks a member, sends GET / to it and reports the outcome to the pool.
func send(t *testing.T, p *outbound.Pool) (string, error) {
	t.Helper()
	m, err := p.Pick()
	if err != nil {
		return "", err
	}
	_, _, err = get(t, m.Transport)
	p.Done(m, err)
	return m.Name, err
}

func TestPoolRoundRobin(t *testing.T) {
	for _, alg := range []string{"", outbound.RoundRobin, outbound.Weighted} {
		p := outbound.NewPool(members(t, healthyServer(t), healthyServer(t), healthyServer(t)), alg, 3)
		var got string
		for range 7 {
			name, err := send(t, p)
			if err != nil {
				t.Fatal(err)
			}
			got += name
		}
		if got != "abcabca" {
			t.Errorf("%q: order %q; want abcabca", alg, got)
		}
	}
}

func TestPoolLeastConnections(t *testing.T) {
	p := outbound.NewPool(members(t, healthyServer(t), healthyServer(t)), outbound.LeastConnections, 0)
	a, _ := p.Pick()
	b, _ := p.Pick()
	if a.Name != "a" || b.Name != "b" {
		t.Fatalf("picked %s, %s; want a, b", a.Name, b.Name)
	}
	p.Done(b, nil)
	for range 2 { // b has no request in flight, a has one
		m, _ := p.Pick()
		if m.Name != "b" {
			t.Errorf("picked %s; want b, with fewer requests in flight", m.Name)
		}
		p.Done(m, nil)
	}
	p.Done(a, nil)
	m, _ := p.Pick() // none in flight: in turn
	if m.Name != "a" {
		t.Errorf("picked %s; want a, next in turn", m.Name)
	}
	p.Done(m, nil)
}

func TestPoolMaxFailures(t *testing.T) {
	p := outbound.NewPool(members(t, healthyServer(t), closedPort(t)), outbound.RoundRobin, 2)
	var got string
	for range 6 {
		name, _ := send(t, p)
		got += name
	}
	// b fails on its 1st and 2nd turn, and is out from then on.
	if got != "ababaa" {
		t.Errorf("order %q; want ababaa", got)
	}
	st := p.Status()
	if !st[0].Active || st[1].Active || st[1].Failures != 2 || st[1].LastCause != catalog.NetworkUnreachable || st[1].LastReport == nil {
		t.Errorf("status %+v; want b out of rotation after 2 failures, with its cause", st)
	}
}

func TestPoolSuccessResetsFailures(t *testing.T) {
	p := outbound.NewPool(members(t, healthyServer(t)), "", 2)
	m, _ := p.Pick()
	p.Done(m, &outbound.Error{Kind: outbound.Unreachable})
	m, _ = p.Pick()
	p.Done(m, nil)
	m, _ = p.Pick()
	p.Done(m, &outbound.Error{Kind: outbound.Unreachable})
	p.Done(m, context.Canceled) // not counted
	if st := p.Status()[0]; !st.Active || st.Failures != 1 {
		t.Errorf("status %+v; want active with 1 failure: a success resets the count", st)
	}
}

func TestPoolNoActiveTargets(t *testing.T) {
	p := outbound.NewPool(members(t, closedPort(t), closedPort(t)), "", 1)
	for range 2 {
		if _, err := send(t, p); outbound.AsError(err) == nil {
			t.Fatalf("got %v; want an *Error", err)
		}
	}
	if _, err := send(t, p); !errors.Is(err, outbound.ErrNoActiveTargets) {
		t.Fatalf("got %v; want ErrNoActiveTargets", err)
	}
	if _, err := outbound.NewPool(nil, "", 1).Pick(); !errors.Is(err, outbound.ErrNoActiveTargets) {
		t.Fatalf("empty pool: got %v; want ErrNoActiveTargets", err)
	}
}

// TestPoolHealthMonitor: a member whose backend serves an expired certificate goes out of
// rotation; the monitor keeps the diagnosis of its checks while it is broken, and brings it
// back when the backend is fixed.
func TestPoolHealthMonitor(t *testing.T) {
	pk := pkiOnce()
	good, expired := pk.leaf.TLS(), pk.expired.TLS()
	var fixed atomic.Bool
	broken := serveHTTP(t, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if fixed.Load() {
			return &good, nil
		}
		return &expired, nil
	}}, nil)
	p := outbound.NewPool(members(t, healthyServer(t), broken.addr), "", 1)
	for range 2 {
		send(t, p)
	}
	if st := p.Status()[1]; st.Active || st.LastCause != catalog.CertExpired {
		t.Fatalf("status %+v; want b out with cert.expired", st)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		p.Run(ctx, 20*time.Millisecond)
		close(done)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}()

	waitFor(t, "a failed check", func() bool {
		st := p.Status()[1]
		return !st.LastChecked.IsZero() && !st.Active && st.LastCause == catalog.CertExpired && st.LastReport != nil
	})
	if n := broken.conns.Load(); n < 2 {
		t.Errorf("%d connections to the broken backend; want the checks' handshakes too", n)
	}
	fixed.Store(true)
	waitFor(t, "b back in rotation", func() bool { return p.Status()[1].Active })
	if st := p.Status()[1]; st.Failures != 0 {
		t.Errorf("status %+v; want the failures reset", st)
	}
	var got string
	for range 4 {
		name, err := send(t, p)
		if err != nil {
			t.Fatal(err)
		}
		got += name
	}
	if got != "abab" && got != "baba" {
		t.Errorf("order %q; want both members in turn", got)
	}
}

func TestPoolHealthCheck5xx(t *testing.T) {
	s := serveHTTP(t, tlsConf(pkiOnce().leaf), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	if err := tr.Check(t.Context()); err == nil || outbound.AsError(err) != nil {
		t.Errorf("Check = %v; want a plain error for a 503", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
