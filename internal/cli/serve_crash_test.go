package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestHelperServeProcess is not a test: it is 'tlsgate serve' in a child process for
// TestServeSurvivesKill and TestServeCluster (more arguments, one per line, in
// TLSGATE_TEST_ARGS).
func TestHelperServeProcess(t *testing.T) {
	if os.Getenv("TLSGATE_TEST_SERVE_CHILD") != "1" {
		t.Skip("helper process")
	}
	args := []string{"serve", "--data", os.Getenv("TLSGATE_TEST_DATA"), "--admin", os.Getenv("TLSGATE_TEST_ADDR")}
	if more := os.Getenv("TLSGATE_TEST_ARGS"); more != "" {
		args = append(args, strings.Split(more, "\n")...)
	}
	os.Exit(Main(context.Background(), args, io.Discard, os.Stderr))
}

// serveChild starts 'tlsgate serve' as a real process and waits until it answers; env
// (NAME=value) and args are added to its environment and arguments.
func serveChild(t *testing.T, dir, addr, token string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeProcess$")
	cmd.Env = append(os.Environ(), "TLSGATE_TEST_SERVE_CHILD=1", "TLSGATE_TEST_DATA="+dir, "TLSGATE_TEST_ADDR="+addr,
		"TLSGATE_ADMIN_TOKEN="+token, "TLSGATE_MASTER_KEY=", "TLSGATE_TEST_ARGS="+strings.Join(args, "\n"))
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/tlsgate/v1/health")
		if err == nil {
			resp.Body.Close()
			return cmd
		}
	}
	t.Fatalf("serve did not come up: %s", stderr.String())
	return nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func post(addr, token, path, body string) (int, error) {
	req, _ := http.NewRequest("POST", "http://"+addr+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestServeSurvivesKill kills 'tlsgate serve' with SIGKILL during a burst of writes through
// the API, restarts it, and checks that every acknowledged write is there.
func TestServeSurvivesKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const token = "crash-test-token-0123456789"
	addr := freeAddr(t)
	child := serveChild(t, dir, addr, token, nil)
	for _, p := range []struct{ path, body string }{
		{"/v1/organizations", `{"name":"org"}`},
		{"/v1/organizations/org/environments", `{"name":"test"}`},
	} {
		if code, err := post(addr, token, p.path, p.body); err != nil || code != 201 {
			t.Fatalf("POST %s: %d %v", p.path, code, err)
		}
	}

	var (
		mu    sync.Mutex
		acked []string
		n     atomic.Int64
		wg    sync.WaitGroup
	)
	killed := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("ts-%d-%d", w, i)
				code, err := post(addr, token, "/v1/organizations/org/environments/test/targetservers",
					`{"name":"`+name+`","host":"backend.test","port":8443}`)
				if err != nil {
					return // the server is gone
				}
				if code == http.StatusCreated {
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
					if n.Add(1) == 200 {
						child.Process.Signal(syscall.SIGKILL)
						close(killed)
					}
				}
			}
		}()
	}
	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("the burst did not reach 200 writes")
	}
	wg.Wait()
	child.Wait()

	// Restart on the same data directory: it opens cleanly and holds every acknowledged write.
	addr2 := freeAddr(t)
	serveChild(t, dir, addr2, "", nil)
	req, _ := http.NewRequest("GET", "http://"+addr2+"/v1/organizations/org/environments/test/targetservers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var names []string
	if err := json.NewDecoder(resp.Body).Decode(&names); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	missing := 0
	for _, a := range acked {
		if !have[a] {
			missing++
			t.Errorf("acknowledged target server %s is missing after the restart", a)
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d stored after restart, %d missing", len(acked), len(names), missing)
}
