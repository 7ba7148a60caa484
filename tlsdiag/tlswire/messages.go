package tlswire

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"
)

// HelloRetryRequestRandom is the Random value that turns a ServerHello into
// a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
var HelloRetryRequestRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// The downgrade sentinels a TLS 1.3 server writes at the end of its Random
// when it negotiates an older version (RFC 8446 §4.1.3).
var (
	downgradeTLS12 = []byte("DOWNGRD\x01")
	downgradeTLS11 = []byte("DOWNGRD\x00")
)

// ServerHello is a ServerHello or HelloRetryRequest message (RFC 8446
// §4.1.3, RFC 5246 §7.4.1.3, RFC 6101 §5.6.1.3).
type ServerHello struct {
	// Version is legacy_version: the negotiated version up to TLS 1.2,
	// 0x0303 in TLS 1.3 (see SelectedVersion).
	Version     uint16
	Random      [32]byte
	SessionID   []byte // legacy_session_id_echo
	Suite       uint16 // cipher_suite
	Compression uint8  // legacy_compression_method
	// Extensions are the extensions in wire order. Marshal writes exactly
	// these; the fields below are what ParseServerHello read from them.
	Extensions []Extension

	// HelloRetry is set when Random is HelloRetryRequestRandom.
	HelloRetry bool
	// SelectedVersion is the supported_versions extension (RFC 8446
	// §4.2.1), or 0 when absent.
	SelectedVersion uint16
	// KeyShareGroup is the group of the server's key_share (RFC 8446
	// §4.2.8), or, in a HelloRetryRequest, the group the server asks for;
	// 0 when absent. KeyShareData is the server's public value.
	KeyShareGroup uint16
	KeyShareData  []byte
	// Cookie is the cookie of a HelloRetryRequest (RFC 8446 §4.2.2).
	Cookie []byte
	// ALPN is the protocol the server selected (RFC 7301 §3.1).
	ALPN string
	// SecureRenegotiation reports the renegotiation_info extension (RFC
	// 5746 §3.6); ExtendedMasterSecret the extended_master_secret one (RFC
	// 7627 §5.2).
	SecureRenegotiation  bool
	ExtendedMasterSecret bool
}

// NegotiatedVersion returns the version the server selected: the
// supported_versions extension when present, legacy_version otherwise.
func (s *ServerHello) NegotiatedVersion() uint16 {
	if s.SelectedVersion != 0 {
		return s.SelectedVersion
	}
	return s.Version
}

// DowngradeSentinel reports the downgrade protection of RFC 8446 §4.1.3: a
// server that supports TLS 1.3 but negotiated TLS 1.2 ends its Random with
// "DOWNGRD\x01" (VersionTLS13 is returned), one that supports TLS 1.2 but
// negotiated an older version with "DOWNGRD\x00" (VersionTLS12 is
// returned). Otherwise it returns 0.
func (s *ServerHello) DowngradeSentinel() uint16 {
	tail := s.Random[24:]
	switch {
	case s.HelloRetry:
		return 0
	case bytes.Equal(tail, downgradeTLS12):
		return VersionTLS13
	case bytes.Equal(tail, downgradeTLS11):
		return VersionTLS12
	}
	return 0
}

// ParseServerHello parses a ServerHello or HelloRetryRequest handshake
// message, header included.
func ParseServerHello(msg []byte) (*ServerHello, error) {
	const what = "ServerHello"
	body, err := readHandshake(msg, TypeServerHello)
	if err != nil {
		return nil, err
	}
	sh := &ServerHello{}
	var sessionID cryptobyte.String
	switch {
	case !body.ReadUint16(&sh.Version): // RFC 8446 §4.1.3 legacy_version
		return nil, malformed(what, "truncated legacy_version")
	case !body.CopyBytes(sh.Random[:]): // random
		return nil, malformed(what, "truncated random")
	case !body.ReadUint8LengthPrefixed(&sessionID): // legacy_session_id_echo<0..32>
		return nil, malformed(what, "truncated legacy_session_id_echo")
	case len(sessionID) > 32:
		return nil, malformed(what, "legacy_session_id_echo of %d bytes exceeds 32", len(sessionID))
	case !body.ReadUint16(&sh.Suite): // cipher_suite
		return nil, malformed(what, "truncated cipher_suite")
	case !body.ReadUint8(&sh.Compression): // legacy_compression_method
		return nil, malformed(what, "truncated legacy_compression_method")
	}
	sh.SessionID = []byte(sessionID)
	sh.HelloRetry = sh.Random == HelloRetryRequestRandom
	// RFC 5246 §7.4.1.3: extensions<0..2^16-1>, absent in SSL 3.0 and in
	// servers that have none to send.
	if sh.Extensions, err = readExtensions(what, &body); err != nil {
		return nil, err
	}
	if !body.Empty() {
		return nil, malformed(what, "%d bytes after the extensions", len(body))
	}
	if err := sh.readExtensionFields(); err != nil {
		return nil, err
	}
	return sh, nil
}

func (sh *ServerHello) readExtensionFields() error {
	what := "ServerHello"
	if sh.HelloRetry {
		what = "HelloRetryRequest"
	}
	for _, e := range sh.Extensions {
		s := cryptobyte.String(e.Data)
		ok := true
		switch e.Type {
		case ExtSupportedVersions:
			// RFC 8446 §4.2.1: ProtocolVersion selected_version
			ok = s.ReadUint16(&sh.SelectedVersion)
		case ExtKeyShare:
			if sh.HelloRetry {
				// RFC 8446 §4.2.8: NamedGroup selected_group
				ok = s.ReadUint16(&sh.KeyShareGroup)
				break
			}
			// RFC 8446 §4.2.8: KeyShareEntry server_share
			var key cryptobyte.String
			ok = s.ReadUint16(&sh.KeyShareGroup) && s.ReadUint16LengthPrefixed(&key) && len(key) > 0
			sh.KeyShareData = []byte(key)
		case ExtCookie:
			// RFC 8446 §4.2.2: opaque cookie<1..2^16-1>
			var cookie cryptobyte.String
			ok = s.ReadUint16LengthPrefixed(&cookie) && len(cookie) > 0
			sh.Cookie = []byte(cookie)
		case ExtALPN:
			// RFC 7301 §3.1: a ProtocolNameList of exactly one name
			var list, name cryptobyte.String
			ok = s.ReadUint16LengthPrefixed(&list) && list.ReadUint8LengthPrefixed(&name) &&
				len(name) > 0 && list.Empty()
			sh.ALPN = string(name)
		case ExtRenegotiationInfo:
			// RFC 5746 §3.2: opaque renegotiated_connection<0..255>
			var conn cryptobyte.String
			ok = s.ReadUint8LengthPrefixed(&conn)
			sh.SecureRenegotiation = true
		case ExtExtendedMasterSecret:
			sh.ExtendedMasterSecret = true // RFC 7627 §5.1: empty
		default:
			s = nil // kept raw in Extensions
		}
		if !ok || !s.Empty() {
			return malformed(what, "bad %s extension", ExtensionName(e.Type))
		}
	}
	return nil
}

// Marshal returns the handshake message, header included, with exactly the
// extensions in s.Extensions (none, and no extensions block, when empty).
func (s *ServerHello) Marshal() ([]byte, error) {
	return marshalHandshake(TypeServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(s.Version)
		b.AddBytes(s.Random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.SessionID) })
		b.AddUint16(s.Suite)
		b.AddUint8(s.Compression)
		if len(s.Extensions) > 0 {
			addExtensions(b, s.Extensions)
		}
	})
}

// Certificate is a Certificate message (RFC 8446 §4.4.2 for TLS 1.3, RFC
// 5246 §7.4.2 before).
type Certificate struct {
	// Version selects the framing: TLS 1.3 and later, or earlier.
	Version uint16
	// RequestContext is certificate_request_context (TLS 1.3 only).
	RequestContext []byte
	// Entries are the certificates, leaf first. Their Extensions (TLS 1.3
	// only) carry OCSP responses and SCTs.
	Entries []CertificateEntry
}

// CertificateEntry is one certificate of a Certificate message.
type CertificateEntry struct {
	Data       []byte // the DER certificate
	Extensions []Extension
}

// Chain returns the DER certificates, leaf first.
func (c *Certificate) Chain() [][]byte {
	chain := make([][]byte, len(c.Entries))
	for i, e := range c.Entries {
		chain[i] = e.Data
	}
	return chain
}

// ParseCertificate parses a Certificate handshake message, header included,
// framed as version frames it (the TLS 1.3 form from VersionTLS13 on).
func ParseCertificate(msg []byte, version uint16) (*Certificate, error) {
	const what = "Certificate"
	body, err := readHandshake(msg, TypeCertificate)
	if err != nil {
		return nil, err
	}
	c := &Certificate{Version: version}
	tls13 := version >= VersionTLS13
	if tls13 {
		// RFC 8446 §4.4.2: opaque certificate_request_context<0..2^8-1>
		var ctx cryptobyte.String
		if !body.ReadUint8LengthPrefixed(&ctx) {
			return nil, malformed(what, "truncated certificate_request_context")
		}
		c.RequestContext = []byte(ctx)
	}
	// certificate_list<0..2^24-1>
	var list cryptobyte.String
	if !body.ReadUint24LengthPrefixed(&list) {
		return nil, malformed(what, "truncated certificate_list")
	}
	if !body.Empty() {
		return nil, malformed(what, "%d bytes after certificate_list", len(body))
	}
	for !list.Empty() {
		// RFC 8446 §4.4.2: opaque cert_data<1..2^24-1>; RFC 5246 §7.4.2:
		// opaque ASN.1Cert<1..2^24-1>
		var data cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&data) {
			return nil, malformed(what, "truncated certificate %d", len(c.Entries))
		}
		if len(data) == 0 {
			return nil, malformed(what, "empty certificate %d", len(c.Entries))
		}
		entry := CertificateEntry{Data: []byte(data)}
		if tls13 {
			// RFC 8446 §4.4.2: Extension extensions<0..2^16-1>
			var exts cryptobyte.String
			if !list.ReadUint16LengthPrefixed(&exts) {
				return nil, malformed(what, "truncated extensions of certificate %d", len(c.Entries))
			}
			for !exts.Empty() {
				var e Extension
				var d cryptobyte.String
				if !exts.ReadUint16(&e.Type) || !exts.ReadUint16LengthPrefixed(&d) {
					return nil, malformed(what, "truncated extension of certificate %d", len(c.Entries))
				}
				e.Data = []byte(d)
				entry.Extensions = append(entry.Extensions, e)
			}
		}
		c.Entries = append(c.Entries, entry)
	}
	return c, nil
}

// Marshal returns the handshake message, header included, framed for
// c.Version.
func (c *Certificate) Marshal() ([]byte, error) {
	tls13 := c.Version >= VersionTLS13
	return marshalHandshake(TypeCertificate, func(b *cryptobyte.Builder) {
		if tls13 {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.RequestContext) })
		}
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range c.Entries {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
				if tls13 {
					addExtensions(b, e.Extensions)
				}
			}
		})
	})
}

// CertificateRequest is a CertificateRequest message (RFC 8446 §4.3.2 for
// TLS 1.3, RFC 5246 §7.4.4 for TLS 1.2, RFC 4346 §7.4.4 before).
type CertificateRequest struct {
	// Version selects the framing: TLS 1.3, TLS 1.2, or earlier (which has
	// no signature algorithms).
	Version uint16
	// CertificateTypes are certificate_types (before TLS 1.3), e.g. 1
	// rsa_sign, 64 ecdsa_sign; see CertificateTypeName.
	CertificateTypes []uint8
	// SignatureSchemes are supported_signature_algorithms (TLS 1.2) or the
	// signature_algorithms extension (TLS 1.3).
	SignatureSchemes []uint16
	// CertificateAuthorities are the DER DistinguishedNames of the CAs the
	// server accepts (the certificate_authorities field, or extension in
	// TLS 1.3); x509 can read each with asn1.Unmarshal into a
	// pkix.RDNSequence.
	CertificateAuthorities [][]byte
	// RequestContext is certificate_request_context (TLS 1.3 only).
	RequestContext []byte
	// Extensions are the extensions of a TLS 1.3 request in wire order.
	// For TLS 1.3, Marshal writes RequestContext and exactly these; the
	// typed fields are what ParseCertificateRequest read from them.
	Extensions []Extension
	// SignatureSchemesCert is the signature_algorithms_cert extension (TLS
	// 1.3 only, RFC 8446 §4.2.3).
	SignatureSchemesCert []uint16
}

// ParseCertificateRequest parses a CertificateRequest handshake message,
// header included, framed as version frames it.
func ParseCertificateRequest(msg []byte, version uint16) (*CertificateRequest, error) {
	const what = "CertificateRequest"
	body, err := readHandshake(msg, TypeCertificateRequest)
	if err != nil {
		return nil, err
	}
	cr := &CertificateRequest{Version: version}
	if version >= VersionTLS13 {
		// RFC 8446 §4.3.2: opaque certificate_request_context<0..2^8-1>;
		// Extension extensions<2..2^16-1>
		var ctx cryptobyte.String
		if !body.ReadUint8LengthPrefixed(&ctx) {
			return nil, malformed(what, "truncated certificate_request_context")
		}
		cr.RequestContext = []byte(ctx)
		if body.Empty() {
			return nil, malformed(what, "missing extensions")
		}
		if cr.Extensions, err = readExtensions(what, &body); err != nil {
			return nil, err
		}
		if !body.Empty() {
			return nil, malformed(what, "%d bytes after the extensions", len(body))
		}
		for _, e := range cr.Extensions {
			s := cryptobyte.String(e.Data)
			ok := true
			switch e.Type {
			case ExtSignatureAlgorithms:
				cr.SignatureSchemes, ok = readUint16List(&s)
			case ExtSignatureAlgsCert:
				cr.SignatureSchemesCert, ok = readUint16List(&s)
			case ExtCertificateAuthority:
				cr.CertificateAuthorities, ok = readDistinguishedNames(&s)
			default:
				s = nil // kept raw in Extensions
			}
			if !ok || !s.Empty() {
				return nil, malformed(what, "bad %s extension", ExtensionName(e.Type))
			}
		}
		return cr, nil
	}
	// RFC 5246 §7.4.4: ClientCertificateType certificate_types<1..2^8-1>
	var types cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&types) {
		return nil, malformed(what, "truncated certificate_types")
	}
	cr.CertificateTypes = []uint8(types)
	if version >= VersionTLS12 {
		// SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>
		var ok bool
		if cr.SignatureSchemes, ok = readUint16List(&body); !ok {
			return nil, malformed(what, "bad supported_signature_algorithms")
		}
	}
	// DistinguishedName certificate_authorities<0..2^16-1>
	var ok bool
	if cr.CertificateAuthorities, ok = readDistinguishedNames(&body); !ok {
		return nil, malformed(what, "bad certificate_authorities")
	}
	if !body.Empty() {
		return nil, malformed(what, "%d bytes after certificate_authorities", len(body))
	}
	return cr, nil
}

// Marshal returns the handshake message, header included, framed for
// cr.Version.
func (cr *CertificateRequest) Marshal() ([]byte, error) {
	return marshalHandshake(TypeCertificateRequest, func(b *cryptobyte.Builder) {
		if cr.Version >= VersionTLS13 {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.RequestContext) })
			addExtensions(b, cr.Extensions)
			return
		}
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(cr.CertificateTypes) })
		if cr.Version >= VersionTLS12 {
			addUint16List(b, cr.SignatureSchemes)
		}
		addDistinguishedNames(b, cr.CertificateAuthorities)
	})
}

// ParseServerHelloDone checks a ServerHelloDone handshake message, header
// included (RFC 5246 §7.4.5: an empty body).
func ParseServerHelloDone(msg []byte) error {
	body, err := readHandshake(msg, TypeServerHelloDone)
	if err != nil {
		return err
	}
	if !body.Empty() {
		return malformed("ServerHelloDone", "body of %d bytes, want none", len(body))
	}
	return nil
}

// MarshalServerHelloDone returns a ServerHelloDone handshake message.
func MarshalServerHelloDone() []byte {
	return []byte{TypeServerHelloDone, 0, 0, 0}
}

// readUint16List reads a uint16-length-prefixed list of uint16 values, as
// signature_algorithms and supported_groups carry.
func readUint16List(s *cryptobyte.String) ([]uint16, bool) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
		return nil, false
	}
	out := make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		out = append(out, v)
	}
	return out, true
}

func addUint16List(b *cryptobyte.Builder, list []uint16) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, v := range list {
			b.AddUint16(v)
		}
	})
}

// readDistinguishedNames reads DistinguishedName authorities<0..2^16-1>
// (RFC 8446 §4.2.4, RFC 5246 §7.4.4), each opaque<1..2^16-1>.
func readDistinguishedNames(s *cryptobyte.String) ([][]byte, bool) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) {
		return nil, false
	}
	var names [][]byte
	for !list.Empty() {
		var dn cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&dn) || len(dn) == 0 {
			return nil, false
		}
		names = append(names, []byte(dn))
	}
	return names, true
}

func addDistinguishedNames(b *cryptobyte.Builder, names [][]byte) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, dn := range names {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(dn) })
		}
	})
}
