package pki

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// fuzzSeeds returns certificates and stores in every format the readers take.
func fuzzSeeds(f *testing.F) (pemData, der, p12, p12trust, jks []byte) {
	f.Helper()
	root := pkitest.NewRoot("Fuzz Root")
	leaf := root.Issue(pkitest.Options{CommonName: "fuzz", DNSNames: []string{"fuzz.test"}})
	pemData = append(leaf.CertPEM(), root.CertPEM()...)
	der = leaf.Cert.Raw
	var err error
	p12, err = pkcs12.Modern2023.Encode(leaf.Key, leaf.Cert, []*x509.Certificate{root.Cert}, "changeit")
	if err != nil {
		f.Fatal(err)
	}
	p12trust, err = pkcs12.Modern2023.EncodeTrustStore([]*x509.Certificate{root.Cert}, "changeit")
	if err != nil {
		f.Fatal(err)
	}
	ks := keystore.New(keystore.WithOrderedAliases())
	if err := ks.SetTrustedCertificateEntry("root", keystore.TrustedCertificateEntry{
		CreationTime: time.Unix(1700000000, 0),
		Certificate:  keystore.Certificate{Type: "X509", Content: root.Cert.Raw},
	}); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, []byte("changeit")); err != nil {
		f.Fatal(err)
	}
	return pemData, der, p12, p12trust, buf.Bytes()
}

func FuzzParseCertificates(f *testing.F) {
	pemData, der, _, _, _ := fuzzSeeds(f)
	f.Add(pemData)
	f.Add(der)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		_ = DetectFormat(data)
	})
}

func FuzzReadPKCS12(f *testing.F) {
	_, _, p12, p12trust, _ := fuzzSeeds(f)
	f.Add(p12, "changeit")
	f.Add(p12trust, "changeit")
	f.Add(p12, "wrong")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		_, _ = readPKCS12(data, password, "", false)
		_, _ = readPKCS12(data, password, "", true)
	})
}

func FuzzParseJKS(f *testing.F) {
	_, _, _, _, jks := fuzzSeeds(f)
	f.Add(jks, "changeit")
	f.Add(jks, "")
	f.Add(jks, "wrong")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		_, _ = parseJKS(data, password)
		_, _ = jksCertificates(data, password)
		_, _, _, _ = jksKeyEntry(data, password, "")
	})
}

// FuzzVerifyPath feeds arbitrary DER as the chain a peer sent.
func FuzzVerifyPath(f *testing.F) {
	root := pkitest.NewRoot("Fuzz Root")
	inter := root.Issue(pkitest.Options{CommonName: "Fuzz Inter", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "fuzz", DNSNames: []string{"fuzz.test"}})
	f.Add(leaf.Cert.Raw, inter.Cert.Raw)
	f.Add(leaf.Cert.Raw, []byte{})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var sent []*x509.Certificate
		for _, d := range [][]byte{a, b} {
			if c, err := x509.ParseCertificate(d); err == nil {
				sent = append(sent, c)
			}
		}
		if len(sent) == 0 {
			return
		}
		r := VerifyPath(PathInput{Sent: sent, Roots: []*x509.Certificate{root.Cert}, Now: pkitest.Epoch})
		if r.OK && len(r.Problems) > 0 {
			for _, p := range r.Problems {
				if p.Fatal() {
					t.Fatalf("OK with a fatal problem: %+v", p)
				}
			}
		}
		_ = MatchHost(sent[0], "fuzz.test")
	})
}
