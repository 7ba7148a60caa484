package h2

import (
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tlsgate/tlsgate/gateway/clock"
	"github.com/tlsgate/tlsgate/gateway/h1"
)

// response is the http.ResponseWriter of one stream. Only its handler uses it.
type response struct {
	st     *stream
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool  // the handler chose the status
	sentHeader  bool  // HEADERS is queued
	length      int64 // the declared Content-Length, or -1
	written     int64 // body bytes accepted from the handler
	broken      bool  // the response cannot end well: the stream is reset after the handler
	retired     bool  // the stream's last frame is queued and its place given back
	trailers    []string

	// pending holds the body until it outgrows pendingMax, the handler flushes, or it
	// ends: a small response leaves as one HEADERS and one DATA frame, in one write.
	pending []byte
}

// pendingMax is how much body waits before it is sent.
const pendingMax = 16 << 10

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic("h2: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 {
		if code == http.StatusSwitchingProtocols {
			return // no upgrades in HTTP/2
		}
		// An interim answer goes out now, with the header as it is.
		c := w.st.c
		c.mu.Lock()
		if !w.st.reset {
			c.writeHeadersLocked(w.st, code, w.header, false)
			_ = c.flushLocked()
		}
		c.mu.Unlock()
		return
	}
	w.wroteHeader, w.status = true, code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.length = n
		} else {
			w.header.Del("Content-Length")
		}
	}
	w.trailers = h1.DeclaredTrailers(w.header)
}

func (w *response) bodyAllowed() bool {
	s := w.status
	return !(s >= 100 && s < 200 || s == http.StatusNoContent || s == http.StatusNotModified)
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	if len(w.pending)+len(p) <= pendingMax {
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	if err := w.send(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// send queues the HEADERS if not yet sent, what is pending and p, and writes them; final
// ends the stream (with the trailers, if any).
func (w *response) send(p []byte, final bool) error {
	st := w.st
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.reset {
		return st.resetErr
	}
	if c.werr != nil {
		return c.werr
	}
	var trailers []hpack.HeaderField
	if final {
		trailers = w.trailerFields()
	}
	noData := len(w.pending) == 0 && len(p) == 0
	if !w.sentHeader {
		w.sentHeader = true
		if final && w.length < 0 && w.bodyAllowed() && (w.req.Method != http.MethodHead || !noData) {
			w.header.Set("Content-Length", strconv.Itoa(len(w.pending)+len(p)))
		}
		c.writeHeadersLocked(st, w.status, w.header, final && noData && len(trailers) == 0)
	}
	if !noData || final && len(trailers) == 0 && !st.localDone {
		if err := c.writeDataLocked(st, w.pending, p, final && len(trailers) == 0); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	if len(trailers) > 0 && !st.reset {
		c.writeFieldsLocked(st, trailers, true)
	}
	if final && st.localDone {
		c.retireLocked(st)
		w.retired = true
	}
	return c.flushLocked()
}

// Flush sends what is buffered.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush, with its error (http.ResponseController).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.send(nil, false)
}

// EnableFullDuplex lets a handler read the request body while it writes (for
// http.ResponseController): HTTP/2 always does.
func (w *response) EnableFullDuplex() error { return nil }

// finish ends the response after the handler returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.length >= 0 && w.written != w.length && w.bodyAllowed() && w.req.Method != http.MethodHead {
		w.broken = true // less than it declared: the client must not take it as whole
		if len(w.pending) > 0 || !w.sentHeader {
			_ = w.send(nil, false)
		}
		return
	}
	if err := w.send(nil, true); err != nil {
		w.broken = true
	}
}

// trailerFields returns the response's trailers: those declared in its Trailer field
// and those set with http.TrailerPrefix.
func (w *response) trailerFields() []hpack.HeaderField {
	var fs []hpack.HeaderField
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			fs = appendField(fs, k, v)
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vs {
				fs = appendField(fs, name, v)
			}
		}
	}
	return fs
}

func appendField(fs []hpack.HeaderField, k, v string) []hpack.HeaderField {
	if k, ok := sendable(k, v); ok {
		fs = append(fs, hpack.HeaderField{Name: k, Value: v})
	}
	return fs
}

// sendable returns a field's name as HTTP/2 sends it (lower case), and whether the field
// may be sent: a valid name and value, not connection-specific (RFC 9113 §8.2.2).
func sendable(k, v string) (string, bool) {
	k = lower(k)
	ok := h1.ValidToken(k) && h1.ValidValue(v) && !connectionFields[k] && (k != "te" || v == "trailers")
	return k, ok
}

// writeHeadersLocked queues a HEADERS frame (and CONTINUATIONs) with status and h's
// fields, but connection-specific ones, trailers and invalid ones; a Date is added when
// h has none.
func (c *conn) writeHeadersLocked(st *stream, status int, h http.Header, end bool) {
	c.hbuf.Reset()
	c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(status)})
	if _, ok := h["Date"]; !ok && status >= 200 {
		c.henc.WriteField(hpack.HeaderField{Name: "date", Value: clock.HTTPDate()})
	}
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue // sent after the body
		}
		for _, v := range vs {
			if k, ok := sendable(k, v); ok {
				c.henc.WriteField(hpack.HeaderField{Name: k, Value: v})
			}
		}
	}
	c.writeBlockLocked(st, end)
}

// writeFieldsLocked queues a HEADERS frame of fields (trailers).
func (c *conn) writeFieldsLocked(st *stream, fs []hpack.HeaderField, end bool) {
	c.hbuf.Reset()
	for _, f := range fs {
		c.henc.WriteField(f)
	}
	c.writeBlockLocked(st, end)
}

// writeBlockLocked queues the header block in hbuf as HEADERS and CONTINUATION frames.
func (c *conn) writeBlockLocked(st *stream, end bool) {
	block := c.hbuf.Bytes()
	max := int(c.maxFrame)
	first := block
	if len(first) > max {
		first = first[:max]
	}
	block = block[len(first):]
	c.wfr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: first,
		EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		frag := block
		if len(frag) > max {
			frag = frag[:max]
		}
		block = block[len(frag):]
		c.wfr.WriteContinuation(st.id, len(block) == 0, frag)
	}
	if end {
		st.localDone = true
	}
}

// writeDataLocked queues a and b as DATA frames, as the send windows allow, waiting for
// them to open; end ends the stream with the last frame.
func (c *conn) writeDataLocked(st *stream, a, b []byte, end bool) error {
	for {
		if st.reset {
			return st.resetErr
		}
		if c.werr != nil {
			return c.werr
		}
		if len(a) == 0 {
			a, b = b, nil
		}
		if len(a) == 0 {
			if end {
				c.wfr.WriteData(st.id, true, nil)
				st.localDone = true
			}
			return nil
		}
		n := min(len(a), int(c.maxFrame), int(max(0, min(c.sendWin, st.sendWin))))
		if n == 0 || len(c.out) > maxQueued {
			if len(c.out) > 0 && !c.flushing {
				c.flushing = true
				c.writeLocked()
			} else {
				c.cond.Wait()
			}
			continue
		}
		last := end && n == len(a) && len(b) == 0
		c.wfr.WriteData(st.id, last, a[:n])
		c.sendWin -= int32(n)
		st.sendWin -= int32(n)
		a = a[n:]
		if last {
			st.localDone = true
			return nil
		}
	}
}

// lower returns a field name in lower case, as HTTP/2 sends it.
func lower(k string) string {
	if l, ok := lowerNames[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// canonical returns a received field name in net/http's canonical form.
func canonical(k string) string {
	if c, ok := canonicalNames[k]; ok {
		return c
	}
	return http.CanonicalHeaderKey(k)
}

var lowerNames, canonicalNames = func() (map[string]string, map[string]string) {
	l, c := map[string]string{}, map[string]string{}
	for _, k := range []string{"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Accept-Ranges",
		"Access-Control-Allow-Origin", "Age", "Authorization", "Cache-Control", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Type", "Cookie", "Date", "Etag", "Expires", "Host",
		"If-Modified-Since", "If-None-Match", "Last-Modified", "Location", "Origin", "Referer", "Server",
		"Set-Cookie", "Strict-Transport-Security", "Te", "Trailer", "User-Agent", "Vary", "Via",
		"X-Content-Type-Options", "X-Forwarded-For", "X-Frame-Options", "X-Request-Id"} {
		lk := strings.ToLower(k)
		l[k], c[lk] = lk, k
	}
	return l, c
}()

// statusText returns a status code as :status carries it.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		if s := statusCodes[code]; s != "" {
			return s
		}
	}
	return strconv.Itoa(code)
}

var statusCodes = func() (s [600]string) {
	for i := 100; i < 600; i++ {
		if http.StatusText(i) != "" {
			s[i] = strconv.Itoa(i)
		}
	}
	return s
}()
