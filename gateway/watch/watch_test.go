package watch

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

type ctxKey struct{}

// TestWatch: a watched function runs once when the context is canceled, not
// after Unwatch; one watch at a time; a stale ticket removes nothing; the context carries
// its parent's values and AfterFunc works on it as on any context.
func TestWatch(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	c := New(parent)
	if c.Value(ctxKey{}) != "v" {
		t.Fatal("the parent's value is lost")
	}
	var ran atomic.Int32
	f := func() { ran.Add(1) }

	t1, ok := c.Watch(f)
	if !ok {
		t.Fatal("Watch refused on a fresh context")
	}
	if _, ok := c.Watch(f); ok {
		t.Fatal("a second Watch was taken while the first is registered")
	}
	if !c.Unwatch(t1) {
		t.Fatal("Unwatch of a registered watch reported false")
	}
	if c.Unwatch(t1) {
		t.Fatal("a second Unwatch reported true")
	}
	t2, ok := c.Watch(f)
	if !ok || t2 == t1 {
		t.Fatalf("Watch after Unwatch: ticket %d ok %v; want a new ticket", t2, ok)
	}
	if c.Unwatch(t1) {
		t.Fatal("a stale ticket removed the current watch")
	}
	after := make(chan struct{})
	context.AfterFunc(c, func() { close(after) })

	c.Cancel()
	if ran.Load() != 1 {
		t.Fatalf("the watched function ran %d times on cancel; want 1", ran.Load())
	}
	if c.Err() == nil {
		t.Fatal("the context is not done after cancel")
	}
	select {
	case <-after:
	case <-time.After(5 * time.Second):
		t.Fatal("context.AfterFunc did not run on cancel")
	}
	if c.Unwatch(t2) {
		t.Fatal("Unwatch after the function ran reported true")
	}
	if _, ok := c.Watch(f); ok {
		t.Fatal("Watch was taken on a canceled context")
	}
	c.Cancel()
	if ran.Load() != 1 {
		t.Fatalf("the watched function ran %d times after a second cancel; want 1", ran.Load())
	}
}
