// Package gatewaylab puts tlsgate's gateway in front of the lab's scenario servers: for
// each one, a proxy whose target is configured as the scenario's client, then one request
// through the gateway, to show what an API client receives and the cause the gateway
// reported.
package gatewaylab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/gateway"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/masterkey"
	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/store/boltstore"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Result is what the API client received through the gateway for one scenario.
type Result struct {
	Status    int    `json:"status"`
	FaultCode string `json:"faultCode,omitempty"`
	Cause     string `json:"cause,omitempty"`
	MessageID string `json:"messageId"`
	// AsExpected: a healthy scenario answered 200; a failing one the fault of its kind
	// with the scenario's cause.
	AsExpected bool   `json:"asExpected"`
	Problem    string `json:"problem,omitempty"`
	// Note explains a scenario the gateway cannot be configured into (the management
	// plane refuses the configuration first).
	Note string `json:"note,omitempty"`
}

// Fault codes of the gateway's answers.
const (
	SslHandshakeFailed = "messaging.adaptors.http.flow.SslHandshakeFailed"
	ServiceUnavailable = "messaging.adaptors.http.flow.ServiceUnavailable"
	GatewayTimeout     = "messaging.adaptors.http.flow.GatewayTimeout"
)

// Gateway is one gateway, with its own store, serving a plain virtual host on a free
// loopback port; each Try adds a proxy to it.
type Gateway struct {
	dir    string
	st     *boltstore.Store
	key    *masterkey.Key
	gw     *gateway.Gateway
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex // serialises changes to the store
	n      atomic.Int64
	client *http.Client
}

const vhostPort = 9001

// Start starts a gateway under a new temporary directory.
func Start(ctx context.Context) (*Gateway, error) {
	dir, err := os.MkdirTemp("", "tlsgate-gatewaylab-")
	if err != nil {
		return nil, err
	}
	g := &Gateway{dir: dir, done: make(chan error, 1), client: &http.Client{Timeout: 30 * time.Second}}
	if g.st, err = boltstore.Open(filepath.Join(dir, "lab.db"), boltstore.Options{}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	raw := make([]byte, masterkey.Size)
	rand.Read(raw)
	g.key, _ = masterkey.New(raw)
	base := &config.Document{Organizations: []config.Organization{{Name: "lab", Environments: []config.Environment{{Name: "test",
		VirtualHosts: []config.VirtualHost{{Name: "plain", HostAliases: []string{"127.0.0.1"}, Port: vhostPort}}}}}}}
	if _, err := g.apply(ctx, base); err != nil {
		g.Close()
		return nil, err
	}
	g.gw, err = gateway.New(gateway.Options{Store: g.st, Sealer: g.key, ListenHost: "127.0.0.1",
		PortMap: func(int) int { return 0 }, Dial: loopbackDial})
	if err != nil {
		g.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() { g.done <- g.gw.Run(rctx) }()
	select {
	case <-g.gw.Ready():
	case err := <-g.done:
		g.cancel = nil
		g.Close()
		return nil, fmt.Errorf("gateway: %w", err)
	case <-ctx.Done():
		g.Close()
		return nil, ctx.Err()
	}
	return g, nil
}

// Close stops the gateway and removes its files.
func (g *Gateway) Close() error {
	if g.cancel != nil {
		g.cancel()
		<-g.done
	}
	if g.st != nil {
		g.st.Close()
	}
	return os.RemoveAll(g.dir)
}

// loopbackDial dials every name on 127.0.0.1: the scenarios' names (backend.test) resolve
// there, and nothing leaves the machine.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
}

func (g *Gateway) apply(ctx context.Context, doc *config.Document) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	plan, err := config.Plan(ctx, g.st, doc, config.PlanOptions{Sealer: g.key})
	if err != nil {
		return 0, err
	}
	return plan.Apply(ctx, g.st)
}

// Try configures a proxy in front of the running scenario, as its client is configured,
// sends one request through the gateway and judges the answer.
func (g *Gateway) Try(ctx context.Context, r *lab.Running) (*Result, error) {
	s := r.Scenario
	if r.Expectations.ClientCertProblem != "" {
		return &Result{AsExpected: true, Note: "refused before it can be served: the management plane does not store a key that does not match its certificate"}, nil
	}
	n := g.n.Add(1)
	env := environment(r, n)
	rev, err := g.apply(ctx, &config.Document{Organizations: []config.Organization{{Name: "lab", Environments: []config.Environment{env}}}})
	if err != nil {
		return nil, fmt.Errorf("configuring the gateway for %s: %w", s.Name, err)
	}
	for g.gw.Revision() < rev {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(2 * time.Millisecond)
	}
	addr := g.gw.Addr(vhostPort)
	if addr == nil {
		return nil, errors.New("the gateway does not serve its virtual host port")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr.String()+"/s"+strconv.FormatInt(n, 10)+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	res := &Result{Status: resp.StatusCode, MessageID: resp.Header.Get(gateway.HeaderMessageID)}
	if resp.StatusCode != 200 {
		var f struct {
			Fault struct {
				Detail struct {
					Errorcode string `json:"errorcode"`
					Cause     string `json:"cause"`
				} `json:"detail"`
			} `json:"fault"`
		}
		if json.Unmarshal(body, &f) == nil {
			res.FaultCode, res.Cause = f.Fault.Detail.Errorcode, f.Fault.Detail.Cause
		}
	}
	res.judge(s)
	return res, nil
}

// judge compares the answer with what the scenario should give an API client.
func (res *Result) judge(s lab.Scenario) {
	if s.Healthy() || s.Severity != "error" {
		res.AsExpected = res.Status == 200
		if !res.AsExpected {
			res.Problem = fmt.Sprintf("want 200, got %d %s %s", res.Status, res.FaultCode, res.Cause)
		}
		return
	}
	status, code := 503, SslHandshakeFailed
	switch s.Expect {
	case "network.unreachable", "network.refused":
		code = ServiceUnavailable
	case "network.timeout":
		status, code = 504, GatewayTimeout
	}
	res.AsExpected = res.Status == status && res.FaultCode == code && res.Cause == s.Expect
	if !res.AsExpected {
		res.Problem = fmt.Sprintf("want %d %s cause %s, got %d %s cause %s", status, code, s.Expect, res.Status, res.FaultCode, res.Cause)
	}
}

// environment is the scenario's proxy /sN: its target is the scenario's server, named as
// the client expects it, with a truststore of the client's roots (through a reference), the
// client's certificate, protocols and suites.
func environment(r *lab.Running, n int64) config.Environment {
	x := r.Expectations
	id := strconv.FormatInt(n, 10)
	env := config.Environment{Name: "test"}
	ts := config.Keystore{Name: "ts" + id}
	for i, c := range x.Roots {
		ts.Aliases = append(ts.Aliases, config.Alias{Name: "root" + strconv.Itoa(i), Cert: string(pkitest.PEM(c)), IgnoreExpiryValidation: true})
	}
	env.Keystores = append(env.Keystores, ts)
	env.References = []config.Reference{{Name: "tsref" + id, Refers: ts.Name, ResourceType: config.ResourceTrustStore}}
	si := &config.SSLInfo{Enabled: true, TrustStore: "ref://tsref" + id}
	if x.NoSNI {
		off := false
		si.SNI = &off
	}
	for _, p := range x.Protocols {
		si.Protocols = append(si.Protocols, protocolName(p))
	}
	for _, c := range x.Ciphers {
		si.Ciphers = append(si.Ciphers, tlswire.SuiteName(c))
	}
	if cc := x.ClientCert; cc != nil {
		var chain []*x509.Certificate
		for _, d := range cc.Certificate {
			if c, err := x509.ParseCertificate(d); err == nil {
				chain = append(chain, c)
			}
		}
		if der, err := x509.MarshalPKCS8PrivateKey(cc.PrivateKey); err == nil {
			env.Keystores = append(env.Keystores, config.Keystore{Name: "ks" + id, Aliases: []config.Alias{{Name: "client",
				Cert: string(pkitest.PEM(chain...)), Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), IgnoreExpiryValidation: true}}})
			si.ClientAuthEnabled, si.KeyStore, si.KeyAlias = true, "ks"+id, "client"
		}
	}
	_, port, _ := net.SplitHostPort(r.Address)
	timeout := int(r.Timeout / time.Millisecond)
	env.Proxies = []config.Proxy{{Name: "s" + id, BasePath: "/s" + id, VirtualHosts: []string{"plain"},
		Target: config.TargetEndpoint{URL: "https://" + net.JoinHostPort(r.ServerName, port) + "/", SSLInfo: si,
			ConnectTimeoutMillis: min(timeout, 3000), IOTimeoutMillis: timeout}}}
	return env
}

func protocolName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tlswire.VersionName(v)
}
