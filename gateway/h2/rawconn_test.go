package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// frame is a frame the server sent, copied out of the Framer.
type frame struct {
	typ      http2.FrameType
	stream   uint32
	end      bool // END_STREAM on DATA and HEADERS, ACK on SETTINGS and PING
	data     []byte
	fields   []hpack.HeaderField
	bad      string // why the Framer rejected a header block
	code     http2.ErrCode
	last     uint32
	incr     uint32
	settings []http2.Setting
}

func (f frame) String() string {
	s := fmt.Sprintf("%v[%d]", f.typ, f.stream)
	if f.end {
		s += " end/ack"
	}
	switch f.typ {
	case http2.FrameData:
		s += fmt.Sprintf(" %d bytes", len(f.data))
	case http2.FrameHeaders:
		s += fmt.Sprintf(" %v%s", f.fields, f.bad)
	case http2.FrameRSTStream:
		s += " " + f.code.String()
	case http2.FrameGoAway:
		s += fmt.Sprintf(" %v last=%d %q", f.code, f.last, f.data)
	case http2.FrameWindowUpdate:
		s += fmt.Sprintf(" +%d", f.incr)
	case http2.FrameSettings:
		s += fmt.Sprint(" ", f.settings)
	}
	return s
}

// rawStream is what the server sent on one stream.
type rawStream struct {
	header, trailer []hpack.HeaderField
	interim         int
	body            []byte
	ended, reset    bool
	code            http2.ErrCode
	types           []http2.FrameType
	bad             string
}

func (s *rawStream) status() string {
	for _, f := range s.header {
		if f.Name == ":status" {
			return f.Value
		}
	}
	return ""
}

func (s *rawStream) done() bool { return s.ended || s.reset }

// rawConn is an HTTP/2 client connection driven frame by frame. A goroutine reads the
// server's frames, acknowledging its SETTINGS and PINGs; the test consumes them with
// until, which records what arrived per stream.
type rawConn struct {
	t      *testing.T
	nc     net.Conn
	scheme string

	wmu        sync.Mutex
	w          *http2.Framer
	prefaced   bool // the client preface has been sent: SETTINGS may be acknowledged
	pendingAck bool

	enc  *hpack.Encoder
	hbuf bytes.Buffer

	frames  chan frame
	stop    chan struct{}
	readErr error // set before frames is closed

	first       *frame
	gotSettings bool // the server's SETTINGS arrived
	settings    map[http2.SettingID]uint32
	acks        int
	pings       [][8]byte
	goaway      *frame
	closed      bool
	connWU      int64
	streams     map[uint32]*rawStream
	log         []string
	pingSeq     uint64
}

// dialRaw connects to ts (over TLS with ALPN h2 if ts serves TLS) and starts reading;
// it sends nothing.
func dialRaw(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if ts.tls {
		tc := tls.Client(nc, &tls.Config{RootCAs: certs().pool, ServerName: "localhost", NextProtos: []string{"h2"}})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			t.Fatal(err)
		}
		nc, scheme = tc, "https"
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	rc := &rawConn{t: t, nc: nc, scheme: scheme, frames: make(chan frame, 1024), stop: make(chan struct{}),
		settings: map[http2.SettingID]uint32{}, streams: map[uint32]*rawStream{}}
	rc.w = http2.NewFramer(nc, nil)
	rc.w.AllowIllegalWrites = true
	rc.enc = hpack.NewEncoder(&rc.hbuf)
	r := http2.NewFramer(nil, nc)
	r.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	go rc.read(r)
	t.Cleanup(func() { close(rc.stop); nc.Close() })
	return rc
}

func (rc *rawConn) read(r *http2.Framer) {
	defer close(rc.frames)
	for {
		fr, err := r.ReadFrame()
		var f frame
		var se http2.StreamError
		switch {
		case errors.As(err, &se):
			f = frame{typ: http2.FrameHeaders, stream: se.StreamID, bad: " rejected: " + err.Error()}
		case err != nil:
			rc.readErr = err
			return
		default:
			h := fr.Header()
			f = frame{typ: h.Type, stream: h.StreamID}
			switch fr := fr.(type) {
			case *http2.DataFrame:
				f.data, f.end = bytes.Clone(fr.Data()), fr.StreamEnded()
			case *http2.MetaHeadersFrame:
				f.fields, f.end = append([]hpack.HeaderField(nil), fr.Fields...), fr.StreamEnded()
			case *http2.RSTStreamFrame:
				f.code = fr.ErrCode
			case *http2.GoAwayFrame:
				f.code, f.last, f.data = fr.ErrCode, fr.LastStreamID, bytes.Clone(fr.DebugData())
			case *http2.WindowUpdateFrame:
				f.incr = fr.Increment
			case *http2.PingFrame:
				f.data, f.end = bytes.Clone(fr.Data[:]), fr.IsAck()
				if !fr.IsAck() {
					rc.write(func(w *http2.Framer) error { return w.WritePing(true, fr.Data) })
				}
			case *http2.SettingsFrame:
				f.end = fr.IsAck()
				fr.ForeachSetting(func(s http2.Setting) error { f.settings = append(f.settings, s); return nil })
				if !fr.IsAck() {
					rc.write(func(w *http2.Framer) error {
						if !rc.prefaced {
							rc.pendingAck = true
							return nil
						}
						return w.WriteSettingsAck()
					})
				}
			}
		}
		select {
		case rc.frames <- f:
		case <-rc.stop:
			return
		}
	}
}

// write runs fn with the connection's writer.
func (rc *rawConn) write(fn func(w *http2.Framer) error) error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	return fn(rc.w)
}

// must is write, failing the test on an error.
func (rc *rawConn) must(fn func(w *http2.Framer) error) {
	rc.t.Helper()
	if err := rc.write(fn); err != nil {
		rc.t.Fatalf("writing to the server: %v", err)
	}
}

func (rc *rawConn) writeRaw(s string) {
	rc.t.Helper()
	rc.must(func(*http2.Framer) error { _, err := io.WriteString(rc.nc, s); return err })
}

// preface sends the client preface and a SETTINGS frame with settings.
func (rc *rawConn) preface(settings ...http2.Setting) {
	rc.t.Helper()
	rc.must(func(w *http2.Framer) error {
		if _, err := io.WriteString(rc.nc, http2.ClientPreface); err != nil {
			return err
		}
		if err := w.WriteSettings(settings...); err != nil {
			return err
		}
		rc.prefaced = true
		if rc.pendingAck {
			rc.pendingAck = false
			return w.WriteSettingsAck()
		}
		return nil
	})
}

// connect dials ts and completes the preface exchange: the server's SETTINGS have
// arrived and it has acknowledged the client's.
func connect(t *testing.T, ts *testServer, settings ...http2.Setting) *rawConn {
	t.Helper()
	rc := dialRaw(t, ts)
	rc.preface(settings...)
	rc.until("the server's SETTINGS and its ACK of ours", func() bool { return rc.gotSettings && rc.acks > 0 })
	if v, ok := rc.settings[http2.SettingHeaderTableSize]; ok && v < 4096 {
		rc.enc.SetMaxDynamicTableSizeLimit(v)
	}
	return rc
}

func (rc *rawConn) stream(id uint32) *rawStream {
	s := rc.streams[id]
	if s == nil {
		s = &rawStream{}
		rc.streams[id] = s
	}
	return s
}

func (rc *rawConn) process(f frame) {
	rc.log = append(rc.log, f.String())
	if rc.first == nil {
		rc.first = &f
	}
	switch f.typ {
	case http2.FrameSettings:
		if f.end {
			rc.acks++
		} else {
			rc.gotSettings = true
		}
		for _, s := range f.settings {
			rc.settings[s.ID] = s.Val
		}
	case http2.FramePing:
		if f.end && len(f.data) == 8 {
			rc.pings = append(rc.pings, [8]byte(f.data))
		}
	case http2.FrameGoAway:
		rc.goaway = &f
	case http2.FrameWindowUpdate:
		if f.stream == 0 {
			rc.connWU += int64(f.incr)
		}
	case http2.FrameHeaders, http2.FrameData, http2.FrameRSTStream:
		s := rc.stream(f.stream)
		s.types = append(s.types, f.typ)
		switch {
		case f.typ == http2.FrameRSTStream:
			s.reset, s.code = true, f.code
		case f.typ == http2.FrameData:
			s.body = append(s.body, f.data...)
		case f.bad != "":
			s.bad = f.bad
		case s.header == nil:
			st := (&rawStream{header: f.fields}).status()
			if len(st) == 3 && st[0] == '1' {
				s.interim++
			} else {
				s.header = f.fields
			}
		default:
			s.trailer = f.fields
		}
		s.ended = s.ended || f.end
	}
}

// next processes the next frame, waiting up to d; it reports whether one came.
func (rc *rawConn) next(d time.Duration) bool {
	if rc.closed {
		return false
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, ok := <-rc.frames:
		if !ok {
			rc.closed = true
			rc.log = append(rc.log, fmt.Sprintf("(closed: %v)", rc.readErr))
			return false
		}
		rc.process(f)
		return true
	case <-timer.C:
		return false
	}
}

func (rc *rawConn) history() string {
	l := rc.log[max(0, len(rc.log)-25):]
	return "\n\t" + strings.Join(l, "\n\t")
}

// until processes frames until cond holds; it fails the test if the connection closes
// first or 5 s pass.
func (rc *rawConn) until(what string, cond func() bool) {
	rc.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if rc.closed {
			rc.t.Fatalf("waiting for %s: the connection closed; frames received:%s", what, rc.history())
		}
		left := time.Until(deadline)
		if left <= 0 {
			rc.t.Fatalf("waiting for %s: nothing after 5 s; frames received:%s", what, rc.history())
		}
		rc.next(left)
	}
}

// quiet processes whatever arrives during d.
func (rc *rawConn) quiet(d time.Duration) {
	deadline := time.Now().Add(d)
	for left := d; left > 0 && !rc.closed; left = time.Until(deadline) {
		rc.next(left)
	}
}

// sync sends a PING and waits for its ACK: the server has read all that came before.
func (rc *rawConn) sync() {
	rc.t.Helper()
	rc.pingSeq++
	var data [8]byte
	copy(data[:], fmt.Sprintf("sync%04d", rc.pingSeq))
	rc.must(func(w *http2.Framer) error { return w.WritePing(false, data) })
	rc.until("a PING ACK", func() bool { return rc.hasPing(data) })
}

func (rc *rawConn) hasPing(data [8]byte) bool {
	for _, p := range rc.pings {
		if p == data {
			return true
		}
	}
	return false
}

// block encodes a header block from name, value pairs.
func (rc *rawConn) block(fields ...string) []byte {
	rc.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		rc.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(rc.hbuf.Bytes())
}

func (rc *rawConn) headers(id uint32, end bool, fields ...string) {
	rc.t.Helper()
	b := rc.block(fields...)
	rc.must(func(w *http2.Framer) error {
		return w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true})
	})
}

// req returns the pseudo-header fields of a request followed by extra.
func (rc *rawConn) req(method, path string, extra ...string) []string {
	return append([]string{":method", method, ":scheme", rc.scheme, ":authority", "localhost", ":path", path}, extra...)
}

func (rc *rawConn) get(id uint32, path string, extra ...string) {
	rc.t.Helper()
	rc.headers(id, true, rc.req("GET", path, extra...)...)
}

// response waits for stream id to end or be reset.
func (rc *rawConn) response(id uint32) *rawStream {
	rc.t.Helper()
	s := rc.stream(id)
	rc.until(fmt.Sprintf("the end of stream %d", id), s.done)
	return s
}

// expectOK sends GET /ok on stream id and expects 200 "ok".
func (rc *rawConn) expectOK(id uint32) {
	rc.t.Helper()
	rc.get(id, "/ok")
	if s := rc.response(id); s.reset || s.status() != "200" || string(s.body) != "ok" {
		rc.t.Fatalf("GET /ok on stream %d: status %q, body %q, reset %v %v; want 200 \"ok\"; frames:%s", id, s.status(), s.body, s.reset, s.code, rc.history())
	}
}

// expectReset waits for RST_STREAM with code on stream id.
func (rc *rawConn) expectReset(id uint32, code http2.ErrCode) {
	rc.t.Helper()
	s := rc.stream(id)
	rc.until(fmt.Sprintf("RST_STREAM on stream %d", id), func() bool { return s.done() || rc.goaway != nil })
	if !s.reset && rc.goaway == nil {
		rc.sync() // a response may precede the reset
	}
	if !s.reset || s.code != code {
		rc.t.Fatalf("stream %d: reset %v (%v), status %q; want RST_STREAM %v; frames:%s", id, s.reset, s.code, s.status(), code, rc.history())
	}
}

// expectGoAway waits for GOAWAY with code, then for the connection to close.
func (rc *rawConn) expectGoAway(code http2.ErrCode) {
	rc.t.Helper()
	rc.until("GOAWAY", func() bool { return rc.goaway != nil || rc.closed })
	if rc.goaway == nil {
		rc.t.Fatalf("the connection closed without GOAWAY; want GOAWAY %v; frames:%s", code, rc.history())
	}
	if rc.goaway.code != code {
		rc.t.Errorf("GOAWAY %v; want %v; frames:%s", rc.goaway.code, code, rc.history())
	}
	rc.closeWrite()
	rc.until("the connection to close after GOAWAY", func() bool { return rc.closed })
}

// closeWrite ends the client's side of the connection, as a client does after GOAWAY:
// the server need not wait for more before it closes.
func (rc *rawConn) closeWrite() {
	rc.write(func(*http2.Framer) error {
		if cw, ok := rc.nc.(interface{ CloseWrite() error }); ok {
			return cw.CloseWrite()
		}
		return nil
	})
}

// rawHandler serves /ok ("ok"), /hello ("hello" with X-A: 1), /empty (no body),
// /read (reads the body, answers its length) and /hold (does not read the body; answers
// "held" once g opens, or returns when the request's context ends).
func rawHandler(g *gate) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hello":
			w.Header().Set("X-A", "1")
			// Fields HTTP/2 forbids or that are invalid: none may be sent.
			for k, v := range map[string]string{"Connection": "close", "Keep-Alive": "timeout=5", "Transfer-Encoding": "chunked",
				"Upgrade": "h2c", "Proxy-Connection": "x", "Te": "gzip", "X-Bad": "a\x01b", "X-Bad Name": "1"} {
				w.Header()[k] = []string{v}
			}
			io.WriteString(w, "hello")
		case "/empty":
		case "/read":
			b, err := io.ReadAll(r.Body)
			if err == nil {
				fmt.Fprint(w, len(b))
			}
		case "/hold":
			select {
			case <-g.ch:
				io.WriteString(w, "held")
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, "ok")
		}
	})
}
