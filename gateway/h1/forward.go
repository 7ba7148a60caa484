package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
)

// Head is a request head offered to Options.Forward before net/http parses it: a fast
// path may answer the request from the raw bytes.
type Head struct {
	// Raw is the request line and header fields up to and with the blank line, as the
	// client sent them; valid until Forward returns.
	Raw    []byte
	Ctx    context.Context      // the connection's context
	TLS    *tls.ConnectionState // nil on a plain connection
	Remote string               // the client's address
	// W takes the answer; the server flushes it after Forward.
	W *bufio.Writer
	// Close ends the connection after the answer (set by Forward).
	Close bool

	s    *Server
	c    *conn
	resp *response
}

// Serve answers the request with h's handler, as if Forward had declined it: for the
// answers a fast path leaves to the ordinary path once it has started (an error page, a
// fault). Only for heads without a body.
func (h *Head) Serve(hd http.Handler) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(h.Raw)))
	if err != nil {
		h.c.answerError(http.StatusBadRequest, "400 Bad Request")
		h.Close = true
		return
	}
	req.RemoteAddr, req.TLS = h.Remote, h.TLS
	req = req.WithContext(h.Ctx)
	w := h.resp
	w.reset(req)
	h.s.serveHTTP(hd, w, req)
	if h.c.hijacked || !w.finish() || req.Close {
		h.Close = true
	}
}

// peekHead returns the request head at the start of the read buffer when all of it is
// there or arrives while it fits the buffer; nil otherwise (the ordinary path reads it).
func (c *conn) peekHead() []byte {
	for n := max(c.br.Buffered(), 1); n <= c.br.Size(); n = c.br.Buffered() + 1 {
		b, err := c.br.Peek(n)
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return b[:i+4]
		}
		if err != nil || n == c.br.Size() {
			return nil
		}
	}
	return nil
}

// forward offers the head to Options.Forward; it reports whether it was answered, and
// whether the connection may carry another request.
func (s *Server) forward(ctx context.Context, c *conn, w *response) (answered, keep bool) {
	raw := c.peekHead()
	if raw == nil {
		return false, false
	}
	h := &c.head
	*h = Head{Raw: raw, Ctx: ctx, TLS: c.tls, Remote: c.remote, W: c.bw, s: s, c: c, resp: w}
	c.watch.ignore = len(raw)
	c.watch.arm(c, noBody)
	answered = s.callForward(h)
	ok := c.watch.disarm(c)
	c.watch.ignore = 0
	if !ok {
		return answered, false
	}
	if !answered {
		return false, false
	}
	_, _ = c.br.Discard(len(raw))
	return true, !h.Close && !c.hijacked
}

// callForward calls Options.Forward, turning a panic into the end of the connection (what
// was written of the answer, if anything, cannot be trusted), as serveHTTP does for a
// handler.
func (s *Server) callForward(h *Head) (answered bool) {
	defer func() {
		if v := recover(); v != nil {
			answered, h.Close = true, true
			h.W.Reset(h.c.nc) // drop what the broken answer left in the buffer
			if v != http.ErrAbortHandler {
				s.o.Logger.Error("h1: forward panic", "client", h.Remote, "panic", v)
			}
		}
	}()
	return s.o.Forward(h)
}

// noBody is the body of a request without one, for the watcher.
var noBody = &requestBody{ReadCloser: http.NoBody}
