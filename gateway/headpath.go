package gateway

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/tlsgate/tlsgate/gateway/h1"
	"github.com/tlsgate/tlsgate/gateway/outbound"
)

// The head path is the fast path's counterpart for requests the ordinary handler serves
// (HTTP/2's chiefly) when they have no body: the request to the backend is written from
// the parsed request as the ReverseProxy would write it, and sent with SendHead; a plain
// answer is copied to the client without the ReverseProxy. Any other answer goes through
// the ReverseProxy as if it had fetched it, so that streaming, trailers and the rest
// behave as on the ordinary path.

// headOnly reports whether r has no body and a method the head path serves.
func headOnly(r *http.Request) bool {
	if _, ok := fastMethods[r.Method]; !ok || r.ContentLength != 0 || r.URL.Opaque != "" {
		return false
	}
	_, proto := r.Header[":protocol"] // HTTP/2's extended CONNECT
	// HTTP/1 requests the fast path declined (an upgrade, an expectation, a body...) go
	// through the ReverseProxy.
	return r.ProtoMajor == 2 && !proto
}

// proxyHead serves r, which headOnly took, through tr (the target's, or its pool member
// m's).
func (g *Gateway) proxyHead(w http.ResponseWriter, r *http.Request, x *exchange, tr *outbound.Transport, m *outbound.Member) {
	g.headServed.Add(1)
	a, err := g.sendHead(r.Context(), x, tr, m, r.Method, func(b []byte) []byte {
		return appendRequestHead(b, r, x.route.targetPath(r.URL.Path), x.host)
	})
	if err != nil {
		g.targetError(w, r, x, err)
		return
	}
	if a.Response != nil {
		// Not plain: the ReverseProxy writes it, as if it had fetched it.
		x.rt = fetched{a.Response}
		g.reverseProxy(w, r, x)
		return
	}
	defer a.Body.Close()
	if a.TLS != nil {
		x.rec.TargetTLS = tlsLeg(a.TLS)
	}
	copyFields(w.Header(), a.Fields)
	w.WriteHeader(a.Status)
	if a.ContentLength > 0 {
		buf := copyBuffers.Get()
		defer copyBuffers.Put(buf)
		if _, err := io.CopyBuffer(w, a.Body, buf); err != nil {
			panic(http.ErrAbortHandler) // the answer is cut: so must the client's be (as the ReverseProxy does)
		}
	}
}

// fetched is a round tripper that returns an answer already read.
type fetched struct{ resp *http.Response }

func (f fetched) RoundTrip(r *http.Request) (*http.Response, error) {
	f.resp.Request = r
	return f.resp, nil
}

// appendRequestHead appends to b the head of the request to the backend for r, as the
// ordinary path's ReverseProxy writes it (Rewrite, SetXForwarded): the request line with
// path (on the target) and r's query, Host, r's fields but the hop-by-hop and
// forwarded ones, "Te: trailers" when r offers trailers, the forwarded fields.
func appendRequestHead(b []byte, r *http.Request, path, host string) []byte {
	b = appendRequestLine(b, r.Method, path, r.URL.RawQuery, host)
	// (An HTTP/2 request has no Connection field, nor fields it would name.)
	for k, vs := range r.Header {
		switch kind := fieldKind(k); {
		case kind != fieldOther && kind != fieldDate:
			continue // Host, Content-Length, hop-by-hop, forwarded
		case k == "User-Agent": // the first value only, none when empty (as http.Request.Write)
			if len(vs) > 0 && vs[0] != "" {
				b = appendField(b, k, vs[0])
			}
			continue
		}
		for _, v := range vs {
			b = appendField(b, k, v)
		}
	}
	if h1.HasToken(r.Header["Te"], "trailers") {
		b = append(b, "Te: trailers\r\n"...)
	}
	return appendForwarded(b, r.RemoteAddr, r.Host, r.TLS != nil)
}

// copyFields adds the fields of a plain answer to h but the hop-by-hop ones and those its
// Connection names (as the ReverseProxy removes them). The values share one string, and
// the value lists of new names one array: two allocations for the fields, not two each.
func copyFields(h http.Header, fields []byte) {
	var buf [4][]byte
	named, _ := connectionOf(fields, buf[:0])
	all := string(fields)
	lists := make([]string, 0, bytes.Count(fields, []byte("\n")))
	for name, value, rest := []byte(nil), []byte(nil), fields; len(rest) > 0; {
		name, value, rest = nextField(rest)
		if !passed(name, named) {
			continue
		}
		k, ok := commonFields[string(name)]
		if !ok {
			k = http.CanonicalHeaderKey(string(name))
		}
		at := cap(fields) - cap(value) // value is a part of fields
		v := all[at : at+len(value)]
		if vs, ok := h[k]; ok {
			h[k] = append(vs, v)
			continue
		}
		lists = append(lists, v)
		h[k] = lists[len(lists)-1 : len(lists) : len(lists)] // appending to it copies it
	}
}

// commonFields are the canonical names of common response fields, by their canonical and
// lower-case forms: names that copyFields need not build again for every answer.
var commonFields = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept-Ranges", "Access-Control-Allow-Origin", "Age", "Cache-Control", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Type", "Date", "Etag", "Expires", "Last-Modified", "Location",
		"Server", "Set-Cookie", "Strict-Transport-Security", "Vary", "X-Content-Type-Options", "X-Frame-Options", "X-Request-Id"} {
		m[k], m[strings.ToLower(k)] = k, k
	}
	return m
}()
