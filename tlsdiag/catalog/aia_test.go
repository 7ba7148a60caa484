package catalog

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// TestMissingIssuerWithAIA checks how chain.incomplete and truststore.missing-anchor are
// told apart when the server sends only its leaf: by the issuer fetched from the AIA URL
// when there is one, by inference otherwise.
func TestMissingIssuerWithAIA(t *testing.T) {
	const url = "http://ca.test/issuer.cer"
	now := pkitest.Epoch
	root := pkitest.NewRoot("AIA Rule Root")
	inter := root.Issue(pkitest.Options{CommonName: "AIA Rule Intermediate", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, IssuingCertificateURL: []string{url}})
	bareLeaf := inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})
	private := pkitest.NewRoot("AIA Rule Private Root")
	direct := private.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, IssuingCertificateURL: []string{url}})
	bareDirect := private.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})
	oldInter := root.Issue(pkitest.Options{CommonName: "AIA Rule Old Intermediate", IsCA: true,
		NotBefore: now.Add(-60 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	leafOfOld := oldInter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, IssuingCertificateURL: []string{url},
		NotBefore: now.Add(-30 * 24 * time.Hour)})

	fetched := func(c *pkitest.Cert) []*tlsdiag.AIAFetch {
		v := pki.Summarize(c.Cert)
		return []*tlsdiag.AIAFetch{{URL: url, Certificate: c.Cert, View: &v}}
	}
	trust := func(cs ...*pkitest.Cert) *tlsdiag.Expectations {
		x := &tlsdiag.Expectations{ServerName: "backend.test", RootsFrom: []string{"trust.pem"}}
		for _, c := range cs {
			x.Roots = append(x.Roots, c.Cert)
		}
		return x
	}
	tests := []struct {
		name     string
		sent     *pkitest.Cert
		aia      []*tlsdiag.AIAFetch
		x        *tlsdiag.Expectations
		want     []string
		evidence map[string]any // of the first finding, compared as strings
		detail   []string       // in the first finding's detail
		notIn    []string       // not in the first finding's detail
		fix      string         // in one of the first finding's fixes
		text     []string       // in the text report
		check    func(t *testing.T, f tlsdiag.Finding)
	}{
		{
			name: "intermediate fetched, its issuer trusted", sent: leaf, aia: fetched(inter), x: trust(root),
			want:     []string{ChainIncomplete},
			evidence: map[string]any{"aiaFetched": url, "missingIssuer": "CN=AIA Rule Intermediate", "issuedTo": "CN=backend.test"},
			detail:   []string{"found at " + url, "it is an intermediate CA", "With it, the path builds up to \"CN=AIA Rule Root\"", "Java and Go do not"},
			notIn:    []string{"inference"},
			fix:      "download it from " + url,
			text:     []string{"AIA: fetched CN=AIA Rule Intermediate from " + url, "not sent, fetched from " + url},
		},
		{
			name: "root fetched, not trusted", sent: direct, aia: fetched(private), x: trust(root),
			want:     []string{TruststoreMissingRoot},
			evidence: map[string]any{"aiaFetched": url},
			detail:   []string{"found at " + url, "self-signed root CA", pki.Fingerprint(private.Cert), "trust.pem does not hold it"},
			fix:      "check its fingerprint",
			check: func(t *testing.T, f tlsdiag.Finding) {
				r, _ := f.Evidence["root"].(pki.Summary)
				if r.Subject != "CN=AIA Rule Private Root" || r.SHA256 != pki.Fingerprint(private.Cert) {
					t.Errorf("evidence root = %+v; want the private root's subject and fingerprint", f.Evidence["root"])
				}
			},
		},
		{
			name: "intermediate fetched, root not trusted either", sent: leaf, aia: fetched(inter), x: trust(private),
			want:   []string{ChainIncomplete},
			detail: []string{"found at " + url, "Even with it, the path does not build", "CN=AIA Rule Root"},
			fix:    `Then add the root "CN=AIA Rule Root" to trust.pem`,
		},
		{
			name: "intermediate fetched, expired", sent: leafOfOld, aia: fetched(oldInter), x: trust(root),
			want:   []string{ChainIncomplete, CertExpired},
			detail: []string{"found at " + url, "Even with it, the path does not build", "expired"},
		},
		{
			name: "no AIA URL: inferred", sent: bareLeaf, x: trust(root),
			want:     []string{ChainIncomplete},
			evidence: map[string]any{"inferred": true},
			detail:   []string{"sent only its leaf", "most likely an intermediate", "inference", "the leaf names no AIA URL to confirm it"},
		},
		{
			// Without AIA the inference is wrong for a leaf issued directly by a root: the
			// finding says it is an inference and names the other possibility.
			name: "leaf of a root, no AIA URL: inferred", sent: bareDirect, x: trust(root),
			want:   []string{ChainIncomplete},
			detail: []string{"inference", "if it is a root instead, the cause is the truststore"},
		},
		{
			name: "fetch failed: inferred", sent: leaf, x: trust(root),
			aia:    []*tlsdiag.AIAFetch{{URL: url, Error: "HTTP 404 Not Found"}},
			want:   []string{ChainIncomplete},
			detail: []string{"inference", "fetching it from the leaf's AIA URL to confirm it failed (" + url + ": HTTP 404 Not Found)"},
			text:   []string{"AIA: " + url + ": HTTP 404 Not Found"},
		},
		{
			name: "not fetched: inferred", sent: leaf, x: trust(root),
			want:   []string{ChainIncomplete},
			detail: []string{"inference", "it was not fetched from the leaf's AIA URL " + url},
		},
		{
			name: "another CA's certificate at the URL: not used", sent: leaf, x: trust(root),
			aia:  []*tlsdiag.AIAFetch{{URL: url, Certificate: private.Cert, Error: `the certificate served, "CN=AIA Rule Private Root", did not issue "CN=backend.test"`}},
			want: []string{ChainIncomplete},
			text: []string{"AIA: " + url + `: the certificate served, "CN=AIA Rule Private Root", did not issue`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := refusedByVerify(tt.sent.Cert)
			f := &tlsdiag.Facts{Target: "backend.test:443", Time: now, Attempts: []*tlsdiag.Attempt{a}, AIA: tt.aia}
			r := Engine().Report(f, tt.x)
			if got := ids(r.Findings); !slices.Equal(got, tt.want) {
				for _, fd := range r.Findings {
					t.Logf("%s: %s", fd.ID, fd.Detail)
				}
				t.Fatalf("findings %v; want %v", got, tt.want)
			}
			fd := r.Findings[0]
			for k, want := range tt.evidence {
				if got := fd.Evidence[k]; got != want {
					t.Errorf("evidence %s = %v; want %v", k, got, want)
				}
			}
			for _, d := range tt.detail {
				if !strings.Contains(fd.Detail, d) {
					t.Errorf("detail %q; want it to contain %q", fd.Detail, d)
				}
			}
			for _, d := range tt.notIn {
				if strings.Contains(fd.Detail, d) {
					t.Errorf("detail %q; want it without %q", fd.Detail, d)
				}
			}
			if tt.fix != "" && !slices.ContainsFunc(fd.Fix, func(s string) bool { return strings.Contains(s, tt.fix) }) {
				t.Errorf("fix %q; want one containing %q", fd.Fix, tt.fix)
			}
			if tt.check != nil {
				tt.check(t, fd)
			}
			var text bytes.Buffer
			if err := tlsdiag.WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.text {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text report has no %q:\n%s", want, text.String())
				}
			}
		})
	}
}
