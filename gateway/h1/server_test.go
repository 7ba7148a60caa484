package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// testServer serves h on a loopback port; it counts the connections it accepted.
type testServer struct {
	s     *Server
	addr  string
	conns atomic.Int32
	wg    sync.WaitGroup
}

func serve(t *testing.T, h http.Handler, o Options) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{s: NewServer(h, o), addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ts.conns.Add(1)
			ts.wg.Add(1)
			go func() {
				defer ts.wg.Done()
				ts.s.ServeConn(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		ts.s.Close()
		ts.wg.Wait()
	})
	return ts
}

func client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
}

// raw sends req on a new connection and returns everything the server sent until it
// closed the connection or went quiet for quiet.
func raw(t *testing.T, addr, req string, quiet time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return string(out)
		}
	}
}

// TestFraming: with keep-alive over one connection, each kind of response arrives whole
// and framed as net/http frames it.
func TestFraming(t *testing.T) {
	big := strings.Repeat("x", 10000)
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "hello")
		case "/big":
			io.WriteString(w, big)
		case "/length":
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "abc")
		case "/empty":
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/status":
			w.Header().Set("X-Test", "yes")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "short and stout")
		}
	}), Options{})
	c := client()
	cases := []struct {
		method, path string
		status       int
		body         string
		length       int64
		chunked      bool
	}{
		{"GET", "/small", 200, "hello", 5, false},
		{"GET", "/big", 200, big, -1, true},
		{"GET", "/length", 200, "abc", 3, false},
		{"GET", "/empty", 200, "", 0, false},
		{"GET", "/nocontent", 204, "", 0, false},
		{"GET", "/status", 418, "short and stout", 15, false},
		{"HEAD", "/small", 200, "", 5, false},
		{"HEAD", "/length", 200, "", 3, false},
		{"POST", "/small", 200, "hello", 5, false},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, "http://"+ts.addr+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s %s: reading the body: %v", tc.method, tc.path, err)
		}
		if resp.StatusCode != tc.status || string(b) != tc.body {
			t.Errorf("%s %s: got %d %.40q; want %d %.40q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
		if resp.ContentLength != tc.length {
			t.Errorf("%s %s: Content-Length %d; want %d", tc.method, tc.path, resp.ContentLength, tc.length)
		}
		if chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"; chunked != tc.chunked {
			t.Errorf("%s %s: chunked %v; want %v", tc.method, tc.path, chunked, tc.chunked)
		}
		if resp.Header.Get("Date") == "" {
			t.Errorf("%s %s: no Date header", tc.method, tc.path)
		}
	}
	if n := ts.conns.Load(); n != 1 {
		t.Errorf("%d requests took %d connections; want 1 (keep-alive)", len(cases), n)
	}
}

// TestFlushStreams: what the handler flushes reaches the client before the handler ends.
func TestFlushStreams(t *testing.T) {
	release := make(chan struct{})
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second")
	}), Options{})
	resp, err := client().Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("before the handler ended: got %q, %v; want \"first;\"", buf, err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("the rest: got %q, %v; want \"second\"", rest, err)
	}
}

// TestRequestBodies: fixed-length and chunked bodies reach the handler; a body the
// handler leaves unread does not break the next request on the connection.
func TestRequestBodies(t *testing.T) {
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ignore" {
			io.WriteString(w, "ignored")
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d:%s", len(b), b[:min(len(b), 10)])
	}), Options{})
	c := client()
	post := func(path string, body io.Reader) string {
		t.Helper()
		resp, err := c.Post("http://"+ts.addr+path, "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := post("/", strings.NewReader("fixed body")); got != "10:fixed body" {
		t.Errorf("fixed-length body: got %q", got)
	}
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "chunk one,")
		io.WriteString(pw, strings.Repeat("y", 20000))
		pw.Close()
	}()
	if got := post("/", pr); got != "20010:chunk one," {
		t.Errorf("chunked body: got %q", got)
	}
	if got := post("/ignore", strings.NewReader(strings.Repeat("z", 50000))); got != "ignored" {
		t.Errorf("unread body: got %q", got)
	}
	if got := post("/", strings.NewReader("after")); got != "5:after" {
		t.Errorf("after an unread body: got %q", got)
	}
	if n := ts.conns.Load(); n != 1 {
		t.Errorf("4 requests took %d connections; want 1", n)
	}
}

// TestWire checks exact exchanges: pipelining, HTTP/1.0, 100-continue, bad requests.
func TestWire(t *testing.T) {
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "fixed") // so that answers compare exactly
		if r.URL.Path == "/echo" {
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
			return
		}
		io.WriteString(w, r.URL.Path)
	}), Options{MaxHeaderBytes: 1024})
	cases := []struct {
		name, req, want string
	}{
		{"pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nDate: fixed\r\nContent-Length: 2\r\n\r\n/a" +
				"HTTP/1.1 200 OK\r\nConnection: close\r\nDate: fixed\r\nContent-Length: 2\r\n\r\n/b"},
		{"HTTP/1.0", "GET /old HTTP/1.0\r\n\r\n",
			"HTTP/1.0 200 OK\r\nConnection: close\r\nDate: fixed\r\nContent-Length: 4\r\n\r\n/old"},
		{"HTTP/1.0 keep-alive", "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nDate: fixed\r\nContent-Length: 2\r\n\r\n/k"},
		{"100-continue", "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\nDate: fixed\r\nContent-Length: 4\r\n\r\nbody"},
		{"garbage", "NOT HTTP\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header"},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 8000) + "\r\n\r\n",
			"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large"},
		{"unknown expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: unsupported Expect header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := raw(t, ts.addr, tc.req, 2*time.Second)
			// Header order is the map's: compare the head as a set of lines.
			if normalize(got) != normalize(tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// normalize sorts the header lines of every response in s, keeping status lines and
// bodies in place.
func normalize(s string) string {
	var out []string
	for len(s) > 0 {
		head, rest, ok := strings.Cut(s, "\r\n\r\n")
		if !ok {
			out = append(out, s)
			break
		}
		lines := strings.Split(head, "\r\n")
		hdr := lines[1:]
		for i := range hdr {
			for j := i + 1; j < len(hdr); j++ {
				if hdr[j] < hdr[i] {
					hdr[i], hdr[j] = hdr[j], hdr[i]
				}
			}
		}
		out = append(out, lines[0], strings.Join(hdr, "|"))
		// The body runs to the next status line, if any.
		if i := strings.Index(rest, "HTTP/1."); i >= 0 {
			out = append(out, rest[:i])
			s = rest[i:]
		} else {
			out = append(out, rest)
			s = ""
		}
	}
	return strings.Join(out, "\n")
}

// TestTimeouts: a client that trickles its header is cut at the read-header timeout; an
// idle keep-alive connection is closed at the idle timeout.
func TestTimeouts(t *testing.T) {
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		Options{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond})
	for _, tc := range []struct {
		name, send string
		min, max   time.Duration
	}{
		{"trickled header", "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 250 * time.Millisecond, 3 * time.Second},
		{"idle", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 550 * time.Millisecond, 3 * time.Second},
	} {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		io.WriteString(c, tc.send)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c)
		took := time.Since(start)
		c.Close()
		if err != nil || took < tc.min || took > tc.max {
			t.Errorf("%s: closed after %v (%v); want between %v and %v", tc.name, took, err, tc.min, tc.max)
		}
	}
}

// TestTrailers: trailers declared in the Trailer header and set with http.TrailerPrefix
// reach the client after a chunked body.
func TestTrailers(t *testing.T) {
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Declared")
		w.WriteHeader(200)
		io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Declared", "one")
		w.Header().Set(http.TrailerPrefix+"X-Late", "two")
	}), Options{})
	resp, err := client().Get("http://" + ts.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "body" || resp.Trailer.Get("X-Declared") != "one" || resp.Trailer.Get("X-Late") != "two" {
		t.Errorf("got body %q, trailers %v; want body, X-Declared: one, X-Late: two", b, resp.Trailer)
	}
}

// TestPanicAndHijack: a panicking handler costs its connection only; a hijacked
// connection belongs to the handler.
func TestPanicAndHijack(t *testing.T) {
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case "/hijack":
			c, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			defer c.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString("echo " + line)
			rw.Flush()
		default:
			io.WriteString(w, "ok")
		}
	}), Options{})
	if got := raw(t, ts.addr, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second); !strings.HasPrefix(got, "HTTP/1.1 500 Internal Server Error\r\n") {
		t.Errorf("panic: got %q; want a 500 and the end of the connection", got)
	}
	if got := raw(t, ts.addr, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second); strings.Contains(got, "\r\n0\r\n") {
		t.Errorf("aborted handler: got %q; want the chunked body cut short", got)
	}
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nping\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("hijack: %v, %v; want 101", resp, err)
	}
	if line, err := br.ReadString('\n'); line != "echo ping\n" {
		t.Errorf("hijacked connection: got %q, %v; want \"echo ping\\n\"", line, err)
	}
	if resp, err := client().Get("http://" + ts.addr + "/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the panics: %v, %v; want 200", resp, err)
	}
}

// TestShutdownDrains: a request in progress at Shutdown completes; idle connections and
// new ones are closed.
func TestShutdownDrains(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "done")
	}), Options{})
	idle, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idleResp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || idleResp.StatusCode != 200 {
		t.Fatalf("first request: %v", err)
	}
	slow := make(chan error, 1)
	go func() {
		resp, err := client().Get("http://" + ts.addr + "/slow")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "done" {
				err = fmt.Errorf("body %q", b)
			}
		}
		slow <- err
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- ts.s.Shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Errorf("idle connection at shutdown: read %d, %v; want it closed", n, err)
	}
	select {
	case <-shut:
		t.Fatal("Shutdown returned while a request was in progress")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-slow; err != nil {
		t.Errorf("request in progress at shutdown: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestTLS: over TLS the handler sees the connection state and the client's address.
func TestTLS(t *testing.T) {
	root := pkitest.NewRoot("h1 test root")
	leaf := root.Issue(pkitest.Options{CommonName: "h1.test", DNSNames: []string{"h1.test"}})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.Error(w, "no TLS state", 500)
			return
		}
		fmt.Fprintf(w, "%s %s", r.TLS.ServerName, r.RemoteAddr)
	}), Options{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		tc := c.(*tls.Conn)
		if tc.Handshake() == nil {
			s.ServeConn(tc)
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "h1.test"},
		DialContext: func(ctx context.Context, n, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, n, ln.Addr().String())
		},
	}}
	resp, err := c.Get("https://h1.test/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "h1.test 127.0.0.1:") {
		t.Errorf("got %q; want the SNI and the client's address", b)
	}
}

// TestClientGone: a client that closes its connection while its request runs cancels the
// request's context; a long request whose client sent its next request meanwhile
// (pipelining) is answered, and so is the next one.
func TestClientGone(t *testing.T) {
	canceled := make(chan time.Duration, 1)
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wait":
			start := time.Now()
			select {
			case <-r.Context().Done():
				canceled <- time.Since(start)
			case <-time.After(10 * time.Second):
				canceled <- -1
			}
		case "/slow":
			time.Sleep(WatchAfter + 500*time.Millisecond)
			io.WriteString(w, "slow")
		default:
			io.WriteString(w, r.Method+" "+r.URL.Path)
		}
	}), Options{})
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	c.Close()
	if d := <-canceled; d < 0 || d > WatchAfter+2*time.Second {
		t.Errorf("client gone: the request's context canceled after %v; want within %v", d, WatchAfter+2*time.Second)
	}
	got := raw(t, ts.addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.Contains(got, "\r\n\r\nslow") || !strings.HasSuffix(got, "\r\n\r\nGET /next") {
		t.Errorf("pipelined after a watched request: got %q; want both answers", got)
	}
	c2, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	// The next request arrives while the watch reads: its first byte must not be lost.
	io.WriteString(c2, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(WatchAfter + 200*time.Millisecond)
	io.WriteString(c2, "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, _ := io.ReadAll(c2)
	if !strings.Contains(string(all), "\r\n\r\nslow") || !strings.HasSuffix(string(all), "\r\n\r\nGET /after") {
		t.Errorf("request sent during the watch: got %q; want both answers", all)
	}
}

// TestForwardPanics: a Forward hook that panics costs its connection only; one that
// declines leaves the request to the handler.
func TestForwardPanics(t *testing.T) {
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "handler") }),
		Options{Forward: func(h *Head) bool {
			switch {
			case bytes.HasPrefix(h.Raw, []byte("GET /panic ")):
				h.W.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
				panic("boom")
			case bytes.HasPrefix(h.Raw, []byte("GET /fast ")):
				h.W.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfast")
				return true
			}
			return false
		}})
	if got := raw(t, ts.addr, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n", 2*time.Second); got != "" {
		t.Errorf("panicking forward: got %q; want the connection closed without an answer", got)
	}
	got := raw(t, ts.addr, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2*time.Second)
	if !strings.Contains(got, "\r\n\r\nfast") || !strings.HasSuffix(got, "\r\n\r\nhandler") {
		t.Errorf("forwarded then declined: got %q; want the fast answer, then the handler's", got)
	}
}
