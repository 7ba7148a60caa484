package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tlsgate/tlsgate/gateway/h1"
	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/observe"
)

// The fast path serves the common HTTP/1.1 request (no body, a plain path, a route to a
// target) from its raw head: no net/http request parsing, no ReverseProxy. It builds
// the backend request as the ReverseProxy of the ordinary path would (hop-by-hop fields
// removed, X-Forwarded-For, -Host and -Proto set), and writes the answer as it would.
// Everything else — requests with bodies, upgrades, unknown routes, client certificates
// to refuse, load balancers without an active member — it declines before writing anything, and the
// ordinary path serves them. Faults after the request left go through the ordinary
// handler's code (h1.Head.Serve).

// fastRequest is what the fast path takes from a request head.
type fastRequest struct {
	method, path, query, host string
	close                     bool
	fields                    []field // the fields to forward, in order, hop-by-hop ones removed
}

// field is one header field of a head, its value trimmed; both point into the head.
type field struct{ name, value []byte }

// header returns the fields to forward as net/http would read them.
func (r *fastRequest) header() http.Header {
	h := http.Header{}
	for _, f := range r.fields {
		h.Add(string(f.name), string(f.value))
	}
	return h
}

// fastMethods are the methods the fast path serves: those whose requests have no body.
var fastMethods = map[string]string{"GET": "GET", "HEAD": "HEAD", "DELETE": "DELETE", "OPTIONS": "OPTIONS"}

// maxFastFields bounds the header fields of a request the fast path takes.
const maxFastFields = 100

// parseFastHead reads raw (a request head up to its blank line) into r, and reports
// whether the fast path can serve it.
func parseFastHead(raw []byte, r *fastRequest) bool {
	line, rest, ok := bytes.Cut(raw, []byte("\r\n"))
	if !ok {
		return false
	}
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 || string(line[sp2+1:]) != "HTTP/1.1" {
		return false
	}
	method, ok := fastMethods[string(line[:sp1])]
	if !ok {
		return false
	}
	target := line[sp1+1 : sp2]
	if target[0] != '/' || !safeTarget(target) {
		return false
	}
	path, query, _ := bytes.Cut(target, []byte("?"))
	r.method, r.path, r.query = method, string(path), string(query)
	r.fields = r.fields[:0]
	var connTokens [][]byte
	hosts := 0
	for n := 0; ; n++ {
		line, rest, ok = bytes.Cut(rest, []byte("\r\n"))
		if !ok || n > maxFastFields {
			return false
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !h1.ValidToken(name) {
			return false // also a continuation line (obs-fold), which starts with a space
		}
		value = h1.TrimOWS(value)
		if !h1.ValidValue(value) {
			return false
		}
		switch fieldKind(name) {
		case fieldHost:
			hosts++
			r.host = string(value)
			continue
		case fieldContentLength:
			if string(value) != "0" {
				return false
			}
			continue
		case fieldRefused:
			return false
		case fieldConnection:
			for t := range h1.Tokens(value) {
				if bytes.EqualFold(t, []byte("close")) {
					r.close = true
				} else if !bytes.EqualFold(t, []byte("keep-alive")) {
					connTokens = append(connTokens, t)
				}
			}
			continue
		case fieldHop, fieldForwarded:
			continue
		}
		r.fields = append(r.fields, field{name, value})
	}
	if hosts != 1 || r.host == "" {
		return false
	}
	if len(connTokens) > 0 {
		r.fields = slices.DeleteFunc(r.fields, func(f field) bool {
			return slices.ContainsFunc(connTokens, func(t []byte) bool { return bytes.EqualFold(t, f.name) })
		})
	}
	return true
}

// The kinds of header fields the fast path treats apart.
const (
	fieldOther         = iota
	fieldHost          // the request's Host
	fieldContentLength // Content-Length: only 0 is taken
	fieldConnection    // Connection: its options and the fields it names
	fieldHop           // hop-by-hop: never passed on
	fieldForwarded     // replaced by the gateway's own
	fieldRefused       // a request the fast path declines: a body, an upgrade, an expectation
	fieldDate          // a response's Date
)

// isHop reports whether a response's field concerns one connection only (RFC 9110
// §7.6.1, and those httputil.ReverseProxy removes): never passed on.
func isHop[T string | []byte](name T) bool {
	switch fieldKind(name) {
	case fieldConnection, fieldHop, fieldRefused:
		return true
	}
	return false
}

// fieldNames are the fields of each kind but fieldOther, by lower-case name.
var fieldNames = [...]struct {
	name string
	kind int
}{
	{"host", fieldHost}, {"content-length", fieldContentLength}, {"connection", fieldConnection}, {"date", fieldDate},
	{"transfer-encoding", fieldRefused}, {"expect", fieldRefused}, {"upgrade", fieldRefused}, {"te", fieldRefused}, {"trailer", fieldRefused},
	{"proxy-connection", fieldHop}, {"keep-alive", fieldHop}, {"proxy-authenticate", fieldHop}, {"proxy-authorization", fieldHop},
	{"forwarded", fieldForwarded}, {"x-forwarded-for", fieldForwarded}, {"x-forwarded-host", fieldForwarded}, {"x-forwarded-proto", fieldForwarded},
}

// fieldKind returns the kind of the field named name.
func fieldKind[T string | []byte](name T) int {
	for _, f := range fieldNames {
		if len(f.name) == len(name) && equalLower(name, f.name) {
			return f.kind
		}
	}
	return fieldOther
}

// equalLower reports whether s equals lower (in lower case, as long as s) but for the
// case of ASCII letters.
func equalLower[T string | []byte](s T, lower string) bool {
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// nextField returns the first field of fields ("Name: value\r\n" lines, as
// outbound.Answer.Fields), its value trimmed, and the fields after it.
func nextField(fields []byte) (name, value, rest []byte) {
	i := bytes.IndexByte(fields, '\n')
	line, rest := fields[:i-1], fields[i+1:]
	colon := bytes.IndexByte(line, ':')
	return line[:colon], h1.TrimOWS(line[colon+1:]), rest
}

// containsFold reports whether list holds s, in any case.
func containsFold(list [][]byte, s []byte) bool {
	for _, t := range list {
		if bytes.EqualFold(t, s) {
			return true
		}
	}
	return false
}

// safeTarget reports whether a request target holds only characters that need no
// escaping in a path or query (RFC 3986 unreserved, sub-delims, ':', '@', '/', '?'): the
// path is then its own decoded form, as the ordinary path would compare and forward it.
func safeTarget(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,=:@/?", c) >= 0:
		default:
			return false // '%', ';', '#', controls, spaces, non-ASCII...
		}
	}
	return true
}

// forward is the fast path of one port (h1.Options.Forward).
func (g *Gateway) forward(port int) func(h *h1.Head) bool {
	return func(h *h1.Head) bool {
		var fr fastRequest
		fb := fieldBuffers.Get().(*[]field)
		defer fieldBuffers.Put(fb)
		fr.fields = (*fb)[:0]
		if !parseFastHead(h.Raw, &fr) {
			return false
		}
		*fb = fr.fields[:0] // keep a grown array
		snap := g.snap.Load()
		pc := snap.ports[port]
		if pc == nil {
			return false
		}
		vh := pc.pickVHost(h.TLS, fr.host)
		if vh == nil {
			return false
		}
		cc, _ := h.Ctx.Value(clientCheckKey{}).(*clientCheck)
		now := g.now()
		if vh.tls != nil && vh.tls.ClientAuth && h.TLS != nil && cc.check(h.TLS, vh.tls, now) != nil {
			return false // the ordinary path answers the refusal
		}
		rt := vh.match(fr.path)
		if rt == nil {
			return false
		}
		x := exchanges.Get().(*exchange)
		defer exchanges.Put(x) // after serveFast, whose end logged it; nothing keeps it
		*x = exchange{start: now, route: rt, vh: vh}
		tr, m, err := x.pick()
		if err != nil {
			return false // the ordinary path answers NoActiveTargets
		}
		g.serveFast(h, &fr, x, cc, tr, m)
		return true
	}
}

// exchanges are the fast path's exchange records, reused: a request's is done with when
// its access-log line is written.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// fieldBuffers hold the fields of the requests the fast path reads (fastRequest.fields).
var fieldBuffers = sync.Pool{New: func() any { f := make([]field, 0, 24); return &f }}

// serveFast forwards a request the fast path took through tr (the target's, or its pool
// member m's) and writes the answer.
func (g *Gateway) serveFast(h *h1.Head, fr *fastRequest, x *exchange, cc *clientCheck, tr *outbound.Transport, m *outbound.Member) {
	g.fastServed.Add(1)
	now, vh, rt := x.start, x.vh, x.route
	x.rec = observe.AccessRecord{Time: now, MessageID: observe.NewMessageID(now), Client: h.Remote,
		Method: fr.method, Path: fr.path, Proto: "HTTP/1.1", Org: vh.org, Env: vh.env, VirtualHost: vh.name,
		Proxy: rt.proxy, Target: x.rec.Target}
	if h.TLS != nil {
		x.rec.ClientTLS = cc.clientLeg(h.TLS)
	}
	status, sent := 0, int64(0)
	defer func() { g.finish(x, status, sent) }()

	// The request as the ordinary path's ReverseProxy builds it (Rewrite, SetXForwarded).
	a, err := g.sendHead(h.Ctx, x, tr, m, fr.method, func(b []byte) []byte {
		b = appendRequestLine(b, fr.method, rt.targetPath(fr.path), fr.query, x.host)
		for _, f := range fr.fields {
			b = appendField(b, f.name, f.value)
		}
		return appendForwarded(b, h.Remote, fr.host, h.TLS != nil)
	})
	if err == nil && a.Response != nil && a.Response.StatusCode == http.StatusSwitchingProtocols {
		a.Response.Body.Close()
		err = errUnaskedUpgrade
	}
	if err != nil {
		// The fault as the ordinary path writes it, by its own code.
		status, sent = g.serveFault(h, x, err)
		return
	}
	if resp := a.Response; resp != nil {
		if resp.TLS != nil {
			x.rec.TargetTLS = tlsLeg(resp.TLS)
		}
		status = resp.StatusCode
		sent, err = writeFastResponse(h.W, fr, resp, x.rec.MessageID)
		resp.Body.Close()
	} else {
		if a.TLS != nil {
			x.rec.TargetTLS = tlsLeg(a.TLS)
		}
		status = a.Status
		sent, err = writeAnswer(h.W, fr, a, x.rec.MessageID)
		a.Body.Close()
	}
	if err != nil || fr.close {
		h.Close = true
	}
}

// serveFault answers a request the fast path sent, and could not get an answer to, with
// the ordinary path's code; it returns the status and body bytes written.
func (g *Gateway) serveFault(h *h1.Head, x *exchange, err error) (status int, sent int64) {
	h.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		cw.Header().Set(HeaderMessageID, x.rec.MessageID)
		g.targetError(cw, r, x, err)
		status, sent = cw.status, cw.n
	}))
	return status, sent
}

var errUnaskedUpgrade = &upgradeError{}

type upgradeError struct{}

func (*upgradeError) Error() string {
	return "the backend switched protocols (101) for a request that asked for no upgrade"
}

// writeFastResponse writes resp as the ordinary path's ReverseProxy and h1 server would:
// hop-by-hop fields removed, the message ID added, the body streamed (chunked, flushed as
// it comes, when its length is unknown). It returns the body bytes written; an error
// means the answer is cut and the connection must close.
func writeFastResponse(bw *bufio.Writer, fr *fastRequest, resp *http.Response, messageID string) (int64, error) {
	h := resp.Header
	for _, v := range h["Connection"] {
		for t := range h1.Tokens(v) {
			delete(h, http.CanonicalHeaderKey(t))
		}
	}
	noBody := fr.method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified || resp.StatusCode < 200
	chunked := !noBody && resp.ContentLength < 0

	h1.WriteStatusLine(bw, "HTTP/1.1", resp.StatusCode)
	h1.WriteField(bw, HeaderMessageID, messageID)
	if _, ok := h["Date"]; !ok {
		h1.WriteDate(bw)
	}
	for k, vs := range h {
		if isHop(k) || k == "Content-Length" && chunked {
			continue
		}
		for _, v := range vs {
			h1.WriteField(bw, k, v)
		}
	}
	var trailers []string
	if chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		for k := range resp.Trailer {
			trailers = append(trailers, k)
		}
		if len(trailers) > 0 {
			h1.WriteField(bw, "Trailer", strings.Join(trailers, ", "))
		}
	} else if resp.ContentLength >= 0 && !noBody {
		if _, ok := h["Content-Length"]; !ok {
			h1.WriteField(bw, "Content-Length", strconv.FormatInt(resp.ContentLength, 10))
		}
	}
	if fr.close {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	if noBody {
		return 0, nil
	}
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	if !chunked {
		// To the body's end (its reader stops at the length): the backend connection goes
		// back to its pool only when the body was read to io.EOF.
		n, err := io.CopyBuffer(bw, resp.Body, buf)
		if err == nil && n != resp.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	}
	var sent int64
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			bw.WriteString(strconv.FormatInt(int64(n), 16))
			bw.WriteString("\r\n")
			bw.Write(buf[:n])
			bw.WriteString("\r\n")
			sent += int64(n)
			if ferr := bw.Flush(); ferr != nil {
				return sent, ferr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return sent, err
		}
	}
	bw.WriteString("0\r\n")
	for _, k := range trailers {
		for _, v := range resp.Trailer[k] {
			h1.WriteField(bw, k, v)
		}
	}
	_, err := bw.WriteString("\r\n")
	return sent, err
}

// writeAnswer writes a plain answer as writeFastResponse writes a parsed one: the
// backend's fields as they came but its hop-by-hop ones (and those its Connection names),
// the message ID added, the body copied. It returns the body bytes written; an error means
// the answer is cut and the connection must close.
func writeAnswer(bw *bufio.Writer, fr *fastRequest, a *outbound.Answer, messageID string) (int64, error) {
	var buf [4][]byte
	named, hasDate := connectionOf(a.Fields, buf[:0])
	h1.WriteStatusLine(bw, "HTTP/1.1", a.Status)
	h1.WriteField(bw, HeaderMessageID, messageID)
	if !hasDate {
		h1.WriteDate(bw)
	}
	for name, value, rest := []byte(nil), []byte(nil), a.Fields; len(rest) > 0; {
		name, value, rest = nextField(rest)
		if passed(name, named) {
			bw.Write(appendField(bw.AvailableBuffer(), name, value))
		}
	}
	if fr.close {
		bw.WriteString("Connection: close\r\n")
	}
	_, err := bw.WriteString("\r\n")
	if a.ContentLength == 0 {
		return 0, err
	}
	// To the body's end: the backend connection goes back to its pool only when the body
	// was read whole.
	n, err := io.Copy(bw, a.Body)
	if err == nil && n != a.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
