package probe

import (
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
