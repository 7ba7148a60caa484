// Package conntrack keeps the connections a server is serving, for its shutdown: once
// shutting down it takes no new ones, and it tells when the last one has gone.
package conntrack

import (
	"sync"
	"sync/atomic"
)

// Set is a server's connections. The zero value is empty and ready to use.
type Set[C comparable] struct {
	mu       sync.Mutex
	conns    map[C]struct{}
	shutdown atomic.Bool
	empty    chan struct{} // closed when the last connection goes, after Shutdown
}

// Add adds c; it reports false, adding nothing, once the set is shutting down.
func (s *Set[C]) Add(c C) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[C]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

// Remove removes c.
func (s *Set[C]) Remove(c C) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.empty != nil {
		close(s.empty)
		s.empty = nil
	}
}

// ShuttingDown reports whether Shutdown (or Close) was called.
func (s *Set[C]) ShuttingDown() bool { return s.shutdown.Load() }

// Shutdown marks the set shutting down and returns a channel closed when it is empty, or
// nil when it is empty already.
func (s *Set[C]) Shutdown() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown.Store(true)
	if len(s.conns) == 0 {
		return nil
	}
	if s.empty == nil {
		s.empty = make(chan struct{})
	}
	return s.empty
}

// Close marks the set shutting down and calls f for each connection.
func (s *Set[C]) Close(f func(C)) {
	s.shutdown.Store(true)
	s.Each(f)
}

// Each calls f for each connection, under the set's lock: f must not call the set.
func (s *Set[C]) Each(f func(C)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		f(c)
	}
}
