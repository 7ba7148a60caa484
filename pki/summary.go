package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"time"
)

// Summary is the JSON-friendly view of a certificate used in reports.
type Summary struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	Serial             string    `json:"serial"`
	NotBefore          time.Time `json:"notBefore"`
	NotAfter           time.Time `json:"notAfter"`
	DNSNames           []string  `json:"dnsNames,omitempty"`
	IPAddresses        []string  `json:"ipAddresses,omitempty"`
	IsCA               bool      `json:"isCA"`
	SelfSigned         bool      `json:"selfSigned"`
	PublicKey          string    `json:"publicKey"`
	SignatureAlgorithm string    `json:"signatureAlgorithm"`
	SHA256             string    `json:"sha256"`
	AIAIssuers         []string  `json:"aiaIssuers,omitempty"`
}

// Summarize returns the report view of c.
func Summarize(c *x509.Certificate) Summary {
	s := Summary{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		Serial:             SerialHex(c),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		DNSNames:           c.DNSNames,
		IsCA:               c.IsCA,
		SelfSigned:         IsSelfSigned(c),
		PublicKey:          KeyDescription(c),
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		SHA256:             Fingerprint(c),
		AIAIssuers:         c.IssuingCertificateURL,
	}
	for _, ip := range c.IPAddresses {
		s.IPAddresses = append(s.IPAddresses, ip.String())
	}
	return s
}

// Summarize all returns the report view of each certificate.
func SummarizeAll(certs []*x509.Certificate) []Summary {
	out := make([]Summary, 0, len(certs))
	for _, c := range certs {
		out = append(out, Summarize(c))
	}
	return out
}

// Fingerprint returns the SHA-256 fingerprint of c as colon-free lower-case hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// SerialHex returns c's serial number as colon-separated hex bytes, as keytool and Edge show it.
func SerialHex(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	out := make([]byte, 0, len(b)*3)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex.EncodeToString([]byte{x})...)
	}
	return string(out)
}

// IsSelfSigned reports whether c names itself as issuer and its signature verifies with its
// own key.
func IsSelfSigned(c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(c.RawSubject) {
		return false
	}
	return c.CheckSignatureFrom(c) == nil || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// KeyDescription describes c's public key ("RSA 2048 bits", "ECDSA P-256", "Ed25519").
func KeyDescription(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	default:
		return c.PublicKeyAlgorithm.String()
	}
}

// DistinguishedName renders a DER-encoded X.501 name as crypto/x509 renders a
// certificate's subject, so it compares equal to Summary.Subject and Summary.Issuer; a name
// that does not decode is shown in hex.
func DistinguishedName(der []byte) string {
	var rdn pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &rdn)
	if err != nil || len(rest) > 0 {
		return fmt.Sprintf("<undecodable name %x>", der)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}
