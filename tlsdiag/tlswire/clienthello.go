package tlswire

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"errors"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// KeyShare is one KeyShareEntry (RFC 8446 §4.2.8): a group and the public
// value offered for it.
type KeyShare struct {
	Group uint16
	Data  []byte
}

// DefaultGroups are the groups a ClientHelloSpec offers when it names none:
// every elliptic curve of the registry that a server may still support,
// the modern ones first, then the finite-field groups of RFC 7919, which
// Marshal sends only when TLS 1.3 is offered (in TLS 1.2 they would make a
// server that implements RFC 7919 use them in place of its own DHE
// parameters). The post-quantum hybrids are left out: offering one without
// a key share for it invites a HelloRetryRequest.
var DefaultGroups = []uint16{
	GroupX25519, GroupSecp256r1, GroupSecp384r1, GroupSecp521r1, GroupX448,
	0x001F, 0x0020, 0x0021, // brainpoolP256r1tls13, P384, P512
	0x001A, 0x001B, 0x001C, // brainpoolP256r1, P384, P512
	0x0016, 0x0015, 0x0014, 0x0013, 0x0012, // secp256k1, secp224r1, secp224k1, secp192r1, secp192k1
	0x000E, 0x000D, 0x000C, 0x000B, 0x000A, 0x0009, 0x0008, 0x0007, 0x0006, // sect571r1 ... sect233k1
	0x0005, 0x0004, 0x0003, 0x0002, 0x0001, // sect193r2 ... sect163k1
	0x0011, 0x0010, 0x000F, // secp160r2, secp160r1, secp160k1
	0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027, 0x0028, // GOST curves, RFC 9189
	GroupFFDHE2048, GroupFFDHE3072, GroupFFDHE4096, GroupFFDHE6144, GroupFFDHE8192,
}

// DefaultSignatureSchemes are the signature schemes a ClientHelloSpec offers
// when it names none: everything a server may sign with, SHA-1 and DSA
// included, so that a probe of suites or versions is never refused for want
// of a signature algorithm. MD5 is left out.
var DefaultSignatureSchemes = []uint16{
	0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256, secp384r1_sha384, secp521r1_sha512
	0x0807, 0x0808, // ed25519, ed448
	0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256/384/512
	0x0809, 0x080A, 0x080B, // rsa_pss_pss_sha256/384/512
	0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256/384/512
	0x081A, 0x081B, 0x081C, // ecdsa_brainpoolP256r1tls13_sha256, P384, P512
	0x0402, 0x0502, 0x0602, // dsa_sha256/384/512
	0x0303, 0x0301, 0x0302, // ecdsa_sha224, rsa_sha224, dsa_sha224
	0x0203, 0x0201, 0x0202, // ecdsa_sha1, rsa_pkcs1_sha1, dsa_sha1
	0x0840, 0x0841, // gostr34102012_256, gostr34102012_512 (RFC 9189)
}

// ClientHelloSpec describes a ClientHello to build. The zero value of each
// optional field selects a default that servers accept.
type ClientHelloSpec struct {
	// Version is the highest version offered, VersionSSL30 to VersionTLS13.
	// legacy_version is min(Version, VersionTLS12) (RFC 8446 §4.1.2).
	Version uint16
	// SupportedVersions is the list sent in supported_versions (RFC 8446
	// §4.2.1). When empty, a TLS 1.3 hello sends {Version} alone, and an
	// older one sends no supported_versions at all.
	SupportedVersions []uint16
	// Suites are the cipher suites offered, in order. Add
	// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00FF) or TLS_FALLBACK_SCSV
	// (0x5600) here to send them.
	Suites []uint16
	// ServerName is sent in server_name (RFC 6066 §3) as given; "" sends
	// no server_name.
	ServerName string
	// Groups for supported_groups; nil selects DefaultGroups, led by the
	// groups of KeyShares that DefaultGroups lacks.
	Groups []uint16
	// SignatureSchemes for signature_algorithms (sent from TLS 1.2 on);
	// nil selects DefaultSignatureSchemes.
	SignatureSchemes []uint16
	// KeyShares are the key shares of a hello that offers TLS 1.3 (see
	// NewX25519KeyShare). None sends an empty key_share, which RFC 8446
	// §4.2.8 allows: the server then answers with a HelloRetryRequest that
	// names its group.
	KeyShares []KeyShare
	// ALPN protocols (RFC 7301), e.g. "h2", "http/1.1"; none sends no ALPN.
	ALPN       []string
	Random     [32]byte
	SessionID  []byte // legacy_session_id, at most 32 bytes
	Extensions []Extension
	// RecordVersion is the version of the record header; 0 selects 0x0301
	// (0x0300 for an SSL 3.0 hello), which every server accepts.
	RecordVersion uint16
	// NoPadding disables the padding extension (RFC 7685) that Marshal adds
	// when the message would be 256 to 511 bytes long, the lengths that
	// hang some F5 load balancers.
	NoPadding bool
}

// offers13 reports whether the hello offers TLS 1.3.
func (s *ClientHelloSpec) offers13() bool {
	if len(s.SupportedVersions) > 0 {
		return slices.ContainsFunc(s.SupportedVersions, func(v uint16) bool { return v >= VersionTLS13 && !IsGREASE(v) })
	}
	return s.Version >= VersionTLS13
}

// Marshal returns the ClientHello as a TLS record, record header included,
// ready to write to a connection. An SSL 3.0 hello carries no extensions,
// as SSL 3.0 has none; from TLS 1.0 on the hello carries server_name,
// ec_point_formats, supported_groups, ALPN, extended_master_secret,
// signature_algorithms (TLS 1.2 and later), supported_versions,
// psk_key_exchange_modes and key_share (TLS 1.3), renegotiation_info, then
// s.Extensions, then padding.
func (s *ClientHelloSpec) Marshal() ([]byte, error) {
	msg, err := s.MarshalMessage()
	if err != nil {
		return nil, err
	}
	recVersion := s.RecordVersion
	if recVersion == 0 {
		recVersion = VersionTLS10
		if s.Version == VersionSSL30 {
			recVersion = VersionSSL30
		}
	}
	return MarshalRecord(RecordHandshake, recVersion, msg), nil
}

// MarshalMessage returns the ClientHello handshake message, header included,
// without the record header.
func (s *ClientHelloSpec) MarshalMessage() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var exts []Extension
	if s.Version >= VersionTLS10 {
		var err error
		if exts, err = s.extensions(); err != nil {
			return nil, err
		}
	}
	msg, err := s.marshal(exts)
	if err != nil {
		return nil, err
	}
	// RFC 7685 padding, as BoringSSL sizes it: lift a message of 256 to
	// 511 bytes to 512, with at least one byte of padding data, since
	// some servers reject a last extension that is empty.
	if n := len(msg); s.Version >= VersionTLS10 && !s.NoPadding && n > 0xff && n < 0x200 {
		pad := 0x200 - n
		if pad >= 4+1 {
			pad -= 4
		} else {
			pad = 1
		}
		exts = append(exts, Extension{Type: ExtPadding, Data: make([]byte, pad)})
		return s.marshal(exts)
	}
	return msg, nil
}

func (s *ClientHelloSpec) check() error {
	switch {
	case s.Version < VersionSSL30 || s.Version > VersionTLS13:
		return fmt.Errorf("tlswire: building ClientHello: version %s is not SSLv3 to TLSv1.3", VersionName(s.Version))
	case len(s.Suites) == 0:
		return errors.New("tlswire: building ClientHello: no cipher suites")
	case len(s.SessionID) > 32:
		return fmt.Errorf("tlswire: building ClientHello: session ID of %d bytes exceeds 32", len(s.SessionID))
	}
	for _, p := range s.ALPN {
		if len(p) == 0 || len(p) > 255 {
			return fmt.Errorf("tlswire: building ClientHello: ALPN protocol %q must be 1 to 255 bytes", p)
		}
	}
	return nil
}

// marshal writes the handshake message with the given extensions (RFC
// 8446 §4.1.2, RFC 5246 §7.4.1.2).
func (s *ClientHelloSpec) marshal(exts []Extension) ([]byte, error) {
	msg, err := marshalHandshake(TypeClientHello, func(b *cryptobyte.Builder) {
		// ProtocolVersion legacy_version; Random random;
		b.AddUint16(min(s.Version, VersionTLS12))
		b.AddBytes(s.Random[:])
		// opaque legacy_session_id<0..32>;
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.SessionID) })
		// CipherSuite cipher_suites<2..2^16-2>;
		addUint16List(b, s.Suites)
		// opaque legacy_compression_methods<1..2^8-1>: null (0) only;
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		// Extension extensions<8..2^16-1>, absent in SSL 3.0.
		if len(exts) > 0 {
			addExtensions(b, exts)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("tlswire: building ClientHello: %w", err)
	}
	return msg, nil
}

// extensions returns the extensions of a TLS 1.0+ hello, without padding.
func (s *ClientHelloSpec) extensions() ([]Extension, error) {
	var exts []Extension
	var err error // the first error of add
	add := func(typ uint16, f cryptobyte.BuilderContinuation) {
		var b cryptobyte.Builder
		f(&b)
		data, e := b.Bytes()
		if e != nil && err == nil {
			err = fmt.Errorf("tlswire: building ClientHello: %s extension: %w", ExtensionName(typ), e)
		}
		exts = append(exts, Extension{Type: typ, Data: data})
	}
	offers13 := s.offers13()
	groups := s.Groups
	if groups == nil {
		groups = slices.Clone(DefaultGroups)
		if !offers13 {
			groups = slices.DeleteFunc(groups, func(g uint16) bool { return g>>8 == 0x01 })
		}
		// RFC 8446 §4.2.8: every key share must be for a group offered in
		// supported_groups; shares for groups beyond the defaults (the
		// post-quantum hybrids) lead the list.
		for i := len(s.KeyShares) - 1; i >= 0; i-- {
			if g := s.KeyShares[i].Group; !slices.Contains(groups, g) {
				groups = slices.Insert(groups, 0, g)
			}
		}
	}
	schemes := s.SignatureSchemes
	if schemes == nil {
		schemes = DefaultSignatureSchemes
	}
	if s.ServerName != "" {
		// RFC 6066 §3: ServerName server_name_list<1..2^16-1>, each
		// { NameType name_type (host_name 0); HostName name<1..2^16-1> }
		add(ExtServerName, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(s.ServerName)) })
			})
		})
	}
	// RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>,
	// uncompressed (0) only.
	add(ExtECPointFormats, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	})
	// RFC 8446 §4.2.7: NamedGroup named_group_list<2..2^16-1>
	add(ExtSupportedGroups, func(b *cryptobyte.Builder) { addUint16List(b, groups) })
	if len(s.ALPN) > 0 {
		// RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>
		add(ExtALPN, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, p := range s.ALPN {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
				}
			})
		})
	}
	// RFC 7627 §5.1: empty extension_data.
	exts = append(exts, Extension{Type: ExtExtendedMasterSecret, Data: []byte{}})
	if s.Version >= VersionTLS12 {
		// RFC 8446 §4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>
		add(ExtSignatureAlgorithms, func(b *cryptobyte.Builder) { addUint16List(b, schemes) })
	}
	versions := s.SupportedVersions
	if len(versions) == 0 && s.Version >= VersionTLS13 {
		versions = []uint16{s.Version}
	}
	if len(versions) > 0 {
		// RFC 8446 §4.2.1: ProtocolVersion versions<2..254>
		add(ExtSupportedVersions, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, v := range versions {
					b.AddUint16(v)
				}
			})
		})
	}
	if offers13 {
		// RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>, psk_dhe_ke (1)
		add(ExtPSKKeyExchangeModes, func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1) })
		})
		// RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>
		add(ExtKeyShare, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, ks := range s.KeyShares {
					b.AddUint16(ks.Group)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ks.Data) })
				}
			})
		})
	}
	// RFC 5746 §3.4: an empty renegotiated_connection in the initial hello.
	exts = append(exts, Extension{Type: ExtRenegotiationInfo, Data: []byte{0}})
	exts = append(exts, s.Extensions...)
	return exts, err
}

// NewX25519KeyShare returns an X25519 key share whose private key is drawn
// from rand. The private key is dropped: the share is good for asking a
// question, not for completing a handshake.
func NewX25519KeyShare(rand io.Reader) (KeyShare, error) {
	return NewKeyShare(GroupX25519, rand)
}

// NewKeyShare returns a key share for group, one of x25519, secp256r1,
// secp384r1, secp521r1 and X25519MLKEM768, with its private key drawn from
// rand and dropped.
func NewKeyShare(group uint16, rand io.Reader) (KeyShare, error) {
	var curve ecdh.Curve
	switch group {
	case GroupX25519:
		curve = ecdh.X25519()
	case GroupSecp256r1:
		curve = ecdh.P256()
	case GroupSecp384r1:
		curve = ecdh.P384()
	case GroupSecp521r1:
		curve = ecdh.P521()
	case GroupX25519MLKEM768:
		// draft-ietf-tls-ecdhe-mlkem §4.1: the ML-KEM-768 encapsulation key,
		// then the X25519 share.
		var seed [mlkem.SeedSize]byte
		if _, err := io.ReadFull(rand, seed[:]); err != nil {
			return KeyShare{}, fmt.Errorf("tlswire: generating %s key share: %w", GroupName(group), err)
		}
		dk, err := mlkem.NewDecapsulationKey768(seed[:])
		if err != nil {
			return KeyShare{}, fmt.Errorf("tlswire: generating %s key share: %w", GroupName(group), err)
		}
		x, err := NewKeyShare(GroupX25519, rand)
		if err != nil {
			return KeyShare{}, err
		}
		return KeyShare{Group: group, Data: append(dk.EncapsulationKey().Bytes(), x.Data...)}, nil
	default:
		return KeyShare{}, fmt.Errorf("tlswire: generating a key share for %s: %w", GroupName(group), errors.ErrUnsupported)
	}
	key, err := scalarFrom(curve, group, rand)
	if err != nil {
		return KeyShare{}, err
	}
	return KeyShare{Group: group, Data: key.PublicKey().Bytes()}, nil
}

// scalarFrom draws a private key for curve from rand. It reads the scalar
// itself, as ecdh's GenerateKey ignores its reader since Go 1.26.
func scalarFrom(curve ecdh.Curve, group uint16, rand io.Reader) (*ecdh.PrivateKey, error) {
	size := map[uint16]int{GroupX25519: 32, GroupSecp256r1: 32, GroupSecp384r1: 48, GroupSecp521r1: 66}[group]
	buf := make([]byte, size)
	for range 64 {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("tlswire: generating %s key share: %w", GroupName(group), err)
		}
		if group == GroupSecp521r1 {
			buf[0] &= 0x01 // a 521-bit scalar
		}
		if key, err := curve.NewPrivateKey(buf); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("tlswire: generating %s key share: no valid scalar in 64 draws", GroupName(group))
}
