package tlswire

import (
	"fmt"
	"strconv"
	"strings"
)

// Protocol versions as they appear on the wire (RFC 8446 §4.2.1, RFC 6101
// §5.6.1.2). VersionSSL20 is the value an SSLv2 CLIENT-HELLO carries.
const (
	VersionSSL20 uint16 = 0x0002
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// Versions lists the versions from SSL 3.0 to TLS 1.3, oldest first.
func Versions() []uint16 {
	return []uint16{VersionSSL30, VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13}
}

// VersionName returns "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2" or
// "TLSv1.3" (and "SSLv2"), the names tlsgate reports, or "0x%04x" for any
// other value.
func VersionName(v uint16) string {
	switch v {
	case VersionSSL20:
		return "SSLv2"
	case VersionSSL30:
		return "SSLv3"
	case VersionTLS10:
		return "TLSv1.0"
	case VersionTLS11:
		return "TLSv1.1"
	case VersionTLS12:
		return "TLSv1.2"
	case VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// ParseVersion reads a protocol version in any of the spellings people and
// tools use: "TLSv1.2", "TLS1.2", "tls1_2" (OpenSSL's flags), "TLS 1.2",
// "1.2", "TLSv1" (Java's name for 1.0), "SSLv3", "SSL3", or "0x0303".
// Letter case does not matter.
func ParseVersion(s string) (uint16, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(" ", "", "_", ".", "-", ".").Replace(s)
	if hex, ok := strings.CutPrefix(s, "0x"); ok {
		v, err := strconv.ParseUint(hex, 16, 16)
		if err != nil {
			return 0, fmt.Errorf("parsing TLS version %q: not a 16-bit hex value", orig)
		}
		return uint16(v), nil
	}
	var ssl bool
	switch {
	case strings.HasPrefix(s, "sslv"):
		s, ssl = s[4:], true
	case strings.HasPrefix(s, "ssl"):
		s, ssl = s[3:], true
	case strings.HasPrefix(s, "tlsv"):
		s = s[4:]
	case strings.HasPrefix(s, "tls"):
		s = s[3:]
	}
	if ssl {
		switch s {
		case "3", "3.0":
			return VersionSSL30, nil
		case "2", "2.0":
			return VersionSSL20, nil
		}
	} else {
		switch s {
		case "1", "1.0":
			return VersionTLS10, nil
		case "1.1":
			return VersionTLS11, nil
		case "1.2":
			return VersionTLS12, nil
		case "1.3":
			return VersionTLS13, nil
		}
	}
	return 0, fmt.Errorf("parsing TLS version %q: want one of SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3", orig)
}

// IsGREASE reports whether v is one of the reserved values of RFC 8701
// (0x0A0A, 0x1A1A, ..., 0xFAFA) that clients send to keep servers tolerant
// of unknown values, in suites, groups, versions and extension types alike.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// unknownName names a 16-bit value that a registry does not assign.
func unknownName(v uint16) string {
	if IsGREASE(v) {
		return fmt.Sprintf("GREASE(0x%04X)", v)
	}
	return fmt.Sprintf("0x%04X", v)
}
