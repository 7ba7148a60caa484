package outbound

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// ErrNoActiveTargets is Pick's error when every member is out of rotation (Edge's
// messaging.adaptors.http.flow.NoActiveTargets).
var ErrNoActiveTargets = errors.New("no active targets: every target server is out of rotation")

// Load balancing algorithms (Edge's <Algorithm>). Weighted is taken as RoundRobin.
const (
	RoundRobin       = "RoundRobin"
	LeastConnections = "LeastConnections"
	Weighted         = "Weighted"
)

// DefaultCheckInterval is the health monitor's interval when Run is given none.
const DefaultCheckInterval = 5 * time.Second

// Member is one target server of a Pool.
type Member struct {
	Name      string
	Transport *Transport
}

// MemberStatus is what a Pool knows of one member.
type MemberStatus struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// Active is false while the member is out of rotation.
	Active bool `json:"active"`
	// Failures is the number of consecutive failures counted.
	Failures int `json:"failures"`
	// LastCause, LastReport and LastError are those of the last failure counted or health
	// check failed: the cause ID ("" when the failure has no diagnosis, such as a response
	// that did not come in time), the report, and the error's text.
	LastCause  string          `json:"lastCause,omitempty"`
	LastReport *tlsdiag.Report `json:"lastReport,omitempty"`
	LastError  string          `json:"lastError,omitempty"`
	// LastChecked is when the health monitor last checked the member (zero: never).
	LastChecked time.Time `json:"lastChecked,omitzero"`
}

// Pool is Edge's LoadBalancer over target servers: it picks members in turn, takes a member
// out of rotation after MaxFailures consecutive failures to reach it, and, while Run runs,
// checks the members out of rotation and brings each back when its check succeeds. It is
// safe for concurrent use.
type Pool struct {
	least       bool
	maxFailures int
	log         *slog.Logger

	mu      sync.Mutex
	members []*member
	next    int
}

type member struct {
	Member
	active      bool
	failures    int
	inflight    int
	lastCause   string
	lastReport  *tlsdiag.Report
	lastError   string
	lastChecked time.Time
}

// NewPool returns a pool over members, all in rotation. algorithm is RoundRobin (also ""),
// LeastConnections or Weighted (taken as RoundRobin); maxFailures 0 never takes a member
// out. The pool logs through the first member's transport's logger.
func NewPool(members []Member, algorithm string, maxFailures int) *Pool {
	p := &Pool{
		least:       strings.EqualFold(algorithm, LeastConnections),
		maxFailures: max(maxFailures, 0),
		log:         slog.New(slog.DiscardHandler),
	}
	for _, m := range members {
		p.members = append(p.members, &member{Member: m, active: true})
		if m.Transport != nil && len(p.members) == 1 {
			p.log = m.Transport.log
		}
	}
	return p
}

// Pick returns the next member in rotation (RoundRobin), or the one with the fewest
// requests in flight (LeastConnections, ties in turn), or ErrNoActiveTargets. Every Pick
// must be followed by Done.
func (p *Pool) Pick() (*Member, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.members)
	best := -1
	for i := range n {
		j := (p.next + i) % n
		m := p.members[j]
		if !m.active {
			continue
		}
		if !p.least {
			best = j
			break
		}
		if best < 0 || m.inflight < p.members[best].inflight {
			best = j
		}
	}
	if best < 0 {
		return nil, ErrNoActiveTargets
	}
	p.next = best + 1
	m := p.members[best]
	m.inflight++
	return &m.Member, nil
}

// Done reports the outcome of a request sent to m, as Pick returned it. As Edge counts
// towards MaxFailures, a failure is an *Error: no connection, a failed handshake, a
// timeout; any HTTP response (5xx included) is a success, and a canceled request counts
// neither way. A success resets the count; MaxFailures consecutive failures take m out of
// rotation.
func (p *Pool) Done(m *Member, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pm := p.find(m)
	if pm == nil {
		return
	}
	if pm.inflight > 0 {
		pm.inflight--
	}
	if err == nil {
		pm.failures = 0
		return
	}
	e := AsError(err)
	if e == nil {
		return
	}
	pm.failures++
	pm.lastCause, _ = e.Cause()
	pm.lastReport, pm.lastError = e.Report, e.Error()
	if p.maxFailures > 0 && pm.failures >= p.maxFailures && pm.active {
		pm.active = false
		p.log.Warn("outbound: max failure count reached: target server out of rotation",
			"member", pm.Name, "failures", pm.failures, "cause", pm.lastCause)
	}
}

func (p *Pool) find(m *Member) *member {
	for _, pm := range p.members {
		if &pm.Member == m {
			return pm
		}
	}
	return nil
}

// Status returns what the pool knows of each member, in the order given to NewPool.
func (p *Pool) Status() []MemberStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]MemberStatus, 0, len(p.members))
	for _, m := range p.members {
		s := MemberStatus{
			Name: m.Name, Active: m.active, Failures: m.failures,
			LastCause: m.lastCause, LastReport: m.lastReport, LastError: m.lastError, LastChecked: m.lastChecked,
		}
		if m.Transport != nil {
			s.Address = m.Transport.cfg.Address
		}
		out = append(out, s)
	}
	return out
}

// Run is the health monitor: every interval (DefaultCheckInterval when not positive) it
// checks each member out of rotation, concurrently, with a new TLS handshake and a GET /
// (Transport.Check), keeps the diagnosis of a failed check, and returns a member whose
// check succeeds to rotation. It returns when ctx ends, after the checks under way.
func (p *Pool) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.checkAll(ctx)
		}
	}
}

// checkAll checks every member out of rotation and waits for the checks.
func (p *Pool) checkAll(ctx context.Context) {
	p.mu.Lock()
	var out []*member
	for _, m := range p.members {
		if !m.active && m.Transport != nil {
			out = append(out, m)
		}
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range out {
		wg.Go(func() { p.check(ctx, m) })
	}
	wg.Wait()
}

func (p *Pool) check(ctx context.Context, m *member) {
	t := m.Transport
	cctx, cancel := context.WithTimeout(ctx, t.cfg.ConnectTimeout+t.cfg.IOTimeout)
	defer cancel()
	err := t.Check(cctx)
	if ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m.lastChecked = t.now()
	if err == nil {
		m.active, m.failures = true, 0
		p.log.Info("outbound: health check passed: target server back in rotation", "member", m.Name)
		return
	}
	m.lastCause, m.lastReport, m.lastError = "", nil, err.Error()
	if e := AsError(err); e != nil {
		m.lastCause, _ = e.Cause()
		m.lastReport = e.Report
	}
	p.log.Debug("outbound: health check failed", "member", m.Name, "cause", m.lastCause, "error", m.lastError)
}
