package probe

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// httpWait bounds the HTTP request sent after a handshake in which the server asked for a
// client certificate.
const httpWait = time.Second

// maxHTTPAnswer bounds what is read of the HTTP answer.
const maxHTTPAnswer = 16 << 10

var titleRE = regexp.MustCompile(`(?is)<title>\s*(.*?)\s*</title>`)

// askHTTP sends one GET over tc and reads the start of the answer. Servers like nginx with
// "ssl_verify_client on" complete the handshake whatever the client sent and refuse at the
// HTTP level ("400 No required SSL certificate was sent", "400 The SSL certificate error").
// It returns nil when the server does not answer in HTTP within wait.
func askHTTP(tc *tls.Conn, host string, wait time.Duration, deadline time.Time) *tlsdiag.HTTPAnswer {
	until := time.Now().Add(wait)
	if until.After(deadline) {
		until = deadline
	}
	_ = tc.SetDeadline(until)
	if host == "" {
		host = "localhost"
	}
	req := fmt.Sprintf("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: tlsgate-doctor\r\nAccept: text/html\r\nConnection: close\r\n\r\n", host)
	if _, err := io.WriteString(tc, req); err != nil {
		return nil
	}
	return parseHTTPAnswer(io.LimitReader(tc, maxHTTPAnswer))
}

// parseHTTPAnswer reads a status line, headers and as much of the body as r gives.
func parseHTTPAnswer(r io.Reader) *tlsdiag.HTTPAnswer {
	br := bufio.NewReader(r)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil || !strings.HasPrefix(line, "HTTP/1.") {
		return nil
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 2 {
		return nil
	}
	status, err := strconv.Atoi(parts[1])
	if err != nil || status < 100 || status > 999 {
		return nil
	}
	ans := &tlsdiag.HTTPAnswer{Status: status, Line: line}
	if _, err := tp.ReadMIMEHeader(); err != nil && err != io.EOF {
		return ans
	}
	body, _ := io.ReadAll(br)
	if m := titleRE.FindSubmatch(body); m != nil {
		ans.Title = string(bytes.TrimSpace(m[1]))
	}
	return ans
}
