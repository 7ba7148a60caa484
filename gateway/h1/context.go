package h1

import (
	"context"
	"sync"
)

// connContext is a connection's context, canceled when the connection closes, the client
// goes away or the server closes. Beside what context.AfterFunc offers, it runs one
// function of its watcher when canceled (Watch, Unwatch): what a backend exchange made on
// the connection's behalf registers for each request, without the allocations and the
// locked map of AfterFunc.
type connContext struct {
	context.Context
	cancelCtx context.CancelFunc

	mu       sync.Mutex
	f        func() // the watcher's, while registered
	ticket   uint64 // f's
	canceled bool
}

func newConnContext(parent context.Context) *connContext {
	c := &connContext{}
	c.Context, c.cancelCtx = context.WithCancel(parent)
	return c
}

// Watch registers f to run when the context is canceled, and returns the ticket that
// removes it. It reports false, registering nothing, when the context is canceled already
// or another function is registered: the caller then uses context.AfterFunc.
func (c *connContext) Watch(f func()) (ticket uint64, ok bool) {
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
func (c *connContext) Unwatch(ticket uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil || c.ticket != ticket {
		return false
	}
	c.f = nil
	return true
}

// cancel cancels the context, then runs the registered function, if any, once.
func (c *connContext) cancel() {
	c.cancelCtx()
	c.mu.Lock()
	f := c.f
	c.f, c.canceled = nil, true
	c.mu.Unlock()
	if f != nil {
		f()
	}
}
