package pkitest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"
)

func TestChainVerifies(t *testing.T) {
	root := NewRoot("Root")
	inter := root.Issue(Options{CommonName: "Inter", IsCA: true})
	leaf := inter.Issue(Options{CommonName: "leaf", DNSNames: []string{"a.test"}})
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	inters := x509.NewCertPool()
	inters.AddCert(inter.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: "a.test"}); err != nil {
		t.Fatalf("healthy chain: %v", err)
	}
	if got := len(leaf.Chain()); got != 2 {
		t.Errorf("Chain() has %d certificates; want 2", got)
	}
	if leaf.Root() != root {
		t.Errorf("Root() is not the root")
	}
}

func TestDefects(t *testing.T) {
	root := NewRoot("Root")
	other := NewRoot("Other")
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	tests := []struct {
		name string
		opts Options
		want any
	}{
		{"expired", Options{CommonName: "x", NotBefore: Epoch.Add(-48 * time.Hour), NotAfter: Epoch.Add(-24 * time.Hour)}, x509.CertificateInvalidError{}},
		{"forged issuer", Options{CommonName: "x", ForgeIssuerName: &pkix.Name{CommonName: "Elsewhere"}}, x509.UnknownAuthorityError{}},
		{"wrong key", Options{CommonName: "x", SignWith: other.Key}, x509.UnknownAuthorityError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := root.Issue(tt.opts)
			_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots})
			switch tt.want.(type) {
			case x509.CertificateInvalidError:
				var e x509.CertificateInvalidError
				if !errors.As(err, &e) {
					t.Fatalf("got %v; want CertificateInvalidError", err)
				}
			case x509.UnknownAuthorityError:
				var e x509.UnknownAuthorityError
				if !errors.As(err, &e) {
					t.Fatalf("got %v; want UnknownAuthorityError", err)
				}
			}
		})
	}
}

func TestSHA1AndShortKey(t *testing.T) {
	root := NewSelfSigned(Options{CommonName: "RSA Root", IsCA: true, Key: RSA2048})
	leaf := root.Issue(Options{CommonName: "old", SignatureAlgorithm: x509.SHA1WithRSA})
	if leaf.Cert.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Fatalf("signature algorithm %v; want SHA1WithRSA", leaf.Cert.SignatureAlgorithm)
	}
	short := root.Issue(Options{CommonName: "short", Key: RSA1024})
	if n := short.Key.Public(); n == nil {
		t.Fatal("no key")
	}
}
