package h2

import (
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

// TestSettingsAndPing: the server speaks first with SETTINGS advertising its stream
// limit, acknowledges the client's SETTINGS and answers PING with the same data.
func TestSettingsAndPing(t *testing.T) {
	for _, tc := range []struct{ option, want uint32 }{{7, 7}, {0, 100}} {
		ts := servePlain(t, rawHandler(nil), Options{MaxConcurrentStreams: tc.option})
		rc := dialRaw(t, ts)
		rc.preface()
		rc.until("the server's first frame", func() bool { return rc.first != nil })
		if f := rc.first; f.typ != http2.FrameSettings || f.end {
			t.Fatalf("first frame: %v; want SETTINGS (not an ACK)", f)
		}
		got := map[http2.SettingID]uint32{}
		for _, s := range rc.first.settings {
			got[s.ID] = s.Val
		}
		if v, ok := got[http2.SettingMaxConcurrentStreams]; !ok || v != tc.want {
			t.Errorf("MaxConcurrentStreams %d: SETTINGS %v; want MAX_CONCURRENT_STREAMS = %d", tc.option, rc.first.settings, tc.want)
		}
		if v, ok := got[http2.SettingEnablePush]; ok && v != 0 {
			t.Errorf("SETTINGS_ENABLE_PUSH = %d; a server may only send 0", v)
		}
		if v, ok := got[http2.SettingInitialWindowSize]; ok && v > 1<<31-1 {
			t.Errorf("SETTINGS_INITIAL_WINDOW_SIZE = %d is above 2^31-1", v)
		}
		rc.until("the ACK of our SETTINGS", func() bool { return rc.acks > 0 })
		data := [8]byte{'h', '2', 'p', 'i', 'n', 'g', '!', '!'}
		rc.must(func(w *http2.Framer) error { return w.WritePing(false, data) })
		rc.until("a PING ACK with our data", func() bool { return rc.hasPing(data) })
	}
}

// TestSimpleGET: a small response is HEADERS then DATA with END_STREAM; an empty one
// ends with the HEADERS (or an empty DATA); fields are lowercase, and those HTTP/2
// forbids (connection-specific, "te" but "trailers") or that are invalid are not sent.
func TestSimpleGET(t *testing.T) {
	ts := servePlain(t, rawHandler(nil), Options{})
	rc := connect(t, ts)
	rc.get(1, "/hello")
	s := rc.response(1)
	if s.reset || s.status() != "200" || string(s.body) != "hello" {
		t.Fatalf("GET /hello: status %q body %q reset %v; want 200 \"hello\"", s.status(), s.body, s.reset)
	}
	if fmt.Sprint(s.types) != "[HEADERS DATA]" {
		t.Errorf("GET /hello: frames %v; want [HEADERS DATA] with END_STREAM on the DATA;%s", s.types, rc.history())
	}
	var xa string
	for _, f := range s.header {
		switch f.Name {
		case "connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "x-bad", "x-bad name":
			t.Errorf("response field %q: the handler's connection-specific or invalid field was sent", f.Name)
		}
		if f.Name != strings.ToLower(f.Name) {
			t.Errorf("response field %q is not lowercase", f.Name)
		}
		if f.Name == "x-a" {
			xa = f.Value
		}
	}
	if xa != "1" {
		t.Errorf("x-a: %q; want \"1\" (fields %v)", xa, s.header)
	}
	rc.get(3, "/empty")
	s = rc.response(3)
	if s.reset || s.status() != "200" || len(s.body) != 0 {
		t.Fatalf("GET /empty: status %q body %q reset %v; want 200 and no body", s.status(), s.body, s.reset)
	}
	if ty := fmt.Sprint(s.types); ty != "[HEADERS]" && ty != "[HEADERS DATA]" {
		t.Errorf("GET /empty: frames %v; want HEADERS with END_STREAM (or an empty DATA ending it)", s.types)
	}
}

// TestBadPreface: a connection that does not start with the client preface is closed
// (with GOAWAY PROTOCOL_ERROR if any).
func TestBadPreface(t *testing.T) {
	t.Parallel() // the server lingers a moment for the client to close first
	ts := servePlain(t, rawHandler(nil), Options{})
	rc := dialRaw(t, ts)
	rc.writeRaw("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	rc.until("the connection to close", func() bool { return rc.closed })
	if rc.goaway != nil && rc.goaway.code != http2.ErrCodeProtocol {
		t.Errorf("GOAWAY %v; want PROTOCOL_ERROR", rc.goaway.code)
	}
}

// windows returns the server's connection and stream receive windows and its maximum
// frame size, as advertised so far.
func (rc *rawConn) windows() (conn, stream, frame int64) {
	rc.sync()
	conn, stream, frame = 65535+rc.connWU, 65535, 16384
	if v, ok := rc.settings[http2.SettingInitialWindowSize]; ok {
		stream = int64(v)
	}
	if v, ok := rc.settings[http2.SettingMaxFrameSize]; ok {
		frame = int64(v)
	}
	return conn, stream, frame
}

// sendData sends n bytes on stream id in frames of at most max bytes; it stops at the
// first write error (the server may close the connection before reading them all).
func (rc *rawConn) sendData(id uint32, n, max int64) {
	for n > 0 {
		k := min(n, max)
		if rc.write(func(w *http2.Framer) error { return w.WriteData(id, false, make([]byte, k)) }) != nil {
			return
		}
		n -= k
	}
}

// TestConnectionErrors: each violation ends the connection with GOAWAY and its code.
func TestConnectionErrors(t *testing.T) {
	cases := []struct {
		name     string
		noPrefix bool // send the preface alone, no SETTINGS
		send     func(t *testing.T, rc *rawConn)
		code     http2.ErrCode
	}{
		{"first frame not SETTINGS", true, func(t *testing.T, rc *rawConn) {
			rc.must(func(w *http2.Framer) error { return w.WritePing(false, [8]byte{}) })
		}, http2.ErrCodeProtocol},
		{"DATA on stream 0", false, func(t *testing.T, rc *rawConn) {
			rc.must(func(w *http2.Framer) error { return w.WriteData(0, false, []byte("x")) })
		}, http2.ErrCodeProtocol},
		{"HEADERS on an even stream", false, func(t *testing.T, rc *rawConn) {
			rc.get(2, "/ok")
		}, http2.ErrCodeProtocol},
		{"HEADERS on a lower stream id", false, func(t *testing.T, rc *rawConn) {
			rc.get(5, "/ok")
			rc.response(5)
			rc.get(3, "/ok")
		}, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE of 0 on the connection", false, func(t *testing.T, rc *rawConn) {
			rc.must(func(w *http2.Framer) error { return w.WriteWindowUpdate(0, 0) })
		}, http2.ErrCodeProtocol},
		{"connection window above 2^31-1", false, func(t *testing.T, rc *rawConn) {
			rc.must(func(w *http2.Framer) error { return w.WriteWindowUpdate(0, 1<<31-1) })
		}, http2.ErrCodeFlowControl},
		{"INITIAL_WINDOW_SIZE above 2^31-1", false, func(t *testing.T, rc *rawConn) {
			rc.must(func(w *http2.Framer) error {
				return w.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
			})
		}, http2.ErrCodeFlowControl},
		{"CONTINUATION without HEADERS", false, func(t *testing.T, rc *rawConn) {
			b := rc.block(rc.req("GET", "/ok")...)
			rc.must(func(w *http2.Framer) error { return w.WriteContinuation(1, true, b) })
		}, http2.ErrCodeProtocol},
		{"PUSH_PROMISE from the client", false, func(t *testing.T, rc *rawConn) {
			b := rc.block(rc.req("GET", "/ok")...)
			rc.must(func(w *http2.Framer) error {
				return w.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: b, EndHeaders: true})
			})
		}, http2.ErrCodeProtocol},
		{"DATA beyond the connection window", false, func(t *testing.T, rc *rawConn) {
			conn, stream, fmax := rc.windows()
			if conn > 16<<20 || conn/stream > 80 {
				t.Skipf("connection window %d, stream window %d: too large to overrun here", conn, stream)
			}
			// Each stream stays within its own window; together they exceed the
			// connection's by one byte.
			for id, left := uint32(1), conn+1; left > 0; id += 2 {
				rc.headers(id, false, rc.req("POST", "/hold")...)
				n := min(left, stream)
				rc.sendData(id, n, fmax)
				left -= n
			}
		}, http2.ErrCodeFlowControl},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			defer g.open()
			rc := dialRaw(t, servePlain(t, rawHandler(g), Options{}))
			if tc.noPrefix {
				rc.writeRaw(http2.ClientPreface)
			} else {
				rc.preface()
				rc.until("the server's SETTINGS and ACK", func() bool { return rc.gotSettings && rc.acks > 0 })
			}
			tc.send(t, rc)
			rc.expectGoAway(tc.code)
		})
	}
}

// TestStreamWindowOverrun: DATA beyond a stream's window is a FLOW_CONTROL_ERROR (of
// the stream or of the connection).
func TestStreamWindowOverrun(t *testing.T) {
	g := newGate()
	defer g.open()
	rc := connect(t, servePlain(t, rawHandler(g), Options{}))
	_, stream, fmax := rc.windows()
	if stream > 16<<20 {
		t.Skipf("stream window %d: too large to overrun here", stream)
	}
	rc.headers(1, false, rc.req("POST", "/hold")...)
	rc.sendData(1, stream+1, fmax)
	s := rc.stream(1)
	rc.until("RST_STREAM or GOAWAY", func() bool { return s.done() || rc.goaway != nil || rc.closed })
	switch {
	case rc.goaway != nil:
		if rc.goaway.code != http2.ErrCodeFlowControl {
			t.Errorf("GOAWAY %v; want FLOW_CONTROL_ERROR", rc.goaway.code)
		}
	case s.reset:
		if s.code != http2.ErrCodeFlowControl {
			t.Errorf("RST_STREAM %v; want FLOW_CONTROL_ERROR", s.code)
		}
	default:
		t.Errorf("want RST_STREAM or GOAWAY FLOW_CONTROL_ERROR; frames:%s", rc.history())
	}
}

// TestStreamErrors: a malformed request or a stream-level violation resets the stream
// with its code, and the connection serves the next stream.
func TestStreamErrors(t *testing.T) {
	cases := []struct {
		name string
		send func(rc *rawConn) // on stream 1
		code http2.ErrCode     // 0: the request succeeds
	}{
		{"missing :path", func(rc *rawConn) {
			rc.headers(1, true, ":method", "GET", ":scheme", rc.scheme, ":authority", "localhost")
		}, http2.ErrCodeProtocol},
		{"missing :method", func(rc *rawConn) {
			rc.headers(1, true, ":scheme", rc.scheme, ":authority", "localhost", ":path", "/ok")
		}, http2.ErrCodeProtocol},
		{"connection: keep-alive", func(rc *rawConn) { rc.get(1, "/ok", "connection", "keep-alive") }, http2.ErrCodeProtocol},
		{"te: gzip", func(rc *rawConn) { rc.get(1, "/ok", "te", "gzip") }, http2.ErrCodeProtocol},
		{"te: trailers", func(rc *rawConn) { rc.get(1, "/ok", "te", "trailers") }, 0},
		{"uppercase field name", func(rc *rawConn) { rc.get(1, "/ok", "X-Upper", "1") }, http2.ErrCodeProtocol},
		{"body shorter than content-length", func(rc *rawConn) {
			rc.headers(1, false, rc.req("POST", "/read", "content-length", "10")...)
			rc.must(func(w *http2.Framer) error { return w.WriteData(1, true, []byte("abc")) })
		}, http2.ErrCodeProtocol},
		{"body longer than content-length", func(rc *rawConn) {
			rc.headers(1, false, rc.req("POST", "/read", "content-length", "3")...)
			rc.must(func(w *http2.Framer) error { return w.WriteData(1, true, []byte("abcdef")) })
		}, http2.ErrCodeProtocol},
		{"stream depends on itself", func(rc *rawConn) {
			rc.must(func(w *http2.Framer) error {
				return w.WritePriority(1, http2.PriorityParam{StreamDep: 1, Weight: 15})
			})
		}, http2.ErrCodeProtocol},
		{"WINDOW_UPDATE of 0 on a stream", func(rc *rawConn) {
			rc.get(1, "/hold")
			rc.must(func(w *http2.Framer) error { return w.WriteWindowUpdate(1, 0) })
		}, http2.ErrCodeProtocol},
		{"DATA after END_STREAM", func(rc *rawConn) {
			rc.get(1, "/hold")
			rc.must(func(w *http2.Framer) error { return w.WriteData(1, true, []byte("x")) })
		}, http2.ErrCodeStreamClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			defer g.open()
			rc := connect(t, servePlain(t, rawHandler(g), Options{}))
			tc.send(rc)
			if tc.code == 0 {
				if s := rc.response(1); s.reset || s.status() != "200" || string(s.body) != "ok" {
					t.Errorf("status %q body %q reset %v %v; want 200 \"ok\"", s.status(), s.body, s.reset, s.code)
				}
			} else {
				rc.expectReset(1, tc.code)
			}
			rc.expectOK(3)
			if rc.goaway != nil {
				t.Errorf("GOAWAY %v after a stream error", rc.goaway.code)
			}
		})
	}
}

// TestMaxConcurrentStreams: a stream beyond the limit is refused; each time a stream
// ends, a new one may open at once and is served (20 times over).
func TestMaxConcurrentStreams(t *testing.T) {
	started, tokens := make(chan struct{}, 30), make(chan struct{}, 30)
	g := newGate()
	defer g.open()
	ts := servePlain(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			started <- struct{}{}
			select {
			case <-tokens:
			case <-g.ch:
			}
		}
		io.WriteString(w, "ok")
	}), Options{MaxConcurrentStreams: 2})
	rc := connect(t, ts)
	rc.get(1, "/block")
	rc.get(3, "/block")
	for range 2 {
		if !waitFor(started) {
			t.Fatal("the first two handlers did not start")
		}
	}
	rc.get(5, "/ok")
	rc.expectReset(5, http2.ErrCodeRefusedStream)

	blocked := map[uint32]bool{1: true, 3: true}
	for id := uint32(7); id < 47; id += 2 {
		tokens <- struct{}{}
		rc.until("a blocked stream to end", func() bool {
			for b := range blocked {
				if rc.stream(b).done() {
					delete(blocked, b)
					return true
				}
			}
			return false
		})
		rc.get(id, "/block")
		rc.sync() // a refusal would have arrived before the PING ACK
		if s := rc.stream(id); s.reset {
			t.Fatalf("stream %d, opened when 1 of 2 streams was open: RST_STREAM %v; want it served; frames:%s", id, s.code, rc.history())
		}
		if !waitFor(started) {
			t.Fatalf("the handler of stream %d did not start", id)
		}
		blocked[id] = true
	}
	rc.get(47, "/ok") // two are open again
	rc.expectReset(47, http2.ErrCodeRefusedStream)
}

// TestRapidReset: a client that opens streams and resets them at once, while their
// handlers keep running, never has more handlers running than the limit, is refused,
// and is sent away (GOAWAY ENHANCE_YOUR_CALM) or disconnected.
func TestRapidReset(t *testing.T) {
	var mu sync.Mutex
	running, peak, total := 0, 0, 0
	g := newGate()
	defer g.open()
	ts := servePlain(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		running++
		total++
		peak = max(peak, running)
		mu.Unlock()
		g.wait() // ignores the request's context on purpose
		mu.Lock()
		running--
		mu.Unlock()
	}), Options{MaxConcurrentStreams: 2})
	rc := connect(t, ts)
	for i := 0; i < 500 && rc.goaway == nil && !rc.closed; i++ {
		id := uint32(2*i + 1)
		b := rc.block(rc.req("GET", "/")...)
		err := rc.write(func(w *http2.Framer) error {
			if err := w.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: true, EndHeaders: true}); err != nil {
				return err
			}
			return w.WriteRSTStream(id, http2.ErrCodeCancel)
		})
		if err != nil {
			break
		}
		if i%10 == 9 { // let the server catch up: a PING round trip
			data := [8]byte{'r', 'r', byte(i >> 8), byte(i)}
			if rc.write(func(w *http2.Framer) error { return w.WritePing(false, data) }) != nil {
				break
			}
			rc.until("a PING ACK", func() bool { return rc.hasPing(data) || rc.goaway != nil || rc.closed })
		}
	}
	rc.until("GOAWAY or the connection to close", func() bool { return rc.goaway != nil || rc.closed })
	refused := 0
	for _, s := range rc.streams {
		if s.reset && s.code == http2.ErrCodeRefusedStream {
			refused++
		}
	}
	if rc.goaway != nil {
		if rc.goaway.code != http2.ErrCodeEnhanceYourCalm {
			t.Errorf("GOAWAY %v; want ENHANCE_YOUR_CALM", rc.goaway.code)
		}
		if refused == 0 {
			t.Errorf("GOAWAY before any stream was refused; frames:%s", rc.history())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > 2 {
		t.Errorf("%d handlers ran at once (of %d started); the limit is 2", peak, total)
	}
	t.Logf("%d streams refused, %d handlers started, GOAWAY %v", refused, total, rc.goaway != nil)
}

// TestHeaderListTooLarge: a request whose header list exceeds MaxHeaderBytes is
// answered 431 and the connection goes on, whether the list is long because of many
// fields or because of one.
func TestHeaderListTooLarge(t *testing.T) {
	many := []string{}
	for i := range 20 {
		many = append(many, fmt.Sprintf("x-field-%02d", i), strings.Repeat("b", 100))
	}
	for _, tc := range []struct {
		name   string
		fields []string
	}{{"20 fields of 100 bytes", many}, {"one field of 4 KiB", []string{"x-big", strings.Repeat("a", 4096)}}} {
		t.Run(tc.name, func(t *testing.T) {
			rc := connect(t, servePlain(t, rawHandler(nil), Options{MaxHeaderBytes: 1024}))
			rc.get(1, "/ok", tc.fields...)
			if s := rc.response(1); s.reset || s.status() != "431" {
				t.Fatalf("MaxHeaderBytes 1024: status %q reset %v %v; want 431; frames:%s", s.status(), s.reset, s.code, rc.history())
			}
			rc.expectOK(3)
		})
	}
}

// TestResponseFlowControl: a response is sent no faster than the client's windows
// allow, and resumes with WINDOW_UPDATE.
func TestResponseFlowControl(t *testing.T) {
	body := strings.Repeat("0123456789", 10)
	ts := servePlain(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}), Options{})
	rc := connect(t, ts, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	rc.get(1, "/")
	s := rc.stream(1)
	rc.until("10 bytes of DATA", func() bool { return len(s.body) >= 10 || s.done() })
	rc.sync()
	rc.quiet(100 * time.Millisecond)
	if string(s.body) != body[:10] || s.done() {
		t.Fatalf("with a stream window of 10: received %q (ended %v, reset %v); want the first 10 bytes and no end", s.body, s.ended, s.reset)
	}
	rc.must(func(w *http2.Framer) error { return w.WriteWindowUpdate(1, 90) })
	rc.must(func(w *http2.Framer) error { return w.WriteWindowUpdate(0, 90) })
	rc.response(1)
	if string(s.body) != body || s.reset || s.types[len(s.types)-1] != http2.FrameData {
		t.Errorf("after WINDOW_UPDATE: received %q, frames %v, reset %v; want all 100 bytes, ending with DATA END_STREAM", s.body, s.types, s.reset)
	}
}

// TestResetCancelsHandler: RST_STREAM from the client cancels the handler's context.
func TestResetCancelsHandler(t *testing.T) {
	started, result := make(chan struct{}, 1), make(chan error, 1)
	ts := servePlain(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			io.WriteString(w, "ok")
			return
		}
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			result <- r.Context().Err()
		case <-time.After(5 * time.Second):
			result <- nil
		}
	}), Options{})
	rc := connect(t, ts)
	rc.get(1, "/wait")
	if !waitFor(started) {
		t.Fatal("the handler did not start")
	}
	rc.must(func(w *http2.Framer) error { return w.WriteRSTStream(1, http2.ErrCodeCancel) })
	select {
	case err := <-result:
		if err == nil {
			t.Error("the handler's context was not canceled by RST_STREAM")
		}
	case <-time.After(6 * time.Second):
		t.Fatal("the handler did not return")
	}
	rc.expectOK(3)
}

// TestTimeouts: a connection without streams for IdleTimeout gets GOAWAY NO_ERROR and
// is closed, one with an open stream is not; a client that sends no preface within
// PrefaceTimeout is disconnected.
func TestTimeouts(t *testing.T) {
	t.Parallel()
	g := newGate()
	defer g.open()
	ts := servePlain(t, rawHandler(g), Options{IdleTimeout: 300 * time.Millisecond, PrefaceTimeout: 300 * time.Millisecond})

	start := time.Now()
	rc := connect(t, ts)
	rc.until("GOAWAY on an idle connection", func() bool { return rc.goaway != nil || rc.closed })
	if elapsed := time.Since(start); elapsed < 250*time.Millisecond {
		t.Errorf("the idle connection was sent away after %v; IdleTimeout is 300ms", elapsed)
	}
	if rc.goaway == nil || rc.goaway.code != http2.ErrCodeNo {
		t.Errorf("idle connection: want GOAWAY NO_ERROR; frames:%s", rc.history())
	}
	rc.closeWrite()
	rc.until("the idle connection to close", func() bool { return rc.closed })

	busy := connect(t, ts)
	busy.get(1, "/hold")
	busy.quiet(700 * time.Millisecond)
	if busy.goaway != nil || busy.closed {
		t.Fatalf("a connection with an open stream was ended after 700ms; frames:%s", busy.history())
	}
	g.open()
	if s := busy.response(1); s.status() != "200" || string(s.body) != "held" {
		t.Errorf("the held stream: status %q body %q; want 200 \"held\"", s.status(), s.body)
	}
	busy.until("GOAWAY once the stream ended", func() bool { return busy.goaway != nil || busy.closed })

	start = time.Now()
	silent := dialRaw(t, ts)
	silent.until("the silent connection to close", func() bool { return silent.closed })
	if elapsed := time.Since(start); elapsed < 250*time.Millisecond {
		t.Errorf("a client without preface was disconnected after %v; PrefaceTimeout is 300ms", elapsed)
	}
}

// TestWriteTimeout: a client that stops reading is disconnected, and the handler's
// writes fail instead of blocking.
func TestWriteTimeout(t *testing.T) {
	result := make(chan error, 1)
	ts := servePlain(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 4096 { // 256 MiB at most
			if _, err := w.Write(chunk); err != nil {
				result <- err
				return
			}
		}
		result <- nil
	}), Options{WriteTimeout: 300 * time.Millisecond})
	nc, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	w := http2.NewFramer(nc, nil)
	var hb strings.Builder
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "localhost"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	io.WriteString(nc, http2.ClientPreface)
	w.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	w.WriteWindowUpdate(0, 1<<31-1-65535)
	if err := w.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte(hb.String()), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	// The client never reads.
	select {
	case err := <-result:
		if err == nil {
			t.Error("the handler wrote 256 MiB to a client that does not read")
		}
	case <-time.After(10 * time.Second):
		t.Error("the handler's write to a client that does not read still blocks after 10 s")
	}
}
