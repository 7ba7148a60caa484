package probe

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

// Protocol version names, as reports show them.
var versionNames = map[uint16]string{
	0x0300: "SSLv3",
	0x0301: "TLSv1.0",
	0x0302: "TLSv1.1",
	0x0303: "TLSv1.2",
	0x0304: "TLSv1.3",
}

// allVersions lists the versions the probe knows, oldest first.
var allVersions = []uint16{0x0300, 0x0301, 0x0302, 0x0303, 0x0304}

func versionName(v uint16) string {
	if n, ok := versionNames[v]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", v)
}

// alertNames are the IANA names of TLS alerts (RFC 8446 section 6; RFC 5246 section 7.2).
var alertNames = map[uint8]string{
	0:   "close_notify",
	10:  "unexpected_message",
	20:  "bad_record_mac",
	21:  "decryption_failed",
	22:  "record_overflow",
	30:  "decompression_failure",
	40:  "handshake_failure",
	41:  "no_certificate",
	42:  "bad_certificate",
	43:  "unsupported_certificate",
	44:  "certificate_revoked",
	45:  "certificate_expired",
	46:  "certificate_unknown",
	47:  "illegal_parameter",
	48:  "unknown_ca",
	49:  "access_denied",
	50:  "decode_error",
	51:  "decrypt_error",
	60:  "export_restriction",
	70:  "protocol_version",
	71:  "insufficient_security",
	80:  "internal_error",
	86:  "inappropriate_fallback",
	90:  "user_canceled",
	100: "no_renegotiation",
	109: "missing_extension",
	110: "unsupported_extension",
	111: "certificate_unobtainable",
	112: "unrecognized_name",
	113: "bad_certificate_status_response",
	114: "bad_certificate_hash_value",
	115: "unknown_psk_identity",
	116: "certificate_required",
	120: "no_application_protocol",
	121: "ech_required",
}

func alertName(code uint8) string {
	if n, ok := alertNames[code]; ok {
		return n
	}
	return fmt.Sprintf("alert(%d)", code)
}

// Alert codes the probe reasons about.
const (
	alertHandshakeFailure     uint8 = 40
	alertBadCertificate       uint8 = 42
	alertProtocolVersion      uint8 = 70
	alertInsufficientSecurity uint8 = 71
)

// signatureSchemeNames are the IANA names of TLS signature schemes (RFC 8446 section 4.2.3).
var signatureSchemeNames = map[tls.SignatureScheme]string{
	0x0201: "rsa_pkcs1_sha1",
	0x0203: "ecdsa_sha1",
	0x0401: "rsa_pkcs1_sha256",
	0x0501: "rsa_pkcs1_sha384",
	0x0601: "rsa_pkcs1_sha512",
	0x0403: "ecdsa_secp256r1_sha256",
	0x0503: "ecdsa_secp384r1_sha384",
	0x0603: "ecdsa_secp521r1_sha512",
	0x0804: "rsa_pss_rsae_sha256",
	0x0805: "rsa_pss_rsae_sha384",
	0x0806: "rsa_pss_rsae_sha512",
	0x0807: "ed25519",
	0x0808: "ed448",
	0x0809: "rsa_pss_pss_sha256",
	0x080a: "rsa_pss_pss_sha384",
	0x080b: "rsa_pss_pss_sha512",
}

func signatureSchemeName(s tls.SignatureScheme) string {
	if n, ok := signatureSchemeNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", uint16(s))
}

// suiteName returns the IANA name of a cipher suite Go knows, or its code in hex.
func suiteName(id uint16) string {
	return tls.CipherSuiteName(id)
}

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
