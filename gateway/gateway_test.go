package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/masterkey"
	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/store/boltstore"
)

// testGW is a gateway over a real bolt store, its ports opened on free loopback ports.
type testGW struct {
	t      *testing.T
	st     *boltstore.Store
	key    *masterkey.Key
	gw     *Gateway
	access *syncBuf
}

type syncBuf struct {
	ch chan []byte
}

func (b *syncBuf) Write(p []byte) (int, error) {
	select {
	case b.ch <- append([]byte(nil), p...):
	default:
	}
	return len(p), nil
}

func newTestGW(t *testing.T, doc *config.Document, opts ...func(*Options)) *testGW {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "gw.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, masterkey.Size)
	rand.Read(raw)
	key, _ := masterkey.New(raw)
	g := &testGW{t: t, st: st, key: key, access: &syncBuf{ch: make(chan []byte, 10000)}}
	g.apply(doc)
	gw, err := newWith(Options{Store: st, Sealer: key, ListenHost: "127.0.0.1", PortMap: func(int) int { return 0 },
		AccessLog: g.access, HandshakeTimeout: 2 * time.Second, Dial: loopbackDial}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	g.gw = gw
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
		st.Close()
	})
	select {
	case <-gw.Ready():
	case err := <-done:
		t.Fatalf("gateway stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway not ready")
	}
	if p := gw.Problems(); len(p) > 0 {
		t.Fatalf("configuration not served: %v", p)
	}
	return g
}

func newWith(o Options, opts ...func(*Options)) (*Gateway, error) {
	for _, f := range opts {
		f(&o)
	}
	return New(o)
}

// loopbackDial dials every host name on 127.0.0.1, as if DNS resolved the test's names
// there; nothing leaves the machine.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
}

// apply writes doc to the store as 'tlsgate apply' does and returns the revision.
func (g *testGW) apply(doc *config.Document) int64 {
	g.t.Helper()
	plan, err := config.Plan(context.Background(), g.st, doc, config.PlanOptions{Sealer: g.key})
	if err != nil {
		g.t.Fatalf("plan: %v", err)
	}
	rev, err := plan.Apply(context.Background(), g.st)
	if err != nil {
		g.t.Fatalf("apply: %v", err)
	}
	return rev
}

// url returns the gateway's URL for a virtual host port.
func (g *testGW) url(scheme string, port int, path string) string {
	g.t.Helper()
	a := g.gw.Addr(port)
	if a == nil {
		g.t.Fatalf("port %d not served", port)
	}
	return scheme + "://" + a.String() + path
}

// waitRevision waits until the gateway serves at least rev.
func (g *testGW) waitRevision(rev int64) time.Duration {
	g.t.Helper()
	start := time.Now()
	for g.gw.Revision() < rev {
		if time.Since(start) > 5*time.Second {
			g.t.Fatalf("gateway serves revision %d; want %d", g.gw.Revision(), rev)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func keyPEM(t *testing.T, k any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// fault is Edge's fault body as the gateway writes it.
type fault struct {
	Fault struct {
		Faultstring string `json:"faultstring"`
		Detail      struct {
			Errorcode string `json:"errorcode"`
			Cause     string `json:"cause"`
			MessageID string `json:"messageid"`
		} `json:"detail"`
	} `json:"fault"`
}

// scenarioDoc is a gateway in front of a lab scenario's server: a plain virtual host on
// port 9001 and a proxy /backend whose target is the scenario's server, configured as
// the scenario's client (truststore, client certificate, protocols, expected name).
func scenarioDoc(t *testing.T, r *lab.Running) *config.Document {
	t.Helper()
	x := r.Expectations
	env := config.Environment{Name: "test",
		VirtualHosts: []config.VirtualHost{{Name: "plain", HostAliases: []string{"127.0.0.1"}, Port: 9001}}}
	ts := config.Keystore{Name: "backendTS"}
	for i, c := range x.Roots {
		ts.Aliases = append(ts.Aliases, config.Alias{Name: "root" + string(rune('a'+i)), Cert: string(pkitest.PEM(c)), IgnoreExpiryValidation: true})
	}
	env.Keystores = append(env.Keystores, ts)
	env.References = []config.Reference{{Name: "backendRef", Refers: "backendTS", ResourceType: config.ResourceTrustStore}}
	si := &config.SSLInfo{Enabled: true, TrustStore: "ref://backendRef"}
	if x.NoSNI {
		off := false
		si.SNI = &off
	}
	for _, p := range x.Protocols {
		si.Protocols = append(si.Protocols, map[uint16]string{tls.VersionTLS10: "TLSv1", tls.VersionTLS11: "TLSv1.1", tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[p])
	}
	for _, c := range x.Ciphers {
		si.Ciphers = append(si.Ciphers, tls.CipherSuiteName(c))
	}
	if cc := x.ClientCert; cc != nil && x.ClientCertProblem == "" {
		var chain []*x509.Certificate
		for _, d := range cc.Certificate {
			c, _ := x509.ParseCertificate(d)
			chain = append(chain, c)
		}
		env.Keystores = append(env.Keystores, config.Keystore{Name: "clientKS", Aliases: []config.Alias{{Name: "client",
			Cert: string(pkitest.PEM(chain...)), Key: keyPEM(t, cc.PrivateKey), IgnoreExpiryValidation: true}}})
		si.ClientAuthEnabled, si.KeyStore, si.KeyAlias = true, "clientKS", "client"
	}
	env.Proxies = []config.Proxy{{Name: "backend", BasePath: "/backend", VirtualHosts: []string{"plain"},
		Target: config.TargetEndpoint{URL: "https://" + targetHost(r) + "/", SSLInfo: si, ConnectTimeoutMillis: 2000, IOTimeoutMillis: 5000}}}
	return &config.Document{Organizations: []config.Organization{{Name: "org", Environments: []config.Environment{env}}}}
}

// targetHost is the scenario's server as the gateway's target names it: the name the
// client expects, at the server's port (loopbackDial takes it to 127.0.0.1).
func targetHost(r *lab.Running) string {
	_, port, _ := net.SplitHostPort(r.Address)
	return net.JoinHostPort(r.ServerName, port)
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestOutboundScenarios puts the gateway in front of every lab scenario played by OpenSSL's
// s_server: healthy ones answer 200 through it, failing ones 503 SslHandshakeFailed (or
// ServiceUnavailable / GatewayTimeout) with the scenario's cause, and the full finding is
// kept under the response's message ID.
func TestOutboundScenarios(t *testing.T) {
	for _, s := range lab.Scenarios() {
		peer := lab.PeerOpenSSL
		if !s.PlayedBy(peer) {
			peer = lab.PeerGo
		}
		if !s.PlayedBy(peer) || s.Client.Cert != nil && s.Expect == "clientcert.key-mismatch" {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			r, err := lab.Start(context.Background(), s, peer, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			g := newTestGW(t, scenarioDoc(t, r))
			resp, body := get(t, http.DefaultClient, g.url("http", 9001, "/backend/"))
			id := resp.Header.Get(HeaderMessageID)
			if !strings.HasPrefix(id, "tg-") {
				t.Errorf("no message ID header")
			}
			if s.Expect == "" || s.Severity == "warning" {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d; want 200: %s", resp.StatusCode, body)
				}
				return
			}
			var f fault
			if err := json.Unmarshal(body, &f); err != nil {
				t.Fatalf("status %d, body %s: %v", resp.StatusCode, body, err)
			}
			wantCode, wantStatus := "messaging.adaptors.http.flow.SslHandshakeFailed", 503
			switch s.Expect {
			case "network.unreachable", "network.refused":
				wantCode = "messaging.adaptors.http.flow.ServiceUnavailable"
			case "network.timeout":
				wantCode, wantStatus = "messaging.adaptors.http.flow.GatewayTimeout", 504
			}
			if resp.StatusCode != wantStatus || f.Fault.Detail.Errorcode != wantCode || f.Fault.Detail.Cause != s.Expect {
				t.Errorf("got %d %s cause %q; want %d %s cause %q\n%s", resp.StatusCode, f.Fault.Detail.Errorcode, f.Fault.Detail.Cause, wantStatus, wantCode, s.Expect, body)
			}
			if resp.Header.Get(HeaderCause) != s.Expect || f.Fault.Detail.MessageID != id {
				t.Errorf("headers: cause %q, message ID %q vs body %q", resp.Header.Get(HeaderCause), id, f.Fault.Detail.MessageID)
			}
			if fd, ok := g.gw.Findings().Get(id); !ok || fd.Cause != s.Expect || (wantCode == "messaging.adaptors.http.flow.SslHandshakeFailed" && (fd.Report == nil || len(fd.Fix) == 0)) {
				t.Errorf("finding for %s: %+v", id, fd)
			}
		})
	}
}

// freePort reserves nothing; it tells a port free at the time of asking.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
