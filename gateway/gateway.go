// Package gateway is tlsgate's runtime: one listener per virtual host port terminating
// client TLS, routing by base path to API proxies, and one transport per target SSLInfo
// towards backends. Every failed handshake, inbound or outbound, is classified by the
// diagnosis engine and answered with its cause; the configuration is reloaded from the
// store as it changes, with no restart and no request failed.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/gateway/h1"
	"github.com/tlsgate/tlsgate/gateway/h2"
	"github.com/tlsgate/tlsgate/gateway/inbound"
	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/gateway/rsasign"
	"github.com/tlsgate/tlsgate/observe"
	"github.com/tlsgate/tlsgate/store"
)

// Options configure a Gateway.
type Options struct {
	Store  store.Store
	Sealer config.Sealer

	// noFastPath serves every request by the ordinary path (tests compare the two).
	noFastPath bool
	// ListenHost is the address virtual host ports are opened on: "" for every
	// interface, "127.0.0.1" for loopback only.
	ListenHost string
	// PortMap, when set, maps a virtual host's port to the port actually opened (tests
	// and the lab run several gateways on one machine); 0 opens a free port (see Addr).
	PortMap func(port int) int
	Logger  *slog.Logger // default: discard
	// AccessLog receives one JSON line per request; nil discards.
	AccessLog io.Writer
	// Findings keeps failed requests' findings by message ID; nil means a private store.
	Findings *observe.Findings
	Now      func() time.Time
	// Dial opens backend connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Limits; zero values mean the defaults in parentheses.
	HandshakeTimeout  time.Duration // 10 s
	ReadHeaderTimeout time.Duration // 10 s
	IdleTimeout       time.Duration // 60 s
	MaxHeaderBytes    int           // 64 KiB
	MaxConns          int           // per port, 10000
	// ShutdownTimeout bounds draining at stop (30 s).
	ShutdownTimeout time.Duration
	// HealthInterval is how often load balancers check members out of rotation
	// (outbound.DefaultCheckInterval).
	HealthInterval time.Duration
	// StdHTTP2 serves HTTP/2 with net/http's server instead of the gateway's own
	// (gateway/h2).
	StdHTTP2 bool
}

// Gateway serves the virtual hosts of the store's configuration.
type Gateway struct {
	o         Options
	store     store.Store
	sealer    config.Sealer
	log       *slog.Logger
	now       func() time.Time
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	access    *observe.AccessLog
	findings  *observe.Findings
	counters  observe.Counters
	diagnoser *outbound.Diagnoser

	snap       atomic.Pointer[snapshot]
	mu         sync.Mutex // guards listeners and transports
	listeners  map[int]*portListener
	transports map[string]*outbound.Transport
	ready      chan struct{}
	readyOnce  sync.Once
	stopPools  context.CancelFunc
	rp         *httputil.ReverseProxy
	fastServed atomic.Int64 // requests the fast path served
	headServed atomic.Int64 // requests the head path served
	bodies     bodyBudget   // request bodies held in memory (bufferBody)
}

// portListener is one open port and its server.
type portListener struct {
	port int
	addr net.Addr
	srv  *http.Server // the listener's life on every port; HTTP/2 with Options.StdHTTP2
	h1   *h1.Server   // HTTP/1.1, on every port
	h2   *h2.Server   // HTTP/2 on TLS ports, unless Options.StdHTTP2
	tls  bool
	in   *inbound.Listener
	done chan struct{}
}

// New returns a gateway; Run starts it.
func New(o Options) (*Gateway, error) {
	if o.Store == nil || o.Sealer == nil {
		return nil, errors.New("gateway: a store and a sealer are required")
	}
	g := &Gateway{o: o, store: o.Store, sealer: o.Sealer, log: o.Logger, now: o.Now, dial: o.Dial,
		access: observe.NewAccessLog(o.AccessLog), findings: o.Findings,
		listeners: map[int]*portListener{}, transports: map[string]*outbound.Transport{}, ready: make(chan struct{})}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.findings == nil {
		g.findings = observe.NewFindings(0)
	}
	g.diagnoser = outbound.NewDiagnoser()
	g.bodies.max.Store(BodyBufferBudget)
	g.rp = g.newReverseProxy()
	if ok, detail := rsasign.Available(); ok {
		g.log.Info("RSA signatures by libcrypto", "library", detail)
	} else {
		g.log.Info("RSA signatures by Go's crypto/rsa", "libcrypto", detail)
	}
	return g, nil
}

// Findings returns where the gateway keeps findings by message ID.
func (g *Gateway) Findings() *observe.Findings { return g.findings }

// Counters returns the gateway's counts by status, fault code and cause.
func (g *Gateway) Counters() map[string]int64 { return g.counters.Snapshot() }

// Revision returns the store revision the gateway serves (0 before the first load).
func (g *Gateway) Revision() int64 {
	if s := g.snap.Load(); s != nil {
		return s.revision
	}
	return 0
}

// TargetHealth is the state of one load balancer's members.
type TargetHealth struct {
	Org     string                  `json:"org"`
	Env     string                  `json:"env"`
	Proxy   string                  `json:"proxy"`
	Members []outbound.MemberStatus `json:"members"`
}

// Health returns the members of every load balancer: in rotation or not, failures
// counted, and the diagnosis of the last failure (cause ID and report).
func (g *Gateway) Health() any {
	s := g.snap.Load()
	if s == nil {
		return []TargetHealth{}
	}
	out := make([]TargetHealth, 0, len(s.pools))
	for _, p := range s.pools {
		out = append(out, TargetHealth{Org: p.org, Env: p.env, Proxy: p.proxy, Members: p.pool.Status()})
	}
	return out
}

// Ready is closed once the first configuration is served.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Addr returns the address a virtual host port is served on, or nil.
func (g *Gateway) Addr(port int) net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.listeners[port]; l != nil {
		return l.addr
	}
	return nil
}

// Problems returns what the current configuration could not serve (logged too).
func (g *Gateway) Problems() []string {
	if s := g.snap.Load(); s != nil {
		return s.problems
	}
	return nil
}

// Run serves until ctx ends, then drains in-flight requests. It reloads the
// configuration whenever the store changes under config.ConfigPrefix.
func (g *Gateway) Run(ctx context.Context) error {
	loaded, err := g.reload(ctx)
	if err != nil {
		return err
	}
	defer g.stopAll()
	seen := loaded
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		events, err := g.store.Watch(wctx, "/", max(seen, loaded)+1)
		switch {
		case errors.Is(err, store.ErrCompacted):
			cancel()
			if loaded, err = g.reload(ctx); err != nil {
				return err
			}
			seen = loaded
			continue
		case err != nil:
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("gateway: watching the store: %w", err)
		}
		for ev := range events {
			seen = max(seen, ev.KV.ModRevision)
			if !relevant(ev.KV.Key) || ev.KV.ModRevision <= loaded {
				continue
			}
			// One transaction sends one event per key: reload once, at the latest
			// revision, and skip the events it already covers.
			rev, err := g.reload(ctx)
			if err != nil {
				g.log.Error("reload failed; still serving the previous configuration", "err", err.Error())
				continue
			}
			loaded = rev
		}
		cancel()
	}
	return nil
}

// relevant reports whether a key is part of the served configuration.
func relevant(key string) bool {
	return len(key) >= len(config.ConfigPrefix) && key[:len(config.ConfigPrefix)] == config.ConfigPrefix
}

// reload loads the whole configuration, compiles it, swaps it in and opens or closes
// listeners for ports that appeared or went away. It returns the revision loaded.
func (g *Gateway) reload(ctx context.Context) (int64, error) {
	doc, rev, err := config.Load(ctx, g.store)
	if err != nil {
		return 0, fmt.Errorf("gateway: loading the configuration: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	snap, used := g.compile(doc, rev, g.transports)
	for key, t := range g.transports {
		if used[key] == nil {
			t.CloseIdleConnections()
		}
	}
	g.transports = used
	for _, p := range snap.problems {
		g.log.Warn("configuration not served", "problem", p, "revision", rev)
	}
	g.snap.Store(snap)
	if g.stopPools != nil {
		g.stopPools()
	}
	pctx, cancel := context.WithCancel(ctx)
	g.stopPools = cancel
	for _, p := range snap.pools {
		go p.pool.Run(pctx, g.o.HealthInterval)
	}
	for port, pc := range snap.ports {
		if l := g.listeners[port]; l != nil && l.tls == pc.tls {
			continue
		} else if l != nil {
			g.stopLocked(l)
		}
		if err := g.startLocked(pc); err != nil {
			g.log.Error("cannot open virtual host port", "port", port, "err", err.Error())
			snap.problems = append(snap.problems, fmt.Sprintf("port %d: %v", port, err))
		}
	}
	for port, l := range g.listeners {
		if snap.ports[port] == nil {
			g.stopLocked(l)
		}
	}
	g.log.Info("configuration loaded", "revision", rev, "ports", len(snap.ports))
	g.readyOnce.Do(func() { close(g.ready) })
	return rev, nil
}

// startLocked opens a port.
func (g *Gateway) startLocked(pc *portConfig) error {
	port := pc.port
	if g.o.PortMap != nil {
		port = g.o.PortMap(port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(g.o.ListenHost, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	l := &portListener{port: pc.port, addr: ln.Addr(), tls: pc.tls, done: make(chan struct{})}
	h := g.handler(pc.port)
	var fast func(*h1.Head) bool
	if !g.o.noFastPath {
		fast = g.forward(pc.port)
	}
	l.srv = &http.Server{
		Handler:           h,
		ConnContext:       withClientCheck,
		ReadHeaderTimeout: or(g.o.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       or(g.o.IdleTimeout, 60*time.Second),
		MaxHeaderBytes:    orInt(g.o.MaxHeaderBytes, 64<<10),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
	}
	l.h1 = h1.NewServer(h, h1.Options{
		ReadHeaderTimeout: l.srv.ReadHeaderTimeout,
		IdleTimeout:       l.srv.IdleTimeout,
		MaxHeaderBytes:    l.srv.MaxHeaderBytes,
		ConnContext:       withClientCheck,
		Logger:            g.log,
		Forward:           fast,
	})
	if !g.o.StdHTTP2 {
		l.h2 = h2.NewServer(h, h2.Options{
			PrefaceTimeout: l.srv.ReadHeaderTimeout,
			IdleTimeout:    l.srv.IdleTimeout,
			MaxHeaderBytes: l.srv.MaxHeaderBytes,
			ConnContext:    withClientCheck,
			Logger:         g.log,
		})
	}
	maxConns := orInt(g.o.MaxConns, 10000)
	var serveLn net.Listener = &h1Listener{Listener: ln, s: l.h1, slots: make(chan struct{}, maxConns)}
	if pc.tls {
		p := pc.port
		l.in = inbound.Listen(ln, func() []*inbound.VirtualHost { return g.inboundHosts(p) }, inbound.Options{
			HandshakeTimeout: or(g.o.HandshakeTimeout, 10*time.Second),
			MaxConns:         maxConns,
			Logger:           g.log,
			Now:              g.now,
			OnFailure:        func(f inbound.Failure) { g.inboundFailure(p, f) },
			Handoff:          l.serveHTTP1,
		})
		serveLn = l.in
	}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(serveLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("virtual host port stopped", "port", pc.port, "err", err.Error())
		}
	}()
	g.listeners[pc.port] = l
	g.log.Info("serving virtual host port", "port", pc.port, "addr", ln.Addr().String(), "tls", pc.tls)
	return nil
}

// h1Listener serves every connection of a plain port with the port's h1 server, at most
// cap(slots) at a time; its Accept returns only when the listener fails or closes.
type h1Listener struct {
	net.Listener
	s     *h1.Server
	slots chan struct{}
}

func (l *h1Listener) Accept() (net.Conn, error) {
	for {
		l.slots <- struct{}{}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			return nil, err
		}
		go func() {
			defer func() { <-l.slots }()
			l.s.ServeConn(c)
		}()
	}
}

// serveHTTP1 serves a TLS connection that did not choose HTTP/2 with the port's h1
// server, and one that did with its h2 server; with Options.StdHTTP2, HTTP/2
// connections go on to the http.Server.
func (l *portListener) serveHTTP1(tc *tls.Conn) bool {
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		if l.h2 == nil {
			return false
		}
		l.h2.ServeConn(tc)
		return true
	}
	l.h1.ServeConn(tc)
	return true
}

// shutdown drains the port's servers until ctx ends, then closes what is left.
func (l *portListener) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = l.h1.Shutdown(ctx)
	}()
	if l.h2 != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = l.h2.Shutdown(ctx)
		}()
	}
	if err := l.srv.Shutdown(ctx); err != nil {
		l.srv.Close()
	}
	wg.Wait()
}

// inboundHosts returns the current TLS virtual hosts of a port.
func (g *Gateway) inboundHosts(port int) []*inbound.VirtualHost {
	if s := g.snap.Load(); s != nil {
		if pc := s.ports[port]; pc != nil {
			return pc.inbound
		}
	}
	return nil
}

// stopLocked closes a port, draining its requests.
func (g *Gateway) stopLocked(l *portListener) {
	delete(g.listeners, l.port)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), or(g.o.ShutdownTimeout, 30*time.Second))
		defer cancel()
		l.shutdown(ctx)
	}()
}

// stopAll drains every port and waits for them.
func (g *Gateway) stopAll() {
	g.mu.Lock()
	ls := make([]*portListener, 0, len(g.listeners))
	for _, l := range g.listeners {
		ls = append(ls, l)
	}
	g.listeners = map[int]*portListener{}
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), or(g.o.ShutdownTimeout, 30*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.shutdown(ctx)
			<-l.done
		}()
	}
	wg.Wait()
	g.mu.Lock()
	for _, t := range g.transports {
		t.CloseIdleConnections()
	}
	if g.stopPools != nil {
		g.stopPools()
	}
	g.mu.Unlock()
	g.access.Close()
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orInt(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}
