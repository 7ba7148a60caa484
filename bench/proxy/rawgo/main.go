// Command rawgo is a lower bound of bench/proxy.sh: the least an HTTPS→HTTPS keep-alive
// forwarder written in Go on crypto/tls does, to tell what the language and its TLS cost
// from what an HTTP library costs. Per request it reads the request head, writes it as it
// came to a kept-alive backend connection (verified against a CA file, sessions resumed),
// reads the response head and a Content-Length body, and writes them back in one write.
// It understands nothing else: no request bodies, no chunked responses, no HTTP/2, no
// header rewriting, no log. It is no proxy to use; tlsgate is measured against it to
// show how far an HTTP/1.1 path could go without net/http's requests and responses.
//
// Usage: rawgo -listen 127.0.0.1:PORT -cert CERT -key KEY -ca CA -backend HOST:PORT
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/bench/proxy/proxyflags"
)

func main() { proxyflags.Main("HOST:PORT", run) }

func run(c proxyflags.Config) error {
	roots, listen, cert, key, backend := c.Roots, c.Listen, c.Cert, c.Key, c.Backend
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(backend)
	if err != nil {
		return fmt.Errorf("-backend %q: %w", backend, err)
	}
	f := &forwarder{addr: backend, cfg: &tls.Config{RootCAs: roots, ServerName: host,
		ClientSessionCache: tls.NewLRUClientSessionCache(256)}}
	ln, err := tls.Listen("tcp", listen, &tls.Config{Certificates: []tls.Certificate{kp}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go f.serve(c)
	}
}

type forwarder struct {
	addr string
	cfg  *tls.Config
	mu   sync.Mutex
	idle []*backendConn
}

type backendConn struct {
	c  net.Conn
	br *bufio.Reader
}

func (f *forwarder) get() (*backendConn, error) {
	f.mu.Lock()
	if n := len(f.idle); n > 0 {
		b := f.idle[n-1]
		f.idle = f.idle[:n-1]
		f.mu.Unlock()
		return b, nil
	}
	f.mu.Unlock()
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", f.addr, f.cfg)
	if err != nil {
		return nil, err
	}
	return &backendConn{c: c, br: bufio.NewReaderSize(c, 8<<10)}, nil
}

func (f *forwarder) put(b *backendConn) {
	f.mu.Lock()
	f.idle = append(f.idle, b)
	f.mu.Unlock()
}

// head is what serve needs of a head: its bytes, the Content-Length, and whether the
// connection closes after it.
type head struct {
	buf    []byte
	length int
	close  bool
}

var errHead = errors.New("malformed or unsupported head")

// readHead reads a head of at most 64 KiB into h.buf.
func readHead(br *bufio.Reader, h *head) error {
	h.buf, h.length, h.close = h.buf[:0], 0, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		h.buf = append(h.buf, line...)
		if len(h.buf) > 64<<10 {
			return errHead
		}
		if len(line) <= 2 {
			return nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // the first line
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if h.length, err = strconv.Atoi(string(value)); err != nil || h.length < 0 {
				return errHead
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return errHead
		case bytes.EqualFold(name, []byte("Connection")):
			h.close = bytes.EqualFold(value, []byte("close"))
		}
	}
}

func (f *forwarder) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4<<10)
	var req, resp head
	for {
		if err := readHead(br, &req); err != nil || req.length > 0 {
			return
		}
		b, err := f.get()
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		if _, err := b.c.Write(req.buf); err != nil {
			b.c.Close()
			return
		}
		if err := readHead(b.br, &resp); err != nil {
			b.c.Close()
			return
		}
		n := len(resp.buf)
		resp.buf = append(resp.buf, make([]byte, resp.length)...)
		if _, err := io.ReadFull(b.br, resp.buf[n:]); err != nil {
			b.c.Close()
			return
		}
		if resp.close || req.close {
			b.c.Close()
		} else {
			f.put(b)
		}
		if _, err := c.Write(resp.buf); err != nil || req.close || resp.close {
			return
		}
	}
}
