// Package storetest checks that a backend keeps the contract of package store: one
// conformance suite, Run, that every store.Store implementation passes.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/store"
)

// Options says how the suite wants a store opened.
type Options struct {
	// Dir is a directory of the subtest's own, made with t.TempDir. Opening a store
	// again with the same Dir, once the previous one is closed, must give back its
	// data, revision and history.
	Dir string
	// HistoryLimit, when not 0, asks the backend to keep the history of only the
	// latest HistoryLimit revisions for Watch. 0 means the backend's default, which
	// must keep at least the last 5,000 revisions.
	HistoryLimit int
}

// Open opens a store as the suite asks, failing t if it cannot. The suite closes every
// store it opens.
type Open func(t *testing.T, opts Options) store.Store

// wait is how long the suite waits for an event that must come.
const wait = 10 * time.Second

// Run runs the conformance suite against the backend that open opens.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		f    func(*testing.T, Open)
	}{
		{"Basics", testBasics},
		{"Revisions", testRevisions},
		{"Copies", testCopies},
		{"List", testList},
		{"Conditions", testConditions},
		{"Limits", testLimits},
		{"CanceledContext", testCanceledContext},
		{"WatchNew", testWatchNew},
		{"WatchReplay", testWatchReplay},
		{"WatchPrefix", testWatchPrefix},
		{"WatchFuture", testWatchFuture},
		{"WatchCancel", testWatchCancel},
		{"Compacted", testCompacted},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reopen", testReopen},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, open) })
	}
}

func newStore(t *testing.T, open Open, opts Options) store.Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s := open(t, opts)
	t.Cleanup(func() { s.Close() })
	return s
}

func txn(t *testing.T, s store.Store, conds []store.Cond, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), conds, ops)
	if err != nil {
		t.Fatalf("Txn(%v, %v): %v", conds, ops, err)
	}
	return rev
}

func put(t *testing.T, s store.Store, key, value string) int64 {
	t.Helper()
	return txn(t, s, nil, store.Put(key, []byte(value)))
}

func get(t *testing.T, s store.Store, key string) store.KV {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

func wantRevision(t *testing.T, s store.Store, want int64) {
	t.Helper()
	if got := revision(t, s); got != want {
		t.Fatalf("Revision() = %d; want %d", got, want)
	}
}

func wantNotFound(t *testing.T, s store.Store, key string) {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound (and fs.ErrNotExist)", key, kv, err)
	}
}

// wantKV checks a key's value and revisions.
func wantKV(t *testing.T, got store.KV, key, value string, create, mod, version int64) {
	t.Helper()
	want := store.KV{Key: key, Value: []byte(value), CreateRevision: create, ModRevision: mod, Version: version}
	if !sameKV(got, want) {
		t.Fatalf("got %s; want %s", fmtKV(got), fmtKV(want))
	}
}

func sameKV(a, b store.KV) bool {
	return a.Key == b.Key && string(a.Value) == string(b.Value) && a.CreateRevision == b.CreateRevision &&
		a.ModRevision == b.ModRevision && a.Version == b.Version
}

func fmtKV(kv store.KV) string {
	return fmt.Sprintf("{%q=%q create=%d mod=%d version=%d}", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version)
}

func fmtEvent(e store.Event) string { return e.Type.String() + fmtKV(e.KV) }

// watch starts a watch that ends with the test.
func watch(t *testing.T, s store.Store, prefix string, from int64) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(t.Context(), prefix, from)
	if err != nil {
		t.Fatalf("Watch(%q, %d): %v", prefix, from, err)
	}
	return ch
}

func recv(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed; want an event")
		}
		return e
	case <-time.After(wait):
		t.Fatalf("no event within %s", wait)
	}
	panic("unreachable")
}

// wantEvent receives an event and checks it; a delete has no value.
func wantEvent(t *testing.T, ch <-chan store.Event, typ store.EventType, key, value string, create, mod, version int64) {
	t.Helper()
	got := recv(t, ch)
	want := store.Event{Type: typ, KV: store.KV{Key: key, Value: []byte(value), CreateRevision: create, ModRevision: mod, Version: version}}
	if got.Type != want.Type || !sameKV(got.KV, want.KV) {
		t.Fatalf("got event %s; want %s", fmtEvent(got), fmtEvent(want))
	}
}

func wantNoEvent(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("got event %s; want none", fmtEvent(e))
		}
		t.Fatal("watch channel closed; want it open")
	case <-time.After(50 * time.Millisecond):
	}
}

func wantClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("watch channel still open after %s", wait)
		}
	}
}

func testBasics(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	wantRevision(t, s, 0)
	wantNotFound(t, s, "a")

	if rev := put(t, s, "a", "1"); rev != 1 {
		t.Fatalf("first put: revision %d; want 1", rev)
	}
	wantKV(t, get(t, s, "a"), "a", "1", 1, 1, 1)
	if rev := put(t, s, "a", "2"); rev != 2 {
		t.Fatalf("second put: revision %d; want 2", rev)
	}
	wantKV(t, get(t, s, "a"), "a", "2", 1, 2, 2)
	if rev := txn(t, s, nil, store.Delete("a")); rev != 3 {
		t.Fatalf("delete: revision %d; want 3", rev)
	}
	wantNotFound(t, s, "a")
	// Created anew: CreateRevision and Version start again.
	put(t, s, "a", "3")
	wantKV(t, get(t, s, "a"), "a", "3", 4, 4, 1)
	put(t, s, "empty", "")
	if kv := get(t, s, "empty"); len(kv.Value) != 0 || kv.Version != 1 {
		t.Fatalf("empty value: got %s", fmtKV(kv))
	}
	wantRevision(t, s, 5)
}

func testRevisions(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	for want := int64(1); want <= 10; want++ {
		if got := put(t, s, "k"+strconv.FormatInt(want%3, 10), "v"); got != want {
			t.Fatalf("put %d: revision %d; want %d", want, got, want)
		}
	}
	wantKV(t, get(t, s, "k1"), "k1", "v", 1, 10, 4)

	rev := txn(t, s, nil, store.Put("x", []byte("x")), store.Put("k1", []byte("w")), store.Delete("k2"))
	if rev != 11 {
		t.Fatalf("txn of three ops: revision %d; want 11", rev)
	}
	wantKV(t, get(t, s, "x"), "x", "x", 11, 11, 1)
	wantKV(t, get(t, s, "k1"), "k1", "w", 1, 11, 5)
	wantNotFound(t, s, "k2")

	// Transactions that change nothing create no revision.
	if got := txn(t, s, nil); got != 11 {
		t.Fatalf("txn without ops: revision %d; want 11", got)
	}
	if got := txn(t, s, nil, store.Delete("absent")); got != 11 {
		t.Fatalf("txn deleting an absent key: revision %d; want 11", got)
	}
	wantRevision(t, s, 11)
	if got := put(t, s, "y", "y"); got != 12 {
		t.Fatalf("put after no-op txns: revision %d; want 12", got)
	}
}

func testCopies(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	ch := watch(t, s, "", 0)
	v := []byte("value")
	put(t, s, "k", string(v))
	txn(t, s, nil, store.Put("k2", v))
	v[0] = 'X' // the caller reuses its buffer
	kv := get(t, s, "k2")
	if string(kv.Value) != "value" {
		t.Fatalf("after the caller changed its buffer: Get = %q; want %q", kv.Value, "value")
	}
	kv.Value[0] = 'Y'
	if kv := get(t, s, "k2"); string(kv.Value) != "value" {
		t.Fatalf("after changing a value Get returned: Get = %q; want %q", kv.Value, "value")
	}
	recv(t, ch)
	if e := recv(t, ch); string(e.KV.Value) != "value" {
		t.Fatalf("event after the caller changed its buffer: %q; want %q", e.KV.Value, "value")
	}
}

func testList(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	if kvs, rev, err := s.List(t.Context(), ""); err != nil || len(kvs) != 0 || rev != 0 {
		t.Fatalf("List on an empty store = %v, %d, %v; want nothing at revision 0", kvs, rev, err)
	}
	for _, k := range []string{"app/b", "apple", "app/a", "b", "app/c/d", "ap"} {
		put(t, s, k, "v-"+k)
	}
	put(t, s, "gone", "x")
	txn(t, s, nil, store.Delete("gone"))
	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"app/", []string{"app/a", "app/b", "app/c/d"}},
		{"app", []string{"app/a", "app/b", "app/c/d", "apple"}},
		{"", []string{"ap", "app/a", "app/b", "app/c/d", "apple", "b"}},
		{"zzz", nil},
		{"app/c/d", []string{"app/c/d"}},
	} {
		t.Run(tt.prefix, func(t *testing.T) {
			kvs, rev, err := s.List(t.Context(), tt.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.prefix, err)
			}
			if rev != 8 {
				t.Errorf("List(%q): revision %d; want 8", tt.prefix, rev)
			}
			var keys []string
			for _, kv := range kvs {
				keys = append(keys, kv.Key)
				if want := get(t, s, kv.Key); !sameKV(kv, want) {
					t.Errorf("List(%q) has %s; Get has %s", tt.prefix, fmtKV(kv), fmtKV(want))
				}
			}
			if !slices.Equal(keys, tt.want) {
				t.Errorf("List(%q) keys = %q; want %q", tt.prefix, keys, tt.want)
			}
		})
	}
}

func testConditions(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	r1 := put(t, s, "k", "1")
	r2 := txn(t, s, []store.Cond{{Key: "k", ModRevision: r1}}, store.Put("k", []byte("2")))

	conflicts := []struct {
		name  string
		conds []store.Cond
	}{
		{"stale revision", []store.Cond{{Key: "k", ModRevision: r1}}},
		{"must not exist but does", []store.Cond{{Key: "k", ModRevision: 0}}},
		{"absent key with a revision", []store.Cond{{Key: "absent", ModRevision: r1}}},
		{"one of two fails", []store.Cond{{Key: "k", ModRevision: r2}, {Key: "absent", ModRevision: 1}}},
	}
	for _, tt := range conflicts {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Txn(t.Context(), tt.conds, []store.Op{store.Put("k", []byte("3")), store.Put("other", []byte("x"))})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Txn: %v; want ErrConflict", err)
			}
			wantKV(t, get(t, s, "k"), "k", "2", r1, r2, 2)
			wantNotFound(t, s, "other")
			wantRevision(t, s, r2)
			// Without ops, the conditions are checked all the same.
			if _, err := s.Txn(t.Context(), tt.conds, nil); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Txn without ops: %v; want ErrConflict", err)
			}
		})
	}

	t.Run("must not exist", func(t *testing.T) {
		r := txn(t, s, []store.Cond{{Key: "new", ModRevision: 0}}, store.Put("new", []byte("n")))
		wantKV(t, get(t, s, "new"), "new", "n", r, r, 1)
		if _, err := s.Txn(t.Context(), []store.Cond{{Key: "new", ModRevision: 0}}, []store.Op{store.Put("new", []byte("again"))}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second create: %v; want ErrConflict", err)
		}
	})
	t.Run("holding without ops", func(t *testing.T) {
		cur := revision(t, s)
		if got := txn(t, s, []store.Cond{{Key: "k", ModRevision: r2}, {Key: "absent", ModRevision: 0}}); got != cur {
			t.Fatalf("Txn with conditions only: revision %d; want %d", got, cur)
		}
	})
	t.Run("condition on another key", func(t *testing.T) {
		r := txn(t, s, []store.Cond{{Key: "k", ModRevision: r2}}, store.Put("guarded", []byte("g")), store.Delete("new"))
		wantKV(t, get(t, s, "guarded"), "guarded", "g", r, r, 1)
		wantNotFound(t, s, "new")
	})
}

func testLimits(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	big := strings.Repeat("k", store.MaxKeySize)
	put(t, s, big, "v")
	txn(t, s, nil, store.Put("big", make([]byte, store.MaxValueSize)))
	if kv := get(t, s, "big"); len(kv.Value) != store.MaxValueSize {
		t.Fatalf("value of MaxValueSize: got %d bytes back", len(kv.Value))
	}
	rev := revision(t, s)
	for _, tt := range []struct {
		name    string
		ops     []store.Op
		tooLong bool
	}{
		{"key too long", []store.Op{store.Put(big+"k", []byte("v"))}, true},
		{"value too long", []store.Op{store.Put("v", make([]byte, store.MaxValueSize+1))}, true},
		{"empty key", []store.Op{store.Put("", []byte("v"))}, false},
		{"empty key deleted", []store.Op{store.Delete("")}, false},
		{"refused op among good ones", []store.Op{store.Put("ok", nil), store.Put("", nil)}, false},
		{"key in two ops", []store.Op{store.Put("ok", nil), store.Delete("ok")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Txn(t.Context(), nil, tt.ops)
			if err == nil {
				t.Fatal("Txn succeeded; want an error")
			}
			if tt.tooLong != errors.Is(err, store.ErrTooLarge) {
				t.Fatalf("Txn: %v; ErrTooLarge: %v, want %v", err, errors.Is(err, store.ErrTooLarge), tt.tooLong)
			}
			wantRevision(t, s, rev)
			wantNotFound(t, s, "ok")
		})
	}
	if _, err := s.Get(t.Context(), ""); err == nil {
		t.Fatal(`Get("") succeeded; want an error`)
	}
}

func testCanceledContext(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put("k", []byte("v"))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Txn with a canceled context: %v; want context.Canceled", err)
	}
	wantRevision(t, s, 0)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context: %v; want context.Canceled", err)
	}
	if _, err := s.Watch(ctx, "", 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch with a canceled context: %v; want context.Canceled", err)
	}
}

// testConcurrentWriters has writers increment one counter with compare-and-swap: the
// counter ends exact, and a watcher sees every revision once, in order.
func testConcurrentWriters(t *testing.T, open Open) {
	workers, each := 8, 200
	if testing.Short() {
		workers, each = 4, 50
	}
	total := int64(workers * each)
	s := newStore(t, open, Options{})
	ch := watch(t, s, "", 0)

	increment := func() error {
		for {
			var cur, mod int64
			kv, err := s.Get(t.Context(), "counter")
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			default:
				if cur, err = strconv.ParseInt(string(kv.Value), 10, 64); err != nil {
					return err
				}
				mod = kv.ModRevision
			}
			next := []byte(strconv.FormatInt(cur+1, 10))
			_, err = s.Txn(t.Context(), []store.Cond{{Key: "counter", ModRevision: mod}}, []store.Op{store.Put("counter", next)})
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := increment(); err != nil {
					t.Errorf("increment: %v", err)
					return
				}
			}
		})
	}
	for want := int64(1); want <= total; want++ {
		e := recv(t, ch)
		if e.KV.ModRevision != want || string(e.KV.Value) != strconv.FormatInt(want, 10) || e.KV.Version != want {
			t.Fatalf("watcher got %s; want counter=%d at revision %d", fmtEvent(e), want, want)
		}
	}
	wg.Wait()
	wantKV(t, get(t, s, "counter"), "counter", strconv.FormatInt(total, 10), 1, total, total)
	wantRevision(t, s, total)
}

func testReopen(t *testing.T, open Open) {
	dir := t.TempDir()
	s := newStore(t, open, Options{Dir: dir})
	put(t, s, "a", "1")
	put(t, s, "b", "2")
	txn(t, s, nil, store.Delete("a"), store.Put("b", []byte("3")))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = newStore(t, open, Options{Dir: dir})
	wantRevision(t, s, 3)
	wantNotFound(t, s, "a")
	wantKV(t, get(t, s, "b"), "b", "3", 2, 3, 2)
	ch := watch(t, s, "", 1)
	wantEvent(t, ch, store.EventPut, "a", "1", 1, 1, 1)
	wantEvent(t, ch, store.EventPut, "b", "2", 2, 2, 1)
	wantEvent(t, ch, store.EventDelete, "a", "", 0, 3, 0)
	wantEvent(t, ch, store.EventPut, "b", "3", 2, 3, 2)
	if rev := put(t, s, "c", "4"); rev != 4 {
		t.Fatalf("put after reopening: revision %d; want 4", rev)
	}
	wantEvent(t, ch, store.EventPut, "c", "4", 4, 4, 1)
}

func testClosed(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	put(t, s, "a", "1")
	ch := watch(t, s, "", 1)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantClosed(t, ch)
	ctx := t.Context()
	calls := map[string]error{}
	_, calls["Get"] = s.Get(ctx, "a")
	_, _, calls["List"] = s.List(ctx, "")
	_, calls["Txn"] = s.Txn(ctx, nil, []store.Op{store.Put("b", nil)})
	_, calls["Revision"] = s.Revision(ctx)
	_, calls["Watch"] = s.Watch(ctx, "", 0)
	for name, err := range calls {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v; want ErrClosed", name, err)
		}
	}
}
