package gateway

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// Request bodies are read whole before the target is picked and the request sent, as
// nginx's proxy_request_buffering does: a client that sends its body slowly then holds
// no backend connection while it does (an HTTP/2 connection's streams would otherwise
// hold one each), and a request that went whole can be sent again on a new connection
// when a kept-alive one turns out closed. Bodies of at most MaxBufferedBody are buffered,
// within BodyBufferBudget for all requests at once; larger bodies, bodies beyond the
// budget, bodies with trailers and upgrades stream as they come.
const (
	MaxBufferedBody  = 1 << 20
	BodyBufferBudget = 64 << 20
)

// bodyBudget counts the bytes of request bodies held in memory.
type bodyBudget struct {
	used atomic.Int64
	max  atomic.Int64 // set at start (tests lower it while requests are served)
}

// take reserves n bytes, or reports false when the budget cannot hold them.
func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.max.Load() {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *bodyBudget) give(n int64) { b.used.Add(-n) }

// errBodyUnread is a request body the client did not send whole.
var errBodyUnread = errors.New("the request body could not be read")

// bufferBody reads r's body into memory when it is small enough and the budget allows,
// and makes it r's body again (with its length and GetBody). It returns a function that
// gives the memory back, to be called when the request is done, and an error that wraps
// errBodyUnread when the body could not be read.
func (g *Gateway) bufferBody(r *http.Request) (release func(), err error) {
	none := func() {}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || len(r.Trailer) > 0 ||
		r.ContentLength > MaxBufferedBody || r.Header.Get("Upgrade") != "" {
		return none, nil
	}
	want := r.ContentLength
	if want < 0 {
		want = MaxBufferedBody // unknown: as much as a buffered body may be
	}
	if !g.bodies.take(want) {
		g.counters.Inc("bodies.streamed-over-budget")
		return none, nil
	}
	release = func() { g.bodies.give(want) }
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, MaxBufferedBody+1))
	if err != nil {
		release()
		return none, errors.Join(errBodyUnread, err)
	}
	if n > MaxBufferedBody {
		// Longer than it may be held: what was read goes first, the rest streams.
		rest := r.Body
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf.Bytes()), rest), rest}
		return release, nil
	}
	// Held from here to the request's end: what was read, not what was reserved.
	g.bodies.give(want - n)
	release = func() { g.bodies.give(n) }
	r.Body.Close()
	data := buf.Bytes()
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.ContentLength = int64(len(data))
	r.TransferEncoding = nil
	if len(data) == 0 {
		r.Body, r.GetBody = http.NoBody, nil
	}
	return release, nil
}
