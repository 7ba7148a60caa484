package tlswire

import (
	"strings"
	"testing"
)

func TestSuiteRegistry(t *testing.T) {
	all := Suites()
	if got := len(all); got < 340 {
		t.Fatalf("len(Suites()) = %d; want at least 340", got)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID >= all[i].ID {
			t.Errorf("Suites() not sorted: 0x%04X before 0x%04X", all[i-1].ID, all[i].ID)
		}
	}
	for _, s := range all {
		if s.Signalling {
			continue
		}
		if !strings.HasPrefix(s.Name, "TLS_") {
			t.Errorf("suite 0x%04X: name %q lacks TLS_ prefix", s.ID, s.Name)
		}
		if s.MinVersion > s.MaxVersion || s.MinVersion < VersionSSL30 || s.MaxVersion > VersionTLS13 {
			t.Errorf("%s: versions %s..%s", s.Name, VersionName(s.MinVersion), VersionName(s.MaxVersion))
		}
		if s.KeyExchange == KxNone || s.Auth == AuthNone || s.Cipher == "" || s.MAC == "" {
			t.Errorf("%s: incomplete entry %+v", s.Name, s)
		}
	}
}

func TestSuiteByID(t *testing.T) {
	tests := []struct {
		id                  uint16
		name, openssl       string
		kx                  KeyExchange
		auth                Authentication
		minVersion, maxVers uint16
		export, signalling  bool
	}{
		{0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", KxECDHE, AuthRSA, VersionTLS12, VersionTLS12, false, false},
		{0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", KxAny, AuthAny, VersionTLS13, VersionTLS13, false, false},
		{0x1305, "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", KxAny, AuthAny, VersionTLS13, VersionTLS13, false, false},
		{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", KxRSA, AuthRSA, VersionSSL30, VersionTLS12, false, false},
		{0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", KxRSA, AuthRSA, VersionSSL30, VersionTLS12, false, false},
		{0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "DHE-RSA-DES-CBC3-SHA", KxDHE, AuthRSA, VersionSSL30, VersionTLS12, false, false},
		{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5", KxRSA, AuthRSA, VersionSSL30, VersionTLS12, true, false},
		{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", "ADH-AES128-SHA", KxDHE, AuthAnon, VersionSSL30, VersionTLS12, false, false},
		{0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "AECDH-AES128-SHA", KxECDHE, AuthAnon, VersionSSL30, VersionTLS12, false, false},
		{0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", "PSK-AES128-CBC-SHA", KxPSK, AuthPSK, VersionSSL30, VersionTLS12, false, false},
		{0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256", "PSK-AES128-CBC-SHA256", KxPSK, AuthPSK, VersionTLS10, VersionTLS12, false, false},
		{0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA", "SRP-RSA-AES-128-CBC-SHA", KxSRP, AuthRSA, VersionSSL30, VersionTLS12, false, false},
		{0xC050, "TLS_RSA_WITH_ARIA_128_GCM_SHA256", "ARIA128-GCM-SHA256", KxRSA, AuthRSA, VersionTLS12, VersionTLS12, false, false},
		{0xC03C, "TLS_RSA_WITH_ARIA_128_CBC_SHA256", "", KxRSA, AuthRSA, VersionTLS12, VersionTLS12, false, false},
		{0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA128-SHA", KxRSA, AuthRSA, VersionSSL30, VersionTLS12, false, false},
		{0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ECDHE-ECDSA-AES128-CCM", KxECDHE, AuthECDSA, VersionTLS12, VersionTLS12, false, false},
		{0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", KxECDHE, AuthECDSA, VersionTLS12, VersionTLS12, false, false},
		{0xC100, "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC", "GOST2012-KUZNYECHIK-KUZNYECHIKOMAC", KxGOST, AuthGOST, VersionTLS12, VersionTLS12, false, false},
		{0xC0B0, "TLS_ECCPWD_WITH_AES_128_GCM_SHA256", "", KxECCPWD, AuthECCPWD, VersionTLS12, VersionTLS13, false, false},
		{0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", "", KxNone, AuthNone, VersionSSL30, VersionTLS13, false, true},
		{0x5600, "TLS_FALLBACK_SCSV", "", KxNone, AuthNone, VersionSSL30, VersionTLS13, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := SuiteByID(tt.id)
			if !ok {
				t.Fatalf("SuiteByID(0x%04X) not found", tt.id)
			}
			if s.Name != tt.name || s.OpenSSLName != tt.openssl {
				t.Errorf("names = %q, %q; want %q, %q", s.Name, s.OpenSSLName, tt.name, tt.openssl)
			}
			if s.KeyExchange != tt.kx || s.Auth != tt.auth {
				t.Errorf("kx, auth = %q, %q; want %q, %q", s.KeyExchange, s.Auth, tt.kx, tt.auth)
			}
			if s.MinVersion != tt.minVersion || s.MaxVersion != tt.maxVers {
				t.Errorf("versions = %s..%s; want %s..%s", VersionName(s.MinVersion), VersionName(s.MaxVersion), VersionName(tt.minVersion), VersionName(tt.maxVers))
			}
			if s.Export != tt.export || s.Signalling != tt.signalling {
				t.Errorf("export, signalling = %v, %v; want %v, %v", s.Export, s.Signalling, tt.export, tt.signalling)
			}
		})
	}
}

func TestSuiteByName(t *testing.T) {
	tests := []struct {
		name string
		want uint16
	}{
		{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F},
		{"tls_ecdhe_rsa_with_aes_128_gcm_sha256", 0xC02F},
		{"ECDHE-RSA-AES128-GCM-SHA256", 0xC02F},
		{"ecdhe-rsa-aes128-gcm-sha256", 0xC02F},
		{" AES128-SHA ", 0x002F},
		{"TLS_AES_256_GCM_SHA384", 0x1302},
		{"SSL_RSA_WITH_3DES_EDE_CBC_SHA", 0x000A},
		{"SSL_RSA_EXPORT_WITH_RC4_40_MD5", 0x0003},
		{"EDH-RSA-DES-CBC3-SHA", 0x0016},
		{"DHE-RSA-DES-CBC3-SHA", 0x0016},
		{"TLS_PSK_DHE_WITH_AES_128_CCM_8", 0xC0AA},
		{"TLS_DHE_PSK_WITH_AES_128_CCM_8", 0xC0AA},
		{"TLS_FALLBACK_SCSV", 0x5600},
	}
	for _, tt := range tests {
		s, ok := SuiteByName(tt.name)
		if !ok || s.ID != tt.want {
			t.Errorf("SuiteByName(%q) = 0x%04X, %v; want 0x%04X, true", tt.name, s.ID, ok, tt.want)
		}
	}
	for _, name := range []string{"", "RC4", "TLS_NOT_A_SUITE", "ECDHE-RSA-AES128-GCM-SHA999"} {
		if s, ok := SuiteByName(name); ok {
			t.Errorf("SuiteByName(%q) = %s; want not found", name, s.Name)
		}
	}
}

func TestSuiteNamesUnique(t *testing.T) {
	seen := make(map[string]uint16)
	for _, s := range Suites() {
		for _, n := range []string{s.Name, s.OpenSSLName} {
			if n == "" {
				continue
			}
			key := strings.ToUpper(n)
			if id, dup := seen[key]; dup && id != s.ID {
				t.Errorf("name %q used by 0x%04X and 0x%04X", n, id, s.ID)
			}
			seen[key] = s.ID
		}
		if got, ok := SuiteByName(s.Name); !ok || got.ID != s.ID {
			t.Errorf("SuiteByName(%q) = 0x%04X, %v; want 0x%04X", s.Name, got.ID, ok, s.ID)
		}
	}
}

func TestSuitesFor(t *testing.T) {
	tests := []struct {
		version       uint16
		has, hasNot   []uint16
		atLeast, most int
	}{
		{VersionTLS13, []uint16{0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0xC0B0}, []uint16{0xC02F, 0x002F, 0x00FF, 0x5600}, 5, 20},
		{VersionTLS12, []uint16{0xC02F, 0x002F, 0x000A, 0xCCA8, 0x00AE}, []uint16{0x1301, 0x00FF}, 300, 340},
		{VersionTLS10, []uint16{0x002F, 0x000A, 0x0003, 0x00AE}, []uint16{0xC02F, 0x003C, 0x1301}, 100, 160},
		{VersionSSL30, []uint16{0x002F, 0x0004, 0xC013}, []uint16{0x00AE, 0xC02F, 0x1301}, 100, 140},
	}
	for _, tt := range tests {
		t.Run(VersionName(tt.version), func(t *testing.T) {
			got := SuitesFor(tt.version)
			if len(got) < tt.atLeast || len(got) > tt.most {
				t.Errorf("len(SuitesFor) = %d; want %d to %d", len(got), tt.atLeast, tt.most)
			}
			ids := make(map[uint16]bool)
			for _, s := range got {
				ids[s.ID] = true
			}
			for _, id := range tt.has {
				if !ids[id] {
					t.Errorf("SuitesFor lacks %s", SuiteName(id))
				}
			}
			for _, id := range tt.hasNot {
				if ids[id] {
					t.Errorf("SuitesFor has %s", SuiteName(id))
				}
			}
		})
	}
	if got := SuitesFor(VersionTLS13); len(got) != len(SuiteIDs(got)) {
		t.Errorf("SuiteIDs lost entries")
	}
}

func TestSuiteName(t *testing.T) {
	for id, want := range map[uint16]string{
		0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		0x0A0A: "GREASE(0x0A0A)",
		0x0060: "0x0060",
	} {
		if got := SuiteName(id); got != want {
			t.Errorf("SuiteName(0x%04X) = %q; want %q", id, got, want)
		}
	}
}

func TestForwardSecret(t *testing.T) {
	for id, want := range map[uint16]bool{0xC02F: true, 0x009E: true, 0x1301: true, 0x002F: false, 0xC031: false, 0x00A8: false} {
		s, _ := SuiteByID(id)
		if got := s.ForwardSecret(); got != want {
			t.Errorf("%s.ForwardSecret() = %v; want %v", s.Name, got, want)
		}
	}
}
