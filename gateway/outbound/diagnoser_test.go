package outbound_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// TestDiagnoserFollowUpOnce: a burst of requests failing the same undecided way (a bare
// handshake_failure: no suite in common?) costs one doctor run, whose report every one of
// them gets; failures within the TTL reuse it, and after it a new run starts.
func TestDiagnoserFollowUpOnce(t *testing.T) {
	r := startLab(t, catalog.CipherMismatch, lab.PeerGo)
	var clk clock
	diag := outbound.NewDiagnoser(outbound.DiagnoserOptions{Now: clk.now, TTL: 10 * time.Second})
	t.Cleanup(diag.Close)
	// Two transports of the same target share the follow-up, as the gateway's would.
	trs := []*outbound.Transport{
		newTransport(t, labConfig(r), outbound.Options{Diagnoser: diag}),
		newTransport(t, labConfig(r), outbound.Options{Diagnoser: diag}),
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, _, errs[i] = get(t, trs[i%2]) })
	}
	wg.Wait()
	for i, err := range errs {
		e := wantCause(t, err, outbound.HandshakeFailed, catalog.CipherMismatch)
		if !e.FollowUp {
			t.Errorf("request %d: the report is not the follow-up's", i)
		}
		if _, ok := e.Finding().Evidence["serverSuites"]; !ok {
			t.Errorf("request %d: evidence %v; want the server's suites, enumerated by the doctor", i, e.Finding().Evidence)
		}
	}
	s := diag.Stats()
	if s.FollowUps != 1 || s.FollowUpsShared != n-1 || s.Diagnoses != n || s.ByCause[catalog.CipherMismatch] != n {
		t.Fatalf("stats %+v; want 1 follow-up shared by %d failures", s, n-1)
	}

	if _, _, err := get(t, trs[0]); err == nil {
		t.Fatal("no error")
	}
	if s := diag.Stats(); s.FollowUps != 1 || s.FollowUpsShared != n {
		t.Errorf("within the TTL: stats %+v; want the kept report", s)
	}
	clk.advance(11 * time.Second)
	_, _, err := get(t, trs[1])
	wantCause(t, err, outbound.HandshakeFailed, catalog.CipherMismatch)
	if s := diag.Stats(); s.FollowUps != 2 {
		t.Errorf("after the TTL: stats %+v; want a second follow-up", s)
	}
}

// TestDiagnoserDecidedWithoutFollowUp: a cause the failed handshake proves costs no probe.
func TestDiagnoserDecidedWithoutFollowUp(t *testing.T) {
	r := startLab(t, catalog.HostnameMismatch, lab.PeerGo)
	diag := outbound.NewDiagnoser(outbound.DiagnoserOptions{})
	t.Cleanup(diag.Close)
	tr := newTransport(t, labConfig(r), outbound.Options{Diagnoser: diag})
	for range 3 {
		_, _, err := get(t, tr)
		if e := wantCause(t, err, outbound.HandshakeFailed, catalog.HostnameMismatch); e.FollowUp {
			t.Error("follow-up for a decided cause")
		}
	}
	if s := diag.Stats(); s.FollowUps != 0 || s.Diagnoses != 3 {
		t.Errorf("stats %+v; want 3 diagnoses, no follow-up", s)
	}
}

// TestDiagnoserWaitBounded: a caller waits for the follow-up at most Wait, then gets the
// quick report; the follow-up still fills the cache.
func TestDiagnoserWaitBounded(t *testing.T) {
	r := startLab(t, catalog.CipherMismatch, lab.PeerGo)
	diag := outbound.NewDiagnoser(outbound.DiagnoserOptions{Wait: time.Nanosecond})
	t.Cleanup(diag.Close)
	tr := newTransport(t, labConfig(r), outbound.Options{Diagnoser: diag})
	_, _, err := get(t, tr)
	e := wantCause(t, err, outbound.HandshakeFailed, catalog.CipherMismatch)
	if e.FollowUp || e.Finding().Evidence["inferred"] != true {
		t.Errorf("got the follow-up's report (%v); want the quick, inferred one", e.Finding().Evidence)
	}
	if s := diag.Stats(); s.FollowUps != 1 || s.FollowUpsAbandoned != 1 {
		t.Errorf("stats %+v; want one follow-up, abandoned", s)
	}
	diag.Close() // waits for the follow-up
}

// TestDiagnoserBounded: the cache never holds more than MaxEntries follow-ups.
func TestDiagnoserBounded(t *testing.T) {
	diag := outbound.NewDiagnoser(outbound.DiagnoserOptions{MaxEntries: 2})
	t.Cleanup(diag.Close)
	for range 4 {
		r := startLab(t, catalog.CipherMismatch, lab.PeerGo)
		_, _, err := get(t, newTransport(t, labConfig(r), outbound.Options{Diagnoser: diag}))
		wantCause(t, err, outbound.HandshakeFailed, catalog.CipherMismatch)
	}
	if s := diag.Stats(); s.FollowUps != 4 || s.FollowUpsRefused != 0 {
		t.Errorf("stats %+v; want 4 follow-ups, the oldest evicted", s)
	}
	if n := diag.Stats().Entries; n > 2 {
		t.Errorf("%d follow-ups kept; want at most 2", n)
	}
}
