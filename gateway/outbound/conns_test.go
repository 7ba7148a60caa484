package outbound_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
)

// counted is an HTTP server on loopback that counts the connections it opened and closed.
type counted struct {
	addr           string
	opened, closed atomic.Int64
}

// serveCounted starts an HTTP server, over TLS when useTLS, that closes connections idle
// for idle (never when zero).
func serveCounted(t *testing.T, useTLS bool, idle time.Duration, h http.Handler) *counted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &counted{addr: ln.Addr().String()}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idle,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.opened.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.closed.Add(1)
			}
		},
	}
	if useTLS {
		ln = tls.NewListener(ln, tlsConf(pkiOnce().leaf))
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return s
}

// echo answers with the request's method, host, length and body, and the SHA-256 of the
// body in a header; /nocontent answers 204, /big 1 MiB.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/nocontent":
		w.WriteHeader(http.StatusNoContent)
		return
	case "/big":
		w.Write(bytes.Repeat([]byte("x"), 1<<20))
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Body-Sha256", fmt.Sprintf("%x", sha256.Sum256(b)))
	w.Header().Set("Body-Chunked", strconv.FormatBool(slices.Contains(r.TransferEncoding, "chunked")))
	fmt.Fprintf(w, "%s %s %d %s", r.Method, r.Host, r.ContentLength, b)
})

// targetConfig is a target at addr, over TLS (trusting the test root) when useTLS.
func targetConfig(addr string, useTLS bool) outbound.Config {
	cfg := baseConfig(addr)
	cfg.TLS = useTLS
	return cfg
}

// newRequest returns a request for path on backend.test within the test's context.
func newRequest(t *testing.T, ctx context.Context, method, path string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "https://backend.test"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends req through rt and returns the response with its body read, or the error.
func do(t *testing.T, rt http.RoundTripper, req *http.Request) (*http.Response, string, error) {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return resp, string(b), nil
}

func TestReuseOneConnection(t *testing.T) {
	for _, useTLS := range []bool{true, false} {
		t.Run(fmt.Sprintf("TLS=%v", useTLS), func(t *testing.T) {
			s := serveCounted(t, useTLS, 0, echo)
			tr := newTransport(t, targetConfig(s.addr, useTLS), outbound.Options{})
			for i, tc := range []struct {
				method, path string
				status       int
				body         string
			}{
				{"GET", "/", 200, "GET backend.test 0 "},
				{"HEAD", "/", 200, ""},
				{"GET", "/nocontent", 204, ""},
				{"POST", "/", 200, "POST backend.test 5 hello"},
				{"GET", "/big", 200, strings.Repeat("x", 1<<20)},
				{"GET", "/", 200, "GET backend.test 0 "},
			} {
				var body io.Reader
				if tc.method == "POST" {
					body = strings.NewReader("hello")
				}
				resp, got, err := do(t, tr, newRequest(t, t.Context(), tc.method, tc.path, body))
				if err != nil {
					t.Fatalf("request %d (%s %s): %v", i, tc.method, tc.path, err)
				}
				if resp.StatusCode != tc.status || got != tc.body {
					t.Errorf("request %d (%s %s): got %d %.40q; want %d %.40q", i, tc.method, tc.path, resp.StatusCode, got, tc.status, tc.body)
				}
				if useTLS && (resp.TLS == nil || !resp.TLS.HandshakeComplete) {
					t.Errorf("request %d: resp.TLS = %v; want the connection's state", i, resp.TLS)
				}
			}
			if n := s.opened.Load(); n != 1 {
				t.Errorf("%d connections for 6 sequential requests; want 1", n)
			}
		})
	}
}

// TestServerClosedIdle: a backend that closes idle kept-alive connections; the next
// requests, a POST whose body cannot be sent twice too, go on a new connection.
func TestServerClosedIdle(t *testing.T) {
	for _, useTLS := range []bool{true, false} {
		t.Run(fmt.Sprintf("TLS=%v", useTLS), func(t *testing.T) {
			s := serveCounted(t, useTLS, 50*time.Millisecond, echo)
			tr := newTransport(t, targetConfig(s.addr, useTLS), outbound.Options{})
			if _, _, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the backend to close the idle connection", func() bool { return s.closed.Load() == 1 })
			req := newRequest(t, t.Context(), "POST", "/", nil)
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader("once")), 4 // no GetBody
			resp, got, err := do(t, tr, req)
			if err != nil || resp.StatusCode != 200 || got != "POST backend.test 4 once" {
				t.Fatalf("POST after the backend closed the idle connection: got %v, %q, %v; want 200", resp, got, err)
			}
			if _, _, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil)); err != nil {
				t.Fatal(err)
			}
			if n := s.opened.Load(); n != 2 {
				t.Errorf("%d connections; want 2 (one closed by the backend, one for the next requests)", n)
			}
		})
	}
}

// closingBackend is a TLS HTTP server that answers answered requests on each connection,
// then closes the connection on the next request without answering: a server closing a
// kept-alive connection as a request arrives. It counts connections and requests.
type closingBackend struct {
	addr           string
	conns, answers atomic.Int64
}

func serveClosing(t *testing.T, answered int) *closingBackend {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsConf(pkiOnce().leaf))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	b := &closingBackend{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, err := io.ReadAll(req.Body)
					if err != nil || n == answered {
						return
					}
					b.answers.Add(1)
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body)+3, "ok "+string(body))
				}
			}()
		}
	}()
	return b
}

// TestRetryOnClosedConnection: a request on a kept-alive connection that the server closes
// without answering is sent again, once, on a new connection, when its body can be.
func TestRetryOnClosedConnection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answered int // requests a connection answers before it is closed on the next
		body     func() *http.Request
		want     string // the answer; "" for an error
		conns    int64
	}{
		{"GET", 1, func() *http.Request { return newRequest(t, t.Context(), "GET", "/", nil) }, "ok ", 2},
		{"POST with GetBody", 1, func() *http.Request { return newRequest(t, t.Context(), "POST", "/", strings.NewReader("again")) }, "ok again", 2},
		{"POST without GetBody", 1, func() *http.Request {
			req := newRequest(t, t.Context(), "POST", "/", nil)
			req.Body, req.ContentLength = io.NopCloser(strings.NewReader("once")), 4
			return req
		}, "", 1},
		{"new connection", 0, func() *http.Request { return newRequest(t, t.Context(), "GET", "/", nil) }, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := serveClosing(t, tc.answered)
			tr := newTransport(t, baseConfig(b.addr), outbound.Options{})
			if tc.answered > 0 {
				if _, got, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil)); err != nil || got != "ok " {
					t.Fatalf("first request: got %q, %v", got, err)
				}
			}
			_, got, err := do(t, tr, tc.body())
			switch {
			case tc.want == "":
				wantCause(t, err, outbound.Unreachable, "")
			case err != nil || got != tc.want:
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
			if n := b.conns.Load(); n != tc.conns {
				t.Errorf("%d connections; want %d", n, tc.conns)
			}
		})
	}
}

// TestUnreadBodyNotReused: a response body closed before its end closes its connection;
// the next requests open another and keep it.
func TestUnreadBodyNotReused(t *testing.T) {
	s := serveCounted(t, true, 0, echo)
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	resp, err := tr.RoundTrip(newRequest(t, t.Context(), "GET", "/big", nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n, err := resp.Body.Read(make([]byte, 10)); n != 0 || err == nil {
		t.Errorf("Read after Close: got %d, %v; want an error", n, err)
	}
	for i := range 3 {
		resp, got, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil))
		if err != nil || resp.StatusCode != 200 || got != "GET backend.test 0 " {
			t.Fatalf("request %d after a body closed early: got %v, %q, %v", i, resp, got, err)
		}
	}
	if n := s.opened.Load(); n != 2 {
		t.Errorf("%d connections; want 2 (the half-read one closed, one for the next requests)", n)
	}
	waitFor(t, "the half-read connection to close", func() bool { return s.closed.Load() == 1 })
}

func TestRequestBodies(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100_000/16)
	sum := fmt.Sprintf("%x", sha256.Sum256(payload))
	s := serveCounted(t, true, 0, echo)
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	for _, tc := range []struct {
		name        string
		body        io.Reader
		length      int64
		wantChunked string
	}{
		{"Content-Length", bytes.NewReader(payload), int64(len(payload)), "false"},
		{"chunked", io.MultiReader(bytes.NewReader(payload[:1000]), bytes.NewReader(payload[1000:])), -1, "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, t.Context(), "POST", "/", nil)
			req.Body, req.ContentLength, req.GetBody = io.NopCloser(tc.body), tc.length, nil
			resp, got, err := do(t, tr, req)
			if err != nil {
				t.Fatal(err)
			}
			if h := resp.Header.Get("Body-Sha256"); h != sum {
				t.Errorf("backend received a body with SHA-256 %s; want %s", h, sum)
			}
			if h := resp.Header.Get("Body-Chunked"); h != tc.wantChunked {
				t.Errorf("chunked %s; want %s", h, tc.wantChunked)
			}
			if want := fmt.Sprintf("POST backend.test %d ", tc.length); !strings.HasPrefix(got, want) || len(got) != len(want)+len(payload) {
				t.Errorf("answer %.40q (%d bytes); want %q and the payload", got, len(got), want)
			}
		})
	}
	if n := s.opened.Load(); n != 1 {
		t.Errorf("%d connections; want 1", n)
	}
}

// TestResponseHeaderTimeoutReused: a response header that does not come on a kept-alive
// connection is a Timeout, and the request is not sent again.
func TestResponseHeaderTimeoutReused(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	var calls atomic.Int64
	s := serveCounted(t, true, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}
	}))
	cfg := baseConfig(s.addr)
	cfg.IOTimeout = 300 * time.Millisecond
	tr := newTransport(t, cfg, outbound.Options{})
	if _, _, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil))
	took := time.Since(start)
	e := wantCause(t, err, outbound.Timeout, "")
	if !strings.Contains(e.Error(), "no response header within 300ms") {
		t.Errorf("error %q; want it to say no response header came within 300ms", e.Error())
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v; want about the I/O timeout of 300ms", took)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("backend saw %d requests; want 2 (no retry after a timeout)", n)
	}
}

// TestCancel: a canceled request returns promptly with the context's error, while waiting
// for the header and while reading the body.
func TestCancel(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	s := serveCounted(t, true, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		select {
		case <-block:
		case <-r.Context().Done():
		case <-time.After(5 * time.Second): // the test fails rather than hangs
		}
	}))
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := tr.RoundTrip(newRequest(t, ctx, "GET", "/header", nil))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("waiting for the header: returned after %v; want soon after the cancellation at 200ms", took)
	}
	if !errors.Is(err, context.Canceled) || outbound.AsError(err) != nil {
		t.Errorf("waiting for the header: error %v; want the context's error, no *outbound.Error", err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	resp, err := tr.RoundTrip(newRequest(t, ctx, "GET", "/body", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	b, err := io.ReadAll(resp.Body)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("reading the body: returned after %v; want soon after the cancellation at 200ms", took)
	}
	if string(b) != "partial" || !errors.Is(err, context.Canceled) {
		t.Errorf("reading the body: got %q, %v; want \"partial\", context.Canceled", b, err)
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := serveCounted(t, true, 0, echo)
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Sprintf("worker %d request %d", w, i)
				req := newRequest(t, t.Context(), "POST", "/", strings.NewReader(msg))
				if i%3 == 0 {
					req = newRequest(t, t.Context(), "GET", "/big", nil)
				}
				resp, got, err := do(t, tr, req)
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != 200:
					errs <- fmt.Errorf("%s: status %d", msg, resp.StatusCode)
				case i%3 == 0 && len(got) != 1<<20:
					errs <- fmt.Errorf("%s: %d bytes; want 1 MiB", msg, len(got))
				case i%3 != 0 && got != fmt.Sprintf("POST backend.test %d %s", len(msg), msg):
					errs <- fmt.Errorf("%s: answer %q", msg, got)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.opened.Load(); n < 1 || n > workers {
		t.Errorf("%d connections for %d workers; want at most one each", n, workers)
	}
}

// TestIdleSweep: idle connections are closed once idle for the idle timeout, with no
// request to notice.
func TestIdleSweep(t *testing.T) {
	s := serveCounted(t, true, 0, echo)
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	outbound.SetIdleTimeout(tr, 100*time.Millisecond)
	for range 2 {
		if _, _, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.opened.Load(); n != 1 {
		t.Fatalf("%d connections for 2 requests; want 1", n)
	}
	waitFor(t, "the idle connection to be closed", func() bool { return s.closed.Load() == 1 })
	if _, _, err := do(t, tr, newRequest(t, t.Context(), "GET", "/", nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next idle connection to be closed", func() bool { return s.closed.Load() == 2 })
}

// TestUpgrade: a request for a protocol upgrade gets the 101 response with a writable body.
func TestUpgrade(t *testing.T) {
	s := serveCounted(t, true, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "no upgrade", http.StatusBadRequest)
			return
		}
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		io.Copy(c, brw)
	}))
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	req := newRequest(t, t.Context(), "GET", "/", nil)
	req.Header.Set("Connection", "keep-alive, Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rw, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		t.Fatalf("got %d, body %T; want 101 with a writable body", resp.StatusCode, resp.Body)
	}
	io.WriteString(rw, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(rw, got); err != nil || string(got) != "ping" {
		t.Errorf("echo: got %q, %v; want ping", got, err)
	}
}

// TestInterimResponses: 1xx responses before the final one reach the request's trace and
// are skipped.
func TestInterimResponses(t *testing.T) {
	s := serveCounted(t, true, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "final")
	}))
	tr := newTransport(t, baseConfig(s.addr), outbound.Options{})
	var got []string
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, fmt.Sprintf("%d %s", code, h.Get("Link")))
			return nil
		},
	})
	for range 2 {
		got = nil
		resp, body, err := do(t, tr, newRequest(t, ctx, "GET", "/", nil))
		if err != nil || resp.StatusCode != 200 || body != "final" {
			t.Fatalf("got %v, %q, %v; want 200 final", resp, body, err)
		}
		if want := []string{"103 </style.css>; rel=preload"}; !slices.Equal(got, want) {
			t.Errorf("interim responses %q; want %q", got, want)
		}
	}
	if n := s.opened.Load(); n != 1 {
		t.Errorf("%d connections; want 1", n)
	}
}

// TestBackendStopsReading: a backend that answers at once without reading a large
// request body, and keeps the connection open, does not hold the request forever: the
// write gives up after the I/O timeout and the early answer is read.
func TestBackendStopsReading(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		held <- c // closed by the cleanup, never read past the head
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 8\r\n\r\ntoo big\n")
	}()
	t.Cleanup(func() {
		select {
		case c := <-held:
			c.Close()
		default:
		}
	})
	cfg := targetConfig(ln.Addr().String(), false)
	cfg.IOTimeout = 500 * time.Millisecond
	tr := newTransport(t, cfg, outbound.Options{})
	body := io.LimitReader(zeros{}, 64<<20) // far more than the socket buffers hold
	req := newRequest(t, t.Context(), "POST", "/upload", body)
	done := make(chan error, 1)
	var status int
	go func() {
		resp, _, err := do(t, tr, req)
		if resp != nil {
			status = resp.StatusCode
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil && status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d; want the backend's early 413 (or an error)", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request still waits 10 s after the backend stopped reading; want it to end after the 500ms I/O timeout")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
