package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// CertInfo is Apigee Edge's certInfo view of a certificate, as its management API returns
// it, with the renderings of Java's certificate classes.
type CertInfo struct {
	BasicConstraints        string   `json:"basicConstraints"` // "CA:TRUE" or "CA:FALSE"
	ExpiryDate              int64    `json:"expiryDate"`       // notAfter, milliseconds since the epoch
	IsValid                 string   `json:"isValid"`          // "Yes" or "No" at the time asked
	Issuer                  string   `json:"issuer"`           // as X500Principal.toString()
	PublicKey               string   `json:"publicKey"`        // "RSA Public Key, 2048 bits"
	SerialNumber            string   `json:"serialNumber"`     // "00:92:85:f7:..."
	SigAlgName              string   `json:"sigAlgName"`       // "SHA256withRSA"
	Subject                 string   `json:"subject"`
	SubjectAlternativeNames []string `json:"subjectAlternativeNames"`
	ValidFrom               int64    `json:"validFrom"` // notBefore, milliseconds since the epoch
	Version                 int      `json:"version"`
}

// EdgeCertInfo returns the certInfo view of c, judging validity at now.
func EdgeCertInfo(c *x509.Certificate, now time.Time) CertInfo {
	ci := CertInfo{
		BasicConstraints:        "CA:FALSE",
		ExpiryDate:              c.NotAfter.UnixMilli(),
		IsValid:                 "No",
		Issuer:                  JavaName(c.RawIssuer),
		PublicKey:               javaPublicKey(c),
		SerialNumber:            javaSerial(c),
		SigAlgName:              JavaSigAlgName(c),
		Subject:                 JavaName(c.RawSubject),
		SubjectAlternativeNames: []string{},
		ValidFrom:               c.NotBefore.UnixMilli(),
		Version:                 c.Version,
	}
	if c.IsCA {
		ci.BasicConstraints = "CA:TRUE"
	}
	if !now.Before(c.NotBefore) && !now.After(c.NotAfter) {
		ci.IsValid = "Yes"
	}
	ci.SubjectAlternativeNames = append(ci.SubjectAlternativeNames, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		ci.SubjectAlternativeNames = append(ci.SubjectAlternativeNames, ip.String())
	}
	ci.SubjectAlternativeNames = append(ci.SubjectAlternativeNames, c.EmailAddresses...)
	for _, u := range c.URIs {
		ci.SubjectAlternativeNames = append(ci.SubjectAlternativeNames, u.String())
	}
	return ci
}

// javaPublicKey renders the key as Edge does: "RSA Public Key, 2048 bits".
func javaPublicKey(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA Public Key, %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("EC Public Key, %d bits", k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		return "EdDSA Public Key, 255 bits"
	}
	return c.PublicKeyAlgorithm.String() + " Public Key"
}

// javaSerial renders the serial number as the bytes of Java's BigInteger.toByteArray(),
// lower-case hex joined by colons: a positive number whose top bit is set gets a leading 00.
func javaSerial(c *x509.Certificate) string {
	n := c.SerialNumber
	var b []byte
	if n.Sign() >= 0 {
		b = n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
	} else if der, err := asn1.Marshal(n); err == nil {
		var raw asn1.RawValue
		if _, err := asn1.Unmarshal(der, &raw); err == nil {
			b = raw.Bytes
		}
	}
	return hexColons(b)
}

var javaSigNames = map[x509.SignatureAlgorithm]string{
	x509.MD2WithRSA:       "MD2withRSA",
	x509.MD5WithRSA:       "MD5withRSA",
	x509.SHA1WithRSA:      "SHA1withRSA",
	x509.SHA256WithRSA:    "SHA256withRSA",
	x509.SHA384WithRSA:    "SHA384withRSA",
	x509.SHA512WithRSA:    "SHA512withRSA",
	x509.DSAWithSHA1:      "SHA1withDSA",
	x509.DSAWithSHA256:    "SHA256withDSA",
	x509.ECDSAWithSHA1:    "SHA1withECDSA",
	x509.ECDSAWithSHA256:  "SHA256withECDSA",
	x509.ECDSAWithSHA384:  "SHA384withECDSA",
	x509.ECDSAWithSHA512:  "SHA512withECDSA",
	x509.SHA256WithRSAPSS: "RSASSA-PSS",
	x509.SHA384WithRSAPSS: "RSASSA-PSS",
	x509.SHA512WithRSAPSS: "RSASSA-PSS",
	x509.PureEd25519:      "Ed25519",
}

// JavaSigAlgName returns the signature algorithm's name as Java's
// X509Certificate.getSigAlgName() does ("SHA256withRSA", "SHA256withECDSA").
func JavaSigAlgName(c *x509.Certificate) string {
	if s, ok := javaSigNames[c.SignatureAlgorithm]; ok {
		return s
	}
	return c.SignatureAlgorithm.String()
}

// javaKeywords are the attribute names Java's X500Principal.toString() prints.
var javaKeywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "T",
	"1.3.6.1.4.1.42.2.11.2.1":    "IP",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"2.5.4.46":                   "DNQ",
	"2.5.4.4":                    "SURNAME",
	"2.5.4.42":                   "GIVENNAME",
	"2.5.4.43":                   "INITIALS",
	"2.5.4.44":                   "GENERATION",
	"1.2.840.113549.1.9.1":       "EMAILADDRESS",
	"0.9.2342.19200300.100.1.1":  "UID",
	"2.5.4.5":                    "SERIALNUMBER",
}

type atv struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// JavaName renders a DER-encoded X.500 name as Java's X500Principal.toString() does:
// most specific first ("CN=api, O=Acme, C=US"), multi-valued RDNs joined by " + ",
// unknown attributes as "OID.1.2.3", values quoted when they hold special characters and
// non-string values as "#" and upper-case hex.
func JavaName(der []byte) string {
	var rdns []asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return ""
	}
	parts := make([]string, 0, len(rdns))
	for i := len(rdns) - 1; i >= 0; i-- {
		var atvs []atv
		if _, err := asn1.UnmarshalWithParams(rdns[i].FullBytes, &atvs, "set"); err != nil {
			continue
		}
		var vals []string
		for _, a := range atvs {
			kw, ok := javaKeywords[a.Type.String()]
			if !ok {
				kw = "OID." + a.Type.String()
			}
			vals = append(vals, kw+"="+javaValue(a.Value))
		}
		parts = append(parts, strings.Join(vals, " + "))
	}
	return strings.Join(parts, ", ")
}

// javaValue renders one attribute value as Java's AVA.toString().
func javaValue(v asn1.RawValue) string {
	if v.Class != asn1.ClassUniversal {
		return "#" + strings.ToUpper(hex.EncodeToString(v.FullBytes))
	}
	var s string
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagIA5String, asn1.TagUTF8String, asn1.TagGeneralString:
		s = string(v.Bytes)
	case asn1.TagT61String:
		r := make([]rune, len(v.Bytes))
		for i, b := range v.Bytes {
			r[i] = rune(b)
		}
		s = string(r)
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "#" + strings.ToUpper(hex.EncodeToString(v.FullBytes))
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		s = string(utf16.Decode(u))
	default:
		return "#" + strings.ToUpper(hex.EncodeToString(v.FullBytes))
	}
	return javaQuote(s)
}

// javaQuote applies Java's RFC 1779 quoting: the whole value is quoted when it holds one of
// ,+=\n<>#;\" or leading, trailing or repeated white space; " and \ are escaped.
func javaQuote(s string) string {
	const escapees = ",+=\n<>#;\\\""
	if len(s) > 1 && s[0] == '"' && s[len(s)-1] == '"' {
		return s
	}
	var b strings.Builder
	quote, prevWhite := false, false
	for i, c := range s {
		if strings.ContainsRune(escapees, c) {
			quote = true
		}
		if c == ' ' || c == '\n' {
			if i == 0 || prevWhite {
				quote = true
			}
			prevWhite = true
		} else {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			prevWhite = false
		}
		b.WriteRune(c)
	}
	out := b.String()
	if strings.HasSuffix(out, " ") || strings.HasSuffix(out, "\n") {
		quote = true
	}
	if quote {
		return `"` + out + `"`
	}
	return out
}
