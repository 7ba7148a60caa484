package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

var messageIDs = regexp.MustCompile(`tg-[0-9a-f]{24}`)

func TestParseFastHead(t *testing.T) {
	tests := []struct {
		head string
		ok   bool
	}{
		{"GET /a/b?x=1 HTTP/1.1\r\nHost: api.test\r\n\r\n", true},
		{"HEAD / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n", true},
		{"DELETE /x HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n", true},
		{"POST /x HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n", false},         // a method with a body
		{"GET /x HTTP/1.1\r\nHost: api.test\r\nContent-Length: 5\r\n\r\n", false},          // a body
		{"GET /x HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n", false}, // a body
		{"GET /x HTTP/1.0\r\nHost: api.test\r\n\r\n", false},                               // HTTP/1.0
		{"GET /a%20b HTTP/1.1\r\nHost: api.test\r\n\r\n", false},                           // escapes
		{"GET /a;b HTTP/1.1\r\nHost: api.test\r\n\r\n", false},                             // semicolon
		{"GET http://api.test/ HTTP/1.1\r\nHost: api.test\r\n\r\n", false},                 // absolute form
		{"GET / HTTP/1.1\r\n\r\n", false},                                                  // no Host
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},                            // two Hosts
		{"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", false}, // obs-fold
		{"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01b\r\n\r\n", false},
	}
	for _, tc := range tests {
		var r fastRequest
		if got := parseFastHead([]byte(tc.head), &r); got != tc.ok {
			t.Errorf("parseFastHead(%q) = %v; want %v", tc.head, got, tc.ok)
		}
	}
	var r fastRequest
	head := "GET /p?q=1 HTTP/1.1\r\nHost: api.test\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nX-Forwarded-For: 9.9.9.9\r\nProxy-Authorization: s\r\naccept: a\r\nAccept: b\r\n\r\n"
	if !parseFastHead([]byte(head), &r) {
		t.Fatal("a plain GET declined")
	}
	want := http.Header{"Accept": {"a", "b"}}
	if r.method != "GET" || r.path != "/p" || r.query != "q=1" || r.host != "api.test" || !r.close || !reflect.DeepEqual(r.header(), want) {
		t.Errorf("got %+v; want GET /p q=1 api.test close, header %v", r, want)
	}
}

// TestFastPathMatchesOrdinaryPath: the same requests through a gateway with the fast path
// and one without reach the backend alike and come back alike (but for Date and the
// message ID), and the fast path served those it takes.
func TestFastPathMatchesOrdinaryPath(t *testing.T) {
	requests := []string{
		"GET /echo/headers?a=1&b=2 HTTP/1.1\r\nHost: api.test\r\nUser-Agent: t\r\nX-Forwarded-For: 9.9.9.9\r\nForwarded: for=x\r\nConnection: X-Hop\r\nX-Hop: drop\r\nProxy-Authorization: secret\r\nKeep-Alive: 5\r\nAccept: a\r\naccept: b\r\n\r\n",
		"GET /echo/headers HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"HEAD /echo/headers HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"DELETE /echo/x HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n",
		"OPTIONS /echo/nocontent HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"GET /echo/stream HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"GET /raw/x HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"GET /echo/trailers HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"GET /echo/big HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"GET /nosuch HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"POST /echo/post HTTP/1.1\r\nHost: api.test\r\nContent-Length: 4\r\n\r\nbody",
		"GET /echo/last HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
	}
	run := func(opts ...func(*Options)) ([]pathAnswer, *testGW) {
		g, p, port := echoGW(t, opts...)
		pool := x509.NewCertPool()
		pool.AddCert(p.gwRoot.Cert)
		c, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "api.test", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		var out []pathAnswer
		for _, req := range requests {
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			method, _, _ := strings.Cut(req, " ")
			resp, err := http.ReadResponse(br, &http.Request{Method: method})
			if err != nil {
				t.Fatalf("%q: %v", req, err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("%q: reading the body: %v", req, err)
			}
			out = append(out, comparableAnswer(resp, body))
		}
		return out, g
	}
	fast, gf := run()
	slow, gs := run(func(o *Options) { o.noFastPath = true })
	for i := range requests {
		if !reflect.DeepEqual(fast[i], slow[i]) {
			t.Errorf("%q:\nfast path: %+v\nordinary:  %+v", requests[i], fast[i], slow[i])
		}
	}
	if !strings.Contains(fast[0].body, `X-Forwarded-For: ["127.0.0.1"]`) || strings.Contains(fast[0].body, "X-Hop") ||
		strings.Contains(fast[0].body, "Proxy-Authorization") || !strings.Contains(fast[0].body, `Accept: ["a" "b"]`) {
		t.Errorf("the backend saw:\n%s\nwant X-Forwarded-For 127.0.0.1, no hop-by-hop field, both Accept values", fast[0].body)
	}
	if fast[0].header.Get("X-Hop-Resp") != "" || fast[0].header.Get("Keep-Alive") != "" || fast[0].header.Get("X-Kept") != "yes" {
		t.Errorf("the client got %v; want the backend's fields without its hop-by-hop ones", fast[0].header)
	}
	for i, req := range requests {
		if !strings.Contains(req, "/raw/x") {
			continue
		}
		h := fast[i].header
		if h.Get("X-Lower") != "v" || h.Get("X-Drop") != "" || h.Get("Keep-Alive") != "" || !reflect.DeepEqual(h["X-Multi"], []string{"a", "b"}) ||
			h.Get("X-Date") != "backend" || fast[i].body != "hello" {
			t.Errorf("the client got %v %q from a backend's raw answer; want its fields but the hop-by-hop ones, its Date, its body", h, fast[i].body)
		}
	}
	if n, want := gf.gw.fastServed.Load(), int64(len(requests)-2); n != want {
		t.Errorf("the fast path served %d requests; want %d (all but the unknown route and the POST)", n, want)
	}
	if n := gs.gw.fastServed.Load(); n != 0 {
		t.Errorf("the fast path served %d requests with noFastPath", n)
	}
}

// pathAnswer is what a client got through a gateway, comparable with what it got through
// another.
type pathAnswer struct {
	status  int
	header  http.Header
	body    string
	trailer http.Header
}

// comparableAnswer returns resp, with body read, without what differs from one gateway to
// another: the message ID, and Date (the raw backend's own, passed on, is marked X-Date).
func comparableAnswer(resp *http.Response, body []byte) pathAnswer {
	if resp.Header.Get("Date") == "Mon, 02 Jan 2006 15:04:05 GMT" {
		resp.Header.Set("X-Date", "backend")
	}
	resp.Header.Del("Date")
	resp.Header.Del(HeaderMessageID)
	return pathAnswer{resp.StatusCode, resp.Header, messageIDs.ReplaceAllString(string(body), "tg-ID"), resp.Trailer}
}

// TestClientGoneCancelsBackend: a client that closes its connection while its request
// waits for the backend makes the gateway give up the backend request, on the fast path
// (GET) and the ordinary one (POST); and so does an HTTP/2 client that resets its stream,
// on the head path (GET) and the ordinary one (POST).
func TestClientGoneCancelsBackend(t *testing.T) {
	g, p, port := echoGW(t)
	_ = g
	pool := x509.NewCertPool()
	pool.AddCert(p.gwRoot.Cert)
	for _, req := range []string{
		"GET /echo/wait?fast HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"POST /echo/wait?ordinary HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n",
	} {
		c, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "api.test", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, req)
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		c.Close()
		// The watch starts after 1 s; the target's I/O timeout is 5 s.
		if q := req[strings.Index(req, "?")+1 : strings.Index(req, " HTTP")]; awaitCanceled(q, 3*time.Second) {
			t.Logf("%s: the backend request ended %v after the client left", q, time.Since(start))
		} else {
			t.Errorf("%q: the backend request still runs 3 s after the client left", req)
		}
	}
	// Over HTTP/2 the client resets the stream: the head path (GET) and the ordinary path
	// (POST) give up the backend request too.
	tr := apiTransport(pool, port)
	defer tr.CloseIdleConnections()
	for _, method := range []string{"GET", "POST"} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, method, "https://api.test/echo/wait?h2-"+method, nil)
		done := make(chan error, 1)
		go func() {
			resp, err := tr.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		cancel()
		if awaitCanceled("h2-"+method, 3*time.Second) {
			t.Logf("HTTP/2 %s: the backend request ended %v after the client reset the stream", method, time.Since(start))
		} else {
			t.Errorf("HTTP/2 %s: the backend request still runs 3 s after the client reset the stream", method)
		}
		if err := <-done; err == nil {
			t.Errorf("HTTP/2 %s: the canceled request got an answer", method)
		}
	}
}

// awaitCanceled reports whether the echo backend's /wait request with query q ends
// within d (others that end meanwhile are passed over).
func awaitCanceled(q string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case got := <-backendCanceled:
			if got == q {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// FuzzParseFastHead: a head the fast path takes is one net/http reads as the same request:
// same method, path, query and Host, no body, and the same value for every field it
// forwards. (A head the two read differently could smuggle a request past one of them.)
func FuzzParseFastHead(f *testing.F) {
	for _, seed := range []string{
		"GET /a/b?x=1 HTTP/1.1\r\nHost: api.test\r\n\r\n",
		"HEAD / HTTP/1.1\r\nHost: api.test\r\nConnection: close, X-A\r\nX-A: 1\r\nAccept: a\r\naccept: b\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX-Sp:  v \t\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET //x//y?a=b&c=d HTTP/1.1\r\nHost: a:8443\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var r fastRequest
		if !parseFastHead(raw, &r) {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("the fast path takes %q; net/http refuses it: %v", raw, err)
		}
		if req.Method != r.method || req.URL.Path != r.path || req.URL.RawQuery != r.query || req.Host != r.host {
			t.Fatalf("%q: fast path %s %q %q %q; net/http %s %q %q %q", raw, r.method, r.path, r.query, r.host,
				req.Method, req.URL.Path, req.URL.RawQuery, req.Host)
		}
		if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
			t.Fatalf("%q: the fast path sees no body; net/http sees length %d, encoding %v", raw, req.ContentLength, req.TransferEncoding)
		}
		for k, vs := range r.header() {
			if !reflect.DeepEqual(req.Header[k], vs) {
				t.Fatalf("%q: field %s: fast path %q; net/http %q", raw, k, vs, req.Header[k])
			}
		}
	})
}
