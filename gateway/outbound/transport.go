package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tlsgate/tlsgate/gateway/sockio"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/probe"
)

// Transport is one target's http.RoundTripper: a keep-alive pool of connections opened as
// the target's Config says, each failure to reach the backend an *Error with its diagnosis.
// Its HTTP/1.1 exchanges run on the caller's goroutine; a request for a protocol upgrade
// goes through an http.Transport instead. It is safe for concurrent use.
type Transport struct {
	cfg  Config
	key  string
	log  *slog.Logger
	now  func() time.Time
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	diag *Diagnoser

	pcfg  probe.Config
	copts probe.ClientOptions

	idle  connPool        // the keep-alive pool
	rt    *http.Transport // protocol upgrades: a 101 response's body is the connection
	check *http.Transport // health checks: a new connection each time

	mu sync.Mutex
	// conns are rt's and check's open connections, for what their handshake showed.
	conns map[*tls.Conn]*connInfo
	// closed remembers the last connections closed: http.Transport may close a connection
	// (on the server's alert) before the request that gets it looks it up.
	closed     [closedKept]closedConn
	closedNext int
}

// closedKept is how many closed connections a Transport remembers.
const closedKept = 32

type closedConn struct {
	conn *tls.Conn
	info *connInfo
}

// connInfo is what the handshake of one open connection showed.
type connInfo struct {
	attempt *tlsdiag.Attempt
}

// NewTransport returns the transport of one target.
func NewTransport(cfg Config, o Options) *Transport {
	cfg = cfg.withDefaults()
	t := &Transport{
		cfg:   cfg,
		key:   cfg.key(),
		log:   o.Logger,
		now:   o.Now,
		dial:  o.Dial,
		diag:  o.Diagnoser,
		conns: map[*tls.Conn]*connInfo{},
	}
	t.idle.timeout = idleConnTimeout
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.dial == nil {
		var d net.Dialer
		t.dial = d.DialContext
	}
	if t.diag == nil {
		t.diag = NewDiagnoser(DiagnoserOptions{Logger: o.Logger})
	}
	t.pcfg = probe.Config{
		Target:  cfg.Target,
		Address: cfg.Address,
		Expect:  cfg.expectations(),
		Timeout: cfg.ConnectTimeout,
		Dial:    t.dialTracked,
		Now:     t.now,
		Logger:  t.log,
	}
	t.copts = probe.ClientOptions{Insecure: cfg.insecure(), VerifyName: cfg.verifyName(),
		SessionCache: tls.NewLRUClientSessionCache(256)}
	t.rt = t.httpTransport(false)
	t.check = t.httpTransport(true)
	return t
}

func (t *Transport) httpTransport(check bool) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           t.dialPlain,
		DialTLSContext:        t.dialTLS,
		ResponseHeaderTimeout: t.cfg.IOTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true, // a gateway passes Accept-Encoding and bodies through
		DisableKeepAlives:     check,
	}
}

// Config returns the target's configuration, defaults applied.
func (t *Transport) Config() Config { return t.cfg }

// Expectations returns what the doctor needs to re-check this target: the truststore, the
// client certificate, protocols, ciphers and SNI. The name it sends and verifies is the
// target's CommonName when that is one name (not a wildcard pattern), its Host otherwise;
// IgnoreValidationErrors has no equivalent (the doctor always judges the chain).
func (t *Transport) Expectations() *tlsdiag.Expectations { return t.cfg.doctorExpectations() }

// CloseIdleConnections closes the pool's idle connections.
func (t *Transport) CloseIdleConnections() {
	t.idle.closeAll()
	t.rt.CloseIdleConnections()
	t.check.CloseIdleConnections()
}

// RoundTrip sends req to the backend at Config.Address, whatever req.URL's host (which,
// when set, stays the Host header), over TLS when Config.TLS. Every failure to reach the
// backend is an *Error; a canceled request returns the context's error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if isUpgrade(req.Header) {
		return t.roundTrip(t.rt, req)
	}
	return t.roundTrip(nil, req)
}

// Check opens a new connection, performs the handshake and sends GET /: the health
// monitor's check. It fails with an *Error when the backend cannot be reached, and with
// another error when it answers with a 5xx status.
func (t *Transport) Check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "tlsgate-health-monitor")
	resp, err := t.roundTrip(t.check, req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("health check of %s (%s): GET / answered %s", t.cfg.Address, t.cfg.Target, resp.Status)
	}
	return nil
}

// connTrace remembers the last connection a request got, and what its handshake showed
// (looked up at once: the connection forgets it when it closes).
type connTrace struct {
	t      *Transport
	mu     sync.Mutex
	info   *connInfo
	reused bool
}

func (c *connTrace) got(i httptrace.GotConnInfo) {
	info := c.t.info(i.Conn)
	c.mu.Lock()
	c.info, c.reused = info, i.Reused
	c.mu.Unlock()
}

func (c *connTrace) last() (*connInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info, c.reused
}

// roundTrip sends req through rt, or through the Transport's own pool when rt is nil.
func (t *Transport) roundTrip(rt *http.Transport, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var (
		resp  *http.Response
		info  *connInfo // the connection's, when known
		fresh bool      // the connection was new
		err   error
	)
	if rt == nil {
		resp, info, fresh, err = t.send(t.outgoing(ctx, req))
	} else {
		trace := &connTrace{t: t}
		resp, err = rt.RoundTrip(t.outgoing(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: trace.got}), req))
		var reused bool
		info, reused = trace.last()
		fresh = !reused
	}
	if err != nil {
		return nil, t.failed(ctx, info, fresh, err)
	}
	return t.answered(ctx, resp, info)
}

// failed turns the failure of an exchange into an *Error (or the context's error): a
// refusal right after a new connection's handshake is diagnosed as a handshake failure.
// info is the connection's, when known; fresh says it was new.
func (t *Transport) failed(ctx context.Context, info *connInfo, fresh bool, err error) error {
	if e := AsError(err); e != nil {
		return e
	}
	if ctx.Err() != nil {
		return err
	}
	if info != nil && fresh {
		if a := refusedAfterHandshake(info.attempt, err); a != nil {
			return t.failure(ctx, a, err)
		}
	}
	kind := Unreachable
	if isTimeout(err) {
		kind = Timeout
	}
	t.log.Warn("outbound: backend failure", "target", t.cfg.Target, "address", t.cfg.Address, "kind", kind.String(), "error", err.Error())
	return &Error{Kind: kind, Target: t.cfg.Target, Address: t.cfg.Address, Err: err}
}

// answered looks at an answer: a 400 that refuses the client certificate after a
// handshake that asked for one is a handshake failure, diagnosed.
func (t *Transport) answered(ctx context.Context, resp *http.Response, info *connInfo) (*http.Response, error) {
	if resp.StatusCode == http.StatusBadRequest && info != nil && info.attempt.CertRequest != nil {
		if a := t.refusedAtHTTP(resp, info.attempt); a != nil {
			return nil, t.failure(ctx, a, fmt.Errorf("after the handshake, the server answered %s %q", resp.Status, a.HTTP.Title))
		}
	}
	return resp, nil
}

// outgoing is req, with ctx, addressed to the backend: its URL's host, when set, stays the
// Host header.
func (t *Transport) outgoing(ctx context.Context, req *http.Request) *http.Request {
	out := req.WithContext(ctx)
	u := *req.URL
	u.Scheme, u.Host = "http", t.cfg.Address
	if t.cfg.TLS {
		u.Scheme = "https"
	}
	out.URL = &u
	if out.Host == "" {
		out.Host = req.URL.Host
	}
	if out.Host == "" {
		_, port, _ := net.SplitHostPort(t.cfg.Address)
		out.Host = net.JoinHostPort(t.cfg.Host, port)
	}
	return out
}

// refusedAfterHandshake returns the attempt of a new TLS 1.3 connection whose server asked
// for a client certificate and then, on the first exchange, refused it: with an alert, or
// by closing the connection (which is how the request fails before any answer). It returns
// nil for a timeout, which is no refusal.
func refusedAfterHandshake(a *tlsdiag.Attempt, err error) *tlsdiag.Attempt {
	if a.CertRequest == nil || a.Version != "TLSv1.3" || isTimeout(err) {
		return nil
	}
	b := *a
	b.Completed = false
	b.Step = tlsdiag.StepPostHandshake
	b.Error = err.Error()
	if al, ok := probe.AlertReceived(err); ok {
		al.Step = tlsdiag.StepPostHandshake
		b.AlertReceived = &al
	} else if errors.Is(err, syscall.ECONNRESET) {
		b.Closed = "reset"
	} else {
		b.Closed = "eof"
	}
	return &b
}

// maxErrorPage bounds what is read of a 400 page to recognise nginx's refusal of a client
// certificate.
const maxErrorPage = 16 << 10

var titleRE = regexp.MustCompile(`(?is)<title>\s*(.*?)\s*</title>`)

// refusedAtHTTP recognises nginx's answer when "ssl_verify_client on" refuses the client
// certificate (or its absence) after completing the handshake, and returns the attempt with
// that answer; otherwise it leaves resp readable as it came and returns nil.
func (t *Transport) refusedAtHTTP(resp *http.Response, a *tlsdiag.Attempt) *tlsdiag.Attempt {
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorPage))
	body := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), body), body}
	if err != nil {
		return nil
	}
	m := titleRE.FindSubmatch(head)
	if m == nil {
		return nil
	}
	title := string(m[1])
	lower := strings.ToLower(title)
	if !strings.Contains(lower, "no required ssl certificate was sent") && !strings.Contains(lower, "the ssl certificate error") {
		return nil
	}
	resp.Body.Close()
	b := *a
	b.HTTP = &tlsdiag.HTTPAnswer{Status: resp.StatusCode, Line: resp.Proto + " " + resp.Status, Title: title}
	return &b
}

// connSlot receives, through the dial's context, the TCP connection under a handshake.
type connSlot struct{ conn *trackedConn }

type slotKey struct{}

// trackedConn forgets its TLS connection's handshake when it closes.
type trackedConn struct {
	net.Conn
	onClose atomic.Pointer[func()]
	once    sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		if f := c.onClose.Load(); f != nil {
			(*f)()
		}
	})
	return c.Conn.Close()
}

// dialTracked is the TCP dial of the recording handshake.
func (t *Transport) dialTracked(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: sockio.Wrap(c)}
	if s, ok := ctx.Value(slotKey{}).(*connSlot); ok {
		s.conn = tc
	}
	return tc, nil
}

// handshake opens a TLS connection with the recording handshake, its failure diagnosed.
// The TCP connection under it goes in slot when slot is not nil.
func (t *Transport) handshake(ctx context.Context, slot *connSlot) (*tls.Conn, *connInfo, error) {
	dctx := ctx
	if slot != nil {
		dctx = context.WithValue(ctx, slotKey{}, slot)
	}
	tc, a, err := probe.Dial(dctx, t.pcfg, probe.Variant{Name: tlsdiag.AttemptConfigured}, t.copts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("connecting to %s: %w", t.cfg.Address, ctx.Err())
		}
		return nil, nil, t.failure(ctx, a, err)
	}
	return tc, &connInfo{attempt: a}, nil
}

// dialTLS is the DialTLSContext of rt and check: the handshake, its connection remembered
// until it closes.
func (t *Transport) dialTLS(ctx context.Context, _, _ string) (net.Conn, error) {
	slot := &connSlot{}
	tc, info, err := t.handshake(ctx, slot)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.conns[tc] = info
	t.mu.Unlock()
	if slot.conn != nil {
		forget := func() {
			t.mu.Lock()
			if info, ok := t.conns[tc]; ok {
				delete(t.conns, tc)
				t.closed[t.closedNext] = closedConn{tc, info}
				t.closedNext = (t.closedNext + 1) % closedKept
			}
			t.mu.Unlock()
		}
		slot.conn.onClose.Store(&forget)
	}
	return tc, nil
}

// dialPlain opens the connection of a target without TLS, its failure diagnosed.
func (t *Transport) dialPlain(ctx context.Context, network, _ string) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, t.cfg.ConnectTimeout)
	defer cancel()
	c, err := t.dial(dctx, network, t.cfg.Address)
	if err == nil {
		return sockio.Wrap(c), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("connecting to %s: %w", t.cfg.Address, ctx.Err())
	}
	kind := probe.DialErrorKind(err)
	a := &tlsdiag.Attempt{
		Name: tlsdiag.AttemptConfigured, Step: tlsdiag.StepConnect, ClientCertSent: -1,
		DialError: err.Error(), DialErrorKind: kind, TimedOut: kind == "timeout", Error: err.Error(),
	}
	return nil, t.failure(ctx, a, err)
}

func (t *Transport) info(c net.Conn) *connInfo {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if info, ok := t.conns[tc]; ok {
		return info
	}
	for _, c := range t.closed {
		if c.conn == tc {
			return c.info
		}
	}
	return nil
}

// failure diagnoses the attempt that failed and returns the classified error.
func (t *Transport) failure(ctx context.Context, a *tlsdiag.Attempt, err error) *Error {
	kind := HandshakeFailed
	switch {
	case a.DialError != "" && a.DialErrorKind == "timeout", a.TimedOut:
		kind = Timeout
	case a.DialError != "":
		kind = Unreachable
	}
	e := &Error{Kind: kind, Target: t.cfg.Target, Address: t.cfg.Address, Err: err}
	e.Report, e.FollowUp = t.diag.diagnose(ctx, t, a)
	id, _ := e.Cause()
	t.log.Warn("outbound: backend failure", "target", t.cfg.Target, "address", t.cfg.Address,
		"kind", kind.String(), "cause", id, "error", err.Error())
	return e
}

// report runs the engine over facts gathered for this target.
func (t *Transport) report(f *tlsdiag.Facts) *tlsdiag.Report {
	rep := catalog.Engine().Report(f, t.diagExpectations(f))
	if t.cfg.insecure() {
		ignoreValidation(rep)
	}
	return rep
}

// diagExpectations are the expectations the engine judges facts under. With a CommonName,
// the name judged is the CommonName when the leaf does not match it, and none when it does
// (the engine's host check knows no CommonName semantics).
func (t *Transport) diagExpectations(f *tlsdiag.Facts) *tlsdiag.Expectations {
	x := t.cfg.expectations()
	if t.cfg.CommonName == "" {
		return x
	}
	x.ServerName = t.cfg.CommonName
	for _, a := range f.Attempts {
		if a.Name == tlsdiag.AttemptConfigured && len(a.Chain) > 0 && matchCommonName(a.Chain[0], t.cfg.CommonName, t.cfg.WildcardMatch) {
			x.ServerName = ""
		}
	}
	return x
}

// validationCauses are the findings on the server's chain and name, which
// IgnoreValidationErrors makes harmless.
var validationCauses = map[string]bool{
	catalog.SNIDefaultCertificate: true, catalog.ChainIncomplete: true, catalog.ChainWrongIntermediate: true,
	catalog.ChainMisordered: true, catalog.TruststoreMissingRoot: true, catalog.TruststoreEmpty: true,
	catalog.HostnameMismatch: true, catalog.CertExpired: true, catalog.CertNotYetValid: true,
	catalog.CertInsecureSignature: true,
}

// ignoreValidation turns the chain and name errors of a report into warnings: the target
// accepts any chain and name, so they are not why the handshake failed.
func ignoreValidation(r *tlsdiag.Report) {
	for i := range r.Findings {
		f := &r.Findings[i]
		if validationCauses[f.ID] && f.Severity == tlsdiag.SeverityError {
			f.Severity = tlsdiag.SeverityWarning
			f.Detail += " Not the cause of this failure: the target's SSLInfo sets IgnoreValidationErrors (without Enforce), so the gateway accepts this chain and name."
		}
	}
	r.OK = !tlsdiag.HasError(r.Findings)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
