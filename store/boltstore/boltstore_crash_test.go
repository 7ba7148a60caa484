package boltstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/store"
)

// crashEnv carries the store's path to the writer that TestCrash runs as a child process.
const crashEnv = "TLSGATE_BOLTSTORE_CRASH_WRITER"

// crashValue is the value the writer puts with write i, of varied sizes so that the
// writes allocate pages of several kinds.
func crashValue(i int64) []byte {
	v := fmt.Appendf(nil, "value %d ", i)
	return append(v, bytes.Repeat([]byte{'a' + byte(i%26)}, int(i%13)*700)...)
}

// TestHelperWriter is the child process of TestCrash: it writes until it is killed and
// prints "ack KEY REVISION" once each Txn has returned.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the writer TestCrash runs as a child process")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(2)
	}
	s, err := Open(path, Options{Timeout: 5 * time.Second, HistoryLimit: 500})
	if err != nil {
		fail(err)
	}
	ctx := t.Context()
	first, err := s.Revision(ctx)
	if err != nil {
		fail(err)
	}
	deadline := time.Now().Add(30 * time.Second) // if the parent never kills it
	for i := first + 1; time.Now().Before(deadline); i++ {
		key := fmt.Sprintf("crash/%08d", i)
		ops := []store.Op{store.Put(key, crashValue(i)), store.Put("crash/last", strconv.AppendInt(nil, i, 10))}
		if i%7 == 0 {
			ops = append(ops, store.Delete(fmt.Sprintf("tmp/%d", i-7)))
		}
		ops = append(ops, store.Put(fmt.Sprintf("tmp/%d", i), crashValue(i+1)))
		rev, err := s.Txn(ctx, nil, ops)
		if err != nil {
			fail(err)
		}
		// os.Stdout is not buffered: each line is one write.
		fmt.Printf("ack %s %d\n", key, rev)
	}
	fail(errors.New("not killed within 30s"))
}

type ack struct {
	key string
	rev int64
}

// TestCrash kills (SIGKILL) a process in the middle of a burst of writes, several
// times on the same file: the file must open cleanly each time with every write the
// process acknowledged.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	var acked []ack
	for round, killAfter := range []int{300, 120, 450} {
		t.Logf("round %d: kill after %d acks", round, killAfter)
		acked = append(acked, runWriter(t, path, killAfter, round == 0)...)

		s, err := Open(path, Options{HistoryLimit: 500})
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		checkFile(t, s)
		last := acked[len(acked)-1]
		rev, err := s.Revision(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if rev < last.rev {
			t.Fatalf("round %d: revision %d after reopening; the writer acknowledged %d", round, rev, last.rev)
		}
		for _, a := range acked {
			kv, err := s.Get(t.Context(), a.key)
			if err != nil {
				t.Fatalf("round %d: acknowledged write of %s at revision %d: %v", round, a.key, a.rev, err)
			}
			if kv.ModRevision != a.rev || !bytes.Equal(kv.Value, crashValue(a.rev)) {
				t.Fatalf("round %d: %s at revision %d with %d bytes; acknowledged at revision %d", round, a.key, kv.ModRevision, len(kv.Value), a.rev)
			}
		}
		kv, err := s.Get(t.Context(), "crash/last")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.ParseInt(string(kv.Value), 10, 64); n < last.rev {
			t.Fatalf("round %d: crash/last = %s; want at least %d", round, kv.Value, last.rev)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runWriter runs TestHelperWriter on path, kills it after killAfter acknowledgements
// and returns every acknowledgement it printed. With tryLock it also checks that the
// store cannot be opened while the writer has it.
func runWriter(t *testing.T, path string, killAfter int, tryLock bool) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	var acks []ack
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue // the test framework's own output
		}
		rev, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			t.Fatalf("writer printed %q", sc.Text())
		}
		acks = append(acks, ack{f[1], rev})
		if len(acks) == 1 && tryLock {
			s, err := Open(path, Options{Timeout: 100 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatal("opened the store while the writer had it")
			}
			if !errors.Is(err, ErrInUse) {
				t.Fatalf("opening the store while the writer had it: %v; want ErrInUse", err)
			}
		}
		if len(acks) == killAfter && !killed {
			// Process.Kill sends SIGKILL: the writer gets no chance to clean up.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		// Lines still in the pipe after the kill were acknowledged too: keep reading.
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("writer stopped after %d acks before it was killed: %v\n%s", len(acks), err, stderr.Bytes())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && (!ws.Signaled() || ws.Signal() != syscall.SIGKILL) {
		t.Fatalf("writer ended with %v; want killed by SIGKILL\n%s", cmd.ProcessState, stderr.Bytes())
	}
	t.Logf("writer killed after %d acks, revisions %d to %d", len(acks), acks[0].rev, acks[len(acks)-1].rev)
	for i := 1; i < len(acks); i++ {
		if acks[i].rev != acks[i-1].rev+1 {
			t.Fatalf("writer acknowledged revision %d after %d", acks[i].rev, acks[i-1].rev)
		}
	}
	return acks
}
