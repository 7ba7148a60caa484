package outbound

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestWriteRequestMatchesNetHTTP: for requests without a body, with every kind of header
// field, what writeRequest writes parses to the same request as what http.Request.Write
// writes.
func TestWriteRequestMatchesNetHTTP(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 20261122))
	names := []string{"Accept", "X-Forwarded-For", "X-Custom", "Cookie", "Authorization", "User-Agent", "Connection", "Content-Length", "Trailer", "Via"}
	values := []string{"", "a", "text/html, */*", "1.2.3.4", "line\r\nbreak", "  padded  ", "ünïcode", "k=v; k2=v2"}
	methods := []string{"GET", "HEAD", "DELETE", "OPTIONS", "GET", "POST"}
	for i := range 3000 {
		req := &http.Request{Method: methods[rng.IntN(len(methods))], ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
			URL: &url.URL{Scheme: "https", Host: "backend.test:8443", Path: "/a/b", RawQuery: []string{"", "x=1&y=2"}[rng.IntN(2)]}}
		if rng.IntN(2) == 0 {
			req.Host = "api.example.com"
		}
		req.Close = rng.IntN(4) == 0
		for range rng.IntN(6) {
			k := names[rng.IntN(len(names))]
			req.Header[k] = append(req.Header[k], values[rng.IntN(len(values))])
		}
		var want, got bytes.Buffer
		if err := req.Write(&want); err != nil {
			continue
		}
		bw := bufio.NewWriter(&got)
		if err := writeRequest(bw, req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		bw.Flush()
		ws, gs := want.String(), got.String()
		a, err1 := http.ReadRequest(bufio.NewReader(&want))
		b, err2 := http.ReadRequest(bufio.NewReader(&got))
		if err1 != nil || err2 != nil {
			t.Fatalf("request %d: parsing: %v / %v\n%q\n%q", i, err1, err2, ws, gs)
		}
		if a.Method != b.Method || a.RequestURI != b.RequestURI || a.Host != b.Host || a.Close != b.Close ||
			a.ContentLength != b.ContentLength || !reflect.DeepEqual(a.Header, b.Header) {
			t.Fatalf("request %d differs:\nnet/http: %q\nours:     %q", i, ws, gs)
		}
	}
}
