package outbound

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// FuzzPeekPlain: every answer the plain reader takes, net/http reads as the same answer:
// status, fields, body length, whether the connection closes after it.
func FuzzPeekPlain(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 404 Not Found\r\nx-a: 1\r\nX-A:  2 \t\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 304\r\nETag: \"x\"\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		ph, ok := peekPlain(bufio.NewReaderSize(bytes.NewReader(raw), 8<<10), method)
		if !ok {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("the plain reader takes %q; net/http refuses it: %v", raw, err)
		}
		if resp.StatusCode != ph.status || resp.Close != ph.close {
			t.Fatalf("%q: plain status %d close %v; net/http %d %v", raw, ph.status, ph.close, resp.StatusCode, resp.Close)
		}
		got := fieldsHeader(ph.fields)
		if ph.close {
			got.Del("Connection") // net/http removes it when it says close
		}
		if !reflect.DeepEqual(got, resp.Header) {
			t.Fatalf("%q: plain fields %v; net/http %v", raw, got, resp.Header)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("%q: net/http reading the body: %v", raw, err)
		}
		want := raw[ph.size:]
		if int64(len(want)) > ph.length {
			want = want[:ph.length]
		}
		if !bytes.Equal(body, want) {
			t.Fatalf("%q: net/http's body %q; the plain reader's %q", raw, body, want)
		}
	})
}
