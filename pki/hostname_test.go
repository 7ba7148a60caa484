package pki

import (
	"net"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

func TestMatchHost(t *testing.T) {
	root := pkitest.NewRoot("Host Test Root")
	issue := func(cn string, dns []string, ips ...string) *pkitest.Cert {
		o := pkitest.Options{CommonName: cn, DNSNames: dns}
		for _, s := range ips {
			o.IPAddresses = append(o.IPAddresses, net.ParseIP(s))
		}
		return root.Issue(o)
	}
	tests := []struct {
		name   string
		cert   *pkitest.Cert
		host   string
		ok     bool
		reason string // a substring of some failing check's reason
	}{
		{"exact", issue("", []string{"api.example.com"}), "api.example.com", true, ""},
		{"case", issue("", []string{"API.Example.com"}), "api.EXAMPLE.com", true, ""},
		{"trailing dot in host", issue("", []string{"api.example.com"}), "api.example.com.", true, ""},
		{"trailing dot in name", issue("", []string{"api.example.com."}), "api.example.com", false, "ends with a dot"},
		{"different", issue("", []string{"api.example.com"}), "web.example.com", false, "different name"},
		{"wildcard one label", issue("", []string{"*.example.com"}), "a.example.com", true, ""},
		{"wildcard depth", issue("", []string{"*.example.com"}), "a.b.example.com", false, "wildcard covers one label only: *.example.com does not match a.b.example.com"},
		{"wildcard apex", issue("", []string{"*.example.com"}), "example.com", false, "exactly one label"},
		{"wildcard two labels", issue("", []string{"*.com"}), "example.com", true, ""},
		{"partial wildcard", issue("", []string{"a*.example.com"}), "ab.example.com", false, "whole left-most label"},
		{"partial wildcard literal", issue("", []string{"a*.example.com"}), "a*.example.com", true, ""},
		{"inner wildcard", issue("", []string{"a.*.example.com"}), "a.b.example.com", false, "whole left-most label"},
		{"ipv4 in IP SAN", issue("", nil, "10.1.2.3"), "10.1.2.3", true, ""},
		{"ipv4 other", issue("", nil, "10.1.2.3"), "10.1.2.4", false, "different address"},
		{"ipv4 in DNS SAN", issue("", []string{"10.1.2.3"}), "10.1.2.3", false, "the host is an IP address and this is a DNS name"},
		{"ipv6 in IP SAN", issue("", nil, "2001:db8::1"), "2001:db8::1", true, ""},
		{"ipv6 bracketed", issue("", nil, "2001:db8::1"), "[2001:db8::1]", true, ""},
		{"ipv6 in DNS SAN", issue("", []string{"2001:db8::1"}), "2001:db8::1", false, "IP address and this is a DNS name"},
		{"dns host vs IP SAN", issue("", nil, "10.1.2.3"), "api.example.com", false, "the host is a DNS name and this is an IP address"},
		{"CN only", issue("api.example.com", nil), "api.example.com", false, "no subjectAltName"},
		{"CN with SANs", issue("api.example.com", []string{"other.example.com"}), "api.example.com", false, "CN ignored: the certificate has subjectAltNames"},
		{"no names", issue("", nil), "api.example.com", false, ""},
		{"invalid host", issue("", []string{"*.example.com"}), "a b.example.com", false, "not a valid DNS name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MatchHost(tt.cert.Cert, tt.host)
			want := tt.cert.Cert.VerifyHostname(tt.host) == nil
			if got.OK != want {
				t.Fatalf("OK = %v; crypto/x509 says %v", got.OK, want)
			}
			if got.OK != tt.ok {
				t.Fatalf("OK = %v; want %v", got.OK, tt.ok)
			}
			matched := false
			var reasons []string
			for _, c := range got.Checks {
				matched = matched || c.Match
				if c.Match && c.Reason != "" {
					t.Errorf("check %+v matches but has a reason", c)
				}
				if !c.Match && c.Reason == "" {
					t.Errorf("check %+v fails without a reason", c)
				}
				reasons = append(reasons, c.Reason)
			}
			if matched != got.OK {
				t.Errorf("some check matches = %v; OK = %v", matched, got.OK)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(reasons, "\n"), tt.reason) {
				t.Errorf("reasons %q; want one containing %q", reasons, tt.reason)
			}
		})
	}
}
