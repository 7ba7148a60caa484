package gateway

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// lbDoc is a plain virtual host on 9001 with a proxy /lb balancing over one target server
// per lab server given, each verified with the lab servers' roots.
func lbDoc(t *testing.T, maxFailures int, rs ...*lab.Running) *config.Document {
	t.Helper()
	env := config.Environment{Name: "test",
		VirtualHosts: []config.VirtualHost{{Name: "plain", HostAliases: []string{"127.0.0.1"}, Port: 9001}}}
	ts := config.Keystore{Name: "backendTS"}
	seen := map[string]bool{}
	lb := &config.LoadBalancer{MaxFailures: maxFailures}
	for i, r := range rs {
		for _, c := range r.Expectations.Roots {
			if !seen[string(c.Raw)] {
				seen[string(c.Raw)] = true
				ts.Aliases = append(ts.Aliases, config.Alias{Name: "root" + strconv.Itoa(len(ts.Aliases)), Cert: string(pkitest.PEM(c))})
			}
		}
		_, port, _ := net.SplitHostPort(r.Address)
		p, _ := strconv.Atoi(port)
		name := "ts" + strconv.Itoa(i)
		env.TargetServers = append(env.TargetServers, config.TargetServer{Name: name, Host: r.ServerName, Port: p,
			SSLInfo: &config.SSLInfo{Enabled: true, TrustStore: "backendTS"}})
		lb.Servers = append(lb.Servers, name)
	}
	env.Keystores = []config.Keystore{ts}
	env.Proxies = []config.Proxy{{Name: "lb", BasePath: "/lb", VirtualHosts: []string{"plain"},
		Target: config.TargetEndpoint{LoadBalancer: lb, Path: "/", ConnectTimeoutMillis: 2000}}}
	return &config.Document{Organizations: []config.Organization{{Name: "org", Environments: []config.Environment{env}}}}
}

// TestLoadBalancer: a target server whose certificate expired answers with its cause until
// MaxFailures takes it out of rotation; the health monitor keeps its diagnosis; with every
// member out, NoActiveTargets.
func TestLoadBalancer(t *testing.T) {
	good, bad := startLab(t, "healthy.one-way"), startLab(t, "cert.expired")
	g := newTestGW(t, lbDoc(t, 2, good, bad), func(o *Options) { o.HealthInterval = 100 * time.Millisecond })
	url := g.url("http", 9001, "/lb/")
	var causes []string
	for range 8 {
		resp, body := get(t, http.DefaultClient, url)
		switch resp.StatusCode {
		case 200:
		case 503:
			var f fault
			json.Unmarshal(body, &f)
			causes = append(causes, f.Fault.Detail.Cause)
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}
	if len(causes) != 2 || causes[0] != "cert.expired" || causes[1] != "cert.expired" {
		t.Errorf("failed requests' causes %v; want cert.expired twice, then the member out of rotation", causes)
	}
	time.Sleep(300 * time.Millisecond)
	health := g.gw.Health().([]TargetHealth)
	if len(health) != 1 || len(health[0].Members) != 2 {
		t.Fatalf("health %+v", health)
	}
	m := health[0].Members[1]
	if m.Active || m.LastCause != "cert.expired" || m.LastChecked.IsZero() {
		t.Errorf("broken member: active %v, last cause %q, checked %v; want out, cert.expired, checked by the monitor", m.Active, m.LastCause, m.LastChecked)
	}

	// Every member broken: NoActiveTargets once both are out.
	g2 := newTestGW(t, lbDoc(t, 1, bad))
	url2 := g2.url("http", 9001, "/lb/")
	get(t, http.DefaultClient, url2)
	resp, body := get(t, http.DefaultClient, url2)
	var f fault
	json.Unmarshal(body, &f)
	if resp.StatusCode != 503 || f.Fault.Detail.Errorcode != "messaging.adaptors.http.flow.NoActiveTargets" {
		t.Errorf("all members out: %d %s; want 503 NoActiveTargets", resp.StatusCode, body)
	}
}
