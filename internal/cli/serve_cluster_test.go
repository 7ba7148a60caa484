package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/store/etcdstore/etcdtest"
)

// clusterStatus is the part of GET /tlsgate/v1/status a cluster test reads.
type clusterStatus struct {
	Revision int64 `json:"revision"`
	Nodes    []struct {
		Node     string `json:"node"`
		Revision int64  `json:"revision"`
		State    string `json:"state"`
		Stale    *struct {
			ID     string   `json:"id"`
			Detail string   `json:"detail"`
			Keys   []string `json:"keys"`
			Fix    string   `json:"fix"`
		} `json:"stale"`
	} `json:"nodes"`
	StaleNodes []string `json:"staleNodes"`
}

func getStatus(t *testing.T, addr, token string) clusterStatus {
	t.Helper()
	var st clusterStatus
	if code, body := apiCall(t, addr, token, "GET", "/tlsgate/v1/status", "", nil); code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("status: %d %s", code, body)
	}
	return st
}

// waitStatus polls a node's status until ok holds, or fails after 15 s with the last one.
func waitStatus(t *testing.T, addr, token, what string, ok func(clusterStatus) bool) clusterStatus {
	t.Helper()
	var st clusterStatus
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if st = getStatus(t, addr, token); ok(st) {
			return st
		}
	}
	t.Fatalf("status of %s never showed %s; last: %+v", addr, what, st)
	return st
}

func doAPI(t *testing.T, addr, token, method, path, ctype string, body []byte, want int) {
	t.Helper()
	if code, got := apiCall(t, addr, token, method, path, ctype, body); code != want {
		t.Fatalf("%s %s: %d %s; want %d", method, path, code, got, want)
	}
}

// TestServeCluster runs two 'tlsgate serve' processes, nodes a and b, on one real etcd,
// each with its gateway on its own loopback address. Both serve the configuration one
// of them applied; a change through a's API reaches b; while b is frozen (SIGSTOP), a
// truststore changed through a makes a's status name b stale (inbound.truststore.stale)
// with the key it misses, and a current; once b runs again it catches up and reports.
func TestServeCluster(t *testing.T) {
	srv := etcdtest.Start(t, t.TempDir())
	const token = "cluster-test-token-0123456789"
	raw := make([]byte, 32)
	rand.Read(raw)
	env := []string{"TLSGATE_MASTER_KEY=" + base64.StdEncoding.EncodeToString(raw)}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s", r.URL.Path)
	}))
	defer backend.Close()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	dir := t.TempDir()
	file := filepath.Join(dir, "tlsgate.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`organizations:
  - name: org
    environments:
      - name: test
        virtualHosts:
          - name: default
            hostAliases: [127.0.0.1, 127.0.0.2]
            port: %s
        proxies:
          - name: hello
            basePath: /hello
            virtualHosts: [default]
            target:
              url: %s/api
          - name: gone
            basePath: /gone
            virtualHosts: [default]
            target:
              url: http://%s
`, port, backend.URL, freeAddr(t))), 0o600)
	addrA := freeAddr(t)
	serveChild(t, filepath.Join(dir, "a"), addrA, token, env, "--etcd", srv.Endpoint, "--node", "a", "--config", file)
	addrB := freeAddr(t)
	b := serveChild(t, filepath.Join(dir, "b"), addrB, token, env, "--etcd", srv.Endpoint, "--node", "b", "--listen-host", "127.0.0.2")

	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		waitPort(t, net.JoinHostPort(host, port))
		resp, err := http.Get("http://" + net.JoinHostPort(host, port) + "/hello/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "backend saw /api/x" {
			t.Fatalf("through the gateway of %s: %d %q", host, resp.StatusCode, body)
		}
	}
	current := func(st clusterStatus, node string) bool {
		for _, n := range st.Nodes {
			if n.Node == node {
				return n.State == "current" && n.Stale == nil
			}
		}
		return false
	}
	waitStatus(t, addrA, token, "nodes a and b current", func(st clusterStatus) bool {
		return len(st.Nodes) == 2 && current(st, "a") && current(st, "b") && len(st.StaleNodes) == 0
	})

	// A change through a reaches b's gateway: a keystore, seen in b's status.
	doAPI(t, addrA, token, "POST", "/v1/organizations/org/environments/test/keystores", "application/json", []byte(`{"name":"ts1"}`), http.StatusCreated)
	rev := getStatus(t, addrB, token).Revision
	waitStatus(t, addrB, token, "node b serving the new keystore", func(st clusterStatus) bool {
		for _, n := range st.Nodes {
			if n.Node == "b" && n.Revision >= rev-1 && n.State == "current" {
				return true
			}
		}
		return false
	})

	// b freezes; the truststore changes through a.
	if err := b.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			b.Process.Signal(syscall.SIGCONT)
		}
	}()
	doAPI(t, addrA, token, "POST", "/v1/organizations/org/environments/test/keystores/ts1/certs?alias=root", "application/x-pem-file",
		pkitest.NewRoot("Cluster Root").CertPEM(), http.StatusCreated)
	st := waitStatus(t, addrA, token, "node b stale", func(st clusterStatus) bool {
		return current(st, "a") && slices.Equal(st.StaleNodes, []string{"b"})
	})
	for _, n := range st.Nodes {
		if n.Node != "b" {
			continue
		}
		if n.Stale.ID != "inbound.truststore.stale" || len(n.Stale.Keys) != 1 || !strings.HasSuffix(n.Stale.Keys[0], "/ts1") ||
			!strings.Contains(n.Stale.Detail, "node b serves store revision") || !strings.Contains(n.Stale.Fix, "node b") {
			t.Errorf("stale node b: %+v", n.Stale)
		}
	}

	// b runs again: it reloads from etcd and reports; no node is stale.
	b.Process.Signal(syscall.SIGCONT)
	resumed = true
	waitStatus(t, addrA, token, "node b current again", func(st clusterStatus) bool {
		return current(st, "a") && current(st, "b") && len(st.StaleNodes) == 0
	})

	// A request b's gateway failed: its finding, kept by b, is found through a's API.
	resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.2", port) + "/gone/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Tlsgate-Message-Id")
	if resp.StatusCode != http.StatusServiceUnavailable || id == "" {
		t.Fatalf("unreachable target through b: %d, message ID %q", resp.StatusCode, id)
	}
	code, body := apiCall(t, addrA, token, "GET", "/tlsgate/v1/findings/"+id, "", nil)
	if code != http.StatusOK || !strings.Contains(body, `"node": "b"`) || !strings.Contains(body, `"cause": "network.`) {
		t.Errorf("finding %s of node b asked of node a: %d %s", id, code, body)
	}
	if code, body := apiCall(t, addrA, token, "GET", "/tlsgate/v1/findings/"+id+"?local=true", "", nil); code != http.StatusNotFound {
		t.Errorf("finding %s of node b asked of node a alone: %d %s", id, code, body)
	}
	if code, body := apiCall(t, addrA, token, "GET", "/tlsgate/v1/findings/tg-000000000000000000000000", "", nil); code != http.StatusNotFound || !strings.Contains(body, "nor on node b") {
		t.Errorf("a finding no node holds: %d %s", code, body)
	}
}

// apiCall sends one request to a node's management API and returns the status and body.
func apiCall(t *testing.T, addr, token, method, path, ctype string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeClusterRefusesANewMasterKey: a node that would create its own master key
// against an etcd that already holds the cluster's state refuses to start, and leaves
// no key file behind.
func TestServeClusterRefusesANewMasterKey(t *testing.T) {
	srv := etcdtest.Start(t, t.TempDir())
	dir := t.TempDir()
	serveChild(t, filepath.Join(dir, "a"), freeAddr(t), "cluster-test-token-0123456789", nil, "--etcd", srv.Endpoint, "--node", "a")
	t.Setenv("TLSGATE_MASTER_KEY", "")
	var stdout, stderr strings.Builder
	data := filepath.Join(dir, "b")
	code := Main(t.Context(), []string{"serve", "--data", data, "--admin", freeAddr(t), "--etcd", srv.Endpoint, "--node", "b"}, &stdout, &stderr)
	if code != ExitUsage || !strings.Contains(stderr.String(), "another master key") || !strings.Contains(stderr.String(), "hint: give this node the cluster's master key") {
		t.Fatalf("serve of a second node without the cluster's key: exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); !os.IsNotExist(err) {
		t.Errorf("master.key left behind: %v", err)
	}
}

// TestServeClusterUsage: --node needs --etcd; a bad node name and an etcd that does not
// answer are usage errors naming what is wrong.
func TestServeClusterUsage(t *testing.T) {
	t.Setenv("TLSGATE_MASTER_KEY", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--node", "a"}, "--node without --etcd"},
		{[]string{"--etcd-cacert", "ca.pem"}, "--etcd-cacert without --etcd"},
		{[]string{"--etcd", "http://127.0.0.1:1", "--node", "a", "--api-url", "ftp://x"}, `--api-url "ftp://x": not an http(s) URL`},
		{[]string{"--etcd", "http://127.0.0.1:1", "--node", "bad name"}, `node name "bad name"`},
		{[]string{"--etcd", "http://127.0.0.1:1", "--node", "a"}, "127.0.0.1:1"},
	} {
		var stdout, stderr strings.Builder
		code := Main(t.Context(), append([]string{"serve", "--data", t.TempDir(), "--admin", "127.0.0.1:0"}, tt.args...), &stdout, &stderr)
		if code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want exit %d naming %q", tt.args, code, stderr.String(), ExitUsage, tt.want)
		}
	}
}

// TestServeEtcdTLS: serve reaches an etcd that speaks TLS and asks for a client
// certificate, with --etcd-cacert, --etcd-cert and --etcd-key; without the client
// certificate, or with another CA, it fails naming etcd's endpoint.
func TestServeEtcdTLS(t *testing.T) {
	t.Setenv("TLSGATE_MASTER_KEY", "")
	dir := t.TempDir()
	ca := pkitest.NewRoot("etcd CA")
	server := ca.Issue(pkitest.Options{CommonName: "etcd", IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}})
	client := ca.Issue(pkitest.Options{CommonName: "tlsgate"})
	file := func(name string, data []byte) string {
		t.Helper()
		p, err := pkitest.WriteFile(dir, name, data)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := file("ca.pem", ca.CertPEM())
	srv := etcdtest.StartTLS(t, filepath.Join(dir, "etcd"), caFile, file("server.pem", server.CertPEM()), file("server.key", server.KeyPEM()))
	certFile, keyFile := file("client.pem", client.CertPEM()), file("client.key", client.KeyPEM())
	otherCA := file("other.pem", pkitest.NewRoot("Other CA").CertPEM())

	s := startServe(t, filepath.Join(dir, "data"), "--no-gateway", "--etcd", srv.Endpoint, "--node", "a",
		"--etcd-cacert", caFile, "--etcd-cert", certFile, "--etcd-key", keyFile)
	if out := strings.Join(s.lines, "\n"); !strings.Contains(out, "store: etcd "+srv.Endpoint) {
		t.Fatalf("serve over etcd with TLS printed:\n%s", out)
	}
	s.stop()

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no client certificate", []string{"--etcd-cacert", caFile}, srv.Endpoint},
		{"another CA", []string{"--etcd-cacert", otherCA, "--etcd-cert", certFile, "--etcd-key", keyFile}, srv.Endpoint},
		{"a key without its certificate", []string{"--etcd-cacert", caFile, "--etcd-key", keyFile}, "--etcd-cert and --etcd-key go together"},
		{"a CA file without a certificate", []string{"--etcd-cacert", keyFile}, "no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			args := append([]string{"serve", "--data", t.TempDir(), "--admin", "127.0.0.1:0", "--no-gateway", "--etcd", srv.Endpoint, "--node", "a"}, tt.args...)
			if code := Main(t.Context(), args, &stdout, &stderr); code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d naming %q", code, stderr.String(), ExitUsage, tt.want)
			}
		})
	}
}

// TestServeEtcdAuth: against an etcd with authentication on, serve authenticates with
// --etcd-user and the password in TLSGATE_ETCD_PASSWORD; a wrong password, or none, is
// refused with an error saying so.
func TestServeEtcdAuth(t *testing.T) {
	t.Setenv("TLSGATE_MASTER_KEY", "")
	srv := etcdtest.Start(t, t.TempDir())
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	for _, step := range []func() error{
		func() error { _, err := c.RoleAdd(ctx, "root"); return err },
		func() error { _, err := c.UserAdd(ctx, "root", "root-secret"); return err },
		func() error { _, err := c.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := c.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("enabling etcd authentication: %v", err)
		}
	}
	t.Setenv(EtcdPasswordEnv, "root-secret")
	s := startServe(t, filepath.Join(t.TempDir(), "data"), "--no-gateway", "--etcd", srv.Endpoint, "--node", "a", "--etcd-user", "root")
	if out := strings.Join(s.lines, "\n"); !strings.Contains(out, "store: etcd "+srv.Endpoint) {
		t.Fatalf("serve with etcd authentication printed:\n%s", out)
	}
	s.stop()
	for _, tt := range []struct{ password, want string }{
		{"wrong", "authentication failed"},
		{"", "no password in " + EtcdPasswordEnv},
	} {
		t.Setenv(EtcdPasswordEnv, tt.password)
		var stdout, stderr strings.Builder
		code := Main(t.Context(), []string{"serve", "--data", t.TempDir(), "--admin", "127.0.0.1:0", "--no-gateway", "--etcd", srv.Endpoint, "--node", "a", "--etcd-user", "root"}, &stdout, &stderr)
		if code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("password %q: exit %d, stderr %q; want exit %d saying %q", tt.password, code, stderr.String(), ExitUsage, tt.want)
		}
	}
}
