// Package inbound terminates client TLS for virtual hosts and classifies every inbound failure.
//
// [Listen] wraps a TCP listener. Each connection is handshaken off the Accept path, bounded
// by a timeout, with the tls.Config of the virtual host its server_name picks ([Match]);
// Accept returns only connections whose handshake completed, as *tls.Conn, so an
// http.Server serves them directly (HTTP/2 included, through ALPN). A failed handshake is
// classified into one cause of shared/CAUSES.md from the ClientHello and the handshake
// error, reported to Options.OnFailure, counted, and the connection closed.
//
// Two-way TLS works as nginx's "ssl_verify_client on" does on Apigee Edge's Router: the
// handshake asks for a client certificate (naming the virtual host's CAs) but does not
// verify it; the HTTP layer does, with [CheckClient], and answers 400 with nginx's page
// through [WriteFault].
//
// Connections that do not speak TLS get Edge's answer too: a plain HTTP request gets
// nginx's "400 The plain HTTP request was sent to HTTPS port" page, anything else is
// closed; both are reported with the cause tls.not-tls.
package inbound

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tlsgate/tlsgate/gateway/sockio"
)

// VirtualHost is one virtual host's resolved TLS configuration (keystores and references
// resolved by the caller). A VirtualHost is read, never modified, by the listener; replace
// it rather than changing it in place.
type VirtualHost struct {
	Name        string
	HostAliases []string         // "api.example.com", "*.example.com" (a leading wildcard matches one label)
	Cert        *tls.Certificate // chain + key; nil when TLS is off for this virtual host
	CertFrom    string           // "keystore gatewayKS (through reference gatewayRef) alias api", for evidence and fixes

	ClientAuth    bool
	ClientCAs     []*x509.Certificate
	ClientCAsFrom string // "truststore clientCAs (through reference clientRef)"

	// Protocols are the versions accepted (tls.VersionTLS10 ...); the listener accepts the
	// span from the lowest to the highest. Empty means TLS 1.2 and TLS 1.3.
	Protocols []uint16
	// Ciphers are the TLS 1.0–1.2 suites accepted; empty means Go's defaults. TLS 1.3
	// suites are not configurable and always accepted.
	Ciphers []uint16
}

// Options tune a Listener. The zero value is usable.
type Options struct {
	HandshakeTimeout time.Duration // the whole handshake, from accept; default 10 s

	// MaxConns bounds the connections held at once, handshaking or open; 0 means 10000.
	// Beyond it new connections wait in the kernel's accept backlog, not handshaken.
	MaxConns int

	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now

	// OnFailure is called for every failed handshake, from that connection's own goroutine
	// after the connection is closed and its slot released; it never blocks Accept or
	// other handshakes, but it should return promptly.
	OnFailure func(Failure)

	// Handoff, if set, is offered every connection whose handshake completed, in the
	// goroutine of its handshake. When it takes the connection it serves it, closes it and
	// returns true; Accept never sees it. When it returns false, Accept returns it.
	Handoff func(*tls.Conn) bool
}

// Listener is a net.Listener whose Accept returns *tls.Conn with completed handshakes.
type Listener struct {
	ln      net.Listener
	vhosts  func() []*VirtualHost
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time
	onFail  func(Failure)
	handoff func(*tls.Conn) bool

	base   *tls.Config    // shared by every handshake: GetConfigForClient only
	ticket [32]byte       // the session ticket key each virtual host's key derives from
	slots  chan struct{}  // one token per held connection
	ready  chan *tls.Conn // handshaken connections waiting for Accept
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	err    error // why Accept stops: net.ErrClosed or the accept error
	stats  map[string]int
	closed bool
}

// Listen wraps ln: Accept returns only *tls.Conn whose handshake completed. Handshakes run
// concurrently off the Accept path, each bounded by o.HandshakeTimeout, so a client that
// sends nothing or trickles cannot hold Accept or other handshakes. Failures are
// classified, reported to o.OnFailure, counted ([Listener.Stats]) and the connection
// closed. vhosts returns the current virtual hosts of this port, in order; it is called
// once per handshake, so a hot reload is a matter of returning new ones. Virtual hosts
// whose Cert is nil are ignored.
func Listen(ln net.Listener, vhosts func() []*VirtualHost, o Options) *Listener {
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{
		ln: ln, vhosts: vhosts, timeout: o.HandshakeTimeout, log: o.Logger, now: o.Now,
		onFail: o.OnFailure, handoff: o.Handoff,
		slots: make(chan struct{}, o.MaxConns),
		ready: make(chan *tls.Conn),
		ctx:   ctx, cancel: cancel,
		stats: make(map[string]int),
	}
	_, _ = rand.Read(l.ticket[:]) // never fails: crypto/rand crashes the program instead
	l.base = &tls.Config{GetConfigForClient: l.configFor}
	go l.acceptLoop()
	return l
}

// Accept waits for the next connection whose handshake completed and returns it as a
// *tls.Conn. After Close, or when the underlying listener fails, it returns the error
// (net.ErrClosed after Close).
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		return nil, l.err
	}
}

// Close stops accepting, closes the underlying listener and aborts the handshakes in
// progress. Connections already returned by Accept stay open.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if l.err == nil {
		l.err = net.ErrClosed
	}
	l.mu.Unlock()
	l.cancel()
	return l.ln.Close()
}

// Addr returns the underlying listener's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Stats returns how many handshakes failed, by cause ID; the key "" counts failures with
// no cause (a client that closed the connection without completing a handshake).
func (l *Listener) Stats() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.stats))
	for k, v := range l.stats {
		out[k] = v
	}
	return out
}

// acceptLoop takes a slot, then a connection, and hands the connection to its own
// handshake goroutine. Without a free slot it does not accept.
func (l *Listener) acceptLoop() {
	var backoff time.Duration
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		raw, err := l.ln.Accept()
		if err != nil {
			<-l.slots
			if l.ctx.Err() != nil {
				return
			}
			if !retryable(err) {
				l.mu.Lock()
				if l.err == nil {
					l.err = err
				}
				l.mu.Unlock()
				l.log.Error("inbound: accepting connections", "addr", l.ln.Addr().String(), "error", err.Error())
				l.cancel()
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.log.Warn("inbound: accepting a connection; retrying", "error", err.Error(), "in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		go l.serve(raw)
	}
}

// retryable reports whether an accept error is passing (too many open files, a
// connection aborted before it was accepted, a timeout).
func retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED, syscall.ENOBUFS, syscall.ENOMEM, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// serve handshakes one connection and either hands it to Accept or reports its failure.
func (l *Listener) serve(raw net.Conn) {
	st := &handshakeState{}
	wc := &wireConn{Conn: sockio.Wrap(raw), release: func() { <-l.slots }, recording: true, st: st}
	tc := tls.Server(wc, l.base)
	_ = raw.SetDeadline(time.Now().Add(l.timeout))
	err := tc.HandshakeContext(l.ctx)
	if err == nil {
		wc.recording = false
		_ = raw.SetDeadline(time.Time{})
		if f, refused := l.refusedAfterHandshake(tc, st, wc); refused {
			_ = tc.Close()
			l.report(f)
			return
		}
		if l.handoff != nil && l.handoff(tc) {
			return
		}
		select {
		case l.ready <- tc:
		case <-l.ctx.Done():
			_ = tc.Close()
		}
		return
	}

	if l.ctx.Err() != nil {
		// Close aborted the handshake: no failure of the client's.
		_ = tc.Close()
		return
	}
	f := l.classify(st, wc, err)
	f.Client, f.Local = raw.RemoteAddr().String(), raw.LocalAddr().String()
	if st.plainHTTP {
		answerPlainHTTP(wc, l.now())
	}
	_ = tc.Close()
	l.report(f)
}

// report counts, logs and hands on one failure.
func (l *Listener) report(f Failure) {
	l.mu.Lock()
	l.stats[f.Cause]++
	l.mu.Unlock()
	level := slog.LevelInfo
	if f.Cause == "" {
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, "inbound: TLS handshake failed",
		"client", f.Client, "local", f.Local, "server_name", f.ServerName, "virtual_host", f.VirtualHost,
		"cause", f.Cause, "detail", f.Detail, "alert", f.Alert, "error", f.Err)
	if l.onFail != nil {
		l.onFail(f)
	}
}

// wireConn is the raw connection under a tls.Conn: it releases the listener's slot when
// closed and, during the handshake, keeps what the classification needs: the first bytes
// the client sent, how much the gateway wrote, and the last plaintext alert each side
// sent. Only the handshake goroutine touches the recorded fields while recording is true.
type wireConn struct {
	net.Conn
	release func()
	once    sync.Once

	st        *handshakeState
	recording bool
	first     []byte // up to firstBytes bytes the client sent first
	written   int
	in, out   recordScanner
}

const firstBytes = 64

func (c *wireConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.recording {
		if len(c.first) < firstBytes {
			c.first = append(c.first, b[:min(n, firstBytes-len(c.first))]...)
		}
		c.in.feed(b[:n])
	}
	return n, err
}

func (c *wireConn) Write(b []byte) (int, error) {
	if c.recording {
		c.out.feed(b)
		c.written += len(b)
	}
	return c.Conn.Write(b)
}

func (c *wireConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// recordScanner follows the TLS records of one direction of a stream (RFC 8446 §5.1:
// type, legacy version, 16-bit length, body) and keeps the last plaintext alert: a record
// of type 21 whose body is two bytes, level and description. (An OpenSSL client that
// refuses the server's certificate in TLS 1.3 sends its alert before it has keys, in
// plaintext, which crypto/tls then reports as bad_record_mac.)
type recordScanner struct {
	hdr      [5]byte
	nh       int  // bytes of hdr filled
	lastType byte // the type and length of the last record begun
	lastLen  int
	left     int    // bytes of the current body still to come
	isAlert  bool   // the current record is a plaintext alert
	body     []byte // the current alert's body so far
	alert    []byte // level and description of the last complete alert
}

func (s *recordScanner) feed(b []byte) {
	for len(b) > 0 {
		if s.left == 0 {
			n := copy(s.hdr[s.nh:], b)
			s.nh, b = s.nh+n, b[n:]
			if s.nh < len(s.hdr) {
				return
			}
			s.nh = 0
			s.left = int(s.hdr[3])<<8 | int(s.hdr[4])
			s.lastType, s.lastLen = s.hdr[0], s.left
			s.isAlert = s.hdr[0] == 21 && s.left == 2
			s.body = s.body[:0]
			continue
		}
		n := min(s.left, len(b))
		if s.isAlert {
			s.body = append(s.body, b[:n]...)
		}
		s.left, b = s.left-n, b[n:]
		if s.left == 0 && s.isAlert {
			s.alert = append(s.alert[:0], s.body...)
		}
	}
}

// fatal returns the description of the last fatal alert seen.
func (s *recordScanner) fatal() (uint8, bool) {
	if len(s.alert) == 2 && s.alert[0] == 2 {
		return s.alert[1], true
	}
	return 0, false
}
