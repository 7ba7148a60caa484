package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/tlsgate/tlsgate/store"
)

func testWatchNew(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	put(t, s, "a", "old")
	ch := watch(t, s, "", 0)
	put(t, s, "b", "1")
	txn(t, s, nil, store.Delete("a"), store.Put("b", []byte("2")), store.Put("c", []byte("3")))
	wantEvent(t, ch, store.EventPut, "b", "1", 2, 2, 1)
	// The events of one revision come in the order of its ops.
	wantEvent(t, ch, store.EventDelete, "a", "", 0, 3, 0)
	wantEvent(t, ch, store.EventPut, "b", "2", 2, 3, 2)
	wantEvent(t, ch, store.EventPut, "c", "3", 3, 3, 1)
	wantNoEvent(t, ch)
}

// testWatchReplay watches from an old revision while a writer writes: the watch gets
// every revision from there exactly once, in order, across the switch from the history
// to live events.
func testWatchReplay(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	const before, during = 20, 100
	key := func(rev int64) string { return fmt.Sprintf("r/%04d", rev) }
	for r := int64(1); r <= before; r++ {
		put(t, s, key(r), "v")
	}
	started := make(chan struct{})
	start := sync.OnceFunc(func() { close(started) })
	var wg sync.WaitGroup
	wg.Go(func() {
		defer start()
		for r := int64(before + 1); r <= before+during; r++ {
			if _, err := s.Txn(t.Context(), nil, []store.Op{store.Put(key(r), []byte("v"))}); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			if r == before+5 {
				start()
			}
		}
	})
	<-started
	const from = 7
	ch := watch(t, s, "r/", from)
	for want := int64(from); want <= before+during; want++ {
		e := recv(t, ch)
		if e.KV.ModRevision != want || e.KV.Key != key(want) || e.Type != store.EventPut {
			t.Fatalf("got event %s; want the put of %s at revision %d", fmtEvent(e), key(want), want)
		}
	}
	wg.Wait()
	wantNoEvent(t, ch)
	put(t, s, "r/last", "v")
	if e := recv(t, ch); e.KV.Key != "r/last" || e.KV.ModRevision != before+during+1 {
		t.Fatalf("got event %s after the replay; want the put of r/last", fmtEvent(e))
	}
}

func testWatchPrefix(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	ch := watch(t, s, "a/", 0)
	txn(t, s, nil, store.Put("b/1", []byte("b")), store.Put("a/1", []byte("a")), store.Put("a", []byte("no")))
	put(t, s, "b/2", "b")
	put(t, s, "a/2", "a")
	txn(t, s, nil, store.Delete("a/1"))
	wantEvent(t, ch, store.EventPut, "a/1", "a", 1, 1, 1)
	wantEvent(t, ch, store.EventPut, "a/2", "a", 3, 3, 1)
	wantEvent(t, ch, store.EventDelete, "a/1", "", 0, 4, 0)
	wantNoEvent(t, ch)

	replay := watch(t, s, "b/", 1)
	wantEvent(t, replay, store.EventPut, "b/1", "b", 1, 1, 1)
	wantEvent(t, replay, store.EventPut, "b/2", "b", 2, 2, 1)
	wantNoEvent(t, replay)
}

func testWatchFuture(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	put(t, s, "a", "1")
	ch := watch(t, s, "", 3)
	put(t, s, "b", "2")
	put(t, s, "c", "3")
	wantEvent(t, ch, store.EventPut, "c", "3", 3, 3, 1)
	wantNoEvent(t, ch)
}

func testWatchCancel(t *testing.T, open Open) {
	s := newStore(t, open, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Watch(ctx, "", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	put(t, s, "a", "1")
	cancel()
	wantClosed(t, ch)
	put(t, s, "b", "2") // a write after a watch ended still works
}

func testCompacted(t *testing.T, open Open) {
	const limit = 5
	s := newStore(t, open, Options{HistoryLimit: limit})
	for i := range 6 * limit {
		put(t, s, "k", strconv.Itoa(i))
	}
	rev := revision(t, s)
	for _, from := range []int64{1, rev - 5*limit} {
		if _, err := s.Watch(t.Context(), "", from); !errors.Is(err, store.ErrCompacted) {
			t.Fatalf("Watch from revision %d with the last %d kept: %v; want ErrCompacted", from, limit, err)
		}
	}
	ch := watch(t, s, "", rev-limit+1)
	for want := rev - limit + 1; want <= rev; want++ {
		if e := recv(t, ch); e.KV.ModRevision != want {
			t.Fatalf("replay of the kept history: got %s; want revision %d", fmtEvent(e), want)
		}
	}
	wantNoEvent(t, ch)
}
