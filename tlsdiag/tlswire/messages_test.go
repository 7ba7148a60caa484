package tlswire

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// frame wraps body as a handshake message of type typ.
func frame(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// checkTruncations checks that parse rejects msg cut at every length, and
// msg's body cut at every length and framed again, except the body lengths
// in valid, at which the message legitimately ends.
func checkTruncations(t *testing.T, msg []byte, parse func([]byte) error, valid ...int) {
	t.Helper()
	for i := range len(msg) {
		err := parse(msg[:i])
		if err == nil {
			t.Errorf("parse(msg[:%d]) succeeded; want an error", i)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("parse(msg[:%d]) = %v; want an error wrapping ErrMalformed", i, err)
		}
	}
	body := msg[4:]
	for i := range len(body) {
		err := parse(frame(msg[0], body[:i]))
		ok := false
		for _, v := range valid {
			ok = ok || v == i
		}
		if ok {
			if err != nil {
				t.Errorf("parse(body[:%d]) = %v; want success", i, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("parse(body[:%d]) succeeded; want an error", i)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("parse(body[:%d]) = %v; want an error wrapping ErrMalformed", i, err)
		}
	}
}

// must returns a function that fails t on a Marshal error:
// must(t)(x.Marshal()).
func must(t *testing.T) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		return b
	}
}

func random(b byte) (r [32]byte) {
	for i := range r {
		r[i] = b + byte(i)
	}
	return r
}

// Extension data used by the tests.
var (
	extReneg    = Extension{ExtRenegotiationInfo, []byte{0}}
	extEMS      = Extension{ExtExtendedMasterSecret, []byte{}}
	extALPNh2   = Extension{ExtALPN, []byte{0, 3, 2, 'h', '2'}}
	extSV13     = Extension{ExtSupportedVersions, []byte{0x03, 0x04}}
	extX25519SH = Extension{ExtKeyShare, append([]byte{0x00, 0x1D, 0x00, 0x20}, bytes.Repeat([]byte{9}, 32)...)}
	extPoints   = Extension{ExtECPointFormats, []byte{1, 0}}
)

func TestServerHelloRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		sh         ServerHello
		want       ServerHello // the fields ParseServerHello derives
		negotiated uint16
		downgrade  uint16
	}{{
		name: "TLS 1.2",
		sh: ServerHello{Version: VersionTLS12, Random: random(1), SessionID: bytes.Repeat([]byte{7}, 32), Suite: 0xC02F,
			Extensions: []Extension{extReneg, extEMS, extALPNh2, extPoints}},
		want:       ServerHello{ALPN: "h2", SecureRenegotiation: true, ExtendedMasterSecret: true},
		negotiated: VersionTLS12,
	}, {
		name: "TLS 1.3",
		sh: ServerHello{Version: VersionTLS12, Random: random(2), SessionID: []byte{1, 2, 3}, Suite: 0x1301,
			Extensions: []Extension{extSV13, extX25519SH}},
		want:       ServerHello{SelectedVersion: VersionTLS13, KeyShareGroup: GroupX25519, KeyShareData: bytes.Repeat([]byte{9}, 32)},
		negotiated: VersionTLS13,
	}, {
		name: "HelloRetryRequest",
		sh: ServerHello{Version: VersionTLS12, Random: HelloRetryRequestRandom, Suite: 0x1302,
			Extensions: []Extension{extSV13, {ExtKeyShare, []byte{0x00, 0x17}}, {ExtCookie, []byte{0, 2, 0xAB, 0xCD}}}},
		want:       ServerHello{HelloRetry: true, SelectedVersion: VersionTLS13, KeyShareGroup: GroupSecp256r1, Cookie: []byte{0xAB, 0xCD}},
		negotiated: VersionTLS13,
	}, {
		name:       "SSL 3.0 without extensions",
		sh:         ServerHello{Version: VersionSSL30, Random: random(3), Suite: 0x000A},
		negotiated: VersionSSL30,
	}, {
		name: "TLS 1.2 from a TLS 1.3 server",
		sh: ServerHello{Version: VersionTLS12, Random: func() [32]byte {
			r := random(4)
			copy(r[24:], "DOWNGRD\x01")
			return r
		}(), Suite: 0xC030},
		negotiated: VersionTLS12,
		downgrade:  VersionTLS13,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := must(t)(tt.sh.Marshal())
			got, err := ParseServerHello(msg)
			if err != nil {
				t.Fatalf("ParseServerHello: %v", err)
			}
			want := tt.want
			want.Version, want.Random, want.SessionID, want.Suite, want.Extensions = tt.sh.Version, tt.sh.Random, tt.sh.SessionID, tt.sh.Suite, tt.sh.Extensions
			if want.SessionID == nil {
				want.SessionID = []byte{}
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("ParseServerHello = %+v\nwant %+v", *got, want)
			}
			if v := got.NegotiatedVersion(); v != tt.negotiated {
				t.Errorf("NegotiatedVersion() = %s; want %s", VersionName(v), VersionName(tt.negotiated))
			}
			if v := got.DowngradeSentinel(); v != tt.downgrade {
				t.Errorf("DowngradeSentinel() = 0x%04x; want 0x%04x", v, tt.downgrade)
			}
			if again := must(t)(got.Marshal()); !bytes.Equal(again, msg) {
				t.Errorf("Marshal(ParseServerHello(msg)) != msg")
			}
			valid := []int{}
			if len(tt.sh.Extensions) == 0 {
				valid = append(valid, len(msg)-4)
			} else {
				valid = append(valid, 2+32+1+len(tt.sh.SessionID)+3)
			}
			checkTruncations(t, msg, func(b []byte) error { _, err := ParseServerHello(b); return err }, valid...)
		})
	}
}

func TestServerHelloMalformed(t *testing.T) {
	base := func(exts ...Extension) []byte {
		sh := ServerHello{Version: VersionTLS12, Random: random(1), Suite: 0x1301, Extensions: exts}
		b, _ := sh.Marshal()
		return b
	}
	tests := []struct {
		name, msg string
		in        []byte
	}{
		{"wrong type", "message type is Certificate", append([]byte{TypeCertificate}, base()[1:]...)},
		{"empty", "empty message", nil},
		{"trailing bytes", "bytes after the message", append(base(), 0)},
		{"long session id", "exceeds 32", frame(TypeServerHello, append(append([]byte{3, 3}, make([]byte, 32)...), append([]byte{33}, make([]byte, 36)...)...))},
		{"duplicate extension", "duplicate extended_master_secret", base(extEMS, extEMS)},
		{"bad supported_versions", "bad supported_versions", base(Extension{ExtSupportedVersions, []byte{3}})},
		{"two ALPN protocols", "bad application_layer_protocol_negotiation", base(Extension{ExtALPN, []byte{0, 6, 2, 'h', '2', 2, 'h', '3'}})},
		{"empty key share", "bad key_share", base(Extension{ExtKeyShare, []byte{0, 0x1D, 0, 0}})},
		{"empty cookie", "bad cookie", base(Extension{ExtCookie, []byte{0, 0}})},
		{"bytes after extensions", "bytes after the extensions", frame(TypeServerHello, append(base()[4:], 0, 0, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseServerHello(tt.in)
			if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ParseServerHello = %v; want an ErrMalformed containing %q", err, tt.msg)
			}
		})
	}
}

func TestCertificateRoundTrip(t *testing.T) {
	leaf, inter := []byte("leaf certificate DER"), []byte("intermediate DER")
	tests := []struct {
		name  string
		c     Certificate
		valid []int
	}{
		{"TLS 1.2", Certificate{Version: VersionTLS12, Entries: []CertificateEntry{{Data: leaf}, {Data: inter}}}, nil},
		{"TLS 1.0 empty", Certificate{Version: VersionTLS10}, nil},
		{"TLS 1.3", Certificate{Version: VersionTLS13, RequestContext: []byte{}, Entries: []CertificateEntry{
			{Data: leaf, Extensions: []Extension{{ExtStatusRequest, []byte{1, 0, 0, 2, 0xAA, 0xBB}}, {ExtSCT, []byte{0, 0}}}},
			{Data: inter},
		}}, nil},
		{"TLS 1.3 client", Certificate{Version: VersionTLS13, RequestContext: []byte{1, 2, 3, 4}, Entries: []CertificateEntry{{Data: leaf}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := must(t)(tt.c.Marshal())
			got, err := ParseCertificate(msg, tt.c.Version)
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.c) {
				t.Errorf("ParseCertificate = %+v\nwant %+v", *got, tt.c)
			}
			if n := len(got.Chain()); n != len(tt.c.Entries) {
				t.Errorf("len(Chain()) = %d; want %d", n, len(tt.c.Entries))
			}
			checkTruncations(t, msg, func(b []byte) error { _, err := ParseCertificate(b, tt.c.Version); return err }, tt.valid...)
		})
	}
	// An empty certificate is malformed (RFC 5246 §7.4.2: ASN.1Cert<1..2^24-1>).
	if _, err := ParseCertificate(frame(TypeCertificate, []byte{0, 0, 3, 0, 0, 0}), VersionTLS12); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseCertificate(empty cert) = %v; want ErrMalformed", err)
	}
	// The 1.2 framing read as 1.3 fails rather than misreads.
	msg, _ := (&Certificate{Version: VersionTLS12, Entries: []CertificateEntry{{Data: leaf}}}).Marshal()
	if _, err := ParseCertificate(msg, VersionTLS13); err == nil {
		t.Errorf("ParseCertificate(TLS 1.2 message, TLS 1.3) succeeded; want an error")
	}
}

func dn(cn string) []byte {
	b, err := asn1.Marshal(pkix.Name{CommonName: cn, Organization: []string{"tlsgate"}}.ToRDNSequence())
	if err != nil {
		panic(err)
	}
	return b
}

func TestCertificateRequestRoundTrip(t *testing.T) {
	cas := [][]byte{dn("Test Root CA"), dn("Other CA")}
	tests := []struct {
		name string
		cr   CertificateRequest
		want CertificateRequest
	}{{
		name: "TLS 1.2",
		cr:   CertificateRequest{Version: VersionTLS12, CertificateTypes: []uint8{1, 64}, SignatureSchemes: []uint16{0x0403, 0x0804}, CertificateAuthorities: cas},
	}, {
		name: "TLS 1.2 without CAs",
		cr:   CertificateRequest{Version: VersionTLS12, CertificateTypes: []uint8{1}, SignatureSchemes: []uint16{0x0401}},
	}, {
		name: "TLS 1.0",
		cr:   CertificateRequest{Version: VersionTLS10, CertificateTypes: []uint8{1, 2}, CertificateAuthorities: cas[:1]},
	}, {
		name: "TLS 1.3",
		cr: CertificateRequest{Version: VersionTLS13, RequestContext: []byte{}, Extensions: []Extension{
			{ExtSignatureAlgorithms, []byte{0, 4, 0x08, 0x04, 0x04, 0x03}},
			{ExtCertificateAuthority, append(append([]byte{byte((len(cas[0]) + 2) >> 8), byte(len(cas[0]) + 2)}, byte(len(cas[0])>>8), byte(len(cas[0]))), cas[0]...)},
			{ExtSignatureAlgsCert, []byte{0, 2, 0x08, 0x07}},
		}},
		want: CertificateRequest{SignatureSchemes: []uint16{0x0804, 0x0403}, CertificateAuthorities: cas[:1], SignatureSchemesCert: []uint16{0x0807}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := must(t)(tt.cr.Marshal())
			got, err := ParseCertificateRequest(msg, tt.cr.Version)
			if err != nil {
				t.Fatalf("ParseCertificateRequest: %v", err)
			}
			want := tt.cr
			if tt.cr.Version >= VersionTLS13 {
				want.SignatureSchemes, want.CertificateAuthorities, want.SignatureSchemesCert = tt.want.SignatureSchemes, tt.want.CertificateAuthorities, tt.want.SignatureSchemesCert
			} else if want.SignatureSchemes == nil && want.Version >= VersionTLS12 {
				want.SignatureSchemes = []uint16{}
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("ParseCertificateRequest = %+v\nwant %+v", *got, want)
			}
			if again := must(t)(got.Marshal()); !bytes.Equal(again, msg) {
				t.Errorf("Marshal(ParseCertificateRequest(msg)) != msg")
			}
			checkTruncations(t, msg, func(b []byte) error { _, err := ParseCertificateRequest(b, tt.cr.Version); return err })
		})
	}
	for name, in := range map[string][]byte{
		"odd signature algorithms":   frame(TypeCertificateRequest, []byte{1, 1, 0, 3, 4, 1, 5, 0, 0}),
		"empty distinguished name":   frame(TypeCertificateRequest, []byte{1, 1, 0, 2, 4, 1, 0, 2, 0, 0}),
		"TLS 1.3 without extensions": frame(TypeCertificateRequest, []byte{0}),
	} {
		version := VersionTLS12
		if strings.HasPrefix(name, "TLS 1.3") {
			version = VersionTLS13
		}
		if _, err := ParseCertificateRequest(in, version); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseCertificateRequest = %v; want ErrMalformed", name, err)
		}
	}
}

func TestServerHelloDone(t *testing.T) {
	if err := ParseServerHelloDone(MarshalServerHelloDone()); err != nil {
		t.Errorf("ParseServerHelloDone(MarshalServerHelloDone()) = %v", err)
	}
	for _, in := range [][]byte{nil, {14}, {14, 0, 0}, {14, 0, 0, 1, 0}, {2, 0, 0, 0}, {14, 0, 0, 0, 0}} {
		if err := ParseServerHelloDone(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseServerHelloDone(%x) = %v; want ErrMalformed", in, err)
		}
	}
}

func TestAlert(t *testing.T) {
	a := Alert{Level: AlertLevelFatal, Description: AlertUnknownCA}
	got, err := ParseAlert(a.Marshal())
	if err != nil || got != a {
		t.Errorf("ParseAlert(Marshal()) = %v, %v; want %v", got, err, a)
	}
	if got, err := ParseAlert([]byte{1, 0, 2, 40}); err != nil || got != (Alert{1, 0}) {
		t.Errorf("ParseAlert(two alerts) = %v, %v; want the first", got, err)
	}
	for _, in := range [][]byte{nil, {2}, {2, 40, 1}} {
		if _, err := ParseAlert(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseAlert(%x) = %v; want ErrMalformed", in, err)
		}
	}
}

func TestServerKeyExchange(t *testing.T) {
	point := bytes.Repeat([]byte{4}, 65)
	sig := bytes.Repeat([]byte{0x30}, 70)
	prime := append([]byte{0xFF}, bytes.Repeat([]byte{0xAB}, 255)...)
	u16 := func(b []byte) []byte { return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name    string
		body    []byte
		kx      KeyExchange
		auth    Authentication
		version uint16
		want    ServerKeyExchange
		dhBits  int
	}{{
		name: "ECDHE signed, TLS 1.2", kx: KxECDHE, auth: AuthECDSA, version: VersionTLS12,
		body: cat([]byte{3, 0x00, 0x17, 65}, point, []byte{0x04, 0x03}, u16(sig)),
		want: ServerKeyExchange{Group: GroupSecp256r1, PublicKey: point, SignatureScheme: 0x0403, Signature: sig},
	}, {
		name: "DHE signed, TLS 1.1", kx: KxDHE, auth: AuthRSA, version: VersionTLS11,
		body:   cat(u16(prime), u16([]byte{2}), u16([]byte{5, 5}), u16(sig)),
		want:   ServerKeyExchange{DHPrime: prime, DHGenerator: []byte{2}, PublicKey: []byte{5, 5}, Signature: sig},
		dhBits: 2048,
	}, {
		name: "DH_anon", kx: KxDHE, auth: AuthAnon, version: VersionTLS12,
		body:   cat(u16([]byte{0, 0x0F}), u16([]byte{2}), u16([]byte{1})),
		want:   ServerKeyExchange{DHPrime: []byte{0, 0x0F}, DHGenerator: []byte{2}, PublicKey: []byte{1}},
		dhBits: 4,
	}, {
		name: "PSK hint", kx: KxPSK, auth: AuthPSK, version: VersionTLS12,
		body: u16([]byte("hint")),
		want: ServerKeyExchange{PSKIdentityHint: []byte("hint")},
	}, {
		name: "ECDHE_PSK", kx: KxECDHEPSK, auth: AuthPSK, version: VersionTLS12,
		body: cat(u16(nil), []byte{3, 0x00, 0x1D, 1, 9}),
		want: ServerKeyExchange{PSKIdentityHint: []byte{}, Group: GroupX25519, PublicKey: []byte{9}},
	}, {
		name: "RSA export", kx: KxRSA, auth: AuthRSA, version: VersionTLS10,
		body: cat(u16(bytes.Repeat([]byte{0xC1}, 64)), u16([]byte{1, 0, 1}), u16(sig)),
		want: ServerKeyExchange{RSAModulus: bytes.Repeat([]byte{0xC1}, 64), PublicKey: []byte{1, 0, 1}, Signature: sig},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := frame(TypeServerKeyExchange, tt.body)
			got, err := ParseServerKeyExchange(msg, tt.kx, tt.auth, tt.version)
			if err != nil {
				t.Fatalf("ParseServerKeyExchange: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseServerKeyExchange = %+v\nwant %+v", *got, tt.want)
			}
			if n := got.DHBits(); n != tt.dhBits {
				t.Errorf("DHBits() = %d; want %d", n, tt.dhBits)
			}
			checkTruncations(t, msg, func(b []byte) error { _, err := ParseServerKeyExchange(b, tt.kx, tt.auth, tt.version); return err })
		})
	}
	if _, err := ParseServerKeyExchange(frame(TypeServerKeyExchange, []byte{0, 1, 1}), KxSRP, AuthSRP, VersionTLS12); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ParseServerKeyExchange(SRP) = %v; want ErrUnsupported", err)
	}
	if got, err := ParseServerKeyExchange(frame(TypeServerKeyExchange, []byte{1, 0xFF}), KxECDHE, AuthRSA, VersionTLS12); err != nil || !got.ExplicitCurve {
		t.Errorf("ParseServerKeyExchange(explicit curve) = %+v, %v; want ExplicitCurve", got, err)
	}
}
