package h2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/internal/tooltest"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// TestResponses: statuses, bodies, repeated header values, Date, and HEAD all arrive as
// the handler wrote them, over one connection.
func TestResponses(t *testing.T) {
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			io.WriteString(w, "hello")
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/length":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/date":
			w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
			io.WriteString(w, "dated")
		default:
			http.NotFound(w, r)
		}
	}), Options{})
	c := ts.client(t)
	cases := []struct {
		method, path string
		status       int
		body         string
		length       int64 // -1: not checked
	}{
		{"GET", "/small", 200, "hello", -1},
		{"GET", "/nocontent", 204, "", -1},
		{"GET", "/missing", 404, "404 page not found\n", -1},
		{"GET", "/length", 200, "hello", 5},
		{"HEAD", "/length", 200, "", 5},
		{"GET", "/date", 200, "dated", -1},
	}
	for _, tc := range cases {
		resp, body := do(t, c, newRequest(t, tc.method, ts.url(tc.path), nil))
		if resp.StatusCode != tc.status || body != tc.body {
			t.Errorf("%s %s: got %d %q; want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
		if tc.length >= 0 && resp.ContentLength != tc.length {
			t.Errorf("%s %s: Content-Length %d; want %d", tc.method, tc.path, resp.ContentLength, tc.length)
		}
		date := resp.Header.Get("Date")
		if _, err := http.ParseTime(date); err != nil {
			t.Errorf("%s %s: Date %q: %v", tc.method, tc.path, date, err)
		}
		switch tc.path {
		case "/small":
			if got := resp.Header.Values("X-Multi"); strings.Join(got, ",") != "a,b" {
				t.Errorf("X-Multi: got %q; want [a b]", got)
			}
		case "/date":
			if date != "Mon, 02 Jan 2006 15:04:05 GMT" {
				t.Errorf("the handler's Date was replaced by %q", date)
			}
		}
	}
	if n := ts.conns.Load(); n != 1 {
		t.Errorf("%d requests took %d connections; want 1", len(cases), n)
	}
}

// TestLargeBodies: bodies larger than the initial windows travel whole in both
// directions, with a declared or an unknown length.
func TestLargeBodies(t *testing.T) {
	big := pattern(1 << 20)
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(big)
			return
		}
		echo(w, r)
	}), Options{})
	c := ts.client(t)

	resp, body := do(t, c, newRequest(t, "GET", ts.url("/big"), nil))
	if resp.StatusCode != 200 || body != string(big) {
		t.Errorf("GET /big: got %d and %d bytes (equal: %v); want 200 and the %d bytes", resp.StatusCode, len(body), body == string(big), len(big))
	}

	up := pattern(3 << 20)
	resp, body = do(t, c, newRequest(t, "POST", ts.url("/echo"), bytes.NewReader(up)))
	if resp.StatusCode != 200 || body != string(up) || resp.Header.Get("X-Request-Length") != "3145728" {
		t.Errorf("POST 3 MiB: got %d, %d bytes (equal: %v), length seen %q; want 200, the same bytes, 3145728",
			resp.StatusCode, len(body), body == string(up), resp.Header.Get("X-Request-Length"))
	}

	unknown := pattern(200 << 10)
	req := newRequest(t, "POST", ts.url("/echo"), io.NopCloser(bytes.NewReader(unknown)))
	req.ContentLength = -1
	resp, body = do(t, c, req)
	if resp.StatusCode != 200 || body != string(unknown) || resp.Header.Get("X-Request-Length") != "-1" {
		t.Errorf("POST of unknown length: got %d, %d bytes (equal: %v), length seen %q; want 200, the same bytes, -1",
			resp.StatusCode, len(body), body == string(unknown), resp.Header.Get("X-Request-Length"))
	}
	if n := ts.conns.Load(); n != 1 {
		t.Errorf("took %d connections; want 1", n)
	}
}

// TestConcurrentRequests: 50 requests run their handlers at the same time on one
// connection (each handler waits until all 50 have started).
func TestConcurrentRequests(t *testing.T) {
	const n = 50
	var arrived atomic.Int32
	all := newGate()
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			if arrived.Add(1) == n {
				all.open()
			}
			if !all.wait() {
				http.Error(w, "not all requests arrived", http.StatusServiceUnavailable)
				return
			}
		}
		io.WriteString(w, r.URL.RawQuery)
	}), Options{})
	c := ts.client(t)
	do(t, c, newRequest(t, "GET", ts.url("/warmup"), nil))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := fmt.Sprintf("i=%d", i)
			resp, err := c.Get(ts.url("/wait?" + q))
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(b) != q {
				errs <- fmt.Errorf("request %d: got %d %q, %v; want 200 %q", i, resp.StatusCode, b, err, q)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := ts.conns.Load(); c != 1 {
		t.Errorf("%d requests took %d connections; want 1", n+1, c)
	}
}

// TestTrailers: request trailers reach the handler after the body; response trailers,
// declared or with http.TrailerPrefix, reach the client after the body.
func TestTrailers(t *testing.T) {
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/request":
			b, err := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s|%s|%v", b, r.Trailer.Get("X-Req-T"), err)
		case "/declared":
			w.Header().Set("Trailer", "X-T")
			io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-T", "tv")
		case "/prefix":
			io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set(http.TrailerPrefix+"X-P", "pv")
		}
	}), Options{})
	c := ts.client(t)

	req := newRequest(t, "POST", ts.url("/request"), strings.NewReader("payload"))
	req.Trailer = http.Header{"X-Req-T": {"tval"}}
	if resp, body := do(t, c, req); resp.StatusCode != 200 || body != "payload|tval|<nil>" {
		t.Errorf("request trailers: got %d %q; want 200 \"payload|tval|<nil>\" (body|trailer|error)", resp.StatusCode, body)
	}
	for _, tc := range []struct{ path, name, value string }{{"/declared", "X-T", "tv"}, {"/prefix", "X-P", "pv"}} {
		resp, body := do(t, c, newRequest(t, "GET", ts.url(tc.path), nil))
		if resp.StatusCode != 200 || body != "body" || resp.Trailer.Get(tc.name) != tc.value {
			t.Errorf("%s: got %d %q, trailers %v; want 200 \"body\" and %s: %s", tc.path, resp.StatusCode, body, resp.Trailer, tc.name, tc.value)
		}
	}
}

// TestFlush: what the handler flushes reaches the client before the handler ends.
func TestFlush(t *testing.T) {
	release := newGate()
	defer release.open()
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		release.wait()
		io.WriteString(w, "second")
	}), Options{})
	resp, err := ts.client(t).Get(ts.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("before the handler ended: got %q, %v; want \"first;\"", buf, err)
	}
	release.open()
	if rest, err := io.ReadAll(resp.Body); err != nil || string(rest) != "second" {
		t.Fatalf("the rest: got %q, %v; want \"second\"", rest, err)
	}
}

// TestInterimResponses: "Expect: 100-continue" is answered 100 when the handler reads
// the body, and a handler's 103 reaches the client before the final answer.
func TestInterimResponses(t *testing.T) {
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			io.WriteString(w, "final")
			return
		}
		echo(w, r)
	}), Options{})
	c := ts.client(t)

	var got100 atomic.Bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got100Continue: func() { got100.Store(true) },
	})
	req := newRequest(t, "POST", ts.url("/echo"), strings.NewReader("continued body"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, body := do(t, c, req.WithContext(ctx))
	if resp.StatusCode != 200 || body != "continued body" {
		t.Errorf("Expect: 100-continue: got %d %q; want 200 \"continued body\"", resp.StatusCode, body)
	}
	if !got100.Load() {
		t.Errorf("Expect: 100-continue: no 100 Continue received (the body was sent after %v)", time.Since(start).Round(time.Millisecond))
	}

	var interim []string
	ctx = httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			interim = append(interim, fmt.Sprintf("%d %s", code, h.Get("Link")))
			return nil
		},
	})
	resp, body = do(t, c, newRequest(t, "GET", ts.url("/early"), nil).WithContext(ctx))
	if resp.StatusCode != 200 || body != "final" || resp.Header.Get("Link") != "" {
		t.Errorf("after 103: got %d %q Link %q; want 200 \"final\" and no Link", resp.StatusCode, body, resp.Header.Get("Link"))
	}
	if strings.Join(interim, ",") != "103 </s.css>; rel=preload" {
		t.Errorf("interim answers: got %q; want [\"103 </s.css>; rel=preload\"]", interim)
	}
}

type ctxKey struct{}

// seen is what a handler saw of its request.
type seen struct {
	method, proto, host, path, query, remote, alpn, cookie, ctxValue string
	major, minor, cookies                                            int
	length                                                           int64
	tls                                                              bool
}

// TestRequestFields: the request a handler sees is built from the HTTP/2 request as
// net/http builds it.
func TestRequestFields(t *testing.T) {
	got := make(chan seen, 1)
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s := seen{method: r.Method, proto: r.Proto, major: r.ProtoMajor, minor: r.ProtoMinor, host: r.Host,
			path: r.URL.Path, query: r.URL.RawQuery, remote: r.RemoteAddr, tls: r.TLS != nil,
			cookie: r.Header.Get("Cookie"), cookies: len(r.Cookies()), length: r.ContentLength}
		if r.TLS != nil {
			s.alpn = r.TLS.NegotiatedProtocol
		}
		s.ctxValue, _ = r.Context().Value(ctxKey{}).(string)
		got <- s
	}), Options{ConnContext: func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, ctxKey{}, "conn:"+c.RemoteAddr().String())
	}})
	c := ts.client(t)

	var local string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { local = i.Conn.LocalAddr().String() },
	})
	req := newRequest(t, "GET", ts.url("/a/b?x=1&y=%20"), nil).WithContext(ctx)
	req.Host = "api.example.test"
	req.Header["Cookie"] = []string{"a=1; b=2", "c=3"}
	do(t, c, req)
	s := <-got
	want := seen{method: "GET", proto: "HTTP/2.0", major: 2, minor: 0, host: "api.example.test", path: "/a/b",
		query: "x=1&y=%20", remote: local, tls: true, alpn: "h2", cookie: "a=1; b=2; c=3", cookies: 3,
		length: 0, ctxValue: "conn:" + local}
	if s != want {
		t.Errorf("GET: handler saw\n%+v\nwant\n%+v", s, want)
	}

	do(t, c, newRequest(t, "POST", ts.url("/p"), strings.NewReader("12345")))
	if s := <-got; s.method != "POST" || s.length != 5 {
		t.Errorf("POST with a body of 5: handler saw %s, ContentLength %d; want POST, 5", s.method, s.length)
	}
	req = newRequest(t, "PUT", ts.url("/p"), io.NopCloser(strings.NewReader("123")))
	req.ContentLength = -1
	do(t, c, req)
	if s := <-got; s.method != "PUT" || s.length != -1 {
		t.Errorf("PUT of unknown length: handler saw %s, ContentLength %d; want PUT, -1", s.method, s.length)
	}
}

// TestHandlerPanic: a handler that panics (also with http.ErrAbortHandler) resets its
// stream, and the connection serves the next request.
func TestHandlerPanic(t *testing.T) {
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/partial":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("late boom")
		}
		io.WriteString(w, "ok")
	}), Options{})
	c := ts.client(t)
	for _, path := range []string{"/panic", "/abort"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := c.Do(newRequest(t, "GET", ts.url(path), nil).WithContext(ctx))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Errorf("%s: got %d %q; want a stream error", path, resp.StatusCode, b)
		} else if ctx.Err() != nil {
			t.Errorf("%s: the request hung: %v", path, err)
		}
		cancel()
		if resp, body := do(t, c, newRequest(t, "GET", ts.url("/ok"), nil)); resp.StatusCode != 200 || body != "ok" {
			t.Errorf("after %s: got %d %q; want 200 \"ok\"", path, resp.StatusCode, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Do(newRequest(t, "GET", ts.url("/partial"), nil).WithContext(ctx))
	if err != nil {
		t.Fatalf("/partial: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || ctx.Err() != nil || string(b) != "partial" {
		t.Errorf("/partial: body %q, error %v (deadline: %v); want \"partial\" then a stream error", b, err, ctx.Err())
	}
	if n := ts.conns.Load(); n != 1 {
		t.Errorf("took %d connections; want 1", n)
	}
}

// TestClientCancel: a request the client cancels cancels the handler's context.
func TestClientCancel(t *testing.T) {
	started := make(chan struct{}, 1)
	result := make(chan error, 1)
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			result <- r.Context().Err()
		case <-time.After(5 * time.Second):
			result <- nil
		}
	}), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := ts.client(t).Do(newRequest(t, "GET", ts.url("/wait"), nil).WithContext(ctx))
		errc <- err
	}()
	if !waitFor(started) {
		t.Fatal("the handler did not start")
	}
	cancel()
	if !waitFor(errc) {
		t.Fatal("the canceled request did not return")
	}
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the handler's context: got %v; want context.Canceled", err)
		}
	case <-time.After(6 * time.Second):
		t.Error("the handler did not return")
	}
}

// TestShutdownGraceful: Shutdown sends GOAWAY, refuses new connections, lets the
// request in flight finish, and returns nil once it has.
func TestShutdownGraceful(t *testing.T) {
	release, started := newGate(), make(chan struct{}, 1)
	defer release.open()
	ts := serveTLS(t, blocking(release, started), Options{})
	inflight := getAsync(ts.client(t), ts.url("/block"))
	if !waitFor(started) {
		t.Fatal("the handler did not start")
	}
	idle := connect(t, ts)

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- ts.s.Shutdown(ctx)
	}()
	idle.until("GOAWAY on an idle connection", func() bool { return idle.goaway != nil })
	if g := idle.goaway; g.code != 0 || g.last != 0 {
		t.Errorf("GOAWAY on an idle connection: code %v, last stream %d; want NO_ERROR, 0", g.code, g.last)
	}
	idle.closeWrite()
	idle.until("the idle connection to close", func() bool { return idle.closed })

	if r := <-getAsync(ts.client(t), ts.url("/quick")); r.err == nil {
		t.Errorf("a new connection after Shutdown was served: %d %q", r.status, r.body)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	release.open()
	select {
	case r := <-inflight:
		if r.err != nil || r.status != 200 || r.body != "done" {
			t.Errorf("the request in flight: got %d %q, %v; want 200 \"done\"", r.status, r.body, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request in flight did not complete")
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Shutdown did not return after the last request")
	}
}

// TestShutdownTimeout: Shutdown whose context ends while a handler blocks returns the
// context's error and closes the connection.
func TestShutdownTimeout(t *testing.T) {
	release, started := newGate(), make(chan struct{}, 1)
	defer release.open()
	ts := serveTLS(t, blocking(release, started), Options{})
	inflight := getAsync(ts.client(t), ts.url("/block"))
	if !waitFor(started) {
		t.Fatal("the handler did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := ts.s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v; want context.DeadlineExceeded", err)
	}
	select {
	case r := <-inflight:
		if r.err == nil {
			t.Errorf("the request in flight got %d %q; want an error (connection closed)", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Error("the request in flight was not ended by the forced shutdown")
	}
}

// toolServer serves paths for the command-line clients and writes the root certificate.
func toolServer(t *testing.T) (*testServer, string) {
	ts := serveTLS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sum":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d %x", len(b), sha256.Sum256(b))
		case "/length":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		default:
			io.WriteString(w, "hello h2")
		}
	}), Options{})
	ca, err := pkitest.WriteFile(t.TempDir(), "root.pem", certs().root.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	return ts, ca
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestCurl: curl's HTTP/2 GET, POST of a file and HEAD succeed.
func TestCurl(t *testing.T) {
	tooltest.Need(t, "curl", "")
	ts, ca := toolServer(t)
	base := []string{"--http2", "-sS", "--max-time", "10", "--cacert", ca}
	if out := run(t, "curl", append(base, "-w", "\n%{http_code} %{http_version}", ts.url("/"))...); out != "hello h2\n200 2" {
		t.Errorf("curl GET: got %q; want \"hello h2\\n200 2\"", out)
	}
	payload := pattern(300 << 10)
	file, err := pkitest.WriteFile(t.TempDir(), "payload", payload)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d %x", len(payload), sha256.Sum256(payload))
	if out := run(t, "curl", append(base, "--data-binary", "@"+file, ts.url("/sum"))...); out != want {
		t.Errorf("curl POST: got %q; want %q", out, want)
	}
	out := strings.ToLower(run(t, "curl", append(base, "-I", ts.url("/length"))...))
	if !strings.HasPrefix(out, "http/2 200") || !strings.Contains(out, "content-length: 5") {
		t.Errorf("curl -I: got %q; want HTTP/2 200 with content-length: 5", out)
	}
}

// TestNghttp2Clients: nghttp fetches a page, and h2load's 200 requests over 4
// connections, 10 streams at a time, all succeed.
func TestNghttp2Clients(t *testing.T) {
	ts, _ := toolServer(t)
	t.Run("nghttp", func(t *testing.T) {
		tooltest.Need(t, "nghttp", "")
		out := run(t, "nghttp", "-v", "-t", "10", ts.url("/"))
		if !strings.Contains(out, ":status: 200") || !strings.Contains(out, "hello h2") {
			t.Errorf("nghttp -v: want :status: 200 and the body; got\n%s", out)
		}
	})
	t.Run("h2load", func(t *testing.T) {
		tooltest.Need(t, "h2load", "")
		out := run(t, "h2load", "-n", "200", "-c", "4", "-m", "10", ts.url("/"))
		m := regexp.MustCompile(`(\d+) succeeded`).FindStringSubmatch(out)
		if m == nil || m[1] != "200" {
			t.Errorf("h2load: want 200 succeeded; got\n%s", out)
		}
	})
}
