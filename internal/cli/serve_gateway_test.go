package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRunsTheGateway: serve --config starts the gateway on the configuration's
// virtual host port; requests are proxied, logged in access.log, failures answered with
// Edge's fault and kept by message ID; status reports the revision the gateway serves.
func TestServeRunsTheGateway(t *testing.T) {
	t.Setenv("TLSGATE_MASTER_KEY", "")
	const token = "serve-gateway-token-0123456789"
	t.Setenv("TLSGATE_ADMIN_TOKEN", token)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw %s from %s", r.URL.Path, r.Header.Get("X-Forwarded-For"))
	}))
	defer backend.Close()
	dead := freeAddr(t)
	vport := freeAddr(t)
	_, port, _ := net.SplitHostPort(vport)
	dir := t.TempDir()
	yaml := fmt.Sprintf(`organizations:
  - name: org
    environments:
      - name: test
        virtualHosts:
          - name: default
            hostAliases: [127.0.0.1]
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
`, port, backend.URL, dead)
	file := filepath.Join(dir, "tlsgate.yaml")
	os.WriteFile(file, []byte(yaml), 0o600)
	data := filepath.Join(dir, "data")
	s := startServe(t, data, "--config", file)
	if !strings.Contains(strings.Join(s.lines, "\n"), "gateway: serving store revision") {
		// the gateway line comes after the token line; wait for the port instead
		waitPort(t, vport)
	}
	waitPort(t, vport)

	resp, err := http.Get("http://" + vport + "/hello/world")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "backend saw /api/world from 127.0.0.1") {
		t.Errorf("through the gateway: %d %q", resp.StatusCode, body)
	}

	resp, err = http.Get("http://" + vport + "/gone/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Tlsgate-Message-Id")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "messaging.adaptors.http.flow.ServiceUnavailable") || id == "" {
		t.Errorf("unreachable target: %d %s", resp.StatusCode, body)
	}
	if code, f := s.get(t, "/tlsgate/v1/findings/"+id, token); code != 200 || !strings.Contains(f, `"cause": "network.`) {
		t.Errorf("finding of %s: %d %s", id, code, f)
	}
	_, st := s.get(t, "/tlsgate/v1/status", token)
	var status struct {
		Revision int64 `json:"revision"`
		Gateway  struct {
			Revision int64 `json:"revision"`
		} `json:"gateway"`
	}
	json.Unmarshal([]byte(st), &status)
	if status.Revision == 0 || status.Gateway.Revision != status.Revision {
		t.Errorf("status %s: want the gateway serving the store's revision", st)
	}
	s.stop()
	logData, _ := os.ReadFile(filepath.Join(data, "access.log"))
	lines := strings.Split(strings.TrimSpace(string(logData)), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], `"proxy":"hello"`) || !strings.Contains(lines[1], `"fault_code":"messaging.adaptors.http.flow.ServiceUnavailable"`) {
		t.Errorf("access.log:\n%s", logData)
	}
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("%s never listened", addr)
}
