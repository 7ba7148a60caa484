package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tlsgate/tlsgate/gateway/h1"
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
	header                    http.Header // the fields to forward, hop-by-hop ones removed
}

// fastMethods are the methods the fast path serves: those whose requests have no body.
var fastMethods = map[string]string{"GET": "GET", "HEAD": "HEAD", "DELETE": "DELETE", "OPTIONS": "OPTIONS"}

// hopHeaders are the fields that concern one connection only (RFC 9110 §7.6.1, and those
// httputil.ReverseProxy removes): never passed on, in either direction.
var hopHeaders = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// forwardedHeaders are the inbound fields the gateway replaces with its own (as
// ReverseProxy's Rewrite mode does).
var forwardedHeaders = map[string]bool{
	"Forwarded": true, "X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true,
}

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
	r.header = make(http.Header, 12)
	var connTokens []string
	hosts := 0
	for n := 0; ; n++ {
		line, rest, ok = bytes.Cut(rest, []byte("\r\n"))
		if !ok || n > maxFastFields {
			return false
		}
		if len(line) == 0 {
			break
		}
		rawName, value, ok := bytes.Cut(line, []byte(":"))
		name := string(rawName)
		if !ok || !h1.ValidToken(name) {
			return false // also a continuation line (obs-fold), which starts with a space
		}
		value = bytes.Trim(value, " \t")
		if !validValue(value) {
			return false
		}
		key := http.CanonicalHeaderKey(name)
		switch key {
		case "Host":
			hosts++
			r.host = string(value)
			continue
		case "Content-Length":
			if string(value) != "0" {
				return false
			}
			continue
		case "Transfer-Encoding", "Expect", "Upgrade", "Te", "Trailer":
			return false
		case "Connection":
			for t := range strings.SplitSeq(string(value), ",") {
				t = strings.TrimSpace(t)
				if strings.EqualFold(t, "close") {
					r.close = true
				} else if t != "" && !strings.EqualFold(t, "keep-alive") {
					connTokens = append(connTokens, http.CanonicalHeaderKey(t))
				}
			}
			continue
		}
		if hopHeaders[key] || forwardedHeaders[key] {
			continue
		}
		r.header[key] = append(r.header[key], string(value))
	}
	if hosts != 1 || r.host == "" {
		return false
	}
	for _, k := range connTokens {
		delete(r.header, k)
	}
	return true
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

func validValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// forward is the fast path of one port (h1.Options.Forward).
func (g *Gateway) forward(port int) func(h *h1.Head) bool {
	return func(h *h1.Head) bool {
		var fr fastRequest
		if !parseFastHead(h.Raw, &fr) {
			return false
		}
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
		if vh.tls != nil && h.TLS != nil && cc.check(h.TLS, vh.tls, now) != nil {
			return false // the ordinary path answers the refusal
		}
		rt := vh.match(fr.path)
		if rt == nil {
			return false
		}
		t := rt.target
		x := &exchange{start: now, route: rt, vh: vh, rt: t.single, host: t.host}
		x.rec.Target = t.name
		if t.pool != nil {
			m, err := t.pool.Pick()
			if err != nil {
				return false // the ordinary path answers NoActiveTargets
			}
			x.member, x.rec.Target = m.Name, m.Name
			x.rt, x.host = poolRoundTripper{pool: t.pool, m: m}, m.Transport.Config().Address
		}
		g.serveFast(h, &fr, x, cc)
		return true
	}
}

// serveFast forwards a request the fast path took and writes the answer.
func (g *Gateway) serveFast(h *h1.Head, fr *fastRequest, x *exchange, cc *clientCheck) {
	g.fastServed.Add(1)
	now, vh, rt, t := x.start, x.vh, x.route, x.route.target
	x.rec = observe.AccessRecord{Time: now, MessageID: observe.NewMessageID(now), Client: h.Remote,
		Method: fr.method, Path: fr.path, Proto: "HTTP/1.1", Org: vh.org, Env: vh.env, VirtualHost: vh.name,
		Proxy: rt.proxy, Target: x.rec.Target}
	if h.TLS != nil {
		x.rec.ClientTLS = cc.clientLeg(h.TLS)
	}
	status, sent := 0, int64(0)
	defer func() { g.finish(x, status, sent) }()

	// The request as the ordinary path's ReverseProxy builds it (Rewrite, SetXForwarded).
	hdr := fr.header
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = []string{""}
	}
	if ip, _, err := net.SplitHostPort(h.Remote); err == nil {
		hdr["X-Forwarded-For"] = []string{ip}
	}
	hdr["X-Forwarded-Host"] = []string{fr.host}
	if h.TLS != nil {
		hdr["X-Forwarded-Proto"] = []string{"https"}
	} else {
		hdr["X-Forwarded-Proto"] = []string{"http"}
	}
	out := (&http.Request{Method: fr.method, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: hdr, Host: x.host,
		URL: &url.URL{Scheme: t.scheme, Host: x.host, Path: t.path + strings.TrimPrefix(fr.path, rt.basePath), RawQuery: fr.query},
	}).WithContext(h.Ctx)
	start := g.now()
	resp, err := x.rt.RoundTrip(out)
	if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		err = errUnaskedUpgrade
	}
	if err != nil {
		// The fault as the ordinary path writes it, by its own code.
		h.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
			cw.Header().Set(HeaderMessageID, x.rec.MessageID)
			g.targetError(cw, r, x, err)
			status, sent = cw.status, cw.n
		}))
		return
	}
	x.rec.TargetMillis = ms(g.now().Sub(start))
	if resp.TLS != nil {
		x.rec.TargetTLS = tlsLeg(resp.TLS)
	}
	status = resp.StatusCode
	sent, err = writeFastResponse(h.W, fr, resp, x.rec.MessageID)
	resp.Body.Close()
	if err != nil || fr.close {
		h.Close = true
	}
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
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				delete(h, http.CanonicalHeaderKey(t))
			}
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
		if hopHeaders[k] || k == "Content-Length" && chunked {
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
