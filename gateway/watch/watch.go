// Package watch gives the contexts of the gateway's client connections and streams: a
// context canceled when its connection closes, its client goes away or its server
// closes, which, beside what context.AfterFunc offers, runs one function of a watcher
// when canceled (Watch, Unwatch). A backend exchange made on the client's behalf
// registers there for each request (outbound.Watcher), without the allocations and the
// locked map of AfterFunc.
package watch

import (
	"context"
	"sync"
)

// Context is a cancelable context with one watch slot.
type Context struct {
	context.Context
	cancelCtx context.CancelFunc

	mu       sync.Mutex
	f        func() // the watcher's, while registered
	ticket   uint64 // f's
	canceled bool
}

// New returns a Context derived from parent.
func New(parent context.Context) *Context {
	c := &Context{}
	c.Context, c.cancelCtx = context.WithCancel(parent)
	return c
}

// Watch registers f to run when the context is canceled, and returns the ticket that
// removes it. It reports false, registering nothing, when the context is canceled already
// or another function is registered: the caller then uses context.AfterFunc.
func (c *Context) Watch(f func()) (ticket uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled || c.f != nil {
		return 0, false
	}
	c.ticket++
	c.f = f
	return c.ticket, true
}

// Unwatch removes the function Watch registered with ticket; it reports whether it did so
// before the function ran (as the stop function of context.AfterFunc).
func (c *Context) Unwatch(ticket uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil || c.ticket != ticket {
		return false
	}
	c.f = nil
	return true
}

// Cancel cancels the context, then runs the registered function, if any, once.
func (c *Context) Cancel() {
	c.cancelCtx()
	c.mu.Lock()
	f := c.f
	c.f, c.canceled = nil, true
	c.mu.Unlock()
	if f != nil {
		f()
	}
}
