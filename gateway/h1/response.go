package h1

import (
	"bufio"
	"errors"
	"iter"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/tlsgate/tlsgate/gateway/clock"
)

// response is the http.ResponseWriter of one request. It is reused by the connection's
// next request.
type response struct {
	c      *conn
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool  // the handler chose the status
	committed   bool  // the head is in the write buffer
	length      int64 // the declared Content-Length, or -1
	written     int64 // body bytes accepted from the handler
	noBody      bool  // HEAD, 1xx, 204, 304: the body is not sent
	chunked     bool
	closeAfter  bool // the connection ends after this response
	broken      bool // the handler panicked: the framing cannot be trusted
	trailers    []string

	// pending holds the start of a body of unknown length until the handler ends (the
	// length is then known) or it outgrows the buffer or is flushed (then chunked).
	pending []byte
}

// pendingMax is how much of a body of unknown length waits for the handler's end.
const pendingMax = 4 << 10

func (w *response) reset(req *http.Request) {
	h := w.header
	if h == nil {
		h = make(http.Header, 8)
	} else {
		clear(h)
	}
	*w = response{c: w.c, req: req, header: h, status: http.StatusOK, length: -1, pending: w.pending[:0]}
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.c.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("h1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// An interim answer goes out now, with the header as it is, and is not the status.
		bw := w.c.bw
		bw.WriteString("HTTP/1.1 ")
		bw.WriteString(statusLine(code))
		bw.WriteString("\r\n")
		writeHeader(bw, w.header)
		bw.WriteString("\r\n")
		_ = bw.Flush()
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
}

func (w *response) Write(p []byte) (int, error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
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
	if !w.committed && w.length < 0 {
		if len(w.pending)+len(p) <= pendingMax {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	if !w.committed {
		w.commit(false)
	}
	if w.noBody {
		return len(p), nil
	}
	if w.chunked {
		return w.writeChunk(p)
	}
	return w.c.bw.Write(p)
}

func (w *response) bodyAllowed() bool {
	s := w.status
	return !(s >= 100 && s < 200 || s == http.StatusNoContent || s == http.StatusNotModified)
}

// writeChunk writes p as one chunk.
func (w *response) writeChunk(p []byte) (int, error) {
	bw := w.c.bw
	var hex [16]byte
	bw.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
	bw.WriteString("\r\n")
	n, err := bw.Write(p)
	if err != nil {
		return n, err
	}
	_, err = bw.WriteString("\r\n")
	return n, err
}

// commit writes the head. final says the handler is done, so that a pending body's length
// is known.
func (w *response) commit(final bool) {
	w.committed = true
	req, h := w.req, w.header
	w.noBody = req.Method == http.MethodHead || !w.bodyAllowed()
	switch {
	case w.length >= 0:
	case !w.bodyAllowed():
	case final && (req.Method != http.MethodHead || len(w.pending) > 0):
		w.length = int64(len(w.pending))
		h.Set("Content-Length", strconv.Itoa(len(w.pending)))
	case w.noBody:
		// HEAD without a known length: nothing to frame.
	case req.ProtoAtLeast(1, 1):
		w.chunked = true
		h.Del("Content-Length")
		h.Set("Transfer-Encoding", "chunked")
	default:
		// HTTP/1.0 and no length: the body ends with the connection.
		w.closeAfter = true
	}
	if !w.chunked {
		h.Del("Transfer-Encoding")
	}
	if req.Close || HasToken(h["Connection"], "close") {
		w.closeAfter = true
	}
	if w.closeAfter {
		h.Set("Connection", "close")
	} else if !req.ProtoAtLeast(1, 1) {
		h.Set("Connection", "keep-alive")
	}
	if w.chunked {
		w.trailers = DeclaredTrailers(h)
	}
	bw := w.c.bw
	proto := "HTTP/1.1"
	if !req.ProtoAtLeast(1, 1) {
		proto = "HTTP/1.0"
	}
	WriteStatusLine(bw, proto, w.status)
	if _, ok := h["Date"]; !ok {
		WriteDate(bw)
	}
	writeHeader(bw, h)
	bw.WriteString("\r\n")
	if len(w.pending) > 0 && !w.noBody {
		p := w.pending
		if w.chunked {
			w.writeChunk(p)
		} else {
			bw.Write(p)
		}
	}
	w.pending = w.pending[:0]
}

// finish ends the response after the handler returned and reports whether the
// connection can carry another request.
func (w *response) finish() bool {
	if w.broken {
		if !w.committed {
			w.header = http.Header{}
			w.status, w.length, w.pending = http.StatusInternalServerError, -1, w.pending[:0]
			w.wroteHeader = true
			w.closeAfter = true
			w.commit(true)
		}
		return false
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	if w.chunked {
		bw := w.c.bw
		bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			for _, v := range w.header[k] {
				WriteField(bw, k, v)
			}
		}
		for k, vs := range w.header {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				for _, v := range vs {
					WriteField(bw, http.CanonicalHeaderKey(name), v)
				}
			}
		}
		bw.WriteString("\r\n")
	}
	if w.length >= 0 && w.written != w.length && !w.noBody {
		return false // the handler wrote less than it declared: the framing is broken
	}
	return !w.closeAfter
}

// Flush sends what is buffered; a body of unknown length becomes chunked.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush, with its error (http.ResponseController).
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	return w.c.bw.Flush()
}

// Hijack hands the connection to the handler, with what was read of it and the write
// buffer (flushed).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.committed {
		return nil, nil, errHijackAfterWrite
	}
	if !c.watch.disarm(c) {
		return nil, nil, errClientGone
	}
	c.hijacked = true
	_ = c.nc.SetDeadline(time.Time{})
	c.rdlSet = false
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

var (
	errHijackAfterWrite = errors.New("h1: hijack after the response head was written")
	errClientGone       = errors.New("h1: hijack: the client closed the connection")
)

// SetReadDeadline and SetWriteDeadline let http.ResponseController bound a handler's
// reads and writes.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.rdlSet = false
	return w.c.nc.SetReadDeadline(t)
}

func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// writeHeader writes the fields of h, but trailers set with http.TrailerPrefix and
// invalid names.
func writeHeader(bw *bufio.Writer, h http.Header) {
	for k, vs := range h {
		if !ValidToken(k) || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		for _, v := range vs {
			WriteField(bw, k, v)
		}
	}
}

// WriteField writes the header field "k: v\r\n" as net/http does: line breaks in v become
// spaces, spaces and tabs around it go.
func WriteField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(TrimOWS(v))
	bw.WriteString("\r\n")
}

// DeclaredTrailers returns the fields h's Trailer field announces, in canonical form,
// but those that may not be trailers (RFC 9110 §6.5.1: framing, routing, Content-Length...).
func DeclaredTrailers(h http.Header) []string {
	var out []string
	for _, v := range h["Trailer"] {
		for k := range Tokens(v) {
			if k = http.CanonicalHeaderKey(k); httpguts.ValidTrailerHeader(k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// ValidToken reports whether k is an RFC 9110 token: a valid method or field name.
func ValidToken[T string | []byte](k T) bool {
	if len(k) == 0 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tokenChars[k[i]] {
			return false
		}
	}
	return true
}

// tokenChars are the bytes of RFC 9110 tokens: visible ASCII but the delimiters.
var tokenChars = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c)
	}
	return t
}()

// TrimOWS returns v without the optional white space (spaces and tabs) around it.
// (bytes.Trim with a cut set builds the set on every call.)
func TrimOWS[T string | []byte](v T) T {
	i, j := 0, len(v)
	for i < j && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t') {
		j--
	}
	return v[i:j]
}

// ValidValue reports whether v may be a header field's value: no control character but
// tabs.
func ValidValue[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// statusLine is "200 OK", or "N status code N" for a code without a text.
func statusLine(code int) string {
	if code == http.StatusOK {
		return "200 OK"
	}
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	return strconv.Itoa(code) + " " + text
}

// WriteStatusLine writes "PROTO CODE TEXT\r\n".
func WriteStatusLine(bw *bufio.Writer, proto string, code int) {
	bw.WriteString(proto)
	bw.WriteByte(' ')
	bw.WriteString(statusLine(code))
	bw.WriteString("\r\n")
}

// WriteDate writes the Date field with the current time.
func WriteDate(bw *bufio.Writer) {
	bw.WriteString("Date: ")
	bw.WriteString(clock.HTTPDate())
	bw.WriteString("\r\n")
}

// HasToken reports whether the comma-separated field values vs hold token
// (case-insensitive), as "close" in Connection or "100-continue" in Expect.
func HasToken(vs []string, token string) bool {
	for _, v := range vs {
		for t := range Tokens(v) {
			if strings.EqualFold(t, token) {
				return true
			}
		}
	}
	return false
}

// Tokens yields the elements of a comma-separated field value (RFC 9110 §5.6.1) without
// the white space around them, skipping empty ones.
func Tokens[T string | []byte](v T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for start := 0; start < len(v); start++ {
			end := start
			for end < len(v) && v[end] != ',' {
				end++
			}
			if t := TrimOWS(v[start:end]); len(t) > 0 && !yield(t) {
				return
			}
			start = end
		}
	}
}
