package tlswire

import "testing"

func TestAlertNames(t *testing.T) {
	tests := []struct {
		desc uint8
		name string
	}{
		{AlertCloseNotify, "close_notify"},
		{AlertHandshakeFailure, "handshake_failure"},
		{AlertBadCertificate, "bad_certificate"},
		{AlertUnknownCA, "unknown_ca"},
		{AlertProtocolVersion, "protocol_version"},
		{AlertInappropriateFallback, "inappropriate_fallback"},
		{AlertUnrecognizedName, "unrecognized_name"},
		{AlertUnknownPSKIdentity, "unknown_psk_identity"},
		{AlertCertificateRequired, "certificate_required"},
		{AlertNoApplicationProtocol, "no_application_protocol"},
		{200, "alert(200)"},
	}
	for _, tt := range tests {
		if got := AlertName(tt.desc); got != tt.name {
			t.Errorf("AlertName(%d) = %q; want %q", tt.desc, got, tt.name)
		}
		if tt.desc < 200 {
			if got, ok := AlertByName(tt.name); !ok || got != tt.desc {
				t.Errorf("AlertByName(%q) = %d, %v; want %d", tt.name, got, ok, tt.desc)
			}
		}
	}
	for desc := range alertTable {
		if AlertDescription(desc) == "" {
			t.Errorf("AlertDescription(%d) is empty", desc)
		}
	}
	if got, want := (Alert{AlertLevelFatal, AlertHandshakeFailure}).String(), "fatal handshake_failure (40)"; got != want {
		t.Errorf("Alert.String() = %q; want %q", got, want)
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		id   uint16
		name string
	}{
		{GroupX25519, "x25519"}, {GroupSecp256r1, "secp256r1"}, {GroupSecp384r1, "secp384r1"},
		{GroupSecp521r1, "secp521r1"}, {GroupFFDHE2048, "ffdhe2048"}, {GroupX25519MLKEM768, "X25519MLKEM768"},
		{0x0A0A, "GREASE(0x0A0A)"}, {0x1234, "0x1234"},
	}
	for _, tt := range tests {
		if got := GroupName(tt.id); got != tt.name {
			t.Errorf("GroupName(0x%04X) = %q; want %q", tt.id, got, tt.name)
		}
	}
	for name, want := range map[string]uint16{"X25519": GroupX25519, "P-256": GroupSecp256r1, "prime256v1": GroupSecp256r1, "CurveP384": GroupSecp384r1, "x25519mlkem768": GroupX25519MLKEM768} {
		if got, ok := GroupByName(name); !ok || got != want {
			t.Errorf("GroupByName(%q) = 0x%04X, %v; want 0x%04X", name, got, ok, want)
		}
	}
	for i, g := range NamedGroups()[1:] {
		if prev := NamedGroups()[i]; prev.ID >= g.ID {
			t.Errorf("NamedGroups not sorted at %s", g.Name)
		}
	}
}

func TestSignatureSchemes(t *testing.T) {
	for id, want := range map[uint16]string{
		0x0804: "rsa_pss_rsae_sha256", 0x0403: "ecdsa_secp256r1_sha256", 0x0807: "ed25519",
		0x0201: "rsa_pkcs1_sha1", 0x0402: "dsa_sha256", 0x0101: "rsa_md5", 0xFFFF: "0xFFFF",
	} {
		if got := SignatureSchemeName(id); got != want {
			t.Errorf("SignatureSchemeName(0x%04X) = %q; want %q", id, got, want)
		}
	}
	if got, ok := SignatureSchemeByName("RSA_PSS_RSAE_SHA384"); !ok || got != 0x0805 {
		t.Errorf("SignatureSchemeByName = 0x%04X, %v; want 0x0805", got, ok)
	}
	for _, id := range DefaultSignatureSchemes {
		if SignatureSchemeName(id)[0] == '0' {
			t.Errorf("DefaultSignatureSchemes has unnamed 0x%04X", id)
		}
	}
	for _, id := range DefaultGroups {
		if GroupName(id)[0] == '0' {
			t.Errorf("DefaultGroups has unnamed 0x%04X", id)
		}
	}
	for i, s := range SignatureSchemes()[1:] {
		if prev := SignatureSchemes()[i]; prev.ID >= s.ID {
			t.Errorf("SignatureSchemes not sorted at %s", s.Name)
		}
	}
}

func TestOtherNames(t *testing.T) {
	checks := []struct{ got, want string }{
		{ExtensionName(ExtSupportedVersions), "supported_versions"},
		{ExtensionName(ExtRenegotiationInfo), "renegotiation_info"},
		{ExtensionName(0x4469), "0x4469"},
		{HandshakeTypeName(TypeServerHelloDone), "ServerHelloDone"},
		{HandshakeTypeName(99), "handshake(99)"},
		{ContentTypeName(RecordAlert), "alert"},
		{ContentTypeName(72), "content(72)"},
		{CertificateTypeName(64), "ecdsa_sign"},
		{CertificateTypeName(9), "certificate_type(9)"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q; want %q", c.got, c.want)
		}
	}
}
