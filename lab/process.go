package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// startBound bounds how long a child server may take to listen.
const startBound = 5 * time.Second

// tool is an external program a peer runs, and the Debian package that installs it.
type tool struct {
	name, pkg string
	paths     []string // tried when name is not on PATH
}

var (
	opensslTool = tool{name: "openssl", pkg: "openssl", paths: []string{"/usr/bin/openssl"}}
	nginxTool   = tool{name: "nginx", pkg: "nginx-light", paths: []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"}}
)

// ErrMissingTool is wrapped by the error Start returns when a peer's program is not installed.
var ErrMissingTool = errors.New("program not installed")

// find returns the program's path, or an error naming the package to install.
func (t tool) find() (string, error) {
	if p, err := exec.LookPath(t.name); err == nil {
		return p, nil
	}
	for _, p := range t.paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w (on Debian: apt-get install %s)", t.name, ErrMissingTool, t.pkg)
}

// process is a child server: its command, its output's tail, and when it exited.
type process struct {
	cmd    *exec.Cmd
	out    *tail
	exited chan struct{}
	err    error // Wait's error, once exited is closed
	stop   sync.Once
}

// startProcess runs path with args in dir. ready, when set, is a string whose appearance in
// the output means the server listens.
func startProcess(path string, args []string, dir string, env []string, ready string) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = nil
	out := &tail{ready: ready, seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady waits until the output shows out.ready, the process exits, or the bound passes.
func (p *process) waitReady(ctx context.Context) error {
	t := time.NewTimer(startBound)
	defer t.Stop()
	select {
	case <-p.out.seen:
		return nil
	case <-p.exited:
		return fmt.Errorf("exited (%v): %s", p.err, p.out.String())
	case <-t.C:
		return fmt.Errorf("not ready after %s: %s", startBound, p.out.String())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close kills the process and waits for it.
func (p *process) close() error {
	p.stop.Do(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
		}
	})
	<-p.exited
	return nil
}

// tail keeps the last bytes a process wrote and notices a readiness string.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	ready string
	seen  chan struct{}
	once  sync.Once
}

const tailMax = 4096

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if t.ready != "" && bytes.Contains(t.buf, []byte(t.ready)) {
		t.once.Do(func() { close(t.seen) })
	}
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(b), nil
}

// String returns the tail on one line.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(strings.Fields(string(t.buf)), " ")
	if s == "" {
		return "no output"
	}
	return s
}
