package tcpflow

import (
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
	// MaxConns bounds the connections tracked at once, open or recently
	// closed; past it the least recently active one is ended and
	// forgotten. Default 65536.
	MaxConns int
}

// Default bounds.
const (
	DefaultMaxBufferedPerConn = 1 << 20
	DefaultIdleTimeout        = 10 * time.Minute
	DefaultMaxConns           = 1 << 16
)

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
	h    Handler
	opts Options
}

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
	return &Assembler{h: h, opts: opts}
}

// Add adds a segment, in capture order.
func (a *Assembler) Add(s Segment) {
	// TODO: reassembly.
}

// Flush ends every open connection, as at the end of the capture.
func (a *Assembler) Flush() {
}

// Stats returns the counts so far.
func (a *Assembler) Stats() Stats {
	return Stats{}
}
