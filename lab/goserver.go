package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

// connLimit bounds how long a Go lab server keeps a connection.
const connLimit = 30 * time.Second

// goServer plays a ServerSpec with crypto/tls (or raw TCP for the special behaviours) in
// this process.
type goServer struct {
	ln     net.Listener
	addr   string
	spec   ServerSpec
	conf   *tls.Config
	done   chan struct{}
	mu     sync.Mutex
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
	closed sync.Once
}

// startGo starts spec on a free loopback port.
func startGo(spec ServerSpec) (server, error) {
	switch spec.Behaviour {
	case ServeTLS, ServePlainHTTP, ServeSilent, ServeAbort, ServeGarbage, ServeEndless, ServeDrip:
	case ServeClosed:
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		return closedPort(addr), nil
	default:
		return nil, fmt.Errorf("unknown behaviour %q", spec.Behaviour)
	}
	s := &goServer{spec: spec, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	if spec.Behaviour == ServeTLS || spec.Behaviour == ServeAbort {
		conf, err := goConfig(spec)
		if err != nil {
			return nil, err
		}
		s.conf = conf
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("go server: %w", err)
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *goServer) address() string { return s.addr }

func (s *goServer) close() error {
	s.closed.Do(func() {
		close(s.done)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
	return nil
}

func (s *goServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			_ = c.SetDeadline(time.Now().Add(connLimit))
			s.handle(c)
		}()
	}
}

// handle plays the behaviour on one connection.
func (s *goServer) handle(c net.Conn) {
	switch s.spec.Behaviour {
	case ServeTLS, ServeAbort:
		tc := tls.Server(c, s.conf)
		defer tc.Close() // with close_notify
		if err := tc.Handshake(); err != nil {
			return
		}
		answerHTTP(tc, "200 OK", "tlsgate lab: handshake completed\n")
	case ServePlainHTTP:
		answerHTTP(c, "400 Bad Request", "tlsgate lab: this port speaks plain HTTP\n")
	case ServeSilent:
		_, _ = io.Copy(io.Discard, c)
	case ServeGarbage:
		_, _ = c.Read(make([]byte, 1024))
		_, _ = c.Write([]byte("\x00\xff\x7fgarbage\x01\x02\x03 no protocol at all \xfe\xfd"))
		_, _ = io.Copy(io.Discard, c)
	case ServeEndless:
		_, _ = c.Read(make([]byte, 1024))
		rec := make([]byte, 5+16384)
		copy(rec, []byte{22, 3, 3, 0x40, 0x00}) // handshake records, 16 KiB of zeros each
		for s.wait(0) {
			if _, err := c.Write(rec); err != nil {
				return
			}
		}
	case ServeDrip:
		_, _ = c.Read(make([]byte, 1024))
		drip := []byte{22, 3, 3, 0x40, 0x00, 2, 0, 0x3f, 0xfc} // a ServerHello that never ends
		for i := 0; ; i++ {
			b := byte(0)
			if i < len(drip) {
				b = drip[i]
			}
			if _, err := c.Write([]byte{b}); err != nil || !s.wait(time.Second) {
				return
			}
		}
	}
}

// wait sleeps for d and reports whether the server still runs.
func (s *goServer) wait(d time.Duration) bool {
	if d == 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// answerHTTP reads a request (or whatever comes) briefly and answers it.
func answerHTTP(c net.Conn, status, body string) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 4096)); err != nil && !errors.Is(err, io.EOF) {
		return
	}
	fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, len(body), body)
}

// goConfig translates spec into a crypto/tls server configuration.
func goConfig(spec ServerSpec) (*tls.Config, error) {
	if spec.Behaviour == ServeAbort {
		return &tls.Config{
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				return nil, errors.New("this server aborts every handshake")
			},
		}, nil
	}
	def, err := tlsCert(spec.Cert)
	if err != nil {
		return nil, err
	}
	byName := map[string]*tls.Certificate{}
	for _, n := range spec.ByName {
		c, err := tlsCert(n.Credential)
		if err != nil {
			return nil, err
		}
		byName[n.Name] = &c
	}
	lo, hi := spec.versions()
	conf := &tls.Config{
		MinVersion:   lo,
		MaxVersion:   hi,
		CipherSuites: slices.Clone(spec.Ciphers),
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c, ok := byName[h.ServerName]; ok {
				return c, nil
			}
			if spec.RequireSNI {
				return nil, fmt.Errorf("no certificate for server_name %q", h.ServerName)
			}
			return &def, nil
		},
	}
	pool := x509.NewCertPool()
	for _, c := range spec.ClientCAs {
		pool.AddCert(c)
	}
	switch {
	case spec.ClientAuth == ClientAuthNone:
	case spec.NoCANames:
		// List no CA names: ask for any certificate and verify it ourselves.
		conf.ClientAuth = tls.RequestClientCert
		if spec.ClientAuth == ClientAuthRequire {
			conf.ClientAuth = tls.RequireAnyClientCert
		}
		conf.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyClient(raw, pool)
		}
	case spec.ClientAuth == ClientAuthRequest:
		conf.ClientAuth, conf.ClientCAs = tls.VerifyClientCertIfGiven, pool
	default:
		conf.ClientAuth, conf.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	return conf, nil
}

// verifyClient verifies a client chain against roots, as RequireAndVerifyClientCert does.
func verifyClient(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return nil
	}
	var chain []*x509.Certificate
	for _, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
		chain = append(chain, c)
	}
	inters := x509.NewCertPool()
	for _, c := range chain[1:] {
		inters.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

// tlsCert turns a credential into a tls.Certificate, sending its chain as given.
func tlsCert(c Credential) (tls.Certificate, error) {
	if len(c.Chain) == 0 || c.Key == nil {
		return tls.Certificate{}, errors.New("a TLS server needs a certificate and its key")
	}
	out := tls.Certificate{PrivateKey: c.Key, Leaf: c.Chain[0]}
	for _, x := range c.Chain {
		out.Certificate = append(out.Certificate, x.Raw)
	}
	return out, nil
}

// closedPort is an address nothing listens on.
type closedPort string

func (p closedPort) address() string { return string(p) }
func (p closedPort) close() error    { return nil }

// freePort returns a loopback address whose port was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// waitPort dials addr until it accepts a connection, the process behind it exits (exited
// is closed) or the bound passes.
func waitPort(ctx context.Context, addr string, exited <-chan struct{}, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var d net.Dialer
	for delay := 5 * time.Millisecond; ; delay = min(delay*2, 100*time.Millisecond) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("the server exited")
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections within %s", addr, bound)
		case <-time.After(delay):
		}
	}
}
