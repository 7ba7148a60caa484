package tlsdiag

import (
	"crypto/x509"
	"testing"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// TestNewContextUsesFetchedIssuers checks that issuers fetched from AIA URLs take part in
// the path as intermediates, and that a fetch that failed does not.
func TestNewContextUsesFetchedIssuers(t *testing.T) {
	root := pkitest.NewRoot("Engine Root")
	inter := root.Issue(pkitest.Options{CommonName: "Engine Intermediate", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})
	private := pkitest.NewRoot("Engine Private Root")
	direct := private.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})

	fetch := func(c *pkitest.Cert, err string) *AIAFetch {
		return &AIAFetch{URL: "http://ca.test/x.cer", Certificate: c.Cert, Error: err}
	}
	tests := []struct {
		name    string
		sent    *pkitest.Cert
		aia     []*AIAFetch
		ok      bool
		kind    pki.ProblemKind
		foundIn string
	}{
		{name: "no fetch", sent: leaf, ok: false, kind: pki.ProblemMissingIssuer, foundIn: ""},
		{name: "intermediate fetched", sent: leaf, aia: []*AIAFetch{fetch(inter, "")}, ok: true, kind: pki.ProblemMissingIssuer, foundIn: "intermediates"},
		{name: "fetch failed", sent: leaf, aia: []*AIAFetch{fetch(inter, "the certificate served did not issue it")}, ok: false, kind: pki.ProblemMissingIssuer, foundIn: ""},
		{name: "untrusted root fetched", sent: direct, aia: []*AIAFetch{fetch(private, "")}, ok: false, kind: pki.ProblemUntrustedRoot, foundIn: "intermediates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Facts{Time: pkitest.Epoch, AIA: tt.aia, Attempts: []*Attempt{{Name: AttemptConfigured, Chain: []*x509.Certificate{tt.sent.Cert}}}}
			c := NewContext(f, &Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{root.Cert}})
			if c.Path.OK != tt.ok {
				t.Errorf("Path.OK = %v; want %v", c.Path.OK, tt.ok)
			}
			if len(c.Path.Problems) == 0 {
				t.Fatalf("no problem; want %s", tt.kind)
			}
			p := c.Path.Problems[0]
			if p.Kind != tt.kind || p.FoundIn != tt.foundIn {
				t.Errorf("problem %s found in %q; want %s found in %q", p.Kind, p.FoundIn, tt.kind, tt.foundIn)
			}
			for _, a := range tt.aia {
				got := c.FetchedFrom(a.Certificate)
				if want := a.Issuer() != nil; (got != nil) != want {
					t.Errorf("FetchedFrom(%s) = %v; want a fetch: %v", a.Certificate.Subject, got, want)
				}
			}
		})
	}
}
