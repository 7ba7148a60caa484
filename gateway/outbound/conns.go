package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/gateway/clock"
	"github.com/tlsgate/tlsgate/gateway/h1"
)

// Limits of a Transport's own HTTP/1.1 exchanges.
const (
	maxIdleConns    = 1024             // idle connections kept per Transport
	idleConnTimeout = 90 * time.Second // an idle connection older than this is closed (default)
	// maxHeaderBytes bounds a response's header, as http.Transport's default does.
	maxHeaderBytes = 10 << 20
	// max1xx bounds the interim responses (100 Continue, 103 Early Hints) before the final one.
	max1xx = 5
)

// aLongTimeAgo is the deadline that makes a blocked read or write return at once.
var aLongTimeAgo = time.Unix(1, 0)

var errBodyClosed = errors.New("reading a closed response body")

// backendConn is one HTTP/1.1 connection to the backend with its buffers. One exchange at a
// time uses it; only its conn's Close and SetDeadline may be called from other goroutines.
type backendConn struct {
	conn  net.Conn
	br    *bufio.Reader // reads through the backendConn, bounded by rleft
	bw    *bufio.Writer // writes through the backendConn, which records werr
	info  *connInfo     // what the handshake showed; nil without TLS
	state *tls.ConnectionState
	abort func() // sets a deadline in the past: the request's context is done

	// writeTimeout bounds each write: a backend that stops reading (it answered early
	// and keeps the connection) cannot hold a request forever. aborted says abort ran,
	// so that a write deadline set after it does not undo it.
	writeTimeout time.Duration
	aborted      atomic.Bool

	// rdl and wdl are the read and write deadlines set last by the exchanges on the
	// connection (zero: none, or unknown); an equal one is not set again.
	rdl, wdl time.Time

	reused    bool // it served an exchange before
	idleSince time.Time
	werr      error // the first error writing to conn
	rleft     int64 // what may still be read: the header's limit while it is read
	peek      peeker
	head      []byte // the fields of the last plain answer (Answer.Fields)
}

// newBackendConn returns conn ready for exchanges; sock is the TCP connection under it.
func newBackendConn(conn, sock net.Conn, info *connInfo) *backendConn {
	c := &backendConn{conn: conn, info: info, rleft: math.MaxInt64}
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.state = &st
	}
	if tc, ok := sock.(*trackedConn); ok {
		sock = tc.Conn
	}
	c.peek.init(sock)
	c.br = bufio.NewReaderSize(c, 8<<10)
	c.bw = bufio.NewWriterSize(c, 4<<10)
	c.abort = func() {
		c.aborted.Store(true)
		c.conn.SetDeadline(aLongTimeAgo)
	}
	return c
}

func (c *backendConn) Read(p []byte) (int, error) {
	if c.rleft <= 0 {
		return 0, fmt.Errorf("response header larger than %d bytes", maxHeaderBytes)
	}
	if int64(len(p)) > c.rleft {
		p = p[:c.rleft]
	}
	n, err := c.conn.Read(p)
	c.rleft -= int64(n)
	return n, err
}

// readDeadline sets the connection's read deadline to d, unless it is d already.
func (c *backendConn) readDeadline(d time.Time) {
	if !d.Equal(c.rdl) {
		c.conn.SetReadDeadline(d)
		c.rdl = d
	}
}

func (c *backendConn) Write(p []byte) (int, error) {
	if c.writeTimeout > 0 {
		if d := clock.Deadline(c.writeTimeout); !d.Equal(c.wdl) {
			c.conn.SetWriteDeadline(d)
			c.wdl = d
		}
		if c.aborted.Load() {
			c.conn.SetDeadline(aLongTimeAgo)
		}
	}
	n, err := c.conn.Write(p)
	if err != nil && c.werr == nil {
		c.werr = err
	}
	return n, err
}

// connPool is a Transport's idle connections, the most recently used last. A timer,
// armed while it holds any, closes those idle for timeout.
type connPool struct {
	timeout time.Duration // set before first use

	mu    sync.Mutex
	idle  []*backendConn
	timer *time.Timer
	armed bool
}

// take returns the most recently used idle connection that can still carry a request (not
// idle for too long, nothing buffered since the last response), or nil. It closes those
// found unusable on the way. With probe, it also looks at the socket (a system call)
// for a close by the server: for a request that could not be sent again on a new
// connection if the server turned out to have closed this one.
func (p *connPool) take(probe bool) *backendConn {
	now := p.now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if now.Sub(c.idleSince) < p.timeout && c.br.Buffered() == 0 && (!probe || c.peek.quiet()) {
			return c
		}
		c.conn.Close()
	}
}

// now is the time for idle spans: coarse (up to a tick behind) for an idle timeout of at
// least clock.MinCoarse, which may then end up to a tick early or late.
func (p *connPool) now() time.Time {
	if p.timeout >= clock.MinCoarse {
		return clock.Coarse()
	}
	return time.Now()
}

// put makes c idle, closing the oldest idle connection when the pool is full.
func (p *connPool) put(c *backendConn) {
	c.reused, c.idleSince = true, p.now()
	var evicted *backendConn
	p.mu.Lock()
	if len(p.idle) == maxIdleConns {
		evicted = p.idle[0]
		p.idle = slices.Delete(p.idle, 0, 1)
	}
	p.idle = append(p.idle, c)
	if !p.armed {
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.timeout, p.sweep)
		} else {
			p.timer.Reset(p.timeout)
		}
	}
	p.mu.Unlock()
	if evicted != nil {
		evicted.conn.Close()
	}
}

// sweep closes the connections idle for timeout, and arms the timer for the next.
func (p *connPool) sweep() {
	now := time.Now()
	p.mu.Lock()
	k := 0
	for k < len(p.idle) && now.Sub(p.idle[k].idleSince) >= p.timeout {
		k++
	}
	stale := slices.Clone(p.idle[:k])
	p.idle = slices.Delete(p.idle, 0, k)
	if len(p.idle) > 0 {
		p.timer.Reset(p.idle[0].idleSince.Add(p.timeout).Sub(now))
	} else {
		p.armed = false
	}
	p.mu.Unlock()
	for _, c := range stale {
		c.conn.Close()
	}
}

// closeAll closes every idle connection.
func (p *connPool) closeAll() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if p.armed {
		p.timer.Stop()
		p.armed = false
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// dialConn opens a new connection to the backend, with the recording handshake when
// Config.TLS; its failures are diagnosed *Errors.
func (t *Transport) dialConn(ctx context.Context) (*backendConn, error) {
	if !t.cfg.TLS {
		conn, err := t.dialPlain(ctx, "tcp", "")
		if err != nil {
			return nil, err
		}
		c := newBackendConn(conn, conn, nil)
		c.writeTimeout = t.cfg.IOTimeout
		return c, nil
	}
	slot := &connSlot{}
	tc, info, err := t.handshake(ctx, slot)
	if err != nil {
		return nil, err
	}
	var sock net.Conn
	if slot.conn != nil {
		sock = slot.conn
	}
	c := newBackendConn(tc, sock, info)
	c.writeTimeout = t.cfg.IOTimeout
	return c, nil
}

// send performs req's exchange on the calling goroutine, on an idle connection or a new
// one. When a reused connection turns out closed by the server before any answer (it
// closed it while idle), a request that can be sent again is, once, on a new connection.
// It returns what the connection's handshake showed, and whether the connection was new.
func (t *Transport) send(req *http.Request) (*http.Response, *connInfo, bool, error) {
	ctx := req.Context()
	if ctx.Err() != nil {
		closeBody(req)
		return nil, nil, false, fmt.Errorf("sending the request to %s: %w", t.cfg.Address, ctx.Err())
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	c := t.idle.take(!replayable)
	if c == nil {
		var err error
		if c, err = t.dialConn(ctx); err != nil {
			closeBody(req)
			return nil, nil, true, err
		}
	}
	resp, closed, err := t.exchange(c, req)
	if closed && c.reused && ctx.Err() == nil {
		if again, ok := replay(req); ok {
			t.log.Debug("outbound: kept-alive connection closed by the backend; sending again on a new one",
				"target", t.cfg.Target, "address", t.cfg.Address, "error", err.Error())
			if c, err = t.dialConn(ctx); err != nil {
				closeBody(again)
				return nil, nil, true, err
			}
			resp, _, err = t.exchange(c, again)
		}
	}
	return resp, c.info, !c.reused, err
}

// replay returns req ready to be sent again, or false when its body cannot be.
func replay(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	again := req.WithContext(req.Context())
	again.Body = body
	return again, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// exchange writes req on c and reads the response's header; the response's body keeps c
// until it is read to the end or closed. On failure c is closed, and closed reports
// whether the connection broke before any byte of an answer (no timeout): the server
// closed it.
func (t *Transport) exchange(c *backendConn, req *http.Request) (resp *http.Response, closed bool, err error) {
	x := t.begin(req.Context(), c)
	c.werr = nil
	err = writeRequest(c.bw, req)
	if err == nil {
		err = c.bw.Flush()
	}
	what, closed, err := x.await(err)
	if err != nil {
		return nil, closed, err
	}
	resp, err = x.readResponse(req, what)
	return resp, false, err
}

// readResponse reads the answer to req on x's connection, its first byte there, with
// net/http: interim answers skipped, the body keeping the connection until it is read to
// the end or closed.
func (x *exchanging) readResponse(req *http.Request, what string) (resp *http.Response, err error) {
	c := x.c
	trace := httptrace.ContextClientTrace(x.ctx)
	for n := 0; ; n++ {
		if resp, err = http.ReadResponse(c.br, req); err != nil {
			return nil, x.broken(what, err)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if n == max1xx {
			return nil, x.broken(what, fmt.Errorf("more than %d interim responses", max1xx))
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, x.broken(what, err)
			}
		}
		c.rleft = maxHeaderBytes
	}
	if err := x.endHead(what, false); err != nil {
		return nil, err
	}
	resp.TLS = c.state
	b := &body{exchanging: *x, rc: resp.Body,
		reuse: c.werr == nil && !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols}
	if resp.Body == http.NoBody { // HEAD, 204, 304: the exchange is over
		b.release(bodyEOF)
	} else {
		resp.Body = b
	}
	return resp, nil
}

// The states of a response body.
const (
	bodyOpen   int32 = iota
	bodyEOF          // read to the end
	bodyClosed       // closed, or failed, before the end
)

// body is a response's body. Read to the end, it gives its connection back to the pool
// (when the exchange allows it); closed before, it closes the connection. Close may be
// called while a Read is blocked, and aborts it.
type body struct {
	exchanging
	rc    io.Reader
	reuse bool
	state atomic.Int32
}

func (b *body) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case bodyEOF:
		return 0, io.EOF
	case bodyClosed:
		return 0, errBodyClosed
	}
	n, err := b.rc.Read(p)
	switch {
	case err == io.EOF:
		b.release(bodyEOF)
	case err != nil:
		b.release(bodyClosed)
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
	}
	return n, err
}

func (b *body) Close() error {
	if l, ok := b.rc.(*lengthReader); ok && l.n == 0 {
		b.release(bodyEOF) // all read, or none to read: the connection can serve again
	} else {
		b.release(bodyClosed)
	}
	return nil
}

// release ends the exchange once: the connection goes back to the pool when the body was
// read to the end, the exchange allows it and the context's AfterFunc never ran.
func (b *body) release(to int32) {
	if !b.state.CompareAndSwap(bodyOpen, to) {
		return
	}
	if b.stop() && to == bodyEOF && b.reuse {
		b.t.idle.put(b.c)
		return
	}
	b.c.conn.Close()
}

// isUpgrade reports whether h asks for a protocol upgrade (Upgrade, with Connection:
// upgrade).
func isUpgrade(h http.Header) bool {
	_, ok := h["Upgrade"]
	return ok && h1.HasToken(h["Connection"], "upgrade")
}
