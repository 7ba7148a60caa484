package outbound_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
)

// scripted is a backend on loopback that answers each request head with the answer
// written for its path (then closes the connection when the answer's name ends in
// "!close"), counting the connections it accepted.
type scripted struct {
	addr  string
	conns atomic.Int64
}

func serveScripted(t *testing.T, answers map[string]string) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &scripted{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					if len(f) < 2 {
						return // a body: the answers are to heads only
					}
					path := f[1]
					for line != "\r\n" {
						if line, err = br.ReadString('\n'); err != nil {
							return
						}
					}
					if _, err := io.WriteString(c, answers[path]); err != nil || strings.HasSuffix(path, "!close") {
						return
					}
				}
			}()
		}
	}()
	return s
}

// TestSendHead: answers a plain reader takes come back as the backend wrote them, the
// others as net/http reads them; bodies are whole; connections are kept alive when the
// answer allows it.
func TestSendHead(t *testing.T) {
	const hello = "Content-Length: 5\r\n\r\nhello"
	answers := map[string]string{
		"/plain":       "HTTP/1.1 200 OK\r\nx-lower: v\r\nX-Multi: a\r\nx-multi: b\r\n" + hello,
		"/head":        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"/nocontent":   "HTTP/1.1 204 No Content\r\n\r\n",
		"/chunked":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"/http10":      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n" + hello,
		"/barelf":      "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
		"/interim":     "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n" + hello,
		"/twolengths":  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n" + hello,
		"/bighead":     "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 9000) + "\r\n" + hello,
		"/close":       "HTTP/1.1 200 OK\r\nConnection: close\r\n" + hello,
		"/toeof!close": "HTTP/1.1 200 OK\r\n\r\nhello",
		"/cut!close":   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
		"/status":      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n" + hello,
	}
	tests := []struct {
		path, method string
		plain        bool
		status       int
		fields       string // of a plain answer
		body         string
		err          error // reading the body
		kept         bool  // the connection serves the next request
	}{
		{"/plain", "GET", true, 200, "x-lower: v\r\nX-Multi: a\r\nx-multi: b\r\nContent-Length: 5\r\n", "hello", nil, true},
		{"/head", "HEAD", true, 200, "Content-Length: 5\r\n", "", nil, true},
		{"/nocontent", "DELETE", true, 204, "", "", nil, true},
		{"/status", "GET", true, 404, "Content-Type: text/plain\r\nContent-Length: 5\r\n", "hello", nil, true},
		{"/close", "GET", true, 200, "Connection: close\r\nContent-Length: 5\r\n", "hello", nil, false},
		{"/cut!close", "GET", true, 200, "Content-Length: 10\r\n", "hello", io.ErrUnexpectedEOF, false},
		{"/chunked", "GET", false, 200, "", "hello", nil, true},
		{"/http10", "GET", false, 200, "", "hello", nil, true},
		{"/barelf", "GET", false, 200, "", "hello", nil, true},
		{"/interim", "GET", false, 200, "", "hello", nil, true},
		{"/twolengths", "GET", false, 200, "", "hello", nil, true},
		{"/bighead", "GET", false, 200, "", "hello", nil, true},
		{"/toeof!close", "GET", false, 200, "", "hello", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			be := serveScripted(t, answers)
			tr := newTransport(t, targetConfig(be.addr, false), outbound.Options{})
			send := func(method, path string) *outbound.Answer {
				t.Helper()
				a, err := tr.SendHead(t.Context(), []byte(method+" "+path+" HTTP/1.1\r\nHost: backend.test\r\n\r\n"), method)
				if err != nil {
					t.Fatalf("SendHead %s: %v", path, err)
				}
				return a
			}
			a := send(tc.method, tc.path)
			var status int
			var body io.ReadCloser
			if a.Response != nil {
				status, body = a.Response.StatusCode, a.Response.Body
			} else {
				status, body = a.Status, a.Body
				if string(a.Fields) != tc.fields {
					t.Errorf("fields %q; want %q", a.Fields, tc.fields)
				}
			}
			if plain := a.Response == nil; plain != tc.plain || status != tc.status {
				t.Errorf("plain %v, status %d; want %v, %d", plain, status, tc.plain, tc.status)
			}
			b, err := io.ReadAll(body)
			body.Close()
			if string(b) != tc.body || !errors.Is(err, tc.err) {
				t.Errorf("body %q, error %v; want %q, %v", b, err, tc.body, tc.err)
			}
			if a := send("GET", "/plain"); a.Response != nil || a.Status != 200 {
				t.Errorf("the next request: %+v; want a plain 200", a)
			} else {
				a.Body.Close()
			}
			want := int64(2)
			if tc.kept {
				want = 1
			}
			if n := be.conns.Load(); n != want {
				t.Errorf("the backend accepted %d connections for two requests; want %d", n, want)
			}
		})
	}
}

// TestSendHeadUnreachable: a backend that cannot be reached is an *Error, as RoundTrip's.
func TestSendHeadUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := newTransport(t, targetConfig(addr, false), outbound.Options{})
	_, err = tr.SendHead(t.Context(), []byte("GET / HTTP/1.1\r\nHost: backend.test\r\n\r\n"), "GET")
	if e := outbound.AsError(err); e == nil || e.Kind != outbound.Unreachable {
		t.Fatalf("got %v; want an Unreachable *Error", err)
	}
}

// TestSendHeadOverTLS: the plain answer of a TLS backend carries the connection's state.
func TestSendHeadOverTLS(t *testing.T) {
	be := serveCounted(t, true, 0, echo)
	tr := newTransport(t, targetConfig(be.addr, true), outbound.Options{})
	a, err := tr.SendHead(t.Context(), []byte("GET /x HTTP/1.1\r\nHost: backend.test\r\n\r\n"), "GET")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Body.Close()
	if a.Response != nil || a.TLS == nil || a.Status != http.StatusOK {
		t.Fatalf("got %+v; want a plain 200 with the TLS state", a)
	}
}
