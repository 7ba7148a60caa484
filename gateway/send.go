package gateway

import (
	"context"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/tlsgate/tlsgate/gateway/h1"
	"github.com/tlsgate/tlsgate/gateway/outbound"
)

// What the fast path (HTTP/1.1) and the head path (HTTP/2) share: choosing the transport,
// writing the backend request's head, sending it, reading a plain answer's fields.

// pick chooses x's transport: the target's, or an active member of its pool (recorded in
// x). It fails when the pool has none.
func (x *exchange) pick() (*outbound.Transport, *outbound.Member, error) {
	t := x.route.target
	if t.pool == nil {
		x.rec.Target, x.host = t.name, t.host
		return t.single, nil, nil
	}
	m, err := t.pool.Pick()
	if err != nil {
		return nil, nil, err
	}
	x.member, x.rec.Target, x.host = m.Name, m.Name, m.Transport.Config().Address
	return m.Transport, m, nil
}

// targetPath is the path on the target for a request path of the route.
func (rt *route) targetPath(path string) string {
	return rt.target.path + strings.TrimPrefix(path, rt.basePath)
}

// headBuffers hold the backend request heads the fast and head paths write.
var headBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sendHead sends through tr (the target's, or its pool member m's) the request head that
// build appends to a buffer, reports the outcome to m's pool, and records in x the time to
// the answer's head.
func (g *Gateway) sendHead(ctx context.Context, x *exchange, tr *outbound.Transport, m *outbound.Member, method string,
	build func([]byte) []byte) (*outbound.Answer, error) {
	bp := headBuffers.Get().(*[]byte)
	head := build((*bp)[:0])
	start := g.now()
	a, err := tr.SendHead(ctx, head, method)
	if m != nil {
		x.route.target.pool.Done(m, err)
	}
	*bp = head
	headBuffers.Put(bp)
	if err == nil {
		x.rec.TargetMillis = ms(g.now().Sub(start))
	}
	return a, err
}

// appendRequestLine appends the request line and Host of a request to the backend, as
// http.Request.Write writes them: path (on the target) escaped, "/" when empty; the query
// when not empty.
func appendRequestLine(b []byte, method, path, query, host string) []byte {
	u := url.URL{Path: path}
	uri := u.EscapedPath()
	if uri == "" {
		uri = "/"
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	if query != "" {
		b = append(b, '?')
		b = append(b, query...)
	}
	b = append(b, " HTTP/1.1\r\n"...)
	return appendField(b, "Host", host)
}

// appendForwarded appends the forwarded fields (as ReverseProxy's SetXForwarded sets
// them) for a client at remote that asked for host, and the blank line that ends the head.
func appendForwarded(b []byte, remote, host string, tls bool) []byte {
	if ip, _, err := net.SplitHostPort(remote); err == nil {
		b = appendField(b, "X-Forwarded-For", ip)
	}
	b = appendField(b, "X-Forwarded-Host", host)
	if tls {
		return append(b, "X-Forwarded-Proto: https\r\n\r\n"...)
	}
	return append(b, "X-Forwarded-Proto: http\r\n\r\n"...)
}

func appendField[T string | []byte](b []byte, name, value T) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// connectionOf reads a plain answer's fields for the fields its Connection names
// (appended to named) and whether it has a Date.
func connectionOf(fields []byte, named [][]byte) (_ [][]byte, hasDate bool) {
	for name, value, rest := []byte(nil), []byte(nil), fields; len(rest) > 0; {
		name, value, rest = nextField(rest)
		switch fieldKind(name) {
		case fieldConnection:
			named = slices.AppendSeq(named, h1.Tokens(value))
		case fieldDate:
			hasDate = true
		}
	}
	return named, hasDate
}

// passed reports whether a plain answer's field goes on to the client: not hop-by-hop,
// not named by its Connection.
func passed(name []byte, named [][]byte) bool { return !isHop(name) && !containsFold(named, name) }
