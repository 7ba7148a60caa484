// Package etcdtest runs real etcd servers (the etcd binary, Debian's etcd-server) on
// loopback for tests of the etcd backend and of gateway clusters.
package etcdtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/internal/tooltest"
)

// Server is one etcd process with its data directory.
type Server struct {
	// Endpoint is the client URL, http://127.0.0.1:PORT (https with StartTLS).
	Endpoint string
	Dir      string
	cmd      *exec.Cmd
	log      *bytes.Buffer
	mu       sync.Mutex
	stopped  bool
}

// Need skips t when the etcd binary is missing, or fails it when the environment
// variable CI is set (CI installs it: a missing tool must not pass for a skipped test).
func Need(t testing.TB) {
	t.Helper()
	tooltest.Need(t, "etcd", "Debian: apt-get install etcd-server")
}

// Start runs etcd on two free loopback ports, its data in dir (made if missing; an etcd
// started again on the same dir finds its data), accepting requests of 10 MiB (what
// store.MaxValueSize needs); extra flags come after those (the last of a flag counts).
// It waits until etcd answers, and stops it when t ends.
func Start(t testing.TB, dir string, extra ...string) *Server {
	t.Helper()
	return start(t, dir, "http", extra)
}

// StartTLS is Start with TLS on the client port: etcd presents certFile and keyFile and
// asks clients for a certificate issued by caFile (--client-cert-auth). The endpoint is
// https://127.0.0.1:PORT.
func StartTLS(t testing.TB, dir, caFile, certFile, keyFile string) *Server {
	t.Helper()
	return start(t, dir, "https", []string{"--cert-file", certFile, "--key-file", keyFile,
		"--trusted-ca-file", caFile, "--client-cert-auth"})
}

func start(t testing.TB, dir, scheme string, extra []string) *Server {
	t.Helper()
	Need(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	client, peer := freePort(t), freePort(t)
	s := &Server{Endpoint: scheme + "://" + client, Dir: dir, log: &bytes.Buffer{}}
	args := []string{"--name", "node",
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", s.Endpoint, "--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", "http://" + peer, "--initial-advertise-peer-urls", "http://" + peer,
		"--initial-cluster", "node=http://" + peer,
		"--max-request-bytes", "10485760", "--log-level", "warn"}
	s.cmd = exec.Command("etcd", append(args, extra...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting etcd: %v", err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", client, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			s.Stop()
			t.Fatalf("etcd did not listen on %s within 20 s; its output:\n%s", client, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// Stop kills etcd and waits for it to end (its data stays in Dir).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Output returns what etcd printed.
func (s *Server) Output() string { return s.log.String() }

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
