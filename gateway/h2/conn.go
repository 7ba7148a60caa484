package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tlsgate/tlsgate/gateway/clock"
)

// The windows the server grants: per stream, and for the connection as a whole. The
// connection's bounds what a client can make it buffer of request bodies.
const (
	streamWindow = 256 << 10
	connWindow   = 1 << 20
	// creditMin is the least credit returned in one WINDOW_UPDATE (unless a stream ends).
	creditMin = 16 << 10
	// maxQueued bounds the frames waiting for the connection: a handler that would queue
	// more waits for them to be written.
	maxQueued = 256 << 10
	// maxControl bounds the control frames (ACKs, RST_STREAM, WINDOW_UPDATE) queued
	// without being written: a client that makes the server answer faster than it reads
	// is disconnected.
	maxControl = 10000
	// lingerTime is how long a connection ending with a GOAWAY waits for the client to
	// close first, so that what was sent is not lost to a reset.
	lingerTime = time.Second
)

var clientPreface = []byte(http2.ClientPreface)

// conn is one connection's state. The reader goroutine (serve) reads frames and starts
// a handler goroutine per stream; frames are written by whichever goroutine finds the
// connection free (see flushLocked), from the queue out.
type conn struct {
	s      *Server
	nc     net.Conn
	tls    *tls.ConnectionState
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	rfr    *http2.Framer // reads; only the reader uses it

	mu   sync.Mutex
	cond *sync.Cond // windows opened, frames written, streams reset, the connection closed

	// Writing, under mu.
	out      []byte        // frames queued
	spare    []byte        // the other buffer: out is swapped with it for each write
	wfr      *http2.Framer // writes into out
	henc     *hpack.Encoder
	hbuf     bytes.Buffer
	flushing bool  // a goroutine is writing out
	werr     error // the connection cannot be written any more
	control  int   // control frames queued since the last write
	wdl      time.Time
	sendWin  int32 // the connection's send window
	initWin  int32 // the client's initial stream window
	maxFrame uint32

	// Streams, under mu.
	streams   map[uint32]*stream
	lastID    uint32 // the highest stream the client opened
	running   int    // handlers running
	refused   int    // streams refused while handlers ran, less those finished since
	recvWin   int32  // what the client may still send on the connection
	credit    int32  // connection window consumed and not yet returned
	goingAway bool   // a GOAWAY was sent: no new streams
	// resetIDs are the streams reset last by the server: frames the client sent on them
	// before it learned of the reset are ignored (RFC 9113 §5.4.2).
	resetIDs  [64]uint32
	resetNext int
}

// forgetID records that the server dropped stream id: what the client sends on it
// later is ignored.
func (c *conn) forgetID(id uint32) {
	c.resetIDs[c.resetNext] = id
	c.resetNext = (c.resetNext + 1) % len(c.resetIDs)
}

// wasReset reports whether the server reset stream id lately.
func (c *conn) wasReset(id uint32) bool {
	for _, r := range c.resetIDs {
		if r == id {
			return true
		}
	}
	return false
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, tls: tlsState(nc), remote: nc.RemoteAddr().String(),
		streams: map[uint32]*stream{}, sendWin: 65535, initWin: 65535, maxFrame: 16384, recvWin: connWindow}
	c.cond = sync.NewCond(&c.mu)
	ctx := context.Background()
	if s.o.ConnContext != nil {
		ctx = s.o.ConnContext(ctx, nc)
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.rfr = http2.NewFramer(nil, nc)
	c.rfr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	// The Framer decodes header lists up to four times the limit (and ends the
	// connection beyond); onHeaders answers those over the limit with 431.
	c.rfr.MaxHeaderListSize = uint32(4*s.o.MaxHeaderBytes + 320)
	c.rfr.SetReuseFrames()
	c.wfr = http2.NewFramer(queue{c}, nil)
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

// serve reads the connection until it ends.
func (c *conn) serve() {
	defer func() {
		if p := recover(); p != nil {
			c.s.o.Logger.Error("http2: connection reader panicked", "remote", c.remote, "panic", fmt.Sprint(p))
		}
		c.close()
	}()
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.o.PrefaceTimeout))
	var pre [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(c.nc, pre[:]); err != nil || !bytes.Equal(pre[:], clientPreface) {
		c.s.o.Logger.Debug("http2: no client preface", "remote", c.remote)
		return
	}
	c.mu.Lock()
	c.wfr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.s.o.MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.s.o.MaxHeaderBytes)},
	)
	c.wfr.WriteWindowUpdate(0, connWindow-65535)
	c.flushAsyncLocked()
	c.mu.Unlock()

	f, err := c.rfr.ReadFrame()
	if err != nil {
		c.readError(err)
		return
	}
	if _, ok := f.(*http2.SettingsFrame); !ok || f.Header().Flags.Has(http2.FlagSettingsAck) {
		c.goAway(http2.ErrCodeProtocol, errors.New("the first frame is not SETTINGS"))
		return
	}
	c.idleDeadline()
	for {
		if err := c.handle(f); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.goAway(http2.ErrCode(ce), err)
				return
			}
			var se http2.StreamError
			if errors.As(err, &se) {
				c.resetStream(se.StreamID, se.Code)
			} else {
				c.goAway(http2.ErrCodeInternal, err)
				return
			}
		}
		if c.done() {
			return
		}
		if f, err = c.next(); err != nil {
			c.readError(err)
			return
		}
	}
}

// next reads the next frame. A frame the Framer read whole but rejected for its stream
// only (a HEADERS with an invalid field, a WINDOW_UPDATE of 0) resets that stream: the
// connection goes on to the frame after it.
func (c *conn) next() (http2.Frame, error) {
	for {
		f, err := c.rfr.ReadFrame()
		var se http2.StreamError
		if err == nil || !errors.As(err, &se) || se.StreamID%2 == 0 {
			return f, err
		}
		c.mu.Lock()
		c.lastID = max(c.lastID, se.StreamID)
		c.resetLocked(se.StreamID, se.Code)
		c.mu.Unlock()
	}
}

// readError ends the connection after a failed read: a protocol error gets a GOAWAY; a
// closed connection or a timeout ends it as it is.
func (c *conn) readError(err error) {
	var ce http2.ConnectionError
	var se http2.StreamError
	switch {
	case errors.As(err, &ce):
		c.goAway(http2.ErrCode(ce), err)
	case errors.As(err, &se):
		// A frame the Framer rejected for one stream only: it is out of step with the
		// stream, but not with the connection.
		c.goAway(http2.ErrCodeProtocol, err)
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAway(http2.ErrCodeFrameSize, err)
	case isTimeout(err):
		c.mu.Lock()
		idle := c.running == 0 && len(c.streams) == 0
		c.mu.Unlock()
		if idle {
			c.goAway(http2.ErrCodeNo, nil)
		}
	}
}

// done reports whether the reader should stop: the connection is going away and no
// stream is left.
func (c *conn) done() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goingAway && len(c.streams) == 0 && c.running == 0 || c.werr != nil
}

// handle acts on one frame.
func (c *conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.PingFrame:
		if f.StreamID != 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if !f.IsAck() {
			c.mu.Lock()
			c.wfr.WritePing(true, f.Data)
			c.controlLocked()
			c.mu.Unlock()
		}
	case *http2.RSTStreamFrame:
		return c.onReset(f)
	case *http2.PriorityFrame:
		if f.StreamID == 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
	case *http2.GoAwayFrame:
		c.goAway(http2.ErrCodeNo, nil)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case *http2.ContinuationFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // the Framer joins those that follow a HEADERS
	}
	return nil // unknown frame types are ignored
}

func (c *conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int32(s.Val) - c.initWin
			for _, st := range c.streams {
				if !addWindow(&st.sendWin, delta) {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
			c.initWin = int32(s.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = s.Val
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.wfr.WriteSettingsAck()
	c.controlLocked()
	c.cond.Broadcast()
	return nil
}

// addWindow adds delta to a send window, reporting false when it would pass 2^31-1.
func addWindow(w *int32, delta int32) bool {
	n := int64(*w) + int64(delta)
	if n > 1<<31-1 {
		return false
	}
	*w = int32(n)
	return true
}

func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		if f.Increment == 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if !addWindow(&c.sendWin, int32(f.Increment)) {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.cond.Broadcast()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
		}
		return nil
	}
	if f.Increment == 0 {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
	}
	if !addWindow(&st.sendWin, int32(f.Increment)) {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	c.cond.Broadcast()
	return nil
}

func (c *conn) onReset(f *http2.RSTStreamFrame) error {
	if f.StreamID == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.streams[f.StreamID]
	if st == nil {
		if f.StreamID > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		return nil
	}
	st.abortLocked(errStreamReset, false)
	return nil
}

func (c *conn) onData(f *http2.DataFrame) error {
	id, n := f.StreamID, int32(f.Length)
	if id == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > c.recvWin {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWin -= n
	st := c.streams[id]
	if st == nil || st.remoteDone || st.reset {
		c.creditLocked(nil, n) // not delivered: the connection's window comes back at once
		if id > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if st != nil && st.reset || st == nil && c.wasReset(id) {
			return nil // frames in flight when the stream was reset
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if n > st.recvWin {
		c.creditLocked(nil, n)
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWin -= n
	data := f.Data()
	if pad := n - int32(len(data)); pad > 0 {
		c.creditLocked(st, pad)
	}
	st.received += int64(len(data))
	if st.declared >= 0 && st.received > st.declared {
		c.creditLocked(nil, int32(len(data)))
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if st.bodyClosed {
		c.creditLocked(st, int32(len(data)))
	} else {
		st.body = append(st.body, data...)
	}
	if f.StreamEnded() {
		if st.declared >= 0 && st.received != st.declared {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		st.endRemoteLocked()
	}
	c.cond.Broadcast()
	return nil
}

// creditLocked returns n bytes of window: to the connection, and to st unless nil or
// done. WINDOW_UPDATEs go out once enough is owed.
func (c *conn) creditLocked(st *stream, n int32) {
	if n <= 0 || c.werr != nil {
		return
	}
	c.credit += n
	c.recvWin += n
	if c.credit >= creditMin {
		c.wfr.WriteWindowUpdate(0, uint32(c.credit))
		c.credit = 0
		c.controlLocked()
	}
	if st == nil || st.remoteDone || st.reset {
		return
	}
	st.credit += n
	st.recvWin += n
	if st.credit >= creditMin {
		c.wfr.WriteWindowUpdate(st.id, uint32(st.credit))
		st.credit = 0
		c.controlLocked()
	}
}

// resetStream sends RST_STREAM for stream id and ends it.
func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked(id, code)
}

func (c *conn) resetLocked(id uint32, code http2.ErrCode) {
	if c.werr != nil {
		return
	}
	c.wfr.WriteRSTStream(id, code)
	c.controlLocked()
	c.forgetID(id)
	if st := c.streams[id]; st != nil {
		st.abortLocked(errStreamReset, true)
	}
}

// controlLocked counts a control frame the reader queued, and makes sure it is written.
func (c *conn) controlLocked() {
	c.control++
	if c.control > maxControl {
		c.failLocked(errors.New("http2: too many control frames queued; the client does not read"))
		return
	}
	c.flushAsyncLocked()
}

// goAway sends GOAWAY with code: no stream after the last one begun is served. A code
// other than NO_ERROR (or an error) ends the connection now; NO_ERROR lets the streams
// begun finish.
func (c *conn) goAway(code http2.ErrCode, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil && code != http2.ErrCodeNo {
		c.s.o.Logger.Debug("http2: connection error", "remote", c.remote, "code", code.String(), "err", err.Error())
	}
	if !c.goingAway && c.werr == nil {
		c.goingAway = true
		var debug []byte
		if err != nil && code != http2.ErrCodeNo {
			debug = []byte(err.Error())
		}
		c.wfr.WriteGoAway(c.lastID, code, debug)
		c.flushAsyncLocked()
	}
	if code != http2.ErrCodeNo {
		c.endLocked()
	}
	if len(c.streams) == 0 && c.running == 0 {
		// Wake the reader, if it is waiting for a frame: nothing is left to read for.
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// endLocked stops every stream: the connection is ending.
func (c *conn) endLocked() {
	c.goingAway = true
	for _, st := range c.streams {
		st.abortLocked(errConnClosed, false)
	}
	_ = c.nc.SetReadDeadline(time.Now())
}

// close ends the connection once the reader is done: it waits for queued frames to be
// written (a GOAWAY last), lets the client close first for a moment, and closes.
func (c *conn) close() {
	c.mu.Lock()
	c.endLocked()
	for c.flushing {
		c.cond.Wait()
	}
	if len(c.out) > 0 && c.werr == nil {
		c.flushing = true
		c.writeLocked()
	}
	graceful := c.werr == nil
	c.werr = errConnClosed
	c.cond.Broadcast()
	c.mu.Unlock()
	c.cancel()
	if graceful {
		// Read (and drop) what the client still sends until it closes, for a moment.
		_ = c.nc.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
	}
	c.nc.Close()
}

// failLocked marks the connection broken: writes fail, streams end.
func (c *conn) failLocked(err error) {
	if c.werr == nil {
		c.werr = err
		c.s.o.Logger.Debug("http2: connection failed", "remote", c.remote, "err", err.Error())
	}
	c.endLocked()
	c.cond.Broadcast()
	c.nc.Close()
}

// flushLocked writes what is queued, unless another goroutine is writing: that one
// takes it along (it writes until the queue is empty), and the caller goes on. Called
// with mu held; mu is released while writing.
func (c *conn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if c.flushing || len(c.out) == 0 {
		return nil
	}
	c.flushing = true
	c.writeLocked()
	return c.werr
}

// flushAsyncLocked makes sure what is queued gets written without waiting for it: the
// goroutine writing takes it along, or a new one is started. The reader uses it so
// that it never waits on a client that does not read.
func (c *conn) flushAsyncLocked() {
	if c.flushing || c.werr != nil || len(c.out) == 0 {
		return
	}
	c.flushing = true
	go func() {
		c.mu.Lock()
		c.writeLocked()
		c.mu.Unlock()
	}()
}

// writeLocked writes out until it is empty; the caller has set flushing. mu is released
// during each write.
func (c *conn) writeLocked() {
	for len(c.out) > 0 && c.werr == nil {
		buf := c.out
		c.out = c.spare[:0]
		c.control = 0
		if d := clock.Deadline(c.s.o.WriteTimeout); !d.Equal(c.wdl) {
			_ = c.nc.SetWriteDeadline(d)
			c.wdl = d
		}
		c.mu.Unlock()
		_, err := c.nc.Write(buf)
		c.mu.Lock()
		c.spare = buf[:0]
		if err != nil {
			c.failLocked(err)
		}
		c.cond.Broadcast() // room in the queue
	}
	c.flushing = false
	c.cond.Broadcast()
}

// queue is the Framer's writer: it appends to the connection's queue (mu held).
type queue struct{ c *conn }

func (q queue) Write(p []byte) (int, error) {
	q.c.out = append(q.c.out, p...)
	return len(p), nil
}

// idleDeadline sets the read deadline for a connection without streams; the reader
// clears it when a stream begins.
func (c *conn) idleDeadline() {
	_ = c.nc.SetReadDeadline(clock.Deadline(c.s.o.IdleTimeout))
}

// aLongTimeAgo, as a deadline, wakes a goroutine blocked in a read.
var aLongTimeAgo = time.Unix(1, 0)

var (
	errStreamReset = errors.New("http2: stream reset")
	errConnClosed  = errors.New("http2: connection closed")
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
