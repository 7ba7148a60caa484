package outbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/tlsgate/tlsgate/gateway/clock"
	"github.com/tlsgate/tlsgate/gateway/h1"
)

// Answer is a backend's answer to SendHead. A plain answer — HTTP/1.1, a final status, a
// head of valid fields that fits the connection's read buffer, and a body of known length
// (a Content-Length, or none by its status or the request's method) — is given as the
// backend wrote it, unparsed: Status, Fields, ContentLength, Body. Any other answer is
// read by net/http and given as Response, the others left zero.
type Answer struct {
	Status int
	// Fields are the answer's header fields, "Name: value\r\n" each, as the backend wrote
	// them (names valid tokens, values without control characters). They are valid until
	// Body is closed or read to its end.
	Fields        []byte
	ContentLength int64 // the body's length (0 when the answer has none by its status or method)
	Body          io.ReadCloser
	TLS           *tls.ConnectionState // the connection's, nil without TLS

	Response *http.Response // the answer when it is not plain
}

// SendHead sends a request without a body, given whole as its head (request line, header
// fields, blank line; method is its method), and reads the answer's head, as RoundTrip
// does: on an idle connection or a new one, sent once more on a new connection when a
// kept-alive one turns out closed, every failure to reach the backend an *Error. It is
// the way of requests a gateway passes on as they came, without building an
// http.Request; the caller must close the answer's Body.
func (t *Transport) SendHead(ctx context.Context, head []byte, method string) (*Answer, error) {
	var (
		a     *Answer
		info  *connInfo
		fresh bool
		err   error
	)
	if ctx.Err() != nil {
		err = fmt.Errorf("sending the request to %s: %w", t.cfg.Address, ctx.Err())
	} else {
		a, info, fresh, err = t.sendHead(ctx, head, method)
	}
	if err != nil {
		return nil, t.failed(ctx, info, fresh, err)
	}
	if a.Response != nil {
		if a.Response, err = t.answered(ctx, a.Response, info); err != nil {
			return nil, err
		}
		return a, nil
	}
	if a.Status == http.StatusBadRequest && info != nil && info.attempt.CertRequest != nil {
		// A refusal of the client certificate at HTTP: read it as net/http would, and look.
		resp := &http.Response{StatusCode: a.Status, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: fieldsHeader(a.Fields), ContentLength: a.ContentLength, Body: a.Body, TLS: a.TLS}
		if resp, err = t.answered(ctx, resp, info); err != nil {
			return nil, err
		}
		return &Answer{Response: resp}, nil
	}
	return a, nil
}

// fieldsHeader reads fields of a plain answer into a header.
func fieldsHeader(fields []byte) http.Header {
	h := http.Header{}
	for line := range bytes.SplitSeq(fields, []byte("\r\n")) {
		if name, value, ok := bytes.Cut(line, []byte(":")); ok {
			h.Add(string(name), string(h1.TrimOWS(value)))
		}
	}
	return h
}

// sendHead is SendHead's exchange, on an idle connection or a new one, once more on a new
// one when a kept-alive connection turns out closed.
func (t *Transport) sendHead(ctx context.Context, head []byte, method string) (*Answer, *connInfo, bool, error) {
	c := t.idle.take(false)
	if c == nil {
		var err error
		if c, err = t.dialConn(ctx); err != nil {
			return nil, nil, true, err
		}
	}
	a, closed, err := t.exchangeHead(ctx, c, head, method)
	if closed && c.reused && ctx.Err() == nil {
		t.log.Debug("outbound: kept-alive connection closed by the backend; sending again on a new one",
			"target", t.cfg.Target, "address", t.cfg.Address, "error", err.Error())
		if c, err = t.dialConn(ctx); err != nil {
			return nil, nil, true, err
		}
		a, _, err = t.exchangeHead(ctx, c, head, method)
	}
	return a, c.info, !c.reused, err
}

// exchangeHead writes head on c and reads the answer's head, as exchange does.
func (t *Transport) exchangeHead(ctx context.Context, c *backendConn, head []byte, method string) (*Answer, bool, error) {
	x := t.begin(ctx, c)
	c.werr = nil
	c.bw.Write(head)
	err := c.bw.Flush()
	what, closed, err := x.await(err)
	if err != nil {
		return nil, closed, err
	}
	ph, ok := peekPlain(c.br, method)
	if !ok {
		resp, err := x.readResponse(&http.Request{Method: method}, what)
		if err != nil {
			return nil, false, err
		}
		return &Answer{Response: resp}, false, nil
	}
	c.head = append(c.head[:0], ph.fields...)
	c.br.Discard(ph.size)
	if err := x.endHead(what, int64(c.br.Buffered()) >= ph.length); err != nil {
		return nil, false, err
	}
	p := &plainAnswer{lr: lengthReader{r: c.br, n: ph.length}}
	p.b = body{exchanging: x, rc: &p.lr, reuse: c.werr == nil && !ph.close}
	p.a = Answer{Status: ph.status, Fields: c.head, ContentLength: ph.length, Body: &p.b, TLS: c.state}
	return &p.a, false, nil
}

// plainAnswer is a plain answer with its body, in one allocation.
type plainAnswer struct {
	a  Answer
	b  body
	lr lengthReader
}

// exchanging is one exchange on a connection: the request's context, watched.
type exchanging struct {
	t       *Transport
	c       *backendConn
	ctx     context.Context
	watcher Watcher     // the context's, when it took the watch
	ticket  uint64      // the watch's
	after   func() bool // else the stop function of the context's AfterFunc
}

// A Watcher is a context that runs one function when done, more cheaply than
// context.AfterFunc (the context of an HTTP/1.1 connection or an HTTP/2 stream:
// gateway/watch). Watch registers f, or
// reports false when it cannot (the context is done, or watched already); Unwatch, given
// Watch's ticket, removes it and reports whether it did so before f ran.
type Watcher interface {
	Watch(f func()) (ticket uint64, ok bool)
	Unwatch(ticket uint64) bool
}

// begin starts an exchange on c: the request's context, when done, aborts the
// connection's reads and writes.
func (t *Transport) begin(ctx context.Context, c *backendConn) exchanging {
	x := exchanging{t: t, c: c, ctx: ctx}
	if w, ok := ctx.(Watcher); ok {
		x.ticket, ok = w.Watch(c.abort)
		if ok {
			x.watcher = w
		}
	}
	if x.watcher == nil {
		x.after = context.AfterFunc(ctx, c.abort)
	}
	return x
}

// stop ends the watch of the request's context; it reports whether the context's end
// did not abort the connection.
func (x *exchanging) stop() bool {
	if x.watcher != nil {
		return x.watcher.Unwatch(x.ticket)
	}
	return x.after()
}

// broken ends a failed exchange: the connection closes, and the error says what failed.
func (x *exchanging) broken(what string, err error) error {
	x.stop()
	x.c.conn.Close()
	switch {
	case x.ctx.Err() != nil:
		err = x.ctx.Err()
	case isTimeout(err): // only reads have a deadline of their own
		err = fmt.Errorf("no response header within %v: %w", x.t.cfg.IOTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// await follows the writing of a request (werr: its outcome) and waits, within the I/O
// timeout, for the first byte of the answer. It returns what is being done, for errors,
// and whether the connection broke before any byte of an answer (no timeout): the server
// closed it.
func (x *exchanging) await(werr error) (what string, closed bool, err error) {
	c := x.c
	if werr != nil && c.werr == nil { // the request, not the connection, failed: its body
		return "", false, x.broken("sending the request", werr)
	}
	// After a failed write, the server's answer may still be there to read: a server that
	// answers before reading the whole body, then closes.
	what = "reading the response header"
	if c.werr != nil {
		what = fmt.Sprintf("sending the request: %v; %s", c.werr, what)
	}
	c.readDeadline(clock.Deadline(x.t.cfg.IOTimeout))
	if x.ctx.Err() != nil { // the deadline just set may have replaced the context's
		return "", false, x.broken(what, nil)
	}
	c.rleft = maxHeaderBytes
	if _, err := c.br.Peek(1); err != nil {
		return "", !isTimeout(err), x.broken(what, err)
	}
	return what, false, nil
}

// endHead follows the reading of an answer's head: the body is read at its reader's pace,
// without a deadline, when its bytes are not all in the buffer already (buffered).
func (x *exchanging) endHead(what string, buffered bool) error {
	x.c.rleft = math.MaxInt64
	if !buffered {
		x.c.readDeadline(time.Time{}) // the caller bounds the body's read
	}
	if x.ctx.Err() != nil {
		return x.broken(what, nil)
	}
	return nil
}

// plainHead is what an exchange needs of a plain answer's head.
type plainHead struct {
	status int
	fields []byte // the header fields, each line with its CRLF
	length int64  // the body's
	close  bool   // the backend closes the connection after it
	size   int    // the head's bytes, blank line included
}

// peekPlain looks at the answer's head in br's buffer, reading more as it comes, and
// reports whether it is plain (see Answer). It consumes nothing: an answer that is not
// plain is then read by net/http from the same bytes.
func peekPlain(br *bufio.Reader, method string) (plainHead, bool) {
	for {
		buf, _ := br.Peek(br.Buffered())
		end, ok := headEnd(buf)
		if !ok {
			return plainHead{}, false
		}
		if end > 0 {
			return parsePlain(buf[:end], method)
		}
		if br.Buffered() == br.Size() {
			return plainHead{}, false // larger than the buffer
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return plainHead{}, false // net/http reads the same bytes and reports the error
		}
	}
}

// headEnd returns the length of the head in buf up to its blank line, 0 when buf holds
// no blank line yet, and false when a line ends with a bare LF (net/http accepts it; a
// plain answer has CRLFs only).
func headEnd(buf []byte) (int, bool) {
	start := 0
	for {
		i := bytes.IndexByte(buf[start:], '\n')
		if i < 0 {
			return 0, true
		}
		i += start
		if i == 0 || buf[i-1] != '\r' {
			return 0, false
		}
		if i == start+1 { // an empty line
			return i + 1, true
		}
		start = i + 1
	}
}

// parsePlain reads a whole head (status line, fields, blank line) and reports whether the
// answer is plain.
func parsePlain(head []byte, method string) (plainHead, bool) {
	var ph plainHead
	ph.size = len(head)
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	// "HTTP/1.1 200" and an optional reason phrase.
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || (len(line) > 12 && line[12] != ' ') {
		return ph, false
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return ph, false
		}
		ph.status = ph.status*10 + int(d-'0')
	}
	if ph.status < 200 {
		return ph, false // interim answers, 101, and codes net/http refuses
	}
	if !h1.ValidValue(line[12:]) {
		return ph, false
	}
	ph.fields = rest[:len(rest)-2] // without the blank line
	ph.length = -1
	for len(rest) > 2 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !h1.ValidToken(name) {
			return ph, false // also a continuation line, which starts with a space
		}
		value = h1.TrimOWS(value)
		if !h1.ValidValue(value) {
			return ph, false
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseLength(value)
			if !ok || ph.length >= 0 {
				return ph, false // net/http decides about several, even equal
			}
			ph.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return ph, false
		case bytes.EqualFold(name, []byte("Connection")):
			for t := range h1.Tokens(value) {
				if bytes.EqualFold(t, []byte("close")) {
					ph.close = true
				}
			}
		}
	}
	noBody := method == http.MethodHead || ph.status == http.StatusNoContent || ph.status == http.StatusNotModified
	switch {
	case (ph.status == http.StatusNoContent || ph.status == http.StatusNotModified) && ph.length >= 0:
		return ph, false // a length on a 204 or 304: net/http's rules decide
	case noBody:
		ph.length = 0
	case ph.length < 0:
		return ph, false // a body to the connection's close
	}
	return ph, true
}

// parseLength reads a Content-Length value: decimal digits only, at most 18.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// lengthReader reads a body of n bytes: the end of the connection before them is
// io.ErrUnexpectedEOF, never io.EOF.
type lengthReader struct {
	r io.Reader
	n int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err == io.EOF && l.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	if l.n == 0 && err == nil {
		err = io.EOF
	}
	return n, err
}
