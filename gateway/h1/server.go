// Package h1 serves HTTP/1.1 on connections whose handshake is done, each from the
// goroutine that hands it over, with one buffered write per response.
//
// It exists for speed: net/http's server starts a goroutine per request to watch the
// client (a background read, stopped with two deadline changes) and writes a response's
// head and body separately when the handler flushes. A gateway's HTTP/1.1 connections are
// served here instead; HTTP/2 connections stay with net/http.
//
// Requests are parsed by http.ReadRequest and handed to an http.Handler with an
// http.ResponseWriter that also implements http.Flusher and http.Hijacker, so handlers
// such as httputil.ReverseProxy work unchanged. Keep-alive, HTTP/1.0, pipelining,
// "Expect: 100-continue", chunked and fixed-length bodies, HEAD, trailers and the limits
// of a server exposed to anyone (idle and read-header timeouts, header size) follow
// net/http's behaviour.
//
// A request's context is canceled when its connection closes, when the server shuts
// down, and when the client goes away while its request is served: a request still
// running after WatchAfter (its body read) gets a read of the connection in the
// background, as net/http does for every request.
package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/gateway/clock"
	"github.com/tlsgate/tlsgate/gateway/conntrack"
	"github.com/tlsgate/tlsgate/gateway/watch"
)

// Options are a Server's limits.
type Options struct {
	ReadHeaderTimeout time.Duration // from a request's first byte to the end of its head (10 s)
	IdleTimeout       time.Duration // between requests (60 s)
	MaxHeaderBytes    int           // request line and header (64 KiB)
	// ConnContext, if set, derives each connection's base context (as http.Server's).
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// Forward, if set, is offered each request head that is whole in the read buffer
	// before net/http parses it. When it answers the request (writing to Head.W, or with
	// Head.Serve) it returns true and the head is consumed; when it returns false, it
	// must have written nothing, and the request is read and served as usual. It is
	// called only by the connection's goroutine, with a read deadline still set (the idle
	// one when the head was whole in the buffer, else the read-header one).
	Forward func(h *Head) bool
	Logger  *slog.Logger // default: discard
}

// Server serves HTTP/1.1 connections with one handler. It is safe for concurrent use.
type Server struct {
	h http.Handler
	o Options

	conns conntrack.Set[*conn]
}

// NewServer returns a server for h.
func NewServer(h http.Handler, o Options) *Server {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{h: h, o: o}
}

// conn is one connection's state.
type conn struct {
	nc     net.Conn
	lr     limitedReader
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	tls    *tls.ConnectionState
	busy   atomic.Bool // a request is being read or served
	ctx    *watch.Context
	watch  watcher

	hijacked bool
	head     Head // offered to Options.Forward, one request at a time
	// rdl is the read deadline the connection's goroutine set last, when rdlSet: an equal
	// one is not set again.
	rdl    time.Time
	rdlSet bool
}

// cancel cancels the connection's context.
func (c *conn) cancel() { c.ctx.Cancel() }

// readDeadline sets the connection's read deadline to d, unless the connection's
// goroutine set it to d last. Only that goroutine calls it; a deadline set by another
// (the watcher's background read, Shutdown waking idle connections) is followed by one
// of the connection's own before the connection reads again.
func (c *conn) readDeadline(d time.Time) {
	if c.rdlSet && d.Equal(c.rdl) {
		return
	}
	_ = c.nc.SetReadDeadline(d)
	c.rdl, c.rdlSet = d, true
}

// headBuffered reports whether the read buffer holds a whole request head: reading it
// then needs no read deadline of its own.
func (c *conn) headBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// writeBufferSize lets a response head and a small body leave in one write, one TLS
// record.
const writeBufferSize = 8 << 10

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}
)

// ServeConn serves c until the client closes it, a limit is hit or the server shuts down,
// then closes it (unless a handler hijacked it). It returns when the connection is done.
func (s *Server) ServeConn(nc net.Conn) {
	c := &conn{nc: nc, remote: nc.RemoteAddr().String()}
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tls = &st
	}
	if !s.conns.Add(c) {
		nc.Close()
		return
	}
	defer s.conns.Remove(c)
	ctx := context.Background()
	if s.o.ConnContext != nil {
		ctx = s.o.ConnContext(ctx, nc)
	}
	c.ctx = watch.New(ctx)
	defer c.cancel()
	ctx = c.ctx

	c.lr = limitedReader{r: nc, n: -1}
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(&c.lr)
	c.bw = writers.Get().(*bufio.Writer)
	c.bw.Reset(nc)
	defer func() {
		if c.hijacked {
			return // the buffers went with the connection
		}
		c.br.Reset(nil)
		readers.Put(c.br)
		c.bw.Reset(nil)
		writers.Put(c.bw)
		nc.Close()
	}()
	w := &response{c: c}
	for {
		if !s.serveOne(ctx, c, w) || c.hijacked || s.conns.ShuttingDown() {
			return
		}
	}
}

// serveOne reads and answers one request; it reports whether the connection may carry
// another.
func (s *Server) serveOne(ctx context.Context, c *conn, w *response) bool {
	// Idle: wait for the first byte of the next request. What is read from here to the
	// end of the head counts against the header limit.
	c.lr.n = int64(s.o.MaxHeaderBytes) + 4096 // net/http's allowance for the request line
	c.readDeadline(clock.Deadline(s.o.IdleTimeout))
	if _, err := c.br.Peek(1); err != nil {
		return false
	}
	c.busy.Store(true)
	defer c.busy.Store(false)
	if s.conns.ShuttingDown() {
		return false
	}
	if !c.headBuffered() { // reading the head takes more than the buffer
		c.readDeadline(time.Now().Add(s.o.ReadHeaderTimeout))
	}
	if s.o.Forward != nil {
		if answered, keep := s.forward(ctx, c, w); answered {
			c.lr.n = -1
			if err := c.bw.Flush(); err != nil || !keep {
				return false
			}
			return true
		}
	}
	req, err := http.ReadRequest(c.br)
	tooBig := c.lr.n == 0
	c.lr.n = -1
	if err != nil {
		switch {
		case tooBig:
			c.answerError(http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large")
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isTimeout(err):
			// The client went away or stalled: nothing to answer.
		default:
			c.answerError(http.StatusBadRequest, "400 Bad Request")
		}
		return false
	}
	if req.Body != http.NoBody {
		c.readDeadline(time.Time{}) // bodies are read at the handler's pace
	}
	if msg := invalid(req); msg != "" {
		c.answerError(http.StatusBadRequest, "400 Bad Request: "+msg)
		return false
	}
	req.RemoteAddr = c.remote
	req.TLS = c.tls
	req = req.WithContext(ctx)
	body := &requestBody{ReadCloser: req.Body}
	req.Body = body
	if req.ProtoAtLeast(1, 1) && HasToken(req.Header["Expect"], "100-continue") && req.ContentLength != 0 {
		body.continueW = c.bw
	}
	w.reset(req)
	c.watch.arm(c, body)
	s.serveHTTP(s.h, w, req)
	if !c.watch.disarm(c) {
		return false
	}
	if c.hijacked {
		return false
	}
	keep := w.finish()
	if err := c.bw.Flush(); err != nil {
		return false
	}
	if !keep || req.Close {
		return false
	}
	if body.done() {
		return true
	}
	c.readDeadline(time.Now().Add(s.o.ReadHeaderTimeout))
	return body.drain()
}

// serveHTTP calls h, turning a panic into a closed connection as net/http does
// (http.ErrAbortHandler silently).
func (s *Server) serveHTTP(h http.Handler, w *response, req *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			w.broken = true
			if v != http.ErrAbortHandler {
				s.o.Logger.Error("h1: handler panic", "client", req.RemoteAddr, "path", req.URL.Path, "panic", v)
			}
		}
	}()
	h.ServeHTTP(w, req)
}

// invalid returns why a parsed request cannot be served, or "".
func invalid(req *http.Request) string {
	hosts, haveHost := req.Header["Host"]
	switch {
	case req.ProtoAtLeast(1, 1) && !haveHost && req.Host == "":
		return "missing required Host header"
	case len(hosts) > 1:
		return "too many Host headers"
	case req.ProtoMajor != 1:
		return "unsupported protocol version"
	}
	if exp := req.Header["Expect"]; len(exp) > 0 && !(len(exp) == 1 && strings.EqualFold(exp[0], "100-continue")) {
		return "unsupported Expect header"
	}
	return ""
}

// answerError writes a plain-text error and the end of the connection.
func (c *conn) answerError(status int, text string) {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	WriteStatusLine(c.bw, "HTTP/1.1", status)
	c.bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")
	c.bw.WriteString(text)
	_ = c.bw.Flush()
	c.linger()
}

// lingerTime and lingerBytes bound what is read of a client's request after an error
// answer, before closing.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 1 << 20
)

// linger ends the writing side and reads what the client still sends, for a while,
// before the connection closes: closing a socket with unread input resets the
// connection, and the reset can destroy the answer before the client reads it (nginx's
// lingering close, net/http's closeWriteAndWait).
func (c *conn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	c.readDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.nc, lingerBytes)
}

// Shutdown stops taking connections, closes the idle ones, lets each busy one finish its
// request, and waits for them until ctx ends; then it closes what is left and returns
// ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	done := s.conns.Shutdown()
	if done == nil {
		return nil
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.closeIdle()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle wakes the connections waiting for a request: their read fails at once.
func (s *Server) closeIdle() {
	s.conns.Each(func(c *conn) {
		if !c.busy.Load() {
			_ = c.nc.SetReadDeadline(time.Unix(1, 0))
		}
	})
}

// Close closes every connection now.
func (s *Server) Close() {
	s.conns.Close(func(c *conn) {
		c.nc.Close()
		c.cancel()
	})
}

// WatchAfter is how long a request runs before its connection is watched for the
// client going away.
const WatchAfter = time.Second

// watcher reads the connection in the background while a long request is served, to
// cancel the connection's context when the client closes it. A byte it reads (the start
// of a pipelined request) is handed back to the connection's reader.
type watcher struct {
	timer *time.Timer
	body  atomic.Pointer[requestBody]
	// ignore is how many buffered bytes belong to the request being served (a head the
	// fast path answers before consuming it); more means the client sent its next request.
	ignore int
	mu     sync.Mutex
	state  int // idle, armed, reading
	done   chan struct{}
	got    [1]byte
	n      int
	err    error
}

const (
	watchIdle = iota
	watchArmed
	watchReading
)

// arm starts the timer for a request whose body is b.
func (w *watcher) arm(c *conn, b *requestBody) {
	w.body.Store(b)
	w.mu.Lock()
	w.state = watchArmed
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(WatchAfter, func() { w.fire(c) })
	} else {
		w.timer.Reset(WatchAfter)
	}
}

// fire starts the background read, unless the request ended or the handler may still
// read its body.
func (w *watcher) fire(c *conn) {
	b := w.body.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != watchArmed || b == nil || !b.done() || c.br.Buffered() > w.ignore {
		return
	}
	w.state = watchReading
	w.done = make(chan struct{})
	// The idle or read-header deadline may still be set. (Under w.mu: disarm sets its own
	// after.)
	_ = c.nc.SetReadDeadline(time.Time{})
	go func() {
		n, err := c.lr.r.Read(w.got[:])
		w.n, w.err = n, err
		if n == 0 && err != nil && !isTimeout(err) {
			c.cancel() // the client went away
		}
		close(w.done)
	}()
}

// disarm stops the watch at the end of a request; it reports whether the connection can
// carry another.
func (w *watcher) disarm(c *conn) bool {
	w.timer.Stop()
	w.body.Store(nil)
	w.mu.Lock()
	state := w.state
	w.state = watchIdle
	w.mu.Unlock()
	if state != watchReading {
		return true
	}
	c.rdlSet = false // the background read set its own
	c.readDeadline(time.Unix(1, 0))
	<-w.done
	if w.n > 0 {
		c.lr.unread = append(c.lr.unread, w.got[0])
		return true
	}
	return isTimeout(w.err)
}

// limitedReader reads from r, at most n bytes when n >= 0; bytes in unread come first.
type limitedReader struct {
	r      io.Reader
	n      int64
	unread []byte
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if len(l.unread) > 0 && len(p) > 0 {
		if l.n == 0 {
			return 0, errHeaderTooLarge
		}
		n := copy(p, l.unread)
		l.unread = l.unread[n:]
		if l.n > 0 {
			l.n -= int64(n)
		}
		return n, nil
	}
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var errHeaderTooLarge = errors.New("h1: request header too large")

// requestBody is a request's body: it answers "100 Continue" at the first read when the
// client asked, and knows whether it was read to the end.
type requestBody struct {
	io.ReadCloser
	continueW *bufio.Writer
	eof       bool
	closed    bool
	finished  atomic.Bool // read to the end, or nothing to read
}

// done reports whether the body holds nothing more to read (safe from any goroutine).
func (b *requestBody) done() bool { return b.finished.Load() || b.ReadCloser == http.NoBody }

func (b *requestBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.continueW != nil {
		b.continueW.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		err := b.continueW.Flush()
		b.continueW = nil
		if err != nil {
			return 0, err
		}
	}
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
		b.finished.Store(true)
	}
	return n, err
}

func (b *requestBody) Close() error {
	b.closed = true
	return nil
}

// maxDrain is how much of a body the handler left unread is read to keep the connection.
const maxDrain = 256 << 10

// drain reads what the handler left of the body and reports whether the connection can
// carry the next request. A client still waiting for "100 Continue" never sent the body:
// the connection closes.
func (b *requestBody) drain() bool {
	if b.eof || b.ReadCloser == http.NoBody {
		return true
	}
	if b.continueW != nil {
		return false
	}
	n, err := io.CopyN(io.Discard, b.ReadCloser, maxDrain+1)
	return err == io.EOF && n <= maxDrain
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
