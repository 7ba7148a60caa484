package tcpflow

import (
	"net/netip"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// Options bound an Assembler. The zero value selects the defaults.
type Options struct {
	// MaxBufferedPerConn bounds the out-of-order bytes buffered for one
	// connection, both directions together; past it the oldest hole is
	// declared a Gap. Default 1 MiB.
	MaxBufferedPerConn int
	// IdleTimeout ends a connection that has seen no segment for this long
	// in capture time (not wall-clock time), and forgets a closed one.
	// Default 10 minutes; negative: never.
	IdleTimeout time.Duration
	// MaxConns bounds the open connections tracked at once; past it the
	// least recently active one is ended and forgotten. Default 65536.
	MaxConns int
}

// Default bounds.
const (
	DefaultMaxBufferedPerConn = 1 << 20
	DefaultIdleTimeout        = 10 * time.Minute
	DefaultMaxConns           = 1 << 16
)

// Closed connections are remembered, to absorb the packets that trail
// them, for closedLinger of capture time (or IdleTimeout if shorter), and
// at most maxClosed of them.
const (
	closedLinger = 15 * time.Second
	maxClosed    = 4096
)

// maxAckAhead bounds how far beyond the next expected byte an
// acknowledgment may point and still be believed.
const maxAckAhead = 1 << 30

// Stats counts what an Assembler saw.
type Stats struct {
	Packets   int64 // packets given to AddPacket
	Segments  int64 // TCP segments given to Add or decoded by AddPacket
	Conns     int64 // connections started
	Truncated int64 // segments cut by the snapshot length
	Fragments int64 // first IP fragments (the rest is not reassembled)
	Evicted   int64 // open connections ended for room (MaxConns)
	// NotTCP counts packets AddPacket could not decode as TCP, and
	// LinkTypes counts those by link type when it is one Decode does not
	// know.
	NotTCP    int64
	LinkTypes map[pcapfile.LinkType]int64
}

// Assembler reassembles the TCP connections of one capture. Its memory is
// bounded by the connections open at once (Options.MaxConns) and their
// out-of-order buffers (Options.MaxBufferedPerConn), not by the capture's
// size. It is not safe for concurrent use.
type Assembler struct {
	h     Handler
	opts  Options
	conns map[flowKey]*conn
	// Open and closed connections, each list from the most recently
	// active to the least, for eviction.
	open, closed connList
	maxClosed    int
	nextID       int
	stats        Stats
}

// flowKey is a direction of a connection; each connection is in the map
// under both of its directions.
type flowKey struct{ src, dst netip.AddrPort }

// conn is a connection and its reassembly state.
type conn struct {
	Conn
	h          ConnHandler
	half       [2]half
	buffered   int // bytes of out-of-order data held, both directions
	ignored    bool
	closed     bool
	lastNano   int64
	prev, next *conn
}

// half is the state of one direction's byte stream. Offsets count bytes
// from the stream's start (relative sequence number minus one).
type half struct {
	init    bool
	nextSeq uint32 // sequence number of the next byte expected
	next    int64  // its offset
	synSeen bool
	isn     uint32
	pending []chunk // out-of-order data: sorted, disjoint, all beyond next
	finSeen bool    // a FIN is known at finAt
	finAt   int64
	finDone bool // the FIN was delivered
	acked   bool // maxAck is valid
	maxAck  int64
}

// chunk is out-of-order data waiting for the bytes before it. It covers
// wire bytes from off; the first len(data) were captured, the rest were cut
// by the snapshot length.
type chunk struct {
	off  int64
	data []byte
	wire int
	time time.Time
}

func (c *chunk) end() int64 { return c.off + int64(c.wire) }

// NewAssembler returns an Assembler that tells h of each connection.
func NewAssembler(h Handler, opts Options) *Assembler {
	if opts.MaxBufferedPerConn <= 0 {
		opts.MaxBufferedPerConn = DefaultMaxBufferedPerConn
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	return &Assembler{h: h, opts: opts, conns: make(map[flowKey]*conn), maxClosed: maxClosed}
}

// Stats returns the counts so far.
func (a *Assembler) Stats() Stats {
	s := a.stats
	if s.LinkTypes != nil {
		s.LinkTypes = make(map[pcapfile.LinkType]int64, len(a.stats.LinkTypes))
		for k, v := range a.stats.LinkTypes {
			s.LinkTypes[k] = v
		}
	}
	return s
}

// Add adds a segment. Segments are expected in capture order.
func (a *Assembler) Add(s Segment) {
	a.stats.Segments++
	if s.Truncated {
		a.stats.Truncated++
	}
	if s.Fragment {
		a.stats.Fragments++
	}
	if s.PayloadLen < len(s.Payload) {
		s.PayloadLen = len(s.Payload)
	}
	now := s.Time.UnixNano()
	a.expire(now)
	pureSYN := s.Flags&(FlagSYN|FlagACK|FlagRST) == FlagSYN
	c := a.conns[flowKey{s.Src, s.Dst}]
	if c != nil && pureSYN && !c.sameSYN(s) {
		// Port reuse: a new connection on the same addresses and ports.
		a.forget(c)
		c = nil
	}
	if c == nil {
		c = a.start(s, pureSYN)
	}
	c.lastNano = now
	a.list(c).moveToFront(c)
	if c.closed {
		return // trailing packets of a closed connection
	}
	d := ClientToServer
	if s.Src != c.Client {
		d = ServerToClient
	}
	a.segment(c, d, s)
}

// segment processes s, sent in direction d of the open connection c.
func (a *Assembler) segment(c *conn, d Dir, s Segment) {
	c.Last = s.Time
	c.Packets[d]++
	h, peer := &c.half[d], &c.half[d.Reverse()]
	seq := s.Seq
	if s.Flags.Has(FlagSYN) && !s.Flags.Has(FlagRST) {
		c.SYN = true
		if !h.synSeen && (!h.init || h.next == 0) {
			h.synSeen, h.isn = true, s.Seq
			h.init, h.nextSeq, h.next = true, s.Seq+1, 0
		}
		if s.Flags.Has(FlagACK) && !peer.init {
			// The SYN-ACK acknowledges the client's SYN: the client's
			// stream starts there.
			peer.init, peer.nextSeq, peer.next = true, s.Ack, 0
		}
		seq++
	}
	if c.ignored {
		switch {
		case s.Flags.Has(FlagRST):
			c.RST[d] = true
			a.close(c)
		case s.Flags.Has(FlagFIN):
			c.FIN[d] = true
			if c.FIN[d.Reverse()] {
				a.close(c)
			}
		}
		return
	}
	if s.Flags.Has(FlagACK) && peer.init {
		// Bytes the receiver acknowledges were sent, captured or not.
		ack := peer.next + int64(int32(s.Ack-peer.nextSeq))
		if ack-peer.next < maxAckAhead && (!peer.acked || ack > peer.maxAck) {
			peer.acked, peer.maxAck = true, ack
		}
		if len(peer.pending) > 0 && ack > peer.next && ack-peer.next < maxAckAhead {
			// A hole the receiver has filled but the capture never will.
			a.skipTo(c, d.Reverse(), ack, s.Time)
		}
	}
	if s.Flags.Has(FlagRST) {
		c.RST[d] = true
		a.finish(c, d, s.Time)
		return
	}
	if !h.init {
		h.init, h.nextSeq, h.next = true, seq, 0
	}
	fin := s.Flags.Has(FlagFIN)
	if s.PayloadLen > 0 || fin {
		off := h.next + int64(int32(seq-h.nextSeq))
		a.data(c, d, off, s.Payload, s.PayloadLen, fin, s.Time)
	}
	if c.FIN[ClientToServer] && c.FIN[ServerToClient] {
		a.finish(c, -1, s.Time)
	}
}

// data takes wire bytes at offset off of direction d, of which data were
// captured, and a FIN after them when fin is set.
func (a *Assembler) data(c *conn, d Dir, off int64, data []byte, wire int, fin bool, t time.Time) {
	h := &c.half[d]
	if h.finDone {
		return
	}
	end := off + int64(wire)
	if fin && !h.finSeen {
		h.finSeen, h.finAt = true, end
		a.dropPast(c, h, end)
	}
	if h.finSeen && end > h.finAt {
		// Nothing follows a FIN.
		end = h.finAt
		if end < off {
			end = off
		}
		wire = int(end - off)
		if len(data) > wire {
			data = data[:wire]
		}
	}
	if off < h.next {
		// Already delivered, or declared missing: the first copy wins.
		k := h.next - off
		if k >= int64(wire) {
			wire = 0
		} else {
			if k >= int64(len(data)) {
				data = nil
			} else {
				data = data[k:]
			}
			wire -= int(k)
			off = h.next
		}
	}
	if wire > 0 {
		if off == h.next && len(h.pending) == 0 {
			a.deliver(c, d, data, wire, t)
		} else {
			a.insert(c, d, off, data, wire, t)
			a.drain(c, d)
			for c.buffered > a.opts.MaxBufferedPerConn && !c.closed {
				o := d
				if len(c.half[o].pending) == 0 {
					o = d.Reverse()
				}
				a.skipTo(c, o, c.half[o].pending[0].off, t)
			}
		}
	}
	a.checkFIN(c, d, t)
}

// dropPast forgets the buffered bytes at and past offset end: nothing
// follows a FIN.
func (a *Assembler) dropPast(c *conn, h *half, end int64) {
	for n := len(h.pending); n > 0 && h.pending[n-1].end() > end; n = len(h.pending) {
		p := &h.pending[n-1]
		if p.off >= end {
			c.buffered -= len(p.data)
			h.pending[n-1] = chunk{}
			h.pending = h.pending[:n-1]
			continue
		}
		p.wire = int(end - p.off)
		if len(p.data) > p.wire {
			c.buffered -= len(p.data) - p.wire
			p.data = p.data[:p.wire]
		}
	}
}

// deliver emits wire bytes at the direction's next offset, of which data
// were captured.
func (a *Assembler) deliver(c *conn, d Dir, data []byte, wire int, t time.Time) {
	h := &c.half[d]
	if len(data) > 0 {
		c.Bytes[d] += int64(len(data))
		c.h.Event(Event{Time: t, Dir: d, Kind: Data, Data: data, Offset: h.next})
	}
	if cut := wire - len(data); cut > 0 {
		c.Missing[d] += int64(cut)
		c.h.Event(Event{Time: t, Dir: d, Kind: Gap, GapLen: cut, Truncated: true, Offset: h.next + int64(len(data))})
	}
	h.next += int64(wire)
	h.nextSeq += uint32(wire)
}

// insert buffers the parts of wire bytes at off not already buffered: the
// first copy wins.
func (a *Assembler) insert(c *conn, d Dir, off int64, data []byte, wire int, t time.Time) {
	h := &c.half[d]
	end := off + int64(wire)
	cur := off
	for i := 0; cur < end; i++ {
		if i < len(h.pending) {
			p := &h.pending[i]
			if p.end() <= cur {
				continue
			}
			if p.off <= cur {
				cur = p.end()
				continue
			}
		}
		to := end
		if i < len(h.pending) && h.pending[i].off < to {
			to = h.pending[i].off
		}
		lo, hi := clamp(cur-off, len(data)), clamp(to-off, len(data))
		piece := chunk{off: cur, wire: int(to - cur), time: t}
		if hi > lo {
			piece.data = append([]byte(nil), data[lo:hi]...)
			c.buffered += hi - lo
		}
		h.pending = append(h.pending, chunk{})
		copy(h.pending[i+1:], h.pending[i:])
		h.pending[i] = piece
		cur = to
	}
}

func clamp(x int64, n int) int {
	if x < 0 {
		return 0
	}
	if x > int64(n) {
		return n
	}
	return int(x)
}

// drain delivers the buffered chunks that have become contiguous.
func (a *Assembler) drain(c *conn, d Dir) {
	h := &c.half[d]
	n := 0
	for n < len(h.pending) && h.pending[n].off <= h.next {
		p := h.pending[n]
		n++
		c.buffered -= len(p.data)
		if k := h.next - p.off; k > 0 {
			// Cannot happen while chunks stay beyond next; kept safe.
			if k >= int64(p.wire) {
				continue
			}
			p.data = p.data[clamp(k, len(p.data)):]
			p.wire -= int(k)
		}
		a.deliver(c, d, p.data, p.wire, p.time)
	}
	if n > 0 {
		rest := copy(h.pending, h.pending[n:])
		clear(h.pending[rest:])
		h.pending = h.pending[:rest]
	}
}

// skipTo declares missing the bytes of direction d before offset to that
// were not captured, delivering the buffered ones among them, then
// whatever has become contiguous.
func (a *Assembler) skipTo(c *conn, d Dir, to int64, t time.Time) {
	h := &c.half[d]
	if h.finSeen && to > h.finAt {
		to = h.finAt // the FIN's sequence number is no byte
	}
	for h.next < to {
		if len(h.pending) > 0 && h.pending[0].off <= h.next {
			a.drain(c, d)
			continue
		}
		gapEnd := to
		if len(h.pending) > 0 && h.pending[0].off < gapEnd {
			gapEnd = h.pending[0].off
		}
		n := gapEnd - h.next
		c.Missing[d] += n
		c.h.Event(Event{Time: t, Dir: d, Kind: Gap, GapLen: int(n), Offset: h.next})
		h.next = gapEnd
		h.nextSeq += uint32(n)
	}
	a.drain(c, d)
	a.checkFIN(c, d, t)
}

// checkFIN delivers direction d's FIN once the bytes before it were.
func (a *Assembler) checkFIN(c *conn, d Dir, t time.Time) {
	h := &c.half[d]
	if !h.finSeen || h.finDone || h.next < h.finAt || len(h.pending) > 0 && h.pending[0].off <= h.finAt {
		return
	}
	h.finDone = true
	c.FIN[d] = true
	if h.next == h.finAt {
		h.next++
		h.nextSeq++
	}
	c.h.Event(Event{Time: t, Dir: d, Kind: FIN, Offset: h.finAt})
}

// finish ends c: the buffered data of both directions is delivered with
// its holes declared, an RST from rst (when it is a direction) is
// reported, and the handler's End is called.
func (a *Assembler) finish(c *conn, rst Dir, t time.Time) {
	if c.closed {
		return
	}
	if !c.ignored {
		for _, d := range [2]Dir{ClientToServer, ServerToClient} {
			h := &c.half[d]
			if n := len(h.pending); n > 0 {
				a.skipTo(c, d, h.pending[n-1].end(), t)
			}
			switch {
			case h.finDone:
			case h.finSeen:
				// A hole before the FIN: declared, then the FIN.
				a.skipTo(c, d, h.finAt, t)
			case h.acked && h.maxAck > h.next+1:
				// Acknowledged but never captured; the last sequence
				// number may have been a FIN.
				missing := h.maxAck - h.next - 1
				c.Missing[d] += missing
				c.h.Event(Event{Time: t, Dir: d, Kind: Gap, GapLen: int(missing), Offset: h.next})
				h.next += missing
			}
		}
		if rst == ClientToServer || rst == ServerToClient {
			c.h.Event(Event{Time: t, Dir: rst, Kind: RST, Offset: c.half[rst].next})
		}
	}
	a.close(c)
}

// close calls End and releases c's buffers; c stays known, to absorb
// trailing packets.
func (a *Assembler) close(c *conn) {
	if c.closed {
		return
	}
	a.open.remove(c)
	c.closed = true
	a.closed.pushFront(c)
	for i := range c.half {
		c.half[i].pending = nil
	}
	c.buffered = 0
	if c.h != nil {
		c.h.End()
		c.h = nil
	}
}
