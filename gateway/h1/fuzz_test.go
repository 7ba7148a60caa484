package h1

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzServeConn feeds arbitrary bytes to a connection as a client would: the server never
// panics, answers only with HTTP/1.x status lines, and ends the connection within its
// timeouts.
func FuzzServeConn(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
		"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
	} {
		f.Add([]byte(seed))
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/echo" {
			io.Copy(w, io.LimitReader(r.Body, 1<<16))
			return
		}
		w.Header().Set("X-Path", r.URL.Path)
		io.WriteString(w, r.Method)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	s := NewServer(h, Options{ReadHeaderTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond, MaxHeaderBytes: 4096})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(server)
		}()
		go func() {
			client.SetWriteDeadline(time.Now().Add(2 * time.Second))
			client.Write(in)
			client.(*net.TCPConn).CloseWrite() // the end of the input: the server sees EOF
		}()
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, err := io.ReadAll(client)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("the connection still served 5 s after its input %q", in)
		}
		if err != nil && !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("reading the answers to %q: %v (got %q)", in, err, out)
		}
		if len(out) > 0 && !strings.HasPrefix(string(out), "HTTP/1.") {
			t.Fatalf("answer to %q does not start with a status line: %q", in, out)
		}
	})
}
