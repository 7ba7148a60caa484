package capture

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// certCache keeps parsed certificates by their DER, with what reports show of them: a
// capture repeats the same chains in every handshake, and parsing and describing a
// certificate (its fingerprint, whether it is self-signed) is the dearest part of reading
// one.
var certCache = struct {
	sync.Mutex
	m map[string]*parsedCert
}{m: map[string]*parsedCert{}}

// parsedCert is a certificate and its views, or why it could not be parsed.
type parsedCert struct {
	id      uint64 // unique in the process, for the keys of verdict caches
	cert    *x509.Certificate
	err     error
	summary pki.Summary
	line    string // certLine without its number
}

var certIDs atomic.Uint64

// maxCachedCerts bounds certCache; it is emptied when full.
const maxCachedCerts = 4096

// parseCert parses a DER certificate, once per distinct DER.
func parseCert(der []byte) *parsedCert {
	certCache.Lock()
	p, ok := certCache.m[string(der)]
	certCache.Unlock()
	if ok {
		return p
	}
	own := bytes.Clone(der)
	p = &parsedCert{id: certIDs.Add(1)}
	if p.cert, p.err = x509.ParseCertificate(own); p.err == nil {
		x := p.cert
		p.summary = pki.Summarize(x)
		p.line = fmt.Sprintf("%s (issuer %s; valid %s to %s)", p.summary.Subject, p.summary.Issuer,
			x.NotBefore.UTC().Format("2006-01-02"), x.NotAfter.UTC().Format("2006-01-02"))
	}
	certCache.Lock()
	if len(certCache.m) >= maxCachedCerts {
		clear(certCache.m)
	}
	certCache.m[string(own)] = p
	certCache.Unlock()
	return p
}

func httpRequest(s string) bool {
	for _, m := range []string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "} {
		if strings.HasPrefix(s, m) {
			return true
		}
	}
	return false
}

// httpLine returns the first line of b when b starts an HTTP/1 request or response.
func httpLine(b []byte) string {
	s := string(b[:min(len(b), 200)])
	if !strings.HasPrefix(s, "HTTP/1.") && !httpRequest(s) {
		return ""
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// httpAnswer reads the status line and the HTML title of an HTTP/1 response.
func httpAnswer(b []byte) *tlsdiag.HTTPAnswer {
	line := httpLine(b)
	if !strings.HasPrefix(line, "HTTP/1.") {
		return nil
	}
	a := &tlsdiag.HTTPAnswer{Line: line}
	if f := strings.Fields(line); len(f) >= 2 {
		a.Status, _ = strconv.Atoi(f[1])
	}
	s := string(b[:min(len(b), 4096)])
	lower := strings.ToLower(s)
	if i := strings.Index(lower, "<title>"); i >= 0 {
		if j := strings.Index(lower[i:], "</title>"); j > 0 {
			a.Title = strings.TrimSpace(s[i+len("<title>") : i+j])
		}
	}
	return a
}

// memo keeps values computed once per key, up to max of them (then it starts afresh):
// captures repeat the same offers and requests in every handshake. It is safe for
// concurrent use; the values are shared and must not be modified.
type memo[V any] struct {
	mu  sync.Mutex
	m   map[string]V
	max int
}

func (m *memo[V]) get(key []byte, compute func() V) V {
	m.mu.Lock()
	v, ok := m.m[string(key)]
	m.mu.Unlock()
	if ok {
		return v
	}
	v = compute()
	m.mu.Lock()
	if m.m == nil || len(m.m) >= m.max {
		m.m = map[string]V{}
	}
	m.m[string(key)] = v
	m.mu.Unlock()
	return v
}
