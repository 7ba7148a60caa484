package pki

import (
	"crypto/x509"
	"net"
	"strings"
)

// NameCheck is the verdict on one name of a certificate against a host.
type NameCheck struct {
	Name   string // the certificate's name as written
	Kind   string // "dns", "ip", "cn"
	Match  bool
	Reason string // why it does not match, e.g. "wildcard covers one label only: *.example.com does not match a.b.example.com"
}

// HostResult is MatchHost's verdict: whether the certificate is valid for the host, and
// the verdict on each of its names.
type HostResult struct {
	Host   string
	OK     bool
	Checks []NameCheck
}

// MatchHost checks host against cert's names as crypto/x509's VerifyHostname does (OK
// agrees with it) and says why each name fails: DNS subjectAltNames match case-insensitively,
// with a wildcard standing for exactly one whole left-most label, and only against host
// names; IP subjectAltNames match only IP addresses (optionally in brackets); the subject's
// common name is never used, which Java and OpenSSL still do when the certificate has no
// subjectAltName, so its check says so.
func MatchHost(cert *x509.Certificate, host string) HostResult {
	r := HostResult{Host: host, OK: cert.VerifyHostname(host) == nil}
	ipText := host
	if len(host) >= 3 && host[0] == '[' && host[len(host)-1] == ']' {
		ipText = host[1 : len(host)-1]
	}
	ip := net.ParseIP(ipText)
	for _, d := range cert.DNSNames {
		ch := NameCheck{Name: d, Kind: "dns"}
		if ip != nil {
			ch.Reason = "the host is an IP address and this is a DNS name"
		} else {
			ch.Match, ch.Reason = matchDNS(d, host)
		}
		r.Checks = append(r.Checks, ch)
	}
	for _, a := range cert.IPAddresses {
		ch := NameCheck{Name: a.String(), Kind: "ip"}
		switch {
		case ip == nil:
			ch.Reason = "the host is a DNS name and this is an IP address"
		case ip.Equal(a):
			ch.Match = true
		default:
			ch.Reason = "different address"
		}
		r.Checks = append(r.Checks, ch)
	}
	if cn := cert.Subject.CommonName; cn != "" {
		ch := NameCheck{Name: cn, Kind: "cn"}
		would, _ := matchDNS(cn, host)
		if ip != nil {
			would = net.ParseIP(cn).Equal(ip)
		}
		switch {
		case hasSANs(cert):
			ch.Reason = "CN ignored: the certificate has subjectAltNames"
		case would:
			ch.Reason = "CN ignored: the certificate has no subjectAltName, and modern clients (Go, browsers) match only those; Java and OpenSSL would accept this CN"
		default:
			ch.Reason = "different name (and the CN is ignored: the certificate has no subjectAltName)"
		}
		r.Checks = append(r.Checks, ch)
	}
	return r
}

// hasSANs reports whether cert carries any subjectAltName.
func hasSANs(c *x509.Certificate) bool {
	return len(c.DNSNames) > 0 || len(c.IPAddresses) > 0 || len(c.EmailAddresses) > 0 || len(c.URIs) > 0
}

// matchDNS matches one DNS name of a certificate against a host name as crypto/x509 does,
// and says why it fails.
func matchDNS(pattern, host string) (bool, string) {
	h := asciiLower(host)
	p := asciiLower(pattern)
	if !validHost(h, false) || !validHost(p, true) {
		// Only literal comparison applies.
		if p != "" && p != "." && h != "" && h != "." && p == h {
			return true, ""
		}
		switch {
		case strings.Contains(p, "*") && validHost(h, false):
			return false, "only a whole left-most label may be a wildcard: " + pattern + " matches only itself"
		case strings.Contains(p, "*"):
			return false, "the host is not a valid DNS name, so wildcards do not apply: " + pattern + " does not match " + host
		case strings.HasSuffix(p, ".") && strings.TrimSuffix(p, ".") == strings.TrimSuffix(h, "."):
			return false, "the certificate's name ends with a dot and is compared literally"
		}
		return false, "different name"
	}
	hp := strings.Split(strings.TrimSuffix(h, "."), ".")
	pp := strings.Split(p, ".")
	wild := pp[0] == "*"
	if len(pp) == len(hp) {
		same := true
		for i := range pp {
			if !(i == 0 && wild) && pp[i] != hp[i] {
				same = false
				break
			}
		}
		if same {
			return true, ""
		}
		return false, "different name"
	}
	if wild {
		suffix := "." + strings.Join(pp[1:], ".")
		hs := strings.Join(hp, ".")
		if len(hp) > len(pp) && strings.HasSuffix(hs, suffix) {
			return false, "wildcard covers one label only: " + pattern + " does not match " + host
		}
		if hs == strings.Join(pp[1:], ".") {
			return false, "a wildcard stands for exactly one label, which the host lacks: " + pattern + " does not match " + host
		}
	}
	return false, "different name"
}

// validHost mirrors crypto/x509's test of which names take part in wildcard matching.
func validHost(host string, isPattern bool) bool {
	if !isPattern {
		host = strings.TrimSuffix(host, ".")
	}
	if host == "" || host == "*" {
		return false
	}
	for i, part := range strings.Split(host, ".") {
		if part == "" {
			return false
		}
		if isPattern && i == 0 && part == "*" {
			continue
		}
		for j, c := range part {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', 'A' <= c && c <= 'Z', c == '_':
			case c == '-' && j != 0:
			default:
				return false
			}
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only, as DNS names are compared (RFC 6125 6.4.1).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
