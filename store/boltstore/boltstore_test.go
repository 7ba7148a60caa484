package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tlsgate/tlsgate/store"
	"github.com/tlsgate/tlsgate/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		t.Helper()
		s, err := Open(filepath.Join(opts.Dir, "store.db"), Options{HistoryLimit: opts.HistoryLimit})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func openT(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putT(t *testing.T, s *Store, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), nil, ops)
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}
	return rev
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tt := range []struct {
		name string
		path string
		want []string
		is   error
	}{
		{"missing directory", filepath.Join(dir, "missing", "store.db"), []string{"directory", "does not exist"}, fs.ErrNotExist},
		{"text file", write("notes.txt", []byte("hello\n")), []string{"notes.txt", "not a bbolt database"}, nil},
		{"large text file", write("big.txt", bytes.Repeat([]byte("not a database\n"), 5000)), []string{"big.txt", "not a bbolt database"}, nil},
		{"another bbolt database", other, []string{"other.db", "not a tlsgate store"}, nil},
		{"a directory", dir, []string{dir}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded; want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open: %q; want it to say %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Open: %v; want errors.Is %v", err, tt.is)
			}
		})
	}
}

func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	openT(t, path, Options{})
	start := time.Now()
	s, err := Open(path, Options{Timeout: 100 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("second Open succeeded; want ErrInUse")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v; want ErrInUse", err)
	}
	// bbolt polls the lock every 50ms and gives up up to one poll early.
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("second Open gave up after %s; want it to wait for the lock", d)
	}
}

// historyLen counts the revisions kept in the history bucket.
func historyLen(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketHistory).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHistoryLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openT(t, path, Options{HistoryLimit: 50})
	for i := range 30 {
		putT(t, s, store.Put(fmt.Sprintf("k%d", i%4), []byte("v")))
	}
	if n := historyLen(t, s); n != 30 {
		t.Fatalf("history of %d revisions; want 30", n)
	}
	s.Close()

	// Reopened with a lower limit, the history is trimmed at once.
	s = openT(t, path, Options{HistoryLimit: 10})
	if n := historyLen(t, s); n != 10 {
		t.Fatalf("history of %d revisions after reopening with a limit of 10; want 10", n)
	}
	if _, err := s.Watch(t.Context(), "", 20); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Watch from 20: %v; want ErrCompacted", err)
	}
	ch, err := s.Watch(t.Context(), "", 21)
	if err != nil {
		t.Fatalf("Watch from 21: %v", err)
	}
	if e := <-ch; e.KV.ModRevision != 21 {
		t.Fatalf("Watch from 21: first event at revision %d", e.KV.ModRevision)
	}
	for range 25 {
		putT(t, s, store.Put("k", []byte("v")))
	}
	if n := historyLen(t, s); n != 10 {
		t.Fatalf("history of %d revisions with a limit of 10; want 10", n)
	}
}

// TestSlowWatcher: a watcher that reads nothing while writers write does not block
// them; when it reads, it gets every event, from the history past its buffer.
func TestSlowWatcher(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), Options{WatchBuffer: 4})
	ch, err := s.Watch(t.Context(), "w/", 0)
	if err != nil {
		t.Fatal(err)
	}
	const revs = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range revs {
			k := fmt.Sprintf("w/%d/", i)
			if _, err := s.Txn(t.Context(), nil, []store.Op{store.Put(k+"a", []byte("a")), store.Put("other", nil), store.Put(k+"b", []byte("b"))}); err != nil {
				t.Errorf("Txn: %v", err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("writers blocked by a watcher that does not read")
	}
	for i := range revs {
		for _, suffix := range []string{"a", "b"} {
			var e store.Event
			select {
			case e = <-ch:
			case <-time.After(10 * time.Second):
				t.Fatalf("no event for revision %d", i+1)
			}
			if want := fmt.Sprintf("w/%d/%s", i, suffix); e.KV.Key != want || e.KV.ModRevision != int64(i+1) || string(e.KV.Value) != suffix {
				t.Fatalf("got %s at revision %d; want %s at revision %d", e.KV.Key, e.KV.ModRevision, want, i+1)
			}
		}
	}
}

// TestWatcherBehindHistory: a watcher that falls further behind than the history kept
// is ended after a whole revision, and watching again from where it stopped says
// ErrCompacted.
func TestWatcherBehindHistory(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), Options{WatchBuffer: 2, HistoryLimit: 10})
	ch, err := s.Watch(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		putT(t, s, store.Put("a", []byte("1")), store.Put("b", []byte("2")))
	}
	var got []store.Event
	timeout := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case e, ok := <-ch:
			if ok {
				got = append(got, e)
			}
			open = ok
		case <-timeout:
			t.Fatalf("watch not ended after %d events", len(got))
		}
	}
	if len(got)%2 != 0 {
		t.Fatalf("got %d events before the watch ended; want whole revisions of 2", len(got))
	}
	next := int64(1) // the watch may end before it sent anything
	if len(got) > 0 {
		next = got[len(got)-1].KV.ModRevision + 1
	}
	if _, err := s.Watch(t.Context(), "", next); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("Watch from %d: %v; want ErrCompacted", next, err)
	}
}

func TestCloseTwice(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v; want nil", err)
	}
}

// TestCheck has bbolt check the file's consistency after a mix of writes.
func TestCheck(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "store.db"), Options{HistoryLimit: 20})
	for i := range 100 {
		ops := []store.Op{store.Put(fmt.Sprintf("k%d", i%17), bytes.Repeat([]byte{byte(i)}, i*97))}
		if i%5 == 0 {
			ops = append(ops, store.Delete(fmt.Sprintf("k%d", (i+3)%17)))
		}
		putT(t, s, ops...)
	}
	checkFile(t, s)
}

func checkFile(t *testing.T, s *Store) {
	t.Helper()
	if err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
