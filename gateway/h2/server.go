// Package h2 serves HTTP/2 (RFC 9113) on connections whose handshake is done (TLS with
// ALPN "h2", or prior knowledge on a plain connection in tests).
//
// It exists for speed: net/http's HTTP/2 server writes every response's HEADERS frame
// from a goroutine of its own, makes the handler wait for it, and flushes it before the
// DATA frame is even queued, so a small response costs two writes and several goroutine
// switches. Here a handler encodes its frames itself, under the connection's lock, and
// small responses leave as HEADERS and DATA in one write; frames that several handlers
// queue at once leave together, written by whichever of them got to the connection
// first.
//
// Requests are handed to an http.Handler with an http.ResponseWriter that also
// implements http.Flusher (and FlushError, EnableFullDuplex for http.ResponseController),
// so handlers such as httputil.ReverseProxy work unchanged. Request bodies and trailers,
// response trailers (declared or with http.TrailerPrefix), interim (1xx) answers,
// "Expect: 100-continue", flow control in both directions, and the limits of a server
// exposed to anyone follow net/http's behaviour: a bounded number of streams whose
// handlers run (a client that resets streams to open more is refused, then sent
// away), a bounded header list (431), bounded buffers for request bodies (the windows
// granted) and for queued frames, an idle timeout, and a graceful shutdown (GOAWAY,
// then the streams already begun are served).
package h2

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/http2"

	"github.com/tlsgate/tlsgate/gateway/conntrack"
)

// Options are a Server's limits.
type Options struct {
	// MaxConcurrentStreams is the number of streams a client may have open, and of
	// handlers that may run, on one connection (100).
	MaxConcurrentStreams uint32
	// PrefaceTimeout bounds the wait for the client's connection preface and SETTINGS
	// (10 s).
	PrefaceTimeout time.Duration
	// IdleTimeout closes a connection that has had no open stream this long (60 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds a write to the connection that makes no progress (30 s): a
	// client that stops reading is disconnected.
	WriteTimeout time.Duration
	// MaxHeaderBytes bounds a request's decoded header list (64 KiB); a longer one is
	// answered 431.
	MaxHeaderBytes int
	// ConnContext, if set, derives each connection's base context (as http.Server's).
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	Logger      *slog.Logger // default: discard
}

// Server serves HTTP/2 connections with one handler. It is safe for concurrent use.
type Server struct {
	h     http.Handler
	o     Options
	conns conntrack.Set[*conn]
}

// NewServer returns a server for h.
func NewServer(h http.Handler, o Options) *Server {
	if o.MaxConcurrentStreams == 0 {
		o.MaxConcurrentStreams = 100
	}
	if o.PrefaceTimeout <= 0 {
		o.PrefaceTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{h: h, o: o}
}

// ServeConn serves nc, whose handshake is done, until the client closes it, an error or
// a limit ends it, or the server shuts down; then closes it. It returns when the
// connection's reader is done (handlers of streams reset by the close may still be
// returning).
func (s *Server) ServeConn(nc net.Conn) {
	c := newConn(s, nc)
	if !s.conns.Add(c) {
		nc.Close()
		return
	}
	defer s.conns.Remove(c)
	c.serve()
}

// Shutdown stops taking connections, sends every connection a GOAWAY, lets the streams
// already begun finish, and returns when every connection is closed, or closes what is
// left when ctx ends (returning its error).
func (s *Server) Shutdown(ctx context.Context) error {
	empty := s.conns.Shutdown()
	s.conns.Each(func(c *conn) { c.goAway(http2.ErrCodeNo, nil) })
	if empty == nil {
		return nil
	}
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

// Close closes every connection at once.
func (s *Server) Close() {
	s.conns.Close(func(c *conn) { c.nc.Close() })
}

// tlsState returns nc's TLS state, if it is a TLS connection.
func tlsState(nc net.Conn) *tls.ConnectionState {
	if tc, ok := nc.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		return &cs
	}
	return nil
}
