package tlswire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testRand returns a deterministic source of randomness.
func testRand(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// parseHello parses the record that ClientHelloSpec.Marshal returned.
func parseHello(t *testing.T, record []byte) *ClientHello {
	t.Helper()
	hr := NewHandshakeReader(bytes.NewReader(record), 0)
	msg, rec, err := hr.Next()
	if err != nil || rec != nil {
		t.Fatalf("reading the hello record: %v, %v", rec, err)
	}
	ch, err := ParseClientHello(msg)
	if err != nil {
		t.Fatalf("ParseClientHello: %v", err)
	}
	return ch
}

func withoutFFDHE(groups []uint16) []uint16 {
	return slices.DeleteFunc(slices.Clone(groups), func(g uint16) bool { return g >= 0x0100 && g < 0x0200 })
}

func TestClientHelloRoundTrip(t *testing.T) {
	share, err := NewX25519KeyShare(testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	tls13Suites := []uint16{0x1301, 0x1302, 0x1303}
	tls12Suites := []uint16{0xC02B, 0xC02F, 0x009E, 0x002F, 0x000A, 0x00FF}
	tests := []struct {
		name       string
		spec       ClientHelloSpec
		recVersion uint16
		want       ClientHello // the fields checked beyond the spec's own
		maxVersion uint16
	}{{
		name: "TLS 1.3",
		spec: ClientHelloSpec{Version: VersionTLS13, Suites: append(tls13Suites, tls12Suites...), ServerName: "backend.test",
			KeyShares: []KeyShare{share}, ALPN: []string{"h2", "http/1.1"}, Random: random(5), SessionID: bytes.Repeat([]byte{3}, 32)},
		recVersion: VersionTLS10,
		want: ClientHello{Version: VersionTLS12, SupportedVersions: []uint16{VersionTLS13}, Groups: DefaultGroups,
			SignatureSchemes: DefaultSignatureSchemes, KeyShares: []KeyShare{share}, PSKModes: []uint8{1}},
		maxVersion: VersionTLS13,
	}, {
		name:       "TLS 1.3 and 1.2 without key share",
		spec:       ClientHelloSpec{Version: VersionTLS13, SupportedVersions: []uint16{0x0A0A, VersionTLS13, VersionTLS12}, Suites: tls13Suites, Groups: []uint16{GroupSecp256r1}},
		recVersion: VersionTLS10,
		want: ClientHello{Version: VersionTLS12, SupportedVersions: []uint16{0x0A0A, VersionTLS13, VersionTLS12}, Groups: []uint16{GroupSecp256r1},
			SignatureSchemes: DefaultSignatureSchemes, PSKModes: []uint8{1}},
		maxVersion: VersionTLS13,
	}, {
		name:       "TLS 1.2",
		spec:       ClientHelloSpec{Version: VersionTLS12, Suites: tls12Suites, ServerName: "backend.test", Random: random(6)},
		recVersion: VersionTLS10,
		want:       ClientHello{Version: VersionTLS12, Groups: withoutFFDHE(DefaultGroups), SignatureSchemes: DefaultSignatureSchemes},
		maxVersion: VersionTLS12,
	}, {
		name:       "TLS 1.0",
		spec:       ClientHelloSpec{Version: VersionTLS10, Suites: []uint16{0x002F, 0x0035}, SignatureSchemes: []uint16{0x0401}},
		recVersion: VersionTLS10,
		want:       ClientHello{Version: VersionTLS10, Groups: withoutFFDHE(DefaultGroups)},
		maxVersion: VersionTLS10,
	}, {
		name:       "TLS 1.1 with record version 0x0302",
		spec:       ClientHelloSpec{Version: VersionTLS11, Suites: []uint16{0x002F}, RecordVersion: VersionTLS11},
		recVersion: VersionTLS11,
		want:       ClientHello{Version: VersionTLS11, Groups: withoutFFDHE(DefaultGroups)},
		maxVersion: VersionTLS11,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			record, err := tt.spec.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if got := uint16(record[1])<<8 | uint16(record[2]); record[0] != RecordHandshake || got != tt.recVersion {
				t.Errorf("record header = %x; want type 22, version 0x%04x", record[:5], tt.recVersion)
			}
			ch := parseHello(t, record)
			checks := []struct {
				field     string
				got, want any
			}{
				{"Version", ch.Version, tt.want.Version},
				{"Random", ch.Random, tt.spec.Random},
				{"SessionID", ch.SessionID, append([]byte{}, tt.spec.SessionID...)},
				{"Suites", ch.Suites, tt.spec.Suites},
				{"CompressionMethods", ch.CompressionMethods, []uint8{0}},
				{"ServerName", ch.ServerName, tt.spec.ServerName},
				{"SupportedVersions", ch.SupportedVersions, tt.want.SupportedVersions},
				{"Groups", ch.Groups, tt.want.Groups},
				{"SignatureSchemes", ch.SignatureSchemes, tt.want.SignatureSchemes},
				{"ALPN", ch.ALPN, tt.spec.ALPN},
				{"KeyShares", ch.KeyShares, tt.want.KeyShares},
				{"PSKModes", ch.PSKModes, tt.want.PSKModes},
				{"PointFormats", ch.PointFormats, []uint8{0}},
				{"SecureRenegotiation", ch.SecureRenegotiation, true},
				{"ExtendedMasterSecret", ch.ExtendedMasterSecret, true},
				{"MaxVersion", ch.MaxVersion(), tt.maxVersion},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %v; want %v", c.field, c.got, c.want)
				}
			}
			msg := record[5:]
			if n := len(msg); n > 0xff && n < 0x200 {
				t.Errorf("message of %d bytes: padding missing", n)
			}
			// The message may end after the compression methods.
			noExts := 2 + 32 + 1 + len(tt.spec.SessionID) + 2 + 2*len(tt.spec.Suites) + 2
			checkTruncations(t, msg, func(b []byte) error { _, err := ParseClientHello(b); return err }, noExts)
		})
	}
}

func TestClientHelloSSL30(t *testing.T) {
	spec := ClientHelloSpec{Version: VersionSSL30, Suites: []uint16{0x000A, 0x0005, 0x00FF}, ServerName: "ignored.test",
		Extensions: []Extension{{ExtStatusRequest, []byte{1, 0, 0, 0, 0}}}}
	record, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(record[:3], []byte{22, 3, 0}) {
		t.Errorf("record header = %x; want 160300", record[:3])
	}
	ch := parseHello(t, record)
	if ch.Version != VersionSSL30 || len(ch.Extensions) != 0 || !ch.SecureRenegotiation {
		t.Errorf("SSL 3.0 hello = version 0x%04x, %d extensions, secure renegotiation %v; want 0x0300, none, true",
			ch.Version, len(ch.Extensions), ch.SecureRenegotiation)
	}
	if !ch.OffersVersion(VersionSSL30) || ch.OffersVersion(VersionTLS10) {
		t.Errorf("OffersVersion wrong for an SSL 3.0 hello")
	}
}

func TestClientHelloExtensionOrder(t *testing.T) {
	extra := Extension{Type: 0x4242, Data: []byte("x")}
	spec := ClientHelloSpec{Version: VersionTLS13, Suites: SuiteIDs(Suites()), ServerName: "a.test", ALPN: []string{"h2"}, Extensions: []Extension{extra}}
	ch := parseHello(t, must(t)(spec.Marshal()))
	var got []string
	for _, e := range ch.Extensions {
		got = append(got, ExtensionName(e.Type))
	}
	want := "server_name ec_point_formats supported_groups application_layer_protocol_negotiation extended_master_secret " +
		"signature_algorithms supported_versions psk_key_exchange_modes key_share renegotiation_info 0x4242"
	if strings.Join(got, " ") != want {
		t.Errorf("extensions = %s\nwant %s", strings.Join(got, " "), want)
	}
	if len(ch.Suites) != len(Suites()) {
		t.Errorf("%d suites; want %d", len(ch.Suites), len(Suites()))
	}
}

func TestClientHelloPadding(t *testing.T) {
	// A hello of 256 to 511 bytes is padded to 512.
	padded := 0
	for n := 1; n <= 160; n++ {
		spec := ClientHelloSpec{Version: VersionTLS12, Suites: SuiteIDs(Suites())[:n], Groups: []uint16{GroupX25519}, SignatureSchemes: []uint16{0x0403}}
		msg, err := spec.MarshalMessage()
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) > 0xff && len(msg) < 0x200 {
			t.Errorf("%d suites: message of %d bytes; want 512", n, len(msg))
		}
		spec.NoPadding = true
		unpadded, _ := spec.MarshalMessage()
		ch, err := ParseClientHello(msg)
		if err != nil {
			t.Fatalf("%d suites: ParseClientHello: %v", n, err)
		}
		_, hasPad := findExtension(ch.Extensions, ExtPadding)
		if wantPad := len(unpadded) > 0xff && len(unpadded) < 0x200; hasPad != wantPad {
			t.Errorf("%d suites (%d bytes unpadded): padding %v; want %v", n, len(unpadded), hasPad, wantPad)
		}
		if hasPad {
			padded++
		}
	}
	if padded == 0 {
		t.Errorf("no hello needed padding; the test covers nothing")
	}
}

func TestClientHelloErrors(t *testing.T) {
	tests := []struct {
		name string
		spec ClientHelloSpec
		msg  string
	}{
		{"no version", ClientHelloSpec{Suites: []uint16{0x002F}}, "is not SSLv3 to TLSv1.3"},
		{"TLS 1.4", ClientHelloSpec{Version: 0x0305, Suites: []uint16{0x002F}}, "is not SSLv3 to TLSv1.3"},
		{"no suites", ClientHelloSpec{Version: VersionTLS12}, "no cipher suites"},
		{"long session ID", ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0x002F}, SessionID: make([]byte, 33)}, "exceeds 32"},
		{"empty ALPN protocol", ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0x002F}, ALPN: []string{""}}, "1 to 255 bytes"},
		{"too many suites", ClientHelloSpec{Version: VersionTLS12, Suites: make([]uint16, 40000)}, "building ClientHello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.spec.Marshal()
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Marshal = %v; want an error containing %q", err, tt.msg)
			}
		})
	}
}

func TestParseClientHelloMalformed(t *testing.T) {
	hello := func(suites []byte, comp []byte, exts ...Extension) []byte {
		body := append([]byte{3, 3}, make([]byte, 32)...)
		body = append(body, 0)
		body = append(body, byte(len(suites)>>8), byte(len(suites)))
		body = append(body, suites...)
		body = append(body, byte(len(comp)))
		body = append(body, comp...)
		if exts != nil {
			var eb []byte
			for _, e := range exts {
				eb = append(eb, byte(e.Type>>8), byte(e.Type), byte(len(e.Data)>>8), byte(len(e.Data)))
				eb = append(eb, e.Data...)
			}
			body = append(body, byte(len(eb)>>8), byte(len(eb)))
			body = append(body, eb...)
		}
		return frame(TypeClientHello, body)
	}
	if _, err := ParseClientHello(hello([]byte{0, 0x2F}, []byte{0})); err != nil {
		t.Fatalf("ParseClientHello(minimal) = %v", err)
	}
	tests := map[string][]byte{
		"no suites":                      hello(nil, []byte{0}),
		"odd suites":                     hello([]byte{0, 0x2F, 1}, []byte{0}),
		"no compression":                 hello([]byte{0, 0x2F}, nil),
		"bad server_name":                hello([]byte{0, 0x2F}, []byte{0}, Extension{ExtServerName, []byte{0, 5, 0, 0, 9, 'a'}}),
		"odd supported_versions":         hello([]byte{0, 0x2F}, []byte{0}, Extension{ExtSupportedVersions, []byte{3, 3, 4, 3}}),
		"empty key share":                hello([]byte{0, 0x2F}, []byte{0}, Extension{ExtKeyShare, []byte{0, 4, 0, 0x1D, 0, 0}}),
		"empty ALPN protocol":            hello([]byte{0, 0x2F}, []byte{0}, Extension{ExtALPN, []byte{0, 1, 0}}),
		"duplicate extension":            hello([]byte{0, 0x2F}, []byte{0}, Extension{ExtExtendedMasterSecret, nil}, Extension{ExtExtendedMasterSecret, nil}),
		"data in extended_master_secret": hello([]byte{0, 0x2F}, []byte{0}, Extension{ExtExtendedMasterSecret, []byte{1}}),
	}
	for name, in := range tests {
		if _, err := ParseClientHello(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseClientHello = %v; want ErrMalformed", name, err)
		}
	}
}

func TestSSLv2ClientHello(t *testing.T) {
	h := SSLv2ClientHello{
		Version:     VersionTLS10,
		CipherSpecs: []uint32{0x010080, 0x00002F, 0x0700C0, 0x00000A, 0x0000FF},
		Challenge:   bytes.Repeat([]byte{0xCC}, 16),
	}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !LooksLikeSSLv2ClientHello(b) {
		t.Errorf("LooksLikeSSLv2ClientHello(%x) = false", b[:5])
	}
	got, err := ParseSSLv2ClientHello(b)
	if err != nil {
		t.Fatalf("ParseSSLv2ClientHello: %v", err)
	}
	want := h
	want.SessionID = []byte{}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("ParseSSLv2ClientHello = %+v\nwant %+v", *got, want)
	}
	if s := got.Suites(); !reflect.DeepEqual(s, []uint16{0x002F, 0x000A, 0x00FF}) {
		t.Errorf("Suites() = %04x; want 002f 000a 00ff", s)
	}
	for i := range len(b) {
		cut := append([]byte(nil), b[:i]...)
		if i >= 2 {
			n := i - 2
			cut[0], cut[1] = 0x80|byte(n>>8), byte(n)
		}
		if _, err := ParseSSLv2ClientHello(cut); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseSSLv2ClientHello(first %d bytes) = %v; want ErrMalformed", i, err)
		}
	}
	tlsHello := must(t)((&ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0x002F}}).Marshal())
	if LooksLikeSSLv2ClientHello(tlsHello) {
		t.Errorf("LooksLikeSSLv2ClientHello(TLS record) = true")
	}
	if _, err := ParseSSLv2ClientHello(tlsHello); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseSSLv2ClientHello(TLS record) = %v; want ErrMalformed", err)
	}
}

func TestNewKeyShare(t *testing.T) {
	tests := []struct {
		group uint16
		size  int
	}{
		{GroupX25519, 32},
		{GroupSecp256r1, 65},
		{GroupSecp384r1, 97},
		{GroupSecp521r1, 133},
		{GroupX25519MLKEM768, 1184 + 32},
	}
	for _, tt := range tests {
		t.Run(GroupName(tt.group), func(t *testing.T) {
			a, err := NewKeyShare(tt.group, testRand(7))
			if err != nil {
				t.Fatalf("NewKeyShare: %v", err)
			}
			if a.Group != tt.group || len(a.Data) != tt.size {
				t.Errorf("NewKeyShare = group 0x%04x, %d bytes; want 0x%04x, %d bytes", a.Group, len(a.Data), tt.group, tt.size)
			}
			b, _ := NewKeyShare(tt.group, testRand(7))
			c, _ := NewKeyShare(tt.group, testRand(8))
			if !bytes.Equal(a.Data, b.Data) || bytes.Equal(a.Data, c.Data) {
				t.Errorf("NewKeyShare does not follow its randomness source")
			}
		})
	}
	// A share for a group beyond the defaults puts the group in
	// supported_groups.
	pq, err := NewKeyShare(GroupX25519MLKEM768, testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	x, _ := NewX25519KeyShare(testRand(2))
	ch := parseHello(t, must(t)((&ClientHelloSpec{Version: VersionTLS13, Suites: []uint16{0x1301}, KeyShares: []KeyShare{pq, x}}).Marshal()))
	if want := append([]uint16{GroupX25519MLKEM768}, DefaultGroups...); !reflect.DeepEqual(ch.Groups, want) {
		t.Errorf("supported_groups = %04x; want X25519MLKEM768, then the defaults", ch.Groups)
	}
	if _, err := NewKeyShare(GroupFFDHE2048, testRand(1)); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("NewKeyShare(ffdhe2048) = %v; want ErrUnsupported", err)
	}
	if _, err := NewX25519KeyShare(bytes.NewReader(nil)); err == nil {
		t.Errorf("NewX25519KeyShare(empty reader) succeeded; want an error")
	}
}
