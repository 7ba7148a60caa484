package outbound

import (
	"bufio"
	"net/http"
	"strings"

	"github.com/tlsgate/tlsgate/gateway/h1"
)

// writeRequest writes req's head to bw as http.Request.Write does, by a shorter way for
// the common request without a body or trailers: no sorting of the header fields, no
// transfer writer. Others go through http.Request.Write.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	if (req.Body != nil && req.Body != http.NoBody) || len(req.Trailer) > 0 || len(req.TransferEncoding) > 0 ||
		req.ContentLength != 0 || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch ||
		req.URL == nil || req.URL.Opaque != "" || !h1.ValidToken(req.Method) {
		return req.Write(bw)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validHeaderValue(host) {
		return req.Write(bw) // let net/http report it
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(req.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	if ua, ok := req.Header["User-Agent"]; !ok {
		bw.WriteString("User-Agent: Go-http-client/1.1\r\n")
	} else if len(ua) > 0 && ua[0] != "" {
		h1.WriteField(bw, "User-Agent", ua[0])
	}
	if req.Close && !h1.HasToken(req.Header["Connection"], "close") {
		bw.WriteString("Connection: close\r\n")
	}
	for k, vs := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		for _, v := range vs {
			h1.WriteField(bw, k, v)
		}
	}
	_, err := bw.WriteString("\r\n")
	return err
}

func validHeaderValue(v string) bool { return !strings.ContainsAny(v, "\r\n\x00") && v != "" }
