package h2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/tlsgate/tlsgate/gateway/h1"
	"github.com/tlsgate/tlsgate/gateway/watch"
)

// stream is one request and its response. Its fields are guarded by the connection's
// mu, but for those only its handler uses (the response writer's).
type stream struct {
	c      *conn
	id     uint32
	cancel context.CancelFunc // cancels the request's context

	sendWin int32 // what the server may still send
	recvWin int32 // what the client may still send
	credit  int32 // window consumed and not yet returned

	body       []byte // received and not yet read
	declared   int64  // the request's Content-Length, or -1
	received   int64
	trailer    http.Header // the request's trailers, as they are declared and arrive
	remoteDone bool        // the client ended its side (END_STREAM)
	bodyClosed bool        // the handler closed the body: data is dropped
	continueOK bool        // "Expect: 100-continue": a 100 goes out on the first read
	reset      bool        // reset by either side: nothing more is sent
	resetErr   error
	localDone  bool // the response ended (END_STREAM sent)
	handler    bool // a handler runs for it
}

// onHeaders begins a stream, or takes a stream's trailers.
func (c *conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[id]; st != nil {
		return c.onTrailersLocked(st, f)
	}
	if id <= c.lastID {
		if c.wasReset(id) {
			return nil // trailers in flight when the stream was reset
		}
		// A new stream must have a higher identifier than every earlier one (RFC 9113
		// §5.1.1).
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.lastID = id
	if f.HasPriority() && f.Priority.StreamDep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if c.goingAway {
		// After GOAWAY: neither served nor answered (RFC 9113 §6.8), and the frames that
		// follow it on the stream are dropped.
		c.forgetID(id)
		return nil
	}
	if c.running >= int(c.s.o.MaxConcurrentStreams) {
		// Handlers still run for streams the client may have reset: the client is
		// refused, and sent away if it keeps opening streams.
		c.refused++
		if c.refused > 4*int(c.s.o.MaxConcurrentStreams) {
			return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	st := &stream{c: c, id: id, sendWin: c.initWin, recvWin: streamWindow, declared: -1}
	var h http.Handler = c.s.h
	var req *http.Request
	if f.Truncated || headerSize(f) > c.s.o.MaxHeaderBytes {
		h, req = http.HandlerFunc(headerTooLarge), st.minimalRequest(f)
	} else {
		var err error
		if req, err = st.request(f); err != nil {
			c.s.o.Logger.Debug("http2: malformed request", "remote", c.remote, "stream", id, "err", err.Error())
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
	}
	if f.StreamEnded() {
		st.remoteDone = true
	}
	c.streams[id] = st
	if c.running == 0 {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.running++
	st.handler = true
	w := &response{st: st, req: req, header: make(http.Header, 8), status: http.StatusOK, length: -1}
	go c.runHandler(h, w, req)
	return nil
}

// onTrailersLocked takes the request trailers of st: a HEADERS frame that ends the
// stream, without pseudo-header fields.
func (c *conn) onTrailersLocked(st *stream, f *http2.MetaHeadersFrame) error {
	if st.reset && c.wasReset(st.id) {
		return nil // in flight when the server reset the stream
	}
	if st.remoteDone || st.reset {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	}
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if st.declared >= 0 && st.received != st.declared {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if st.trailer == nil {
		st.trailer = http.Header{}
	}
	for _, hf := range f.RegularFields() {
		k := http.CanonicalHeaderKey(hf.Name)
		if httpguts.ValidTrailerHeader(k) {
			st.trailer[k] = append(st.trailer[k], hf.Value)
		}
	}
	st.endRemoteLocked()
	c.cond.Broadcast()
	return nil
}

// connection-specific fields, which HTTP/2 forbids (RFC 9113 §8.2.2).
var connectionFields = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true}

// request builds the http.Request of a stream from its HEADERS.
func (st *stream) request(f *http2.MetaHeadersFrame) (*http.Request, error) {
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	scheme, authority := f.PseudoValue("scheme"), f.PseudoValue("authority")
	if f.PseudoValue("protocol") != "" {
		return nil, errors.New(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL")
	}
	if method == "" || !httpguts.ValidHostHeader(authority) {
		return nil, errors.New("missing :method, or invalid :authority")
	}
	var u *url.URL
	if method == http.MethodConnect {
		if path != "" || scheme != "" || authority == "" {
			return nil, errors.New("CONNECT with :path or :scheme, or without :authority")
		}
		u = &url.URL{Host: authority}
	} else {
		if path == "" || scheme == "" {
			return nil, errors.New("missing :path or :scheme")
		}
		var err error
		if path == "*" && method == http.MethodOptions {
			u = &url.URL{Path: "*"}
		} else if u, err = url.ParseRequestURI(path); err != nil || path[0] != '/' {
			return nil, fmt.Errorf("invalid :path %q", path)
		}
	}
	fields := f.RegularFields()
	header := make(http.Header, len(fields))
	var cookies []string
	for _, hf := range fields {
		if connectionFields[hf.Name] || hf.Name == "te" && hf.Value != "trailers" {
			return nil, fmt.Errorf("connection-specific field %q", hf.Name)
		}
		if hf.Name == "cookie" {
			cookies = append(cookies, hf.Value)
			continue
		}
		k := canonical(hf.Name)
		header[k] = append(header[k], hf.Value)
	}
	if len(cookies) > 0 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if authority == "" {
		authority = header.Get("Host")
	}
	var body io.ReadCloser = http.NoBody
	length := int64(0)
	if !f.StreamEnded() {
		length = -1
		body = &requestBody{st: st}
		if vs := header["Content-Length"]; len(vs) > 0 {
			n, err := strconv.ParseUint(vs[0], 10, 63)
			if err != nil || len(vs) > 1 && !allEqual(vs) {
				return nil, errors.New("invalid content-length")
			}
			length, st.declared = int64(n), int64(n)
		}
		st.continueOK = strings.EqualFold(header.Get("Expect"), "100-continue")
	} else if vs := header["Content-Length"]; len(vs) > 0 && vs[0] != "0" {
		return nil, errors.New("content-length on a request without a body")
	}
	for _, k := range h1.DeclaredTrailers(header) {
		if st.trailer == nil {
			st.trailer = http.Header{}
		}
		st.trailer[k] = nil
	}
	ctx := watch.New(st.c.ctx)
	st.cancel = ctx.Cancel
	req := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        header,
		Body:          body,
		ContentLength: length,
		Host:          authority,
		RemoteAddr:    st.c.remote,
		RequestURI:    path,
		TLS:           st.c.tls,
		Trailer:       st.trailer,
	}
	if method == http.MethodConnect {
		req.RequestURI = authority
	}
	return req.WithContext(ctx), nil
}

// minimalRequest is the request of a stream whose header list was too long: enough to
// answer it.
func (st *stream) minimalRequest(f *http2.MetaHeadersFrame) *http.Request {
	ctx := watch.New(st.c.ctx)
	st.cancel = ctx.Cancel
	if !f.StreamEnded() {
		st.bodyClosed = true
	}
	req := &http.Request{Method: f.PseudoValue("method"), URL: &url.URL{}, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{}, Body: http.NoBody, RemoteAddr: st.c.remote, TLS: st.c.tls}
	return req.WithContext(ctx)
}

// headerSize is the size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
func headerSize(f *http2.MetaHeadersFrame) int {
	n := 0
	for _, hf := range f.Fields {
		n += int(hf.Size())
	}
	return n
}

func headerTooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	io.WriteString(w, "431 Request Header Fields Too Large\n")
}

func allEqual(vs []string) bool {
	for _, v := range vs[1:] {
		if v != vs[0] {
			return false
		}
	}
	return true
}

// runHandler serves one stream, then ends it.
func (c *conn) runHandler(h http.Handler, w *response, req *http.Request) {
	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.o.Logger.Error("http2: handler panicked", "remote", c.remote, "path", req.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(buf))
		}
		c.endStream(w, p != nil)
	}()
	h.ServeHTTP(w, req)
}

// endStream ends a stream after its handler returned: the response is finished (or the
// stream reset after a panic), and the stream retired if finish did not.
func (c *conn) endStream(w *response, panicked bool) {
	st := w.st
	if !panicked {
		w.finish()
	}
	c.mu.Lock()
	if !w.retired {
		if (panicked || w.broken) && !st.reset {
			c.resetLocked(st.id, http2.ErrCodeInternal)
		}
		c.retireLocked(st)
		c.flushAsyncLocked()
	}
	c.mu.Unlock()
	st.cancel()
}

// retireLocked ends st's part in the connection once its last frame is queued, before
// that frame is written: a client that sees the stream end may open another at once,
// and finds its place free. A request body still coming is refused (the response is
// complete; the client need not send the rest).
func (c *conn) retireLocked(st *stream) {
	if !st.remoteDone && !st.reset {
		c.resetLocked(st.id, http2.ErrCodeNo)
	}
	st.handler = false
	c.running--
	if c.refused > 0 {
		c.refused--
	}
	c.forgetLocked(st)
	if len(c.streams) == 0 && c.running == 0 {
		if c.goingAway {
			_ = c.nc.SetReadDeadline(aLongTimeAgo) // wake the reader: the connection is done
		} else {
			c.idleDeadline()
		}
	}
}

// forgetLocked drops st from the connection, returning the window its unread body held.
func (c *conn) forgetLocked(st *stream) {
	if _, ok := c.streams[st.id]; !ok {
		return
	}
	delete(c.streams, st.id)
	if n := int32(len(st.body)); n > 0 {
		st.body = nil
		c.creditLocked(nil, n)
	}
}

// endRemoteLocked marks the client's side ended.
func (st *stream) endRemoteLocked() {
	st.remoteDone = true
	if !st.handler {
		st.c.forgetLocked(st)
	}
}

// abortLocked resets st: its handler's context is canceled, its body reads and
// response writes fail. sent says the server sent the RST_STREAM.
func (st *stream) abortLocked(err error, sent bool) {
	if st.reset {
		return
	}
	st.reset, st.resetErr = true, err
	if st.cancel != nil {
		st.cancel()
	}
	if !st.handler {
		st.c.forgetLocked(st)
	}
	st.c.cond.Broadcast()
}

// requestBody is a stream's request body, read from what the reader received.
type requestBody struct {
	st *stream
}

func (b *requestBody) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.continueOK {
		st.continueOK = false
		if len(st.body) == 0 && !st.remoteDone && !st.reset {
			c.writeHeadersLocked(st, http.StatusContinue, nil, false)
			c.flushAsyncLocked()
		}
	}
	for len(st.body) == 0 {
		switch {
		case st.bodyClosed:
			return 0, http.ErrBodyReadAfterClose
		case st.remoteDone:
			return 0, io.EOF
		case st.reset:
			return 0, st.resetErr
		}
		c.cond.Wait()
	}
	n := copy(p, st.body)
	st.body = st.body[n:]
	if len(st.body) == 0 {
		st.body = st.body[:0:0]
	}
	c.creditLocked(st, int32(n))
	return n, nil
}

func (b *requestBody) Close() error {
	st := b.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st.bodyClosed = true
	if n := int32(len(st.body)); n > 0 {
		st.body = nil
		c.creditLocked(nil, n)
	}
	c.cond.Broadcast()
	return nil
}
