package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// kinds renders a result's problems as "kind@index" for comparison.
func kinds(r PathResult) string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, fmt.Sprintf("%s@%d", p.Kind, p.Index))
	}
	return strings.Join(out, " ")
}

func certs(cs ...*pkitest.Cert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.Cert
	}
	return out
}

func TestVerifyPath(t *testing.T) {
	now := pkitest.Epoch
	day := 24 * time.Hour
	past := pkitest.Options{NotBefore: now.Add(-30 * day), NotAfter: now.Add(-3 * day)}
	future := pkitest.Options{NotBefore: now.Add(2 * day), NotAfter: now.Add(300 * day)}

	root := pkitest.NewRoot("Root CA")
	inter := root.Issue(pkitest.Options{CommonName: "Intermediate CA", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "backend", DNSNames: []string{"backend.test"},
		IssuingCertificateURL: []string{"http://ca.test/inter.crt"}})

	other := pkitest.NewRoot("Other Root CA")
	otherInter := other.Issue(pkitest.Options{CommonName: "Other Intermediate CA", IsCA: true})
	// Same name as inter, another key: the names link, the signature does not.
	twin := other.Issue(pkitest.Options{CommonName: "Intermediate CA", IsCA: true})

	selfLeaf := pkitest.NewSelfSigned(pkitest.Options{CommonName: "self.test", DNSNames: []string{"self.test"}})

	expiredLeaf := inter.Issue(pkitest.Options{CommonName: "old", NotBefore: past.NotBefore, NotAfter: past.NotAfter})
	futureLeaf := inter.Issue(pkitest.Options{CommonName: "early", NotBefore: future.NotBefore, NotAfter: future.NotAfter})
	expiredInter := root.Issue(pkitest.Options{CommonName: "Expired Intermediate", IsCA: true, NotBefore: past.NotBefore, NotAfter: past.NotAfter})
	leafOfExpired := expiredInter.Issue(pkitest.Options{CommonName: "under expired", NotBefore: past.NotBefore})
	expiredRoot := pkitest.NewSelfSigned(pkitest.Options{CommonName: "Expired Root", IsCA: true, NotBefore: past.NotBefore, NotAfter: past.NotAfter})
	leafOfExpiredRoot := expiredRoot.Issue(pkitest.Options{CommonName: "under expired root", NotBefore: past.NotBefore})

	notCA := inter.Issue(pkitest.Options{CommonName: "Not A CA"})
	leafOfNotCA := notCA.Issue(pkitest.Options{CommonName: "under not-a-ca"})

	rsaRoot := pkitest.NewSelfSigned(pkitest.Options{CommonName: "RSA Root", IsCA: true, Key: pkitest.RSA2048})
	sha1Leaf := rsaRoot.Issue(pkitest.Options{CommonName: "sha1", SignatureAlgorithm: x509.SHA1WithRSA})
	shortLeaf := rsaRoot.Issue(pkitest.Options{CommonName: "short", Key: pkitest.RSA1024})

	clientOnly := inter.Issue(pkitest.Options{CommonName: "client", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	forged := inter.Issue(pkitest.Options{CommonName: "forged", ForgeIssuerName: &pkix.Name{CommonName: "Elsewhere CA"}})

	tests := []struct {
		name     string
		in       PathInput
		ok       bool
		pathLen  int
		problems string
		orderOK  bool
	}{
		{"healthy", PathInput{Sent: certs(leaf, inter), Roots: certs(root)}, true, 3, "", true},
		{"healthy with root sent", PathInput{Sent: certs(leaf, inter, root), Roots: certs(root)}, true, 3, "", true},
		{"healthy with system roots too", PathInput{Sent: certs(leaf, inter), Roots: certs(root), SystemRoots: true}, true, 3, "", true},
		{"system roots only", PathInput{Sent: certs(leaf, inter), SystemRoots: true}, false, 2, "missing-issuer@1", true},
		{"leaf alone, issuer nowhere", PathInput{Sent: certs(leaf), Roots: certs(root)}, false, 1, "missing-issuer@0", true},
		{"leaf alone, issuer in intermediates", PathInput{Sent: certs(leaf), Roots: certs(root), Intermediates: certs(inter)}, true, 3, "missing-issuer@0", true},
		{"self-signed leaf", PathInput{Sent: certs(selfLeaf), Roots: certs(root)}, false, 1, "untrusted-root@0", true},
		{"self-signed leaf pinned", PathInput{Sent: certs(selfLeaf), Roots: certs(selfLeaf)}, true, 1, "", true},
		{"root sent but not trusted", PathInput{Sent: certs(leaf, inter, root), Roots: certs(other)}, false, 3, "untrusted-root@2", true},
		{"root in intermediates, not trusted", PathInput{Sent: certs(leaf, inter), Roots: certs(other), Intermediates: certs(root)}, false, 3, "untrusted-root@-1", true},
		{"complete chain, root absent", PathInput{Sent: certs(leaf, inter), Roots: certs(other)}, false, 2, "missing-issuer@1", true},
		{"intermediate as anchor", PathInput{Sent: certs(leaf), Roots: certs(inter)}, true, 2, "", true},
		{"empty truststore", PathInput{Sent: certs(leaf, inter)}, false, 2, "empty-truststore@-1 missing-issuer@1", true},
		{"wrong intermediate", PathInput{Sent: certs(leaf, otherInter), Roots: certs(root, other)}, false, 1, "name-link@0", true},
		{"same-name intermediate, other key", PathInput{Sent: certs(leaf, twin), Roots: certs(root, other)}, false, 1, "signature-link@0", true},
		{"forged issuer name", PathInput{Sent: certs(forged, inter), Roots: certs(root)}, false, 1, "name-link@0", true},
		{"issuer not a CA", PathInput{Sent: certs(leafOfNotCA, notCA, inter), Roots: certs(root)}, false, 4, "not-ca@1", true},
		{"expired leaf", PathInput{Sent: certs(expiredLeaf, inter), Roots: certs(root)}, false, 3, "expired@0", true},
		{"not yet valid leaf", PathInput{Sent: certs(futureLeaf, inter), Roots: certs(root)}, false, 3, "not-yet-valid@0", true},
		{"expired intermediate", PathInput{Sent: certs(leafOfExpired, expiredInter), Roots: certs(root)}, false, 3, "expired@1", true},
		{"expired anchor", PathInput{Sent: certs(leafOfExpiredRoot), Roots: certs(expiredRoot)}, false, 2, "expired@-1", true},
		{"expired and missing issuer", PathInput{Sent: certs(expiredLeaf), Roots: certs(root)}, false, 1, "missing-issuer@0 expired@0", true},
		{"sha1", PathInput{Sent: certs(sha1Leaf), Roots: certs(rsaRoot)}, false, 2, "weak-signature@0", true},
		{"sha1 allowed", PathInput{Sent: certs(sha1Leaf), Roots: certs(rsaRoot), Policy: Policy{AllowSHA1: true}}, true, 2, "", true},
		{"short key", PathInput{Sent: certs(shortLeaf), Roots: certs(rsaRoot)}, false, 2, "weak-key@0", true},
		{"short key allowed", PathInput{Sent: certs(shortLeaf), Roots: certs(rsaRoot), Policy: Policy{MinRSABits: 1024}}, true, 2, "", true},
		{"client-only leaf for a server", PathInput{Sent: certs(clientOnly, inter), Roots: certs(root)}, false, 3, "key-usage@0", true},
		{"client-only leaf for a client", PathInput{Sent: certs(clientOnly, inter), Roots: certs(root), KeyUsage: x509.ExtKeyUsageClientAuth}, true, 3, "", true},
		{"misordered", PathInput{Sent: certs(leaf, root, inter), Roots: certs(root)}, true, 3, "misordered@2", false},
		{"extra certificate", PathInput{Sent: certs(leaf, inter, otherInter), Roots: certs(root)}, true, 3, "extra-certs@2", true},
		{"extra certificate between", PathInput{Sent: certs(leaf, otherInter, inter), Roots: certs(root)}, true, 3, "extra-certs@1", false},
		{"duplicate", PathInput{Sent: certs(leaf, inter, inter), Roots: certs(root)}, true, 3, "extra-certs@2", false},
		{"intermediate sent first", PathInput{Sent: certs(inter, leaf), Roots: certs(root)}, true, 2, "misordered@1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			got := VerifyPath(tt.in)
			if got.OK != tt.ok {
				t.Errorf("OK = %v; want %v (problems: %s)", got.OK, tt.ok, kinds(got))
			}
			if len(got.Path) != tt.pathLen {
				t.Errorf("path has %d certificates; want %d", len(got.Path), tt.pathLen)
			}
			if k := kinds(got); k != tt.problems {
				t.Errorf("problems %q; want %q", k, tt.problems)
			}
			if got.SentOrderOK != tt.orderOK {
				t.Errorf("SentOrderOK = %v; want %v", got.SentOrderOK, tt.orderOK)
			}
			if _, err := groundTruth(tt.in); (err == nil) != got.OK && tt.in.Policy == (Policy{}) && !strings.Contains(tt.name, "short key") {
				t.Errorf("OK = %v; crypto/x509 says %v", got.OK, err)
			}
			if got.OK && got.Anchor == nil {
				t.Errorf("OK without an anchor")
			}
			for _, p := range got.Problems {
				if p.Detail == "" || strings.ContainsAny(p.Detail[:1], "abcdefghijklmnopqrstuvwxyz") {
					t.Errorf("problem %s has detail %q; want a sentence", p.Kind, p.Detail)
				}
			}
		})
	}
}

func TestVerifyPathDetails(t *testing.T) {
	now := pkitest.Epoch
	root := pkitest.NewRoot("Root CA")
	inter := root.Issue(pkitest.Options{CommonName: "Intermediate CA", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "backend", IssuingCertificateURL: []string{"http://ca.test/inter.crt"}})

	t.Run("missing issuer", func(t *testing.T) {
		r := VerifyPath(PathInput{Sent: certs(leaf), Roots: certs(root), Now: now})
		p := r.Problems[0]
		if p.MissingIssuer != "CN=Intermediate CA" {
			t.Errorf("MissingIssuer = %q; want %q", p.MissingIssuer, "CN=Intermediate CA")
		}
		if want := hexColons(inter.Cert.SubjectKeyId); p.AKI != want || want == "" {
			t.Errorf("AKI = %q; want %q", p.AKI, want)
		}
		if len(p.AIA) != 1 || p.AIA[0] != "http://ca.test/inter.crt" {
			t.Errorf("AIA = %q; want the leaf's caIssuers URL", p.AIA)
		}
		if p.FoundIn != "" {
			t.Errorf("FoundIn = %q; want empty", p.FoundIn)
		}
		if p.Cert != leaf.Cert {
			t.Errorf("Cert is not the leaf")
		}
		if !strings.Contains(p.Detail, "CN=backend") || !strings.Contains(p.Detail, "http://ca.test/inter.crt") {
			t.Errorf("Detail %q; want the leaf's subject and the AIA URL", p.Detail)
		}
	})
	t.Run("found in intermediates", func(t *testing.T) {
		r := VerifyPath(PathInput{Sent: certs(leaf), Roots: certs(root), Intermediates: certs(inter), Now: now})
		if !r.OK || r.Problems[0].FoundIn != "intermediates" || r.Problems[0].Fatal() {
			t.Errorf("OK = %v, problems %+v; want OK with a non-fatal missing issuer found in intermediates", r.OK, r.Problems)
		}
		if r.Anchor != root.Cert {
			t.Errorf("anchor is not the root")
		}
	})
	t.Run("untrusted root among intermediates", func(t *testing.T) {
		// A leaf issued directly by a private root, sent alone; the client fetched the root
		// (from the leaf's AIA URL) but does not trust it.
		private := pkitest.NewRoot("Private Root CA")
		direct := private.Issue(pkitest.Options{CommonName: "direct", IssuingCertificateURL: []string{"http://ca.test/root.crt"}})
		r := VerifyPath(PathInput{Sent: certs(direct), Roots: certs(root), Intermediates: certs(private), Now: now})
		if r.OK || len(r.Path) != 2 || r.Anchor != nil {
			t.Fatalf("OK = %v, path of %d, anchor %v; want the path to end, unanchored, at the private root", r.OK, len(r.Path), r.Anchor)
		}
		if got, want := kinds(r), "untrusted-root@-1"; got != want {
			t.Fatalf("problems %q; want %q", got, want)
		}
		p := r.Problems[0]
		if p.Cert != private.Cert || p.FoundIn != "intermediates" || !p.Fatal() {
			t.Errorf("problem on %s, FoundIn %q, fatal %v; want the private root, found in intermediates, fatal",
				p.Cert.Subject, p.FoundIn, p.Fatal())
		}
		if !strings.Contains(p.Detail, "CN=Private Root CA") || !strings.Contains(p.Detail, "did not send") {
			t.Errorf("Detail %q; want the root's subject and that the peer did not send it", p.Detail)
		}
	})
	t.Run("untrusted root sent", func(t *testing.T) {
		r := VerifyPath(PathInput{Sent: certs(leaf, inter, root), Roots: certs(pkitest.NewRoot("Elsewhere")), Now: now})
		if p := r.Problems[0]; p.Kind != ProblemUntrustedRoot || p.FoundIn != "" {
			t.Errorf("problem %s with FoundIn %q; want untrusted-root with FoundIn empty", p.Kind, p.FoundIn)
		}
	})
	t.Run("expired since", func(t *testing.T) {
		at := now.Add(400 * 24 * time.Hour)
		r := VerifyPath(PathInput{Sent: certs(leaf, inter), Roots: certs(root), Now: at})
		if r.OK {
			t.Fatal("OK after every certificate expired")
		}
		for _, p := range r.Problems {
			if p.Kind != ProblemExpired {
				t.Errorf("unexpected problem %s", p.Kind)
			}
			if !p.Since.Equal(p.Cert.NotAfter) {
				t.Errorf("Since = %v; want %v", p.Since, p.Cert.NotAfter)
			}
		}
		if len(r.Problems) != 3 {
			t.Errorf("%d problems (%s); want the three certificates expired", len(r.Problems), kinds(r))
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		if r := VerifyPath(PathInput{Roots: certs(root), Now: now}); r.OK || len(r.Problems) != 0 {
			t.Errorf("got %+v; want not OK without problems", r)
		}
	})
}

func TestVerifyPathBounds(t *testing.T) {
	now := pkitest.Epoch
	root := pkitest.NewRoot("Deep Root")
	ca := root
	var chain []*pkitest.Cert
	for i := 0; i < 12; i++ {
		ca = ca.Issue(pkitest.Options{CommonName: fmt.Sprintf("Level %d", i), IsCA: true})
		chain = append([]*pkitest.Cert{ca}, chain...)
	}
	leaf := ca.Issue(pkitest.Options{CommonName: "deep leaf"})
	r := VerifyPath(PathInput{Sent: append(certs(leaf), certs(chain...)...), Roots: certs(root), Now: now})
	if r.OK {
		t.Errorf("OK for a path of %d certificates; want refused", len(chain)+2)
	}
	if len(r.Path) > maxPathLen {
		t.Errorf("path of %d certificates; want at most %d", len(r.Path), maxPathLen)
	}

	many := certs(leaf)
	for i := 0; i < 40; i++ {
		many = append(many, chain[0].Cert)
	}
	r = VerifyPath(PathInput{Sent: many, Roots: certs(root), Now: now})
	if n := len(r.Problems); n > maxSent {
		t.Errorf("%d problems for 41 sent certificates; want at most %d considered", n, maxSent)
	}
}
