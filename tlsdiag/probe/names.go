package probe

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// allVersions lists the versions the probe knows, oldest first.
var allVersions = []uint16{tlswire.VersionSSL30, tlswire.VersionTLS10, tlswire.VersionTLS11, tlswire.VersionTLS12, tlswire.VersionTLS13}

// versionName returns "SSLv3" ... "TLSv1.3", as reports show versions.
func versionName(v uint16) string { return tlswire.VersionName(v) }

// alertName returns the IANA name of an alert, e.g. "bad_certificate".
func alertName(code uint8) string { return tlswire.AlertName(code) }

// alertBadCertificate is the alert crypto/tls sends when the server's chain fails
// verification.
const alertBadCertificate = tlswire.AlertBadCertificate

// signatureSchemeName returns the IANA name of a signature scheme.
func signatureSchemeName(s uint16) string { return tlswire.SignatureSchemeName(s) }

// suiteName returns the IANA name of a cipher suite.
func suiteName(id uint16) string { return tlswire.SuiteName(id) }

// distinguishedName renders a DER-encoded X.501 Name the way crypto/x509 renders a
// certificate's subject, so that it compares equal to pki.Summary's Subject and Issuer.
func distinguishedName(der []byte) string {
	var rdn pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &rdn)
	if err != nil || len(rest) > 0 {
		return fmt.Sprintf("<undecodable name %x>", der)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// guessProtocol names the protocol a non-TLS reply most likely belongs to.
func guessProtocol(b []byte) string {
	s := string(b)
	switch {
	case strings.HasPrefix(s, "HTTP/"), strings.HasPrefix(s, "<!DOCTYPE"), strings.HasPrefix(strings.ToLower(s), "<html"):
		return "HTTP"
	case strings.HasPrefix(s, "SSH-"):
		return "SSH"
	case strings.HasPrefix(s, "220"):
		if strings.Contains(strings.ToUpper(s), "FTP") {
			return "FTP"
		}
		return "SMTP"
	case strings.HasPrefix(s, "+OK"):
		return "POP3"
	case strings.HasPrefix(s, "* OK"):
		return "IMAP"
	}
	return "unknown"
}

// printable renders bytes for a report: printable ASCII as is, the rest escaped.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}
