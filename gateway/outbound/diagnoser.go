package outbound

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/probe"
)

// Defaults of DiagnoserOptions.
const (
	DefaultFollowUpTTL     = 10 * time.Second
	DefaultFollowUpWait    = 5 * time.Second
	DefaultFollowUpTimeout = probe.DefaultTimeout
	DefaultFollowUpEntries = 256
)

// DiagnoserOptions configure a Diagnoser.
type DiagnoserOptions struct {
	// TTL is how long a follow-up's report answers failures of the same target and symptom.
	TTL time.Duration
	// Wait is how long a failing request waits at most for a follow-up before it takes the
	// quick report.
	Wait time.Duration
	// Timeout bounds one follow-up (the doctor's run).
	Timeout time.Duration
	// MaxEntries bounds the follow-ups kept, running or finished.
	MaxEntries int
	// Now is the clock of TTL; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Diagnoser diagnoses the failures of every Transport sharing it: the quick report from
// what the failed handshake showed, and, where that cannot decide, one follow-up doctor run
// per target and symptom at a time, whose report is kept for TTL. It counts what it
// diagnosed. It is safe for concurrent use.
type Diagnoser struct {
	o   DiagnoserOptions
	log *slog.Logger

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	entries map[string]*followUp
	stats   DiagnoserStats
}

// followUp is one doctor run and, once done is closed, its report.
type followUp struct {
	done     chan struct{}
	report   *tlsdiag.Report // nil when the run could not conclude
	finished time.Time
}

// DiagnoserStats counts what a Diagnoser did, for metrics.
type DiagnoserStats struct {
	// Diagnoses is the number of failures diagnosed; ByCause splits them by the ID of the
	// report's first error finding ("" when none).
	Diagnoses uint64
	ByCause   map[string]uint64
	// FollowUps is the number of doctor runs started.
	FollowUps uint64
	// FollowUpsShared is the number of failures that took a follow-up running or kept
	// instead of starting one.
	FollowUpsShared uint64
	// FollowUpsAbandoned is the number of failures that stopped waiting for a follow-up and
	// took the quick report.
	FollowUpsAbandoned uint64
	// FollowUpsRefused is the number of follow-ups not started because every entry was
	// running, or the Diagnoser was closed.
	FollowUpsRefused uint64
	// Entries is the number of follow-ups kept now, running or finished.
	Entries int
}

// NewDiagnoser returns a Diagnoser configured by the options given (at most one; none
// means every default); zero fields take their defaults.
func NewDiagnoser(opts ...DiagnoserOptions) *Diagnoser {
	var o DiagnoserOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.TTL <= 0 {
		o.TTL = DefaultFollowUpTTL
	}
	if o.Wait <= 0 {
		o.Wait = DefaultFollowUpWait
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFollowUpTimeout
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultFollowUpEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := &Diagnoser{o: o, log: o.Logger, entries: map[string]*followUp{}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.stats.ByCause = map[string]uint64{}
	return d
}

// Close stops the follow-ups running and waits for them; later failures get quick reports.
func (d *Diagnoser) Close() {
	d.cancel()
	d.mu.Lock() // a follow-up starting now has seen the cancellation or been added to wg
	d.mu.Unlock()
	d.wg.Wait()
}

// Stats returns a copy of the counters.
func (d *Diagnoser) Stats() DiagnoserStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.ByCause = maps.Clone(d.stats.ByCause)
	s.Entries = len(d.entries)
	return s
}

// diagnose returns the report on the failed attempt a of t, and whether it is a follow-up's.
func (d *Diagnoser) diagnose(ctx context.Context, t *Transport, a *tlsdiag.Attempt) (rep *tlsdiag.Report, followed bool) {
	facts := &tlsdiag.Facts{Target: t.cfg.Target, Address: t.cfg.Address, Time: t.now(), Attempts: []*tlsdiag.Attempt{a}}
	rep = t.report(facts)
	if needsFollowUp(rep, a, t.cfg) {
		if f := d.followUp(ctx, t, a, rep); f != nil && tlsdiag.HasError(f.Findings) {
			rep, followed = f, true
		}
	}
	id := ""
	if f := firstError(rep); f != nil {
		id = f.ID
	}
	d.mu.Lock()
	d.stats.Diagnoses++
	d.stats.ByCause[id]++
	d.mu.Unlock()
	return rep, followed
}

// needsFollowUp reports whether the quick report leaves the cause open: no error found, an
// unclassified alert, an inference, or a certificate refused while no SNI was sent (the
// server may have sent its default certificate).
func needsFollowUp(rep *tlsdiag.Report, a *tlsdiag.Attempt, cfg Config) bool {
	if a.DialError != "" || a.TimedOut || a.NotTLS != nil || a.HTTP != nil {
		return false // the doctor's experiments could add nothing
	}
	f := firstError(rep)
	if f == nil || f.ID == catalog.AlertUnclassified {
		return true
	}
	for _, g := range rep.Findings {
		if g.Severity == tlsdiag.SeverityError && g.Evidence["inferred"] == true {
			return true
		}
	}
	return a.ServerName == "" && !cfg.SNI && net.ParseIP(cfg.Host) == nil && validationCauses[f.ID]
}

// followUp returns the report of the doctor's run for t and the symptom of a: kept from a
// run in the last TTL, awaited from one running, or started. It returns nil when no report
// came within Wait or ctx, or no run could start.
func (d *Diagnoser) followUp(ctx context.Context, t *Transport, a *tlsdiag.Attempt, quick *tlsdiag.Report) *tlsdiag.Report {
	key := t.key + "|" + symptom(a, quick)
	d.mu.Lock()
	now := d.o.Now()
	e, ok := d.entries[key]
	if ok && e.expired(now, d.o.TTL) {
		delete(d.entries, key)
		ok = false
	}
	switch {
	case ok:
		d.stats.FollowUpsShared++
	case d.ctx.Err() != nil || !d.makeRoom(now):
		d.stats.FollowUpsRefused++
		d.mu.Unlock()
		return nil
	default:
		e = &followUp{done: make(chan struct{})}
		d.entries[key] = e
		d.stats.FollowUps++
		d.wg.Add(1)
		go d.run(t, e)
	}
	d.mu.Unlock()

	timer := time.NewTimer(d.o.Wait)
	defer timer.Stop()
	select {
	case <-e.done:
		return e.report
	case <-ctx.Done():
	case <-timer.C:
	}
	d.mu.Lock()
	d.stats.FollowUpsAbandoned++
	d.mu.Unlock()
	return nil
}

// run is one follow-up: the doctor against t's backend, judged as t judges.
func (d *Diagnoser) run(t *Transport, e *followUp) {
	defer d.wg.Done()
	ctx, cancel := context.WithTimeout(d.ctx, d.o.Timeout)
	defer cancel()
	facts, err := probe.Run(ctx, probe.Config{
		Target:  t.cfg.Target,
		Address: t.cfg.Address,
		Expect:  t.cfg.doctorExpectations(),
		Timeout: d.o.Timeout,
		Dial:    t.dial,
		Now:     t.now,
		Logger:  t.log,
	})
	var rep *tlsdiag.Report
	if err == nil && ctx.Err() == nil {
		rep = t.report(facts)
	}
	id := ""
	if rep != nil {
		if f := firstError(rep); f != nil {
			id = f.ID
		}
	}
	d.log.Debug("outbound: follow-up diagnosis", "target", t.cfg.Target, "address", t.cfg.Address, "cause", id)
	d.mu.Lock()
	e.report = rep
	e.finished = d.o.Now()
	d.mu.Unlock()
	close(e.done)
}

// expired reports whether a finished follow-up is older than ttl. Called with d.mu held.
func (e *followUp) expired(now time.Time, ttl time.Duration) bool {
	select {
	case <-e.done:
		return now.Sub(e.finished) >= ttl
	default:
		return false
	}
}

// makeRoom evicts expired follow-ups and, when the cache is still full, the oldest finished
// one; it reports whether there is room for one more. Called with d.mu held.
func (d *Diagnoser) makeRoom(now time.Time) bool {
	if len(d.entries) < d.o.MaxEntries {
		return true
	}
	var oldest string
	var at time.Time
	for k, e := range d.entries {
		select {
		case <-e.done:
		default:
			continue
		}
		if e.expired(now, d.o.TTL) {
			delete(d.entries, k)
			continue
		}
		if oldest == "" || e.finished.Before(at) {
			oldest, at = k, e.finished
		}
	}
	if len(d.entries) >= d.o.MaxEntries && oldest != "" {
		delete(d.entries, oldest)
	}
	return len(d.entries) < d.o.MaxEntries
}

// symptom names how an attempt failed, so that a follow-up answers only failures alike.
func symptom(a *tlsdiag.Attempt, quick *tlsdiag.Report) string {
	s := a.Step + "|" + a.Closed
	if a.AlertReceived != nil {
		s += "|received " + a.AlertReceived.Name
	}
	if a.AlertSent != nil {
		s += "|sent " + a.AlertSent.Name
	}
	if f := firstError(quick); f != nil {
		s += "|" + f.ID
	}
	return s
}
