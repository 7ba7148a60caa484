package etcdstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/store"
	"github.com/tlsgate/tlsgate/store/etcdstore"
	"github.com/tlsgate/tlsgate/store/etcdstore/etcdtest"
	"github.com/tlsgate/tlsgate/store/storetest"
)

// TestConformance runs the store's conformance suite against a real etcd per subtest;
// reopening a store with the same Dir reaches the same etcd.
func TestConformance(t *testing.T) {
	etcdtest.Need(t)
	var mu sync.Mutex
	servers := map[string]*etcdtest.Server{}
	storetest.Run(t, func(t *testing.T, opts storetest.Options) store.Store {
		t.Helper()
		mu.Lock()
		srv := servers[opts.Dir]
		if srv == nil {
			srv = etcdtest.Start(t, opts.Dir)
			servers[opts.Dir] = srv
		}
		mu.Unlock()
		s, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: []string{srv.Endpoint}, HistoryLimit: opts.HistoryLimit})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func open(t *testing.T, endpoint, prefix string) *etcdstore.Store {
	t.Helper()
	s, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: []string{endpoint}, Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPrefixesApart: two stores on one etcd with different prefixes see only their own
// keys, and a watch of one never sees the other's changes.
func TestPrefixesApart(t *testing.T) {
	srv := etcdtest.Start(t, t.TempDir())
	a, b := open(t, srv.Endpoint, "/a/"), open(t, srv.Endpoint, "/b/")
	ch, err := a.Watch(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("b"))}); err != nil {
		t.Fatal(err)
	}
	rev, err := a.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("a"))})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-ch:
		if e.KV.Key != "k" || string(e.KV.Value) != "a" || e.KV.ModRevision != rev {
			t.Fatalf("watch of /a/ got %+v; want k=a at revision %d", e, rev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	kvs, _, err := a.List(t.Context(), "")
	if err != nil || len(kvs) != 1 || string(kvs[0].Value) != "a" {
		t.Fatalf("List of /a/: %+v, %v; want k=a only", kvs, err)
	}
}

// TestUnreachable: Open against a port where no etcd listens fails within its dial
// timeout, naming the endpoint.
func TestUnreachable(t *testing.T) {
	start := time.Now()
	_, err := etcdstore.Open(context.Background(), etcdstore.Options{Endpoints: []string{"http://127.0.0.1:1"}, DialTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Open of an endpoint without etcd: %v; want an error naming it", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Open took %s with a 1 s dial timeout", d)
	}
}

// TestEtcdLimit: an etcd that refuses large requests (its default 1.5 MiB) makes a large
// value ErrTooLarge, with the setting to change.
func TestEtcdLimit(t *testing.T) {
	srv := etcdtest.Start(t, t.TempDir(), "--max-request-bytes", "1572864")
	s := open(t, srv.Endpoint, "")
	_, err := s.Txn(t.Context(), nil, []store.Op{store.Put("big", make([]byte, 4<<20))})
	if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), "--max-request-bytes") {
		t.Fatalf("4 MiB value into an etcd of 1.5 MiB requests: %v; want ErrTooLarge naming --max-request-bytes", err)
	}
}

// TestConflictNamesTheKey: a failed condition says which key and what its revision is.
func TestConflictNamesTheKey(t *testing.T) {
	srv := etcdtest.Start(t, t.TempDir())
	s := open(t, srv.Endpoint, "")
	rev, err := s.Txn(t.Context(), nil, []store.Op{store.Put("k", []byte("v"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cond store.Cond
		want string
	}{
		{store.Cond{Key: "k", ModRevision: rev + 5}, `key "k" has mod revision 1, not 6`},
		{store.Cond{Key: "k"}, `key "k" exists (mod revision 1)`},
		{store.Cond{Key: "absent", ModRevision: 1}, `key "absent" has mod revision 0, not 1`},
	} {
		_, err := s.Txn(t.Context(), []store.Cond{{Key: "k", ModRevision: rev}, tt.cond}, []store.Op{store.Put("x", nil)})
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Txn with %+v: %v; want ErrConflict saying %q", tt.cond, err, tt.want)
		}
	}
}

// TestSlowWatcherEnded: a watcher that does not read while 20 revisions are written is
// ended once its queue is full, between two revisions; watching again from the revision
// after its last event gives the rest, none lost, none twice.
func TestSlowWatcherEnded(t *testing.T) {
	srv := etcdtest.Start(t, t.TempDir())
	s, err := etcdstore.Open(t.Context(), etcdstore.Options{Endpoints: []string{srv.Endpoint}, WatchBuffer: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch, err := s.Watch(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := range 20 {
		// Two keys per revision: an ending inside a revision would show.
		last, err = s.Txn(t.Context(), nil, []store.Op{store.Put("a", []byte{byte(i)}), store.Put("b", []byte{byte(i)})})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []store.Event
	for ended := false; !ended; {
		select {
		case e, ok := <-ch:
			if ended = !ok; ok {
				got = append(got, e)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("a watcher that did not read was not ended (%d events read since)", len(got))
		}
	}
	if len(got) == 0 || len(got) >= 40 || len(got)%2 != 0 {
		t.Fatalf("a watcher that did not read got %d events before its end; want a whole number of revisions, fewer than all", len(got))
	}
	ch, err = s.Watch(t.Context(), "", got[len(got)-1].KV.ModRevision+1)
	if err != nil {
		t.Fatal(err)
	}
	for e := range ch {
		got = append(got, e)
		if e.KV.ModRevision == last && e.KV.Key == "b" {
			break
		}
	}
	if len(got) != 40 {
		t.Fatalf("got %d events in all; want 40", len(got))
	}
	for i, e := range got {
		if want := got[0].KV.ModRevision + int64(i/2); e.KV.ModRevision != want || e.KV.Key != []string{"a", "b"}[i%2] {
			t.Fatalf("event %d: %s at revision %d; want %s at %d", i, e.KV.Key, e.KV.ModRevision, []string{"a", "b"}[i%2], want)
		}
	}
}
