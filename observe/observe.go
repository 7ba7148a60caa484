// Package observe records what the gateway does: message IDs, the access log (JSON lines),
// the findings of failed handshakes kept by message ID, and counters.
package observe

import (
	"bufio"
	"encoding/hex"
	"io"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// NewMessageID returns a unique message ID: "tg-" and 24 hex digits (time then random),
// so IDs sort roughly by time.
func NewMessageID(now time.Time) string {
	var b [12]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	r := rand.Uint64() // IDs need to be unique, not secret
	for i := 6; i < 12; i++ {
		b[i] = byte(r)
		r >>= 8
	}
	var out [3 + 2*len(b)]byte
	copy(out[:], "tg-")
	hex.Encode(out[3:], b[:])
	return string(out[:])
}

// TLSLeg is the TLS of one side of a proxied request.
type TLSLeg struct {
	Version string `json:"version,omitempty"`
	Suite   string `json:"suite,omitempty"`
	SNI     string `json:"sni,omitempty"`
}

// AccessRecord is one line of the access log.
type AccessRecord struct {
	Time        time.Time `json:"time"`
	MessageID   string    `json:"messageid"`
	Client      string    `json:"client"`
	Org         string    `json:"org,omitempty"`
	Env         string    `json:"env,omitempty"`
	VirtualHost string    `json:"virtualhost,omitempty"`
	Proxy       string    `json:"proxy,omitempty"`
	Target      string    `json:"target,omitempty"` // target server name or URL host
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Proto       string    `json:"proto"`
	Status      int       `json:"status"`
	FaultCode   string    `json:"fault_code,omitempty"`
	FaultSource string    `json:"fault_source,omitempty"` // "target", "proxy" or "router"
	Cause       string    `json:"cause,omitempty"`
	ClientTLS   *TLSLeg   `json:"client_tls,omitempty"`
	TargetTLS   *TLSLeg   `json:"target_tls,omitempty"`
	BytesSent   int64     `json:"bytes_sent"`
	TotalMillis float64   `json:"total_ms"`
	// TargetMillis is the time from sending the request to the target until its response
	// headers arrived (0 when the target was not reached).
	TargetMillis float64 `json:"target_ms,omitempty"`
}

// AccessLog writes access records as JSON lines through a buffer, flushed at least every
// FlushEvery and by Flush and Close. It is safe for concurrent use.
type AccessLog struct {
	mu     sync.Mutex
	w      io.Writer
	buf    *bufio.Writer
	line   []byte // the record being written, reused
	times  timeCache
	stop   chan struct{}
	closed bool
}

// FlushEvery bounds how long a record waits in the access log's buffer.
const FlushEvery = 200 * time.Millisecond

// NewAccessLog writes to w; a nil w discards.
func NewAccessLog(w io.Writer) *AccessLog {
	if w == nil {
		w = io.Discard
	}
	l := &AccessLog{w: w, buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{})}
	go l.flusher()
	return l
}

func (l *AccessLog) flusher() {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Write appends one record.
func (l *AccessLog) Write(r *AccessRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = append(r.appendJSON(l.line[:0], &l.times), '\n')
	if l.closed {
		_, _ = l.w.Write(l.line)
		return
	}
	_, _ = l.buf.Write(l.line)
}

// Flush writes what the buffer holds.
func (l *AccessLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.buf.Flush()
}

// Close flushes and stops the background flushing; later records are written directly.
func (l *AccessLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.stop)
		_ = l.buf.Flush()
	}
}

// Finding is what the gateway keeps of one failed request: the cause, and for outbound
// handshake failures the engine's full report (evidence, fixes).
type Finding struct {
	MessageID   string          `json:"messageid"`
	Time        time.Time       `json:"time"`
	Direction   string          `json:"direction"` // "inbound" or "outbound"
	Org         string          `json:"org,omitempty"`
	Env         string          `json:"env,omitempty"`
	VirtualHost string          `json:"virtualhost,omitempty"`
	Proxy       string          `json:"proxy,omitempty"`
	Target      string          `json:"target,omitempty"`
	Client      string          `json:"client,omitempty"`
	Cause       string          `json:"cause"`
	Title       string          `json:"title,omitempty"`
	Detail      string          `json:"detail,omitempty"`
	Fix         []string        `json:"fix,omitempty"`
	Report      *tlsdiag.Report `json:"report,omitempty"`
	Node        string          `json:"node,omitempty"` // the gateway node that served the request, in a cluster
}

// Findings keeps the latest findings by message ID, at most a fixed number (the oldest
// go first). It is safe for concurrent use.
type Findings struct {
	// Node, when set before use, is stamped on every finding put without one: the
	// gateway node keeping them, in a cluster.
	Node  string
	mu    sync.Mutex
	max   int
	byID  map[string]*Finding
	order []string // ring of IDs
	next  int
}

// NewFindings keeps at most max findings (10000 when max <= 0).
func NewFindings(max int) *Findings {
	if max <= 0 {
		max = 10000
	}
	return &Findings{max: max, byID: map[string]*Finding{}, order: make([]string, 0, min(max, 1024))}
}

// Put records f under f.MessageID.
func (s *Findings) Put(f *Finding) {
	if f.Node == "" {
		f.Node = s.Node
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[f.MessageID]; ok {
		s.byID[f.MessageID] = f
		return
	}
	if len(s.order) < s.max {
		s.order = append(s.order, f.MessageID)
	} else {
		delete(s.byID, s.order[s.next])
		s.order[s.next] = f.MessageID
		s.next = (s.next + 1) % s.max
	}
	s.byID[f.MessageID] = f
}

// Get returns the finding of a message ID.
func (s *Findings) Get(id string) (*Finding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.byID[id]
	return f, ok
}

// Recent returns up to n findings, newest first.
func (s *Findings) Recent(n int) []*Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Finding, 0, min(n, len(s.order)))
	for i := 0; i < len(s.order) && len(out) < n; i++ {
		// newest is just before next (once full), or at the end (while filling)
		idx := len(s.order) - 1 - i
		if len(s.order) == s.max {
			idx = (s.next - 1 - i + 2*s.max) % s.max
		}
		if f, ok := s.byID[s.order[idx]]; ok {
			out = append(out, f)
		}
	}
	return out
}

// Counters are named monotonic counts (requests by status, faults by code, failures by
// cause). It is safe for concurrent use.
type Counters struct {
	mu sync.Mutex
	m  map[string]int64
}

// Inc adds one to name.
func (c *Counters) Inc(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[name]++
}

// Snapshot returns a copy of every count.
func (c *Counters) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}
