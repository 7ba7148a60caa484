package capture

import (
	"bufio"
	"bytes"
	"cmp"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
	"github.com/tlsgate/tlsgate/tlsdiag/capture/tcpflow"
)

// Options say how a capture is read.
type Options struct {
	// Keys decrypt TLS 1.3 handshakes; nil: none are decrypted.
	Keys *KeyLog
	// Filter, when set, keeps only the connections it returns true for.
	Filter func(client, server netip.AddrPort) bool
	// Flow bounds the TCP reassembly.
	Flow tcpflow.Options
	// Progress, when set, is called now and then with the bytes of the file read and its
	// size.
	Progress func(done, total int64)
	// Workers judge connections in parallel; 0 means GOMAXPROCS.
	Workers int
	// Render, when set, is called by the workers with each judged connection, in parallel,
	// and what it returns is kept in Result.Output: the dear part of writing a report
	// runs on every core, and the results still come out in order.
	Render func(*Result) ([]byte, error)
}

// Result is one judged connection.
type Result struct {
	*Connection
	// Report is the engine's verdict; nil when the handshake cannot be judged.
	Report *tlsdiag.Report
	// Seq numbers the connections kept, from 1, in the order they started.
	Seq int
	// Output is what Options.Render made of the result, and Err its error.
	Output []byte
	Err    error
}

// Summary counts what a capture held.
type Summary struct {
	// Connections counts the TCP connections kept by the filter, TLS those whose client
	// spoke TLS; Other counts the others by the protocol they spoke, Empty those that
	// carried no data at all.
	Connections, TLS int
	Other            map[string]int
	Empty            int
	// Flow is what the TCP reassembly saw.
	Flow tcpflow.Stats
	// EmbeddedKeys counts the connections whose secrets the capture itself holds, in
	// pcapng Decryption Secrets Blocks (editcap --inject-secrets).
	EmbeddedKeys int
}

// embeddedKeys returns the key log of the Decryption Secrets Blocks that come before the
// first packet of a pcapng file, where editcap --inject-secrets writes them; nil when
// there are none (always, for pcap), or the file cannot be read (ReadFile says why).
func embeddedKeys(path string) *KeyLog {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	r, err := pcapfile.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil
	}
	r.Next() // reads the blocks before the first packet
	var k *KeyLog
	for _, s := range pcapfile.Secrets(r) {
		if s.Type != pcapfile.SecretsTLSKeyLog || len(s.Data) > MaxKeyLogSize {
			continue
		}
		if more, err := ParseKeyLog(bytes.NewReader(s.Data)); err == nil {
			k = more.merge(k)
		}
	}
	return k
}

// maxPending bounds the judged connections held back to keep the start order; past it,
// the earliest ones are emitted and a connection still open since before them comes
// later, out of order.
const maxPending = 4096

// ReadFile reads the capture at path, judges each connection with j, and calls out with
// each one that carried TLS, in the order the connections started. Memory is bounded by
// the connections open at once. When the capture turns out truncated or corrupted part
// way, the connections read so far are still judged and given to out, and the error
// (wrapping pcapfile.ErrTruncated or pcapfile.ErrMalformed) is returned; an error that out
// returns stops nothing, and is returned too.
func ReadFile(path string, opts Options, j *Judge, out func(*Result) error) (*Summary, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sum := &Summary{Other: map[string]int{}}
	if embedded := embeddedKeys(path); embedded.Len() > 0 {
		sum.EmbeddedKeys = embedded.Len()
		opts.Keys = embedded.merge(opts.Keys)
	}
	ended := make(chan *Result, 4*workers)
	judged := make(chan *Result, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range ended {
				if r.Connection != nil {
					r.Report = j.Report(r.Connection)
					if opts.Render != nil {
						r.Output, r.Err = opts.Render(r)
					}
				}
				judged <- r
			}
		})
	}
	var outErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		outErr = emitInOrder(judged, out)
	}()
	h := &handler{opts: opts, sum: sum, ended: ended}
	stats, err := tcpflow.ReadFileStats(path, h, opts.Flow, opts.Progress)
	close(ended)
	wg.Wait()
	close(judged)
	<-done
	sum.Flow = stats
	if err == nil {
		err = outErr
	}
	return sum, err
}

// emitInOrder calls out with results in the order of Seq, holding back at most
// maxPending of them.
func emitInOrder(in <-chan *Result, out func(*Result) error) error {
	var first error
	emit := func(r *Result) {
		if err := out(r); err != nil && first == nil {
			first = err
		}
	}
	pending := map[int]*Result{}
	next := 1
	for r := range in {
		if r.Seq < next {
			emit(r) // released late, after maxPending
			continue
		}
		pending[r.Seq] = r
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if p.Connection != nil {
				emit(p)
			}
		}
		if len(pending) > maxPending {
			seqs := make([]int, 0, len(pending))
			for s := range pending {
				seqs = append(seqs, s)
			}
			slices.Sort(seqs)
			for _, s := range seqs[:len(seqs)/2] {
				if p := pending[s]; p.Connection != nil {
					emit(p)
				}
				delete(pending, s)
				next = s + 1
			}
		}
	}
	rest := make([]*Result, 0, len(pending))
	for _, p := range pending {
		rest = append(rest, p)
	}
	slices.SortFunc(rest, func(a, b *Result) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, p := range rest {
		if p.Connection != nil {
			emit(p)
		}
	}
	return first
}

// handler is the tcpflow.Handler of ReadFile.
type handler struct {
	opts  Options
	sum   *Summary
	ended chan<- *Result
	seq   int
}

// Start implements tcpflow.Handler.
func (h *handler) Start(c *tcpflow.Conn) tcpflow.ConnHandler {
	if h.opts.Filter != nil && !h.opts.Filter(c.Client, c.Server) {
		return nil
	}
	h.seq++
	return &connHandler{h: h, flow: c, seq: h.seq, c: newConn(c.First, h.opts.Keys)}
}

// connHandler feeds one connection's events to a conn.
type connHandler struct {
	h    *handler
	flow *tcpflow.Conn
	seq  int
	c    *conn
}

// Event implements tcpflow.ConnHandler.
func (ch *connHandler) Event(e tcpflow.Event) {
	side := Client
	if e.Dir == tcpflow.ServerToClient {
		side = Server
	}
	switch e.Kind {
	case tcpflow.Data:
		ch.c.data(e.Time, side, e.Data)
	case tcpflow.Gap:
		ch.c.gap(e.Time, side, e.GapLen, e.Truncated)
	case tcpflow.FIN:
		ch.c.closed(e.Time, side, false)
	case tcpflow.RST:
		ch.c.closed(e.Time, side, true)
	}
}

// End implements tcpflow.ConnHandler: the connection is finished and sent to be judged;
// one that carried no TLS is only counted.
func (ch *connHandler) End() {
	conn := ch.c.finish(ch.flow.Client.String(), ch.flow.Server.String())
	ch.c = nil
	s := ch.h.sum
	s.Connections++
	r := &Result{Seq: ch.seq}
	switch {
	case conn.TLS:
		s.TLS++
		r.Connection = conn
	case conn.Protocol != "":
		s.Other[conn.Protocol]++
	default:
		s.Empty++
	}
	ch.h.ended <- r // a nil Connection keeps the order moving
}
