package tlswire

import (
	"fmt"
	"strings"
)

// GuessProtocol names the protocol a stream that is not TLS most likely speaks, from its
// first bytes: "HTTP", "HTTP/2", "SSH", "FTP", "SMTP", "POP3", "IMAP", "SSLv2" or "unknown".
func GuessProtocol(b []byte) string {
	s := string(b)
	switch {
	case strings.HasPrefix(s, "HTTP/"), strings.HasPrefix(s, "<!DOCTYPE"), strings.HasPrefix(strings.ToLower(s), "<html"):
		return "HTTP"
	case isHTTPRequest(s):
		return "HTTP"
	case strings.HasPrefix(s, "PRI * HTTP/2"):
		return "HTTP/2"
	case strings.HasPrefix(s, "SSH-"):
		return "SSH"
	case strings.HasPrefix(s, "220"):
		if strings.Contains(strings.ToUpper(s), "FTP") {
			return "FTP"
		}
		return "SMTP"
	case strings.HasPrefix(s, "+OK"):
		return "POP3"
	case strings.HasPrefix(s, "* OK"):
		return "IMAP"
	case len(b) >= 2 && b[0]&0x80 != 0:
		return "SSLv2"
	}
	return "unknown"
}

func isHTTPRequest(s string) bool {
	for _, m := range []string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "} {
		if strings.HasPrefix(s, m) {
			return true
		}
	}
	return false
}

// Printable renders bytes for a report: printable ASCII as is, the rest escaped (\r, \n,
// \t, \\, \xNN).
func Printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}
