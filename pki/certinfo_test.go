package pki

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// TestEdgeCertInfoGolden reproduces the certificate of the Edge management API's example
// (EDGE-API.md, "Cert details response") and checks every field but the version (crypto/x509
// writes only version 3 certificates; the example's is version 1).
func TestEdgeCertInfoGolden(t *testing.T) {
	serial, _ := new(big.Int).SetString("9285f7e53bc53026", 16)
	name := &pkix.Name{
		Country: []string{"US"}, Province: []string{"CA"}, Locality: []string{"San Jose"},
		Organization: []string{"Apigee"}, OrganizationalUnit: []string{"E2E"}, CommonName: "api-ssl.example.com",
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidEmail, Value: "test@test.com"}},
	}
	c := pkitest.NewSelfSigned(pkitest.Options{
		Subject: name, SerialNumber: serial, Key: pkitest.RSA2048,
		SignatureAlgorithm: x509.SHA1WithRSA,
		NotBefore:          time.UnixMilli(1438732707000), NotAfter: time.UnixMilli(1470268707000),
	})
	got := EdgeCertInfo(c.Cert, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	got.Version = 1
	const want = `{
  "basicConstraints": "CA:FALSE",
  "expiryDate": 1470268707000,
  "isValid": "No",
  "issuer": "EMAILADDRESS=test@test.com, CN=api-ssl.example.com, OU=E2E, O=Apigee, L=San Jose, ST=CA, C=US",
  "publicKey": "RSA Public Key, 2048 bits",
  "serialNumber": "00:92:85:f7:e5:3b:c5:30:26",
  "sigAlgName": "SHA1withRSA",
  "subject": "EMAILADDRESS=test@test.com, CN=api-ssl.example.com, OU=E2E, O=Apigee, L=San Jose, ST=CA, C=US",
  "subjectAlternativeNames": [],
  "validFrom": 1438732707000,
  "version": 1
}`
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}

func TestEdgeCertInfoFields(t *testing.T) {
	root := pkitest.NewRoot("Info Root")
	ec := root.Issue(pkitest.Options{CommonName: "ec.test", DNSNames: []string{"ec.test", "*.ec.test"}})
	now := pkitest.Epoch
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ec key", EdgeCertInfo(ec.Cert, now).PublicKey, "EC Public Key, 256 bits"},
		{"ec signature", EdgeCertInfo(ec.Cert, now).SigAlgName, "SHA256withECDSA"},
		{"ca", EdgeCertInfo(root.Cert, now).BasicConstraints, "CA:TRUE"},
		{"valid", EdgeCertInfo(ec.Cert, now).IsValid, "Yes"},
		{"expired", EdgeCertInfo(ec.Cert, now.AddDate(2, 0, 0)).IsValid, "No"},
		{"sans", strings.Join(EdgeCertInfo(ec.Cert, now).SubjectAlternativeNames, ","), "ec.test,*.ec.test"},
		{"version", string(rune('0' + EdgeCertInfo(ec.Cert, now).Version)), "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q; want %q", tt.got, tt.want)
			}
		})
	}
}

// TestJavaNameAgainstKeytool compares JavaName with the Owner line keytool prints.
func TestJavaNameAgainstKeytool(t *testing.T) {
	needKeytool(t)
	names := []*pkix.Name{
		{CommonName: "plain.example.com", Organization: []string{"Acme"}, Country: []string{"US"}},
		{CommonName: "a, b", Organization: []string{"Quote \"Inc\""}, OrganizationalUnit: []string{"x+y", " lead"}},
		{CommonName: "two  spaces", Locality: []string{"back\\slash"}, Province: []string{"Région"}},
		{SerialNumber: "1234", StreetAddress: []string{"1 Main St"}, CommonName: "s",
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidEmail, Value: "ops@example.com"}, {Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: "odd"}}},
	}
	dir := t.TempDir()
	for i, n := range names {
		c := pkitest.NewSelfSigned(pkitest.Options{Subject: n})
		path := write(t, dir, "c.pem", c.CertPEM())
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, "keytool", "-J-Duser.language=en", "-printcert", "-file", path).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("keytool: %v\n%s", err, out)
		}
		owner, serial := "", ""
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "Owner: "); ok {
				owner = v
			}
			if v, ok := strings.CutPrefix(line, "Serial number: "); ok {
				serial = v
			}
		}
		if got := JavaName(c.Cert.RawSubject); got != owner {
			t.Errorf("name %d: got %q; keytool says %q", i, got, owner)
		}
		if want := strings.ReplaceAll(javaSerial(c.Cert), ":", ""); strings.TrimLeft(want, "0") != strings.TrimLeft(serial, "0") {
			t.Errorf("serial %d: got %q; keytool says %q", i, want, serial)
		}
	}
}
