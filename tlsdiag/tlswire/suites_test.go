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
