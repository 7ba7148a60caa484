package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestHeadPathMatchesOrdinaryPath: the same HTTP/2 requests through a gateway with the
// head path and one without reach the backend alike and come back alike (but for Date and
// the message ID), and the head path served the bodiless ones it routes; and through a
// gateway serving HTTP/2 with net/http's server, alike again.
func TestHeadPathMatchesOrdinaryPath(t *testing.T) {
	type request struct {
		method, path, body string
		header             http.Header
	}
	requests := []request{
		{"GET", "/echo/headers?a=1&b=2", "", http.Header{"User-Agent": {"t"}, "X-Forwarded-For": {"9.9.9.9"}, "Forwarded": {"for=x"},
			"Te": {"trailers"}, "Accept": {"a", "b"}, "Cookie": {"c=1", "d=2"}, "Proxy-Authorization": {"secret"}}},
		{"GET", "/echo/headers", "", http.Header{"User-Agent": {""}}},
		{"GET", "/echo/a%20b/headers?q=%41", "", nil},
		{"HEAD", "/echo/headers", "", nil},
		{"DELETE", "/echo/x", "", nil},
		{"OPTIONS", "/echo/nocontent", "", nil},
		{"GET", "/echo/stream", "", nil},
		{"GET", "/echo/trailers", "", nil},
		{"GET", "/echo/big", "", nil},
		{"GET", "/raw/x", "", nil},
		{"GET", "/nosuch", "", nil},
		{"POST", "/echo/post", "body", nil},
	}
	run := func(opts ...func(*Options)) ([]pathAnswer, *testGW) {
		g, p, port := echoGW(t, opts...)
		pool := x509.NewCertPool()
		pool.AddCert(p.gwRoot.Cert)
		tr := apiTransport(pool, port)
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		var out []pathAnswer
		for _, rq := range requests {
			req, err := http.NewRequest(rq.method, "https://api.test"+rq.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rq.body != "" {
				req.Body, req.ContentLength = io.NopCloser(strings.NewReader(rq.body)), int64(len(rq.body))
			}
			for k, vs := range rq.header {
				req.Header[k] = vs
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", rq.method, rq.path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s %s: reading the body: %v", rq.method, rq.path, err)
			}
			if resp.ProtoMajor != 2 {
				t.Fatalf("%s %s: answered over %s; want HTTP/2", rq.method, rq.path, resp.Proto)
			}
			out = append(out, comparableAnswer(resp, body))
		}
		return out, g
	}
	head, gh := run()
	slow, gs := run(func(o *Options) { o.noFastPath = true })
	for i, rq := range requests {
		if !reflect.DeepEqual(head[i], slow[i]) {
			t.Errorf("%s %s:\nhead path: %+v\nordinary:  %+v", rq.method, rq.path, head[i], slow[i])
		}
	}
	if b := head[0].body; !strings.Contains(b, `X-Forwarded-For: ["127.0.0.1"]`) || strings.Contains(b, "Proxy-Authorization") ||
		!strings.Contains(b, `Accept: ["a" "b"]`) || !strings.Contains(b, `Te: ["trailers"]`) || strings.Contains(b, "Forwarded: [\"for=x\"]") {
		t.Errorf("the backend saw:\n%s\nwant X-Forwarded-For 127.0.0.1, Te: trailers, both Accept values, no hop-by-hop or inbound forwarded field", b)
	}
	if n, want := gh.gw.headServed.Load(), int64(len(requests)-2); n != want {
		t.Errorf("the head path served %d requests; want %d (all but the unknown route and the POST)", n, want)
	}
	if n := gs.gw.headServed.Load(); n != 0 {
		t.Errorf("the head path served %d requests with noFastPath", n)
	}
	// The gateway's HTTP/2 server answers as net/http's does.
	std, _ := run(func(o *Options) { o.StdHTTP2 = true })
	for i, rq := range requests {
		if !reflect.DeepEqual(head[i], std[i]) {
			t.Errorf("%s %s:\ngateway/h2: %+v\nnet/http:   %+v", rq.method, rq.path, head[i], std[i])
		}
	}
}

// apiTransport is a client transport for https://api.test/ on the gateway's port, trusting
// pool, HTTP/2 where the gateway offers it.
func apiTransport(pool *x509.CertPool, port string) *http.Transport {
	return &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "api.test"},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
		},
	}
}

// TestCopyFields: the fields of plain answers land in a header as the plain per-field
// copy would put them (repeated names, names the answer's Connection lists, hop-by-hop
// fields, empty values, a name the header holds already), and appending to one name's
// values leaves the others alone.
func TestCopyFields(t *testing.T) {
	reference := func(h http.Header, fields []byte) {
		var buf [4][]byte
		named, _ := connectionOf(fields, buf[:0])
		for name, value, rest := []byte(nil), []byte(nil), fields; len(rest) > 0; {
			name, value, rest = nextField(rest)
			if passed(name, named) {
				k := http.CanonicalHeaderKey(string(name))
				h[k] = append(h[k], string(value))
			}
		}
	}
	for _, fields := range []string{
		"Server: nginx\r\nDate: Mon, 23 Nov 2026 01:36:44 GMT\r\nContent-Type: text/plain\r\nContent-Length: 69\r\n",
		"Set-Cookie: a=1\r\nx-custom:  spaced value \t\r\nSet-Cookie: b=2\r\nX-Empty:\r\nset-cookie: c=3\r\n",
		"Connection: keep-alive, X-Gone\r\nX-Gone: 1\r\nKeep-Alive: timeout=5\r\nX-Kept: 2\r\nX-Tlsgate-Message-Id: from-backend\r\n",
		"Transfer-Encoding: chunked\r\nTrailer: X-T\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nVary: Accept\r\nVary: Origin\r\n",
	} {
		got := http.Header{"X-Tlsgate-Message-Id": {"tg-1"}}
		want := http.Header{"X-Tlsgate-Message-Id": {"tg-1"}}
		copyFields(got, []byte(fields))
		reference(want, []byte(fields))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("fields %q:\ngot  %v\nwant %v", fields, got, want)
			continue
		}
		for k := range got {
			got[k] = append(got[k], "appended")
			want[k] = append(want[k], "appended")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("fields %q: after appending to %s:\ngot  %v\nwant %v", fields, k, got, want)
			}
		}
	}
}
