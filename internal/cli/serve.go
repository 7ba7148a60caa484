package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/cluster"
	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/gateway"
	"github.com/tlsgate/tlsgate/masterkey"
	"github.com/tlsgate/tlsgate/mgmt"
	"github.com/tlsgate/tlsgate/observe"
	"github.com/tlsgate/tlsgate/store"
	"github.com/tlsgate/tlsgate/store/boltstore"
	"github.com/tlsgate/tlsgate/store/etcdstore"
)

const serveHelp = `
Start the gateway and the management API (Apigee Edge's v1 routes) on embedded defaults.
The gateway opens one port per virtual host port of the configuration (on --listen-host),
routes by base path to API proxies and their targets, and answers every failed handshake
with its cause; it reloads within a second of any change. The state lives in
a bolt store under --data, private keys are sealed under a master key kept beside it
(DIR/master.key, mode 0600, created at first start) or given in TLSGATE_MASTER_KEY
(base64 of 32 bytes). At first start an admin token is printed once; set
TLSGATE_ADMIN_TOKEN to choose it. Requests need "Authorization: Bearer TOKEN" (or Basic
with the token as password).

A cluster of gateway nodes shares one etcd instead (--etcd): every node runs tlsgate serve
with the same --etcd and --etcd-prefix, its own --node name and the same master key
(TLSGATE_MASTER_KEY, or master.key copied from the first node); each reloads from etcd's
watch and reports the store revision it serves, and GET /tlsgate/v1/status on any node
lists the nodes, those serving an older configuration than the one stored named
(inbound.truststore.stale). etcd must accept requests of 10 MiB
(--max-request-bytes=10485760); over TLS, give https URLs, --etcd-cacert and, when etcd
asks for client certificates, --etcd-cert and --etcd-key; with authentication on,
--etcd-user and its password in TLSGATE_ETCD_PASSWORD.

Files under --data: tlsgate.db (the store, unless --etcd), master.key, mgmt.log (one
JSON line per management request and change; never a key, password or token), access.log
(one JSON line per gateway request: message ID, proxy, target, status, fault code and
source, cause, TLS of both legs, durations), gateway.log (handshake failures, reloads).

Go runtime settings, unless set in the environment: GOGC=400 (fewer collections of a
small heap), and GOMAXPROCS twice the CPUs the process may use (threads busy in short
system calls, preempted by the clients and backends that share the cores, do not hold
the gateway up); under a CPU quota (a container's limit), Go's own choice stands.

Examples:
  tlsgate serve
  TLSGATE_ADMIN_TOKEN=$(openssl rand -hex 24) tlsgate serve --data /var/lib/tlsgate --admin 127.0.0.1:9000
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9000/v1/organizations
  TLSGATE_MASTER_KEY=$KEY tlsgate serve --etcd http://10.0.0.5:2379 --node gw-1 --listen-host 0.0.0.0`

type serveOptions struct {
	data, admin, config string
	listenHost, pprof   string
	http2Server         string
	prune, noGateway    bool
	store               storeFlags
	node, apiURL        string
}

// storeFlags say which store serve opens: the bolt file under --data, or etcd.
type storeFlags struct {
	etcd   string // comma-separated client URLs; "" for the bolt store
	prefix string
	// TLS towards etcd: the CA file that verifies etcd's certificate, and the client
	// certificate and key etcd asks for (--client-cert-auth).
	cacert, cert, key string
	// user authenticates to an etcd with authentication on; the password is the value
	// of EtcdPasswordEnv (never a flag: command lines are visible to every user).
	user string
}

// EtcdPasswordEnv names the environment variable holding the password of --etcd-user.
const EtcdPasswordEnv = "TLSGATE_ETCD_PASSWORD"

// tlsConfig returns the TLS configuration towards etcd the flags ask for, nil when they
// ask for none and no endpoint is https (then etcd is reached in the clear).
func (sf storeFlags) tlsConfig(endpoints []string) (*tls.Config, error) {
	https := slices.ContainsFunc(endpoints, func(u string) bool { return strings.HasPrefix(u, "https://") })
	if !https && sf.cacert == "" && sf.cert == "" && sf.key == "" {
		return nil, nil
	}
	if (sf.cert == "") != (sf.key == "") {
		return nil, errors.New("--etcd-cert and --etcd-key go together")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if sf.cacert != "" {
		data, err := os.ReadFile(sf.cacert)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cacert: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("--etcd-cacert %s: no PEM certificate in it", sf.cacert)
		}
	}
	if sf.cert != "" {
		pair, err := tls.LoadX509KeyPair(sf.cert, sf.key)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert %s, --etcd-key %s: %w", sf.cert, sf.key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// setGatewayProcs sets GOMAXPROCS to twice the CPUs the process may run on, unless a CPU
// quota (a cgroup limit, which Go's default follows) limits it to fewer than these CPUs.
// A gateway's goroutines spend most of their time in short system calls on sockets
// whose peers (clients, backends, often on the same cores) preempt its threads: with one
// processor per core, a preempted thread holds a processor, and the goroutines queued on
// it wait with it while a core could run them. With twice as many, another thread runs
// them (docs/benchmarks.md: keep-alive p99 0.93x nginx's against 1.17x with the
// default, HTTP/2 1.81x against 1.54x).
func setGatewayProcs() {
	if n := runtime.NumCPU(); runtime.GOMAXPROCS(0) >= n {
		runtime.GOMAXPROCS(2 * n)
	}
}

func runServe(ctx context.Context, e *env, args []string) int {
	var o serveOptions
	fs := newFlags(e, "serve", "serve [flags]", serveHelp)
	fs.StringVar(&o.data, "data", "./tlsgate-data", "state `DIR`: the bolt store, the master key, logs")
	fs.StringVar(&o.admin, "admin", "127.0.0.1:9000", "management API `ADDR`ess (host:port)")
	fs.StringVar(&o.config, "config", "", "apply this declarative YAML `FILE` at start")
	fs.BoolVar(&o.prune, "prune", false, "with --config: delete objects of the file's environments that the file does not name")
	fs.StringVar(&o.listenHost, "listen-host", "127.0.0.1", "the `HOST` virtual host ports are opened on (\"\" or 0.0.0.0 for every interface)")
	fs.BoolVar(&o.noGateway, "no-gateway", false, "run the management API only")
	fs.StringVar(&o.pprof, "pprof", "", "serve Go's profiler (net/http/pprof) on this loopback `ADDR`, e.g. 127.0.0.1:6060")
	fs.StringVar(&o.http2Server, "http2-server", "tlsgate", "the `SERVER` of HTTP/2 on virtual hosts: tlsgate (its own) or net/http (Go's standard one)")
	fs.StringVar(&o.store.etcd, "etcd", "", "keep the state in etcd at these client `URLS` (comma-separated) instead of the bolt store: a cluster of nodes")
	fs.StringVar(&o.store.prefix, "etcd-prefix", etcdstore.DefaultPrefix, "with --etcd: the `PREFIX` of tlsgate's keys in etcd")
	fs.StringVar(&o.store.cacert, "etcd-cacert", "", "with --etcd: the CA `FILE` (PEM) that verifies etcd's certificate (default: the system's roots)")
	fs.StringVar(&o.store.cert, "etcd-cert", "", "with --etcd: the client certificate `FILE` (PEM) etcd asks for")
	fs.StringVar(&o.store.key, "etcd-key", "", "with --etcd: the private key `FILE` (PEM) of --etcd-cert")
	fs.StringVar(&o.store.user, "etcd-user", "", "with --etcd: the etcd `USER` to authenticate as (its password in "+EtcdPasswordEnv+")")
	fs.StringVar(&o.apiURL, "api-url", "", "with --etcd: the `URL` other nodes reach this node's management API at, to find a request's finding on the node that served it (default: http:// and the --admin address)")
	fs.StringVar(&o.node, "node", "", "with --etcd: this node's `NAME` in the cluster's status (default: the host name)")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if o.store.etcd == "" {
		for _, f := range []struct{ name, value string }{{"--node", o.node}, {"--etcd-cacert", o.store.cacert}, {"--etcd-cert", o.store.cert}, {"--etcd-key", o.store.key}, {"--etcd-user", o.store.user}, {"--api-url", o.apiURL}} {
			if f.value != "" {
				return fail(e, ExitUsage, fmt.Errorf("serve: %s without --etcd", f.name), "it concerns a cluster on etcd; give --etcd too")
			}
		}
	}
	if o.store.etcd != "" {
		if o.node == "" {
			o.node, _ = os.Hostname()
		}
		if err := cluster.CheckNode(o.node); err != nil {
			return fail(e, ExitUsage, fmt.Errorf("serve: --node: %w", err), "give --node NAME")
		}
		if u, err := neturl.Parse(o.apiURL); o.apiURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return fail(e, ExitUsage, fmt.Errorf("serve: --api-url %q: not an http(s) URL", o.apiURL), "give the URL other nodes reach this node's management API at, e.g. http://10.0.0.7:9000")
		}
	}
	if o.http2Server != "tlsgate" && o.http2Server != "net/http" {
		return fail(e, ExitUsage, fmt.Errorf("serve: --http2-server %q: unknown server", o.http2Server), "give tlsgate or net/http")
	}
	if fs.NArg() != 0 {
		return fail(e, ExitUsage, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0)), "see tlsgate serve --help")
	}
	if _, _, err := net.SplitHostPort(o.admin); err != nil {
		return fail(e, ExitUsage, fmt.Errorf("serve: --admin %q: %w", o.admin, err), "give HOST:PORT, e.g. 127.0.0.1:9000")
	}
	st, err := openStateWith(ctx, o.data, o.store)
	if err != nil {
		return fail(e, ExitUsage, err, st.hint)
	}
	defer st.close()
	if os.Getenv("GOGC") == "" {
		// A proxy's garbage is short-lived and its live heap small: collecting less often
		// trades a little memory for CPU (GOGC in the environment overrides).
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMAXPROCS") == "" && !o.noGateway {
		setGatewayProcs()
	}

	var gw *gateway.Gateway
	findings := observe.NewFindings(0)
	findings.Node = o.node
	if !o.noGateway {
		gw, err = st.gateway(o.listenHost, o.http2Server == "net/http", findings)
		if err != nil {
			return fail(e, ExitUsage, err, "")
		}
	}
	mo := mgmt.Options{Store: st.store, Sealer: st.key, Logger: st.log, Version: Version, Findings: findings, Node: o.node}
	if gw != nil {
		mo.Runtime = gw
	}
	api, err := mgmt.New(mo)
	if err != nil {
		return fail(e, ExitUsage, err, "")
	}
	token, created, err := mgmt.Bootstrap(ctx, st.store, os.Getenv(mgmt.AdminTokenEnv), time.Now())
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("serve: %w", err), "")
	}
	if o.config != "" {
		doc, err := readDocument(o.config)
		if err != nil {
			return fail(e, ExitUsage, err, "see docs/config.md for the file's shape")
		}
		rev, plan, err := api.ApplyDocument(ctx, doc, "serve --config", o.prune)
		if err != nil {
			return fail(e, ExitUsage, fmt.Errorf("serve: applying %s: %w", o.config, err), "fix the file, or check it with: tlsgate apply --dry-run -f FILE")
		}
		fmt.Fprintf(e.stdout, "applied %s: %s (store revision %d)\n", o.config, plan.Summary(), rev)
	}

	if o.pprof != "" {
		if err := startPprof(o.pprof); err != nil {
			return fail(e, ExitUsage, fmt.Errorf("serve: --pprof: %w", err), "give a loopback HOST:PORT")
		}
	}
	ln, err := net.Listen("tcp", o.admin)
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("serve: %w", err), "another process may hold the address; choose one with --admin")
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(st.log.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "management API: %s (Edge v1 routes, e.g. %s/v1/organizations)\n", url, url)
	fmt.Fprintf(e.stdout, "data directory: %s (%s)\n", st.dir, keySourceText(st.keySource))
	fmt.Fprintf(e.stdout, "store: %s\n", st.where)
	switch {
	case created && os.Getenv(mgmt.AdminTokenEnv) != "":
		fmt.Fprintf(e.stdout, "admin token: the one given in %s\n", mgmt.AdminTokenEnv)
	case created:
		fmt.Fprintf(e.stdout, "admin token (shown once, keep it): %s\n", token)
	default:
		fmt.Fprintln(e.stdout, "admin token: created at first start (not shown again)")
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	gwDone := make(chan struct{})
	if gw != nil {
		go func() {
			defer close(gwDone)
			if err := gw.Run(ctx); err != nil {
				errc <- fmt.Errorf("gateway: %w", err)
			}
		}()
		select {
		case <-gw.Ready():
			if o.store.etcd != "" {
				api := o.apiURL
				if api == "" {
					api = url
				}
				p := &cluster.Publisher{Store: st.store, Node: o.node, Version: Version, API: api, Logger: st.log}
				go p.Run(ctx, gw)
				fmt.Fprintf(e.stdout, "cluster: node %s reports the revision it serves to the store\n", o.node)
			}
			fmt.Fprintf(e.stdout, "gateway: serving store revision %d on %s (GOMAXPROCS %d)\n", gw.Revision(), hostOrAll(o.listenHost), runtime.GOMAXPROCS(0))
			for _, p := range gw.Problems() {
				fmt.Fprintf(e.stdout, "gateway: not served: %s\n", p)
			}
		case err := <-errc:
			return fail(e, ExitUsage, fmt.Errorf("serve: %w", err), "")
		}
	} else {
		close(gwDone)
	}
	select {
	case err := <-errc:
		return fail(e, ExitUsage, fmt.Errorf("serve: %w", err), "")
	case <-ctx.Done():
	}
	<-gwDone
	fmt.Fprintln(e.stderr, "shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fail(e, ExitUsage, fmt.Errorf("serve: shutdown: %w", err), "")
	}
	return ExitOK
}

func hostOrAll(h string) string {
	if h == "" || h == "0.0.0.0" {
		return "every interface"
	}
	return h
}

// gateway creates the gateway over the state, its logs under the data directory.
func (s *state) gateway(listenHost string, stdHTTP2 bool, findings *observe.Findings) (*gateway.Gateway, error) {
	access, err := os.OpenFile(filepath.Join(s.dir, "access.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	glog, err := os.OpenFile(filepath.Join(s.dir, "gateway.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		access.Close()
		return nil, fmt.Errorf("gateway log: %w", err)
	}
	s.extra = append(s.extra, access, glog)
	if listenHost == "0.0.0.0" {
		listenHost = ""
	}
	return gateway.New(gateway.Options{Store: s.store, Sealer: s.key, ListenHost: listenHost, AccessLog: access,
		Logger: slog.New(slog.NewJSONHandler(glog, nil)), Findings: findings, StdHTTP2: stdHTTP2})
}

// state is what serve (and offline apply/export) open under a data directory.
type state struct {
	dir       string
	store     store.Store
	where     string // the store, said for people
	key       *masterkey.Key
	keySource masterkey.Source
	log       *slog.Logger
	logFile   *os.File
	extra     []*os.File
	hint      string
}

func (s *state) close() {
	if s.store != nil {
		s.store.Close()
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	for _, f := range s.extra {
		f.Close()
	}
}

// openState creates the data directory (mode 0700) if needed and opens the master key,
// the bolt store and the log under it. On error the returned state carries a hint.
func openState(dir string) (*state, error) {
	return openStateWith(context.Background(), dir, storeFlags{})
}

// openStateWith is openState with the store sf says: the bolt file under dir, or etcd.
func openStateWith(ctx context.Context, dir string, sf storeFlags) (*state, error) {
	st := &state{dir: dir}
	if abs, err := filepath.Abs(dir); err == nil {
		st.dir = abs
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		st.hint = "choose a writable directory with --data"
		return st, fmt.Errorf("data directory: %w", err)
	}
	keyPath := filepath.Join(dir, "master.key")
	key, src, err := masterkey.Load(keyPath, os.Getenv(masterkey.EnvVar))
	if err != nil {
		st.hint = "the master key seals every private key; restore the file or set " + masterkey.EnvVar
		return st, err
	}
	st.key, st.keySource = key, src
	f, err := os.OpenFile(filepath.Join(dir, "mgmt.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		st.hint = "choose a writable directory with --data"
		return st, fmt.Errorf("log: %w", err)
	}
	st.logFile = f
	st.log = slog.New(slog.NewJSONHandler(f, nil))
	if sf.etcd != "" {
		return st, st.openEtcd(ctx, sf, keyPath)
	}
	db, err := boltstore.Open(filepath.Join(dir, "tlsgate.db"), boltstore.Options{Timeout: 2 * time.Second, Logger: st.log})
	if err != nil {
		st.close()
		st.hint = "is 'tlsgate serve' already running on this data directory? Stop it, or talk to it with --admin"
		return st, err
	}
	st.store, st.where = db, "bolt file "+db.Path()
	return st, nil
}

// openEtcd opens the etcd store sf names. A master key this start created is refused
// (and removed) when the store already holds a configuration: its private keys were
// sealed under the cluster's key, which this node must be given.
func (st *state) openEtcd(ctx context.Context, sf storeFlags, keyPath string) error {
	var endpoints []string
	for _, u := range strings.Split(sf.etcd, ",") {
		if u = strings.TrimSpace(u); u != "" {
			endpoints = append(endpoints, u)
		}
	}
	tc, err := sf.tlsConfig(endpoints)
	if err != nil {
		st.close()
		st.hint = "give the PEM files of etcd's CA, and of the client certificate and key etcd asks for"
		return err
	}
	password := os.Getenv(EtcdPasswordEnv)
	if sf.user != "" && password == "" {
		st.close()
		st.hint = "set " + EtcdPasswordEnv + " to the password of the etcd user"
		return fmt.Errorf("--etcd-user %s: no password in %s", sf.user, EtcdPasswordEnv)
	}
	db, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: endpoints, Prefix: sf.prefix, TLS: tc,
		Username: sf.user, Password: password, Logger: st.log})
	if err != nil {
		st.close()
		st.hint = "check --etcd (client URLs such as http://127.0.0.1:2379 or https://...), that etcd runs there, and the TLS files (--etcd-cacert, --etcd-cert, --etcd-key) or user (--etcd-user, " + EtcdPasswordEnv + ") it needs"
		return err
	}
	st.store, st.where = db, fmt.Sprintf("etcd %s, prefix %s", db.Endpoints(), db.Prefix())
	if st.keySource == masterkey.FromCreated {
		// Every start writes an admin token first (mgmt.Bootstrap): a store with one
		// holds a cluster's state.
		kvs, _, err := db.List(ctx, mgmt.TokenPrefix)
		if err != nil {
			os.Remove(keyPath)
			st.close()
			return fmt.Errorf("etcd store at %s: %w", db.Endpoints(), err)
		}
		if len(kvs) > 0 {
			os.Remove(keyPath)
			st.close()
			st.hint = fmt.Sprintf("give this node the cluster's master key: copy master.key from another node into %s, or set %s", st.dir, masterkey.EnvVar)
			return fmt.Errorf("etcd store at %s already holds tlsgate's state, sealed under another master key than the one this start would create", db.Endpoints())
		}
	}
	return nil
}

// readDocument reads a declarative YAML file, certificate and key files included.
func readDocument(path string) (*config.Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return config.ParseYAML(data, path)
}

func keySourceText(s masterkey.Source) string {
	switch s {
	case masterkey.FromEnv:
		return "master key from " + masterkey.EnvVar
	case masterkey.FromCreated:
		return "master key created in master.key, mode 0600: back it up, the private keys cannot be opened without it"
	}
	return "master key from master.key"
}

// startPprof serves net/http/pprof on a loopback address only.
func startPprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	return nil
}
