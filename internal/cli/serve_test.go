package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// served is a 'tlsgate serve' running in this process.
type served struct {
	url    string
	lines  []string // what it printed before serving
	stop   func() int
	stderr *strings.Builder
}

// startServe runs serve on a free loopback port over dataDir and waits until it listens.
func startServe(t *testing.T, dataDir string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	s := &served{stderr: &strings.Builder{}}
	go func() {
		code := Main(ctx, append([]string{"serve", "--data", dataDir, "--admin", "127.0.0.1:0"}, args...), pw, s.stderr)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	deadline := time.AfterFunc(20*time.Second, func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		s.lines = append(s.lines, line)
		if rest, ok := strings.CutPrefix(line, "management API: "); ok {
			s.url = strings.Fields(rest)[0]
		}
		if strings.HasPrefix(line, "admin token") {
			break
		}
	}
	if s.url == "" {
		cancel()
		t.Fatalf("serve did not start: %q\nstderr: %s", s.lines, s.stderr)
	}
	go io.Copy(io.Discard, pr)
	stopped := false
	var code int
	s.stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *served) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeFirstStart(t *testing.T) {
	t.Setenv("TLSGATE_ADMIN_TOKEN", "")
	t.Setenv("TLSGATE_MASTER_KEY", "")
	dir := filepath.Join(t.TempDir(), "data")
	s := startServe(t, dir)
	var token string
	for _, l := range s.lines {
		if rest, ok := strings.CutPrefix(l, "admin token (shown once, keep it): "); ok {
			token = rest
		}
	}
	if token == "" {
		t.Fatalf("no admin token printed at first start: %q", s.lines)
	}
	if code, body := s.get(t, "/v1/organizations", token); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /v1/organizations with the token: %d %s; want 200 []", code, body)
	}
	if code, _ := s.get(t, "/v1/organizations", "wrong-token-wrong-token"); code != 401 {
		t.Errorf("a wrong token got %d; want 401", code)
	}
	st, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("master key: %v, mode %v; want a file with mode 0600", err, st.Mode().Perm())
	}

	// The store is locked while the server runs.
	code, _, errOut := runMain(t, "export", "--data", dir)
	if code != ExitUsage || !strings.Contains(errOut, "already running") {
		t.Errorf("export --data on a served directory: exit %d, %q; want 2 and a hint that serve is running", code, errOut)
	}
	if code := s.stop(); code != ExitOK {
		t.Errorf("serve exit status %d after cancel; want 0; stderr %s", code, s.stderr)
	}

	// A restart does not show the token again, and the token still works.
	s2 := startServe(t, dir)
	if out := strings.Join(s2.lines, "\n"); strings.Contains(out, token) || !strings.Contains(out, "not shown again") {
		t.Errorf("restart printed %q; want no token", out)
	}
	if code, _ := s2.get(t, "/v1/organizations", token); code != 200 {
		t.Errorf("the first start's token after a restart: %d; want 200", code)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "mgmt.log")); err != nil || strings.Contains(string(data), token) {
		t.Errorf("mgmt.log: %v; it must exist and never hold the token", err)
	}
}

func TestServeBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--admin", "nonsense"},
		{"serve", "extra"},
		{"serve", "--data", "/proc/tlsgate-cannot-be-here"},
		{"serve", "--http2-server", "nghttpd"},
	} {
		code, _, errOut := runMain(t, args...)
		if code != ExitUsage || !strings.HasPrefix(errOut, "error: ") {
			t.Errorf("%q: exit %d, %q; want 2 and an error line", args, code, errOut)
		}
	}
}

func TestGatewayProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	n := runtime.NumCPU()
	runtime.GOMAXPROCS(n) // Go's default without a CPU quota
	setGatewayProcs()
	if got := runtime.GOMAXPROCS(0); got != 2*n {
		t.Errorf("GOMAXPROCS after setGatewayProcs with %d CPUs and no quota = %d; want %d", n, got, 2*n)
	}
	if n == 1 {
		return // a quota below one CPU leaves GOMAXPROCS at 1, as without one
	}
	runtime.GOMAXPROCS(n - 1) // Go's default under a quota of fewer CPUs than the machine's
	setGatewayProcs()
	if got := runtime.GOMAXPROCS(0); got != n-1 {
		t.Errorf("GOMAXPROCS after setGatewayProcs under a quota (%d of %d CPUs) = %d; want it left at %d", n-1, n, got, n-1)
	}
}
