package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// inboundPKI is the gateway's server certificate and the CAs of API clients.
type inboundPKI struct {
	dir                  string
	gwRoot, gwLeaf       *pkitest.Cert
	clientRoot, client   *pkitest.Cert
	expired, otherClient *pkitest.Cert
}

func newInboundPKI(t *testing.T) *inboundPKI {
	t.Helper()
	p := &inboundPKI{dir: t.TempDir()}
	p.gwRoot = pkitest.NewRoot("Gateway Root")
	p.gwLeaf = p.gwRoot.Issue(pkitest.Options{CommonName: "api.test", DNSNames: []string{"api.test", "*.api.test"}})
	p.clientRoot = pkitest.NewRoot("API Clients CA")
	p.client = p.clientRoot.Issue(pkitest.Options{CommonName: "client-app"})
	p.expired = p.clientRoot.Issue(pkitest.Options{CommonName: "old-app", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	p.otherClient = pkitest.NewRoot("Somebody Else's CA").Issue(pkitest.Options{CommonName: "stranger"})
	for name, data := range map[string][]byte{
		"gwroot.pem": p.gwRoot.CertPEM(),
		"client.pem": p.client.CertPEM(), "client.key": p.client.KeyPEM(),
		"expired.pem": p.expired.CertPEM(), "expired.key": p.expired.KeyPEM(),
		"other.pem": p.otherClient.CertPEM(), "other.key": p.otherClient.KeyPEM(),
	} {
		if err := os.WriteFile(filepath.Join(p.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *inboundPKI) file(name string) string { return filepath.Join(p.dir, name) }

// twoWayDoc is a TLS virtual host on port 9443 for api.test and *.api.test asking API
// clients for a certificate of clientRoot, with a proxy /backend to a lab server.
func twoWayDoc(t *testing.T, p *inboundPKI, r *lab.Running) *config.Document {
	t.Helper()
	doc := scenarioDoc(t, r)
	env := &doc.Organizations[0].Environments[0]
	env.Keystores = append(env.Keystores,
		config.Keystore{Name: "gwKS", Aliases: []config.Alias{{Name: "api", Cert: string(pkitest.PEM(p.gwLeaf.Cert, p.gwRoot.Cert)), Key: string(p.gwLeaf.KeyPEM())}}},
		config.Keystore{Name: "clientTS", Aliases: []config.Alias{{Name: "ca", Cert: string(p.clientRoot.CertPEM())}}})
	env.References = append(env.References,
		config.Reference{Name: "gwRef", Refers: "gwKS", ResourceType: config.ResourceKeyStore},
		config.Reference{Name: "clientRef", Refers: "clientTS", ResourceType: config.ResourceTrustStore})
	env.VirtualHosts = append(env.VirtualHosts, config.VirtualHost{Name: "secure", HostAliases: []string{"api.test", "*.api.test"}, Port: 9443,
		SSLInfo: &config.SSLInfo{Enabled: true, ClientAuthEnabled: true, KeyStore: "ref://gwRef", KeyAlias: "api", TrustStore: "ref://clientRef"}})
	env.Proxies[0].VirtualHosts = append(env.Proxies[0].VirtualHosts, "secure")
	return doc
}

// curl runs the real curl against the gateway's port for name, returning the status,
// headers and body.
func curl(t *testing.T, addr net.Addr, name, path string, args ...string) (int, http.Header, string) {
	t.Helper()
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	all := append([]string{"-s", "-S", "-D", "-", "--max-time", "10", "--resolve", name + ":" + port + ":127.0.0.1"}, args...)
	all = append(all, "https://"+name+":"+port+path)
	out, err := exec.Command("curl", all...).CombinedOutput()
	if err != nil {
		return 0, nil, string(out)
	}
	if rest, ok := bytes.CutPrefix(out, []byte("HTTP/2 ")); ok { // curl writes HTTP/2's status line so
		out = append([]byte("HTTP/2.0 "), rest...)
	}
	resp, err := http.ReadResponse(bufioReader(out), nil)
	if err != nil {
		t.Fatalf("curl output %q: %v", out, err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, body.String()
}

func startLab(t *testing.T, name string) *lab.Running {
	t.Helper()
	for _, s := range lab.Scenarios() {
		if s.Name == name {
			r, err := lab.Start(context.Background(), s, lab.PeerOpenSSL, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}
	}
	t.Fatalf("no scenario %s", name)
	return nil
}

// TestInboundWithCurl: the playbook's inbound cases with the real curl: two-way TLS healthy
// (HTTP/1.1 and HTTP/2), and each client-certificate failure answered as the Edge Router
// (nginx) does, with the cause in a header, or as a JSON fault.
func TestInboundWithCurl(t *testing.T) {
	p := newInboundPKI(t)
	g := newTestGW(t, twoWayDoc(t, p, startLab(t, "healthy.one-way")))
	addr := g.gw.Addr(9443)
	ca := []string{"--cacert", p.file("gwroot.pem")}

	status, h, body := curl(t, addr, "api.test", "/backend/", append(ca, "--cert", p.file("client.pem"), "--key", p.file("client.key"))...)
	if status != 200 || h.Get(HeaderMessageID) == "" {
		t.Errorf("two-way healthy: %d %q", status, body)
	}
	status, _, body = curl(t, addr, "v2.api.test", "/backend/", append(ca, "--http2", "-o", "/dev/null", "-w", "%{http_version}", "--cert", p.file("client.pem"), "--key", p.file("client.key"))...)
	if status != 200 || !strings.HasSuffix(body, "2") {
		t.Errorf("HTTP/2 on the wildcard alias: status %d, version %q", status, body)
	}

	tests := []struct {
		name, cause, page string
		args              []string
	}{
		{"no certificate", "inbound.clientcert.missing", "No required SSL certificate was sent", nil},
		{"expired certificate", "inbound.clientcert.expired", "The SSL certificate error", []string{"--cert", p.file("expired.pem"), "--key", p.file("expired.key")}},
		{"certificate of another CA", "inbound.clientcert.untrusted", "The SSL certificate error", []string{"--cert", p.file("other.pem"), "--key", p.file("other.key")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := curl(t, addr, "api.test", "/backend/", append(ca, tt.args...)...)
			if status != 400 || h.Get(HeaderCause) != tt.cause || !strings.Contains(body, "<center>"+tt.page+"</center>") || !strings.Contains(body, "<center>nginx</center>") {
				t.Errorf("got %d cause %q body %q; want 400 %s with nginx's page %q", status, h.Get(HeaderCause), body, tt.cause, tt.page)
			}
			id := h.Get(HeaderMessageID)
			if f, ok := g.gw.Findings().Get(id); !ok || f.Cause != tt.cause || f.Direction != "inbound" {
				t.Errorf("finding of %s: %+v", id, f)
			}
			status, _, body = curl(t, addr, "api.test", "/backend/", append(append(ca, tt.args...), "-H", "Accept: application/json")...)
			var f fault
			if err := json.Unmarshal([]byte(body), &f); status != 400 || err != nil || f.Fault.Detail.Cause != tt.cause {
				t.Errorf("JSON: %d %q", status, body)
			}
		})
	}

	// Handshakes that never become HTTP are classified and counted.
	before := g.gw.Counters()
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	for _, args := range [][]string{
		{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "api.test"}, // protocol mismatch
		{"-servername", "unknown.example"},                                      // SNI naming no alias
	} {
		cmd := exec.Command("openssl", append([]string{"s_client", "-connect", "127.0.0.1:" + port}, args...)...)
		cmd.Stdin = strings.NewReader("")
		cmd.Run()
	}
	curl(t, addr, "api.test", "/backend/") // curl without the gateway's CA rejects its certificate
	want := []string{"failures.inbound.protocol.mismatch", "failures.inbound.sni.unknown", "failures.inbound.cert.rejected-by-client"}
	deadline := time.Now().Add(3 * time.Second)
	for _, k := range want {
		for g.gw.Counters()[k] <= before[k] && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if g.gw.Counters()[k] <= before[k] {
			t.Errorf("counter %s did not move: %v", k, g.gw.Counters())
		}
	}
}

// TestRotationUnderLoad rotates the backend's truststore (a new keystore, then a PUT of
// the reference) and the virtual host's certificate under steady load, over HTTP/1.1 and
// HTTP/2: no request fails, and the new certificate is served within a second.
func TestRotationUnderLoad(t *testing.T) {
	p := newInboundPKI(t)
	r := startLab(t, "healthy.one-way")
	doc := twoWayDoc(t, p, r)
	env := &doc.Organizations[0].Environments[0]
	env.VirtualHosts[1].SSLInfo.ClientAuthEnabled = false
	env.VirtualHosts[1].SSLInfo.TrustStore = ""
	g := newTestGW(t, doc)
	addr := g.gw.Addr(9443).String()

	pool := x509.NewCertPool()
	pool.AddCert(p.gwRoot.Cert)
	newRoot := pkitest.NewRoot("Gateway Root 2")
	newLeaf := newRoot.Issue(pkitest.Options{CommonName: "api.test", DNSNames: []string{"api.test"}})
	pool.AddCert(newRoot.Cert)
	dialer := &net.Dialer{}
	// Four clients on HTTP/1.1 connections, four on streams of HTTP/2 connections.
	var clients [2]*http.Client
	for i := range clients {
		clients[i] = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: "api.test"},
			DialContext:         func(ctx context.Context, n, _ string) (net.Conn, error) { return dialer.DialContext(ctx, n, addr) },
			MaxIdleConnsPerHost: 4,
			ForceAttemptHTTP2:   i == 1,
		}}
	}
	var ok, okH2, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		client := clients[i%2]
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("https://api.test/backend/")
				if err == nil {
					resp.Body.Close()
					if resp.ProtoMajor == 2 && resp.StatusCode == 200 {
						okH2.Add(1)
					}
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					if err == nil {
						err = fmt.Errorf("status %d cause %s", resp.StatusCode, resp.Header.Get(HeaderCause))
					}
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)

	// 1. The backend's truststore: a new keystore holding the same root plus another,
	// then the reference moved to it.
	env.Keystores = append(env.Keystores, config.Keystore{Name: "backendTS2", Aliases: []config.Alias{
		{Name: "root-old", Cert: env.Keystores[0].Aliases[0].Cert, IgnoreExpiryValidation: true},
		{Name: "root-new", Cert: string(pkitest.NewRoot("Backend Root 2").CertPEM())}}})
	env.References[0].Refers = "backendTS2"
	g.waitRevision(g.apply(doc))
	time.Sleep(200 * time.Millisecond)

	// 2. The virtual host's certificate: a new keystore, then the reference moved to it.
	env.Keystores = append(env.Keystores, config.Keystore{Name: "gwKS2", Aliases: []config.Alias{{Name: "api",
		Cert: string(pkitest.PEM(newLeaf.Cert, newRoot.Cert)), Key: string(newLeaf.KeyPEM())}}})
	for i := range env.References {
		if env.References[i].Name == "gwRef" {
			env.References[i].Refers = "gwKS2"
		}
	}
	applied := time.Now()
	g.apply(doc)
	var served time.Duration
	for {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "api.test"})
		if err == nil {
			leaf := conn.ConnectionState().PeerCertificates[0]
			conn.Close()
			if leaf.Equal(newLeaf.Cert) {
				served = time.Since(applied)
				break
			}
		}
		if time.Since(applied) > 5*time.Second {
			t.Fatal("the new certificate was not served within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests succeeded (%d over HTTP/2), %d failed; the new certificate was served %v after the change",
		ok.Load(), okH2.Load(), failed.Load(), served)
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during rotation; first: %v", failed.Load(), firstErr.Load())
	}
	if served > time.Second {
		t.Errorf("new certificate served after %v; want within a second", served)
	}
	if ok.Load() < 20 || okH2.Load() < 10 {
		t.Errorf("only %d requests (%d over HTTP/2) during the test: no load", ok.Load(), okH2.Load())
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// TestClientCheckFollowsReload: a client certificate checked once per connection is
// checked again on the same connection when the virtual host's truststore changes.
func TestClientCheckFollowsReload(t *testing.T) {
	p := newInboundPKI(t)
	doc := twoWayDoc(t, p, startLab(t, "healthy.one-way"))
	g := newTestGW(t, doc)
	addr := g.gw.Addr(9443).String()
	pool := x509.NewCertPool()
	pool.AddCert(p.gwRoot.Cert)
	cert := p.client.TLS(p.client.Cert)
	conns := 0
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "api.test", Certificates: []tls.Certificate{cert}},
		DialContext: func(ctx context.Context, n, _ string) (net.Conn, error) {
			conns++
			var d net.Dialer
			return d.DialContext(ctx, n, addr)
		},
	}}
	status := func() (int, string) {
		resp, err := c.Get("https://api.test/backend/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get(HeaderCause)
	}
	for range 3 {
		if code, cause := status(); code != 200 {
			t.Fatalf("status %d %s; want 200", code, cause)
		}
	}
	// The truststore now holds another CA only.
	env := &doc.Organizations[0].Environments[0]
	for i := range env.Keystores {
		if env.Keystores[i].Name == "clientTS" {
			env.Keystores[i].Aliases = []config.Alias{{Name: "ca", Cert: string(pkitest.NewRoot("Replacement CA").CertPEM())}}
		}
	}
	g.waitRevision(g.apply(doc))
	if code, cause := status(); code != 400 || cause != "inbound.clientcert.untrusted" {
		t.Errorf("after the truststore changed: %d %q; want 400 inbound.clientcert.untrusted", code, cause)
	}
	if conns != 1 {
		t.Errorf("%d connections; the test needs the requests on one", conns)
	}
}
