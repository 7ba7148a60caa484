package tlswire

import "testing"

func TestVersionName(t *testing.T) {
	tests := []struct {
		v    uint16
		want string
	}{
		{VersionSSL30, "SSLv3"},
		{VersionTLS10, "TLSv1.0"},
		{VersionTLS11, "TLSv1.1"},
		{VersionTLS12, "TLSv1.2"},
		{VersionTLS13, "TLSv1.3"},
		{VersionSSL20, "SSLv2"},
		{0x7f1c, "0x7f1c"},
		{0, "0x0000"},
	}
	for _, tt := range tests {
		if got := VersionName(tt.v); got != tt.want {
			t.Errorf("VersionName(0x%04x) = %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"TLSv1.2", VersionTLS12}, {"TLS1.2", VersionTLS12}, {"tls1_2", VersionTLS12},
		{"1.2", VersionTLS12}, {"TLS 1.2", VersionTLS12}, {"tlsv1.2", VersionTLS12},
		{"TLSv1.3", VersionTLS13}, {"tls1_3", VersionTLS13}, {"1.3", VersionTLS13},
		{"TLSv1.1", VersionTLS11}, {"tls1_1", VersionTLS11},
		{"TLSv1", VersionTLS10}, {"TLSv1.0", VersionTLS10}, {"tls1", VersionTLS10}, {"1.0", VersionTLS10},
		{"SSLv3", VersionSSL30}, {"SSL3", VersionSSL30}, {"ssl3.0", VersionSSL30}, {"sslv3", VersionSSL30},
		{"SSLv2", VersionSSL20}, {"0x0303", VersionTLS12}, {" TLSv1.2 ", VersionTLS12},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseVersion(%q) = 0x%04x, %v; want 0x%04x", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "TLS", "TLSv1.4", "3.0", "SSLv4", "0xZZ", "0x10000", "tls2", "SSLv2Hello"} {
		if got, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = 0x%04x; want an error", in, got)
		}
	}
	for _, v := range Versions() {
		if got, err := ParseVersion(VersionName(v)); err != nil || got != v {
			t.Errorf("ParseVersion(VersionName(0x%04x)) = 0x%04x, %v", v, got, err)
		}
	}
}

func TestIsGREASE(t *testing.T) {
	for _, v := range []uint16{0x0A0A, 0x1A1A, 0x2A2A, 0xAAAA, 0xDADA, 0xFAFA} {
		if !IsGREASE(v) {
			t.Errorf("IsGREASE(0x%04X) = false; want true", v)
		}
	}
	for _, v := range []uint16{0x0A1A, 0x0303, 0x1301, 0x0A0B, 0xABAB} {
		if IsGREASE(v) {
			t.Errorf("IsGREASE(0x%04X) = true; want false", v)
		}
	}
}
