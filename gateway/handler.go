package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/gateway/inbound"
	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/observe"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Response headers every answer carries.
const (
	HeaderMessageID   = "X-Tlsgate-Message-Id"
	HeaderCause       = "X-Tlsgate-Cause"
	HeaderFaultSource = "X-Tlsgate-Fault-Source"
)

// exchange is one request's record, filled as it goes and logged at the end.
type exchange struct {
	rec         observe.AccessRecord
	start       time.Time
	targetStart time.Time
	route       *route
	vh          *vhost
	member      string
	rt          http.RoundTripper // the target's, or its chosen pool member's
	host        string            // the target's address, or its member's
}

type exchangeKey struct{}

// handler serves the requests of one port.
func (g *Gateway) handler(port int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := g.now()
		x := &exchange{start: now}
		x.rec = observe.AccessRecord{Time: now, MessageID: observe.NewMessageID(now), Client: r.RemoteAddr,
			Method: r.Method, Path: r.URL.Path, Proto: r.Proto}
		if r.TLS != nil {
			x.rec.ClientTLS = clientLeg(r)
		}
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		cw.Header().Set(HeaderMessageID, x.rec.MessageID)
		defer func() { g.finish(x, cw.status, cw.n) }()
		g.serve(cw, r, port, x)
	})
}

// finish records an exchange that answered status with sent bytes of body: counters and
// the access log.
func (g *Gateway) finish(x *exchange, status int, sent int64) {
	x.rec.Status, x.rec.BytesSent = status, sent
	x.rec.TotalMillis = ms(g.now().Sub(x.start))
	g.counters.Inc(statusCounter(status))
	if x.rec.FaultCode != "" {
		g.counters.Inc("faults." + x.rec.FaultCode)
	}
	g.access.Write(&x.rec)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, port int, x *exchange) {
	snap := g.snap.Load()
	pc := snap.ports[port]
	if pc == nil {
		g.fault(w, x, http.StatusNotFound, "messaging.adaptors.http.flow.ApplicationNotFound", "router", "", "Unable to identify proxy for host and url: "+r.URL.Path)
		return
	}
	vh := g.pickVHost(pc, r)
	if vh == nil {
		g.fault(w, x, http.StatusNotFound, "messaging.adaptors.http.flow.ApplicationNotFound", "router", "", "Unable to identify a virtual host for host: "+hostOnly(r.Host))
		return
	}
	x.vh = vh
	x.rec.Org, x.rec.Env, x.rec.VirtualHost = vh.org, vh.env, vh.name
	if vh.tls != nil && r.TLS != nil {
		if v := checkClient(r, vh.tls, g.now()); v != nil {
			x.rec.FaultCode, x.rec.FaultSource, x.rec.Cause = v.Cause, "router", v.Cause
			w.Header().Set(HeaderFaultSource, "router")
			g.counters.Inc("failures." + v.Cause)
			g.findings.Put(&observe.Finding{MessageID: x.rec.MessageID, Time: x.start, Direction: "inbound", Org: vh.org, Env: vh.env,
				VirtualHost: vh.name, Client: r.RemoteAddr, Cause: v.Cause, Title: v.Title, Detail: v.Detail})
			inbound.WriteFault(w, r, v, x.rec.MessageID)
			return
		}
	}
	rt := vh.match(r.URL.Path)
	if rt == nil {
		g.fault(w, x, http.StatusNotFound, "messaging.adaptors.http.flow.ApplicationNotFound", "router", "",
			"Unable to identify proxy for host: "+vh.name+" and url: "+r.URL.Path)
		return
	}
	x.route = rt
	x.rec.Proxy = rt.proxy
	g.proxy(w, r, x)
}

// tlsLeg describes one leg's TLS for the access log.
func tlsLeg(st *tls.ConnectionState) *observe.TLSLeg {
	return &observe.TLSLeg{Version: tlswire.VersionName(st.Version), Suite: suiteName(st.CipherSuite), SNI: st.ServerName}
}

// clientLeg is tlsLeg of the request's connection, made once per connection (the
// connection's clientCheck keeps it; access records only read it).
func clientLeg(r *http.Request) *observe.TLSLeg {
	cc, _ := r.Context().Value(clientCheckKey{}).(*clientCheck)
	return cc.clientLeg(r.TLS)
}

func (cc *clientCheck) clientLeg(st *tls.ConnectionState) *observe.TLSLeg {
	if cc == nil {
		return tlsLeg(st)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.leg == nil || cc.legOf != st {
		cc.leg, cc.legOf = tlsLeg(st), st
	}
	return cc.leg
}

var suiteNames sync.Map // uint16 → string

// suiteName is tls.CipherSuiteName, remembered.
func suiteName(id uint16) string {
	if v, ok := suiteNames.Load(id); ok {
		return v.(string)
	}
	name := tls.CipherSuiteName(id)
	suiteNames.Store(id, name)
	return name
}

// statusCounters are the counter names of the statuses 0 to 999.
var statusCounters = func() []string {
	out := make([]string, 1000)
	for i := range out {
		out[i] = "requests." + strconv.Itoa(i)
	}
	return out
}()

func statusCounter(status int) string {
	if status >= 0 && status < len(statusCounters) {
		return statusCounters[status]
	}
	return "requests." + strconv.Itoa(status)
}

// clientCheck remembers, per connection, that its client certificate passed the virtual
// host's check, so that the chain is verified once per connection rather than on every
// request (keep-alive, HTTP/2 streams). It is valid for the same virtual host
// configuration (a reload makes a new one), for at most a minute, and never past the
// expiry of a certificate of the chain.
type clientCheck struct {
	mu    sync.Mutex
	vh    *inbound.VirtualHost
	until time.Time

	leg   *observe.TLSLeg // the client leg of the access log
	legOf *tls.ConnectionState
}

type clientCheckKey struct{}

// withClientCheck gives each connection its clientCheck (http.Server.ConnContext).
func withClientCheck(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, clientCheckKey{}, &clientCheck{})
}

// checkClient is inbound.CheckClient, remembered per connection when it passes.
func checkClient(r *http.Request, vh *inbound.VirtualHost, now time.Time) *inbound.Verdict {
	cc, _ := r.Context().Value(clientCheckKey{}).(*clientCheck)
	return cc.check(r.TLS, vh, now)
}

// check is inbound.CheckClient of the connection whose clientCheck cc is (nil: not
// remembered).
func (cc *clientCheck) check(st *tls.ConnectionState, vh *inbound.VirtualHost, now time.Time) *inbound.Verdict {
	if cc != nil {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if cc.vh == vh && now.Before(cc.until) {
			return nil
		}
	}
	v := inbound.CheckClient(st, vh, now)
	if v == nil && cc != nil && vh.ClientAuth && len(st.PeerCertificates) > 0 {
		until := st.PeerCertificates[0].NotAfter
		for _, c := range st.PeerCertificates[1:] {
			if c.NotAfter.Before(until) {
				until = c.NotAfter
			}
		}
		if limit := now.Add(time.Minute); limit.Before(until) {
			until = limit
		}
		cc.vh, cc.until = vh, until
	}
	return v
}

// pickVHost finds the virtual host of a request by the rules the handshake used
// (inbound.MatchIndex): by SNI on TLS ports, else by Host. A plain port with one virtual
// host serves every Host.
func (g *Gateway) pickVHost(pc *portConfig, r *http.Request) *vhost {
	return pc.pickVHost(r.TLS, r.Host)
}

// pickVHost is Gateway.pickVHost from the connection's TLS state and the Host header.
func (pc *portConfig) pickVHost(st *tls.ConnectionState, host string) *vhost {
	name := hostOnly(host)
	if st != nil {
		name = st.ServerName
	}
	i := inbound.MatchIndex(len(pc.vhosts), func(i int) []string { return pc.vhosts[i].aliases }, name)
	switch {
	case i >= 0:
		return pc.vhosts[i]
	case st == nil && len(pc.vhosts) == 1:
		return pc.vhosts[0]
	}
	return nil
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// match returns the route of the longest base path that prefixes path.
func (v *vhost) match(path string) *route {
	for _, rt := range v.routes {
		if rt.basePath == "" || path == rt.basePath || strings.HasPrefix(path, rt.basePath+"/") {
			return rt
		}
	}
	return nil
}

// proxy forwards the request to the route's target: a small request body read whole
// first (bufferBody), a larger one and the response's streamed.
func (g *Gateway) proxy(w http.ResponseWriter, r *http.Request, x *exchange) {
	release, err := g.bufferBody(r)
	defer release()
	if err != nil {
		if r.Context().Err() != nil {
			clientGone(w, x)
			return
		}
		g.fault(w, x, http.StatusBadRequest, "client.body.unreadable", "proxy", "", "Bad Request: "+err.Error())
		return
	}
	tr, m, err := x.pick()
	if err != nil {
		g.fault(w, x, http.StatusServiceUnavailable, "messaging.adaptors.http.flow.NoActiveTargets", "target", "", "The Service is temporarily unavailable")
		return
	}
	if !g.o.noFastPath && headOnly(r) {
		g.proxyHead(w, r, x, tr, m)
		return
	}
	x.rt = tr
	if m != nil {
		x.rt = poolRoundTripper{pool: x.route.target.pool, m: m}
	}
	g.reverseProxy(w, r, x)
}

// reverseProxy serves r, the request of exchange x, through the ReverseProxy, which
// finds x in the request's context. (Requests the head path answers do without a
// context of their own.)
func (g *Gateway) reverseProxy(w http.ResponseWriter, r *http.Request, x *exchange) {
	g.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x)))
}

// newReverseProxy returns the gateway's one ReverseProxy: what differs from one request
// to the next comes from the exchange in the request's context.
func (g *Gateway) newReverseProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport: exchangeTransport{g},
		Rewrite: func(pr *httputil.ProxyRequest) {
			x := exchangeOf(pr.In)
			pr.Out.URL = &url.URL{Scheme: x.route.target.scheme, Host: x.host, Path: x.route.targetPath(pr.In.URL.Path), RawQuery: pr.In.URL.RawQuery}
			pr.Out.Host = x.host
			pr.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.TLS != nil {
				exchangeOf(resp.Request).rec.TargetTLS = tlsLeg(resp.TLS)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { g.targetError(w, r, exchangeOf(r), err) },
		// Streaming responses (no Content-Length, text/event-stream) are flushed as they
		// come; others are written when the server's buffer fills or the body ends, so a
		// small response is one TLS record.
		BufferPool: copyBuffers,
	}
}

// exchangeOf returns the exchange of a request the gateway is serving.
func exchangeOf(r *http.Request) *exchange { return r.Context().Value(exchangeKey{}).(*exchange) }

// copyBuffers are ReverseProxy's body copy buffers, reused across requests.
var copyBuffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// poolRoundTripper sends through a pool member and reports the outcome to the pool.
type poolRoundTripper struct {
	pool *outbound.Pool
	m    *outbound.Member
}

func (p poolRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.m.Transport.RoundTrip(r)
	p.pool.Done(p.m, err)
	return resp, err
}

// exchangeTransport sends a request through its exchange's round tripper and measures
// the time to the target's response headers.
type exchangeTransport struct{ g *Gateway }

func (t exchangeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	x := exchangeOf(r)
	if f, ok := x.rt.(fetched); ok {
		return f.RoundTrip(r) // the head path measured it
	}
	start := t.g.now()
	resp, err := x.rt.RoundTrip(r)
	if err == nil {
		x.rec.TargetMillis = ms(t.g.now().Sub(start))
	}
	return resp, err
}

// targetError answers a failure to reach the target as Edge does, with the cause.
func (g *Gateway) targetError(w http.ResponseWriter, r *http.Request, x *exchange, err error) {
	var oe *outbound.Error
	if !errors.As(err, &oe) {
		if r.Context().Err() != nil {
			clientGone(w, x)
			return
		}
		g.fault(w, x, http.StatusBadGateway, "messaging.adaptors.http.flow.BadGateway", "target", "", "Bad Gateway: "+err.Error())
		return
	}
	id, title := oe.Cause()
	f := &observe.Finding{MessageID: x.rec.MessageID, Time: x.start, Direction: "outbound", Org: x.route.org, Env: x.route.env,
		Proxy: x.route.proxy, Target: x.rec.Target, Cause: id, Title: title, Report: oe.Report}
	if oe.Report != nil {
		for _, fd := range oe.Report.Findings {
			if fd.ID == id {
				f.Detail, f.Fix = fd.Detail, fd.Fix
				break
			}
		}
	}
	switch oe.Kind {
	case outbound.HandshakeFailed:
		g.findings.Put(f)
		g.counters.Inc("failures." + id)
		msg := "SSL Handshake failed"
		if title != "" {
			msg += ": " + title
		}
		g.fault(w, x, http.StatusServiceUnavailable, "messaging.adaptors.http.flow.SslHandshakeFailed", "target", id, msg)
	case outbound.Timeout:
		if id != "" {
			g.findings.Put(f)
		}
		g.fault(w, x, http.StatusGatewayTimeout, "messaging.adaptors.http.flow.GatewayTimeout", "target", id, "Gateway Timeout")
	default:
		if id != "" {
			g.findings.Put(f)
		}
		g.fault(w, x, http.StatusServiceUnavailable, "messaging.adaptors.http.flow.ServiceUnavailable", "target", id, "The Service is temporarily unavailable")
	}
}

// clientGone records a request whose client went away before its answer (status 499, as
// nginx logs it): there is no one to answer.
func clientGone(w http.ResponseWriter, x *exchange) {
	x.rec.FaultCode, x.rec.FaultSource = "client.disconnected", "proxy"
	w.WriteHeader(499)
}

// fault writes Edge's fault JSON with the cause and the message ID.
func (g *Gateway) fault(w http.ResponseWriter, x *exchange, status int, code, source, cause, faultstring string) {
	x.rec.FaultCode, x.rec.FaultSource, x.rec.Cause = code, source, cause
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderFaultSource, source)
	if cause != "" {
		h.Set(HeaderCause, cause)
	}
	w.WriteHeader(status)
	writeFaultJSON(w, faultstring, code, cause, x.rec.MessageID)
}

// inboundFailure records a handshake that never became HTTP.
func (g *Gateway) inboundFailure(port int, f inbound.Failure) {
	g.counters.Inc("failures." + orStr(f.Cause, "inbound.unclassified"))
	id := observe.NewMessageID(f.Time)
	g.findings.Put(&observe.Finding{MessageID: id, Time: f.Time, Direction: "inbound", VirtualHost: f.VirtualHost, Client: f.Client,
		Cause: f.Cause, Title: f.Title, Detail: f.Detail})
	g.log.Info("inbound handshake failed", "messageid", id, "port", port, "client", f.Client, "sni", f.ServerName,
		"virtualhost", f.VirtualHost, "cause", f.Cause, "detail", f.Detail)
}

func orStr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// countingWriter remembers the status and counts the bytes written.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wrote {
		c.status, c.wrote = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.wrote = true
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// Flush lets streamed responses through.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
