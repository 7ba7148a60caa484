package tlswire

import (
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// ClientHello is a parsed ClientHello message (RFC 8446 §4.1.2, RFC 5246
// §7.4.1.2), as a capture sees a client's offer.
type ClientHello struct {
	Version            uint16 // legacy_version
	Random             [32]byte
	SessionID          []byte
	Suites             []uint16
	CompressionMethods []uint8
	// Extensions are the extensions in wire order; the fields below are
	// what ParseClientHello read from them.
	Extensions []Extension

	ServerName           string   // server_name host_name (RFC 6066 §3), "" if absent
	SupportedVersions    []uint16 // supported_versions (RFC 8446 §4.2.1)
	Groups               []uint16 // supported_groups (RFC 8446 §4.2.7)
	PointFormats         []uint8  // ec_point_formats (RFC 8422 §5.1.2)
	SignatureSchemes     []uint16 // signature_algorithms (RFC 8446 §4.2.3)
	SignatureSchemesCert []uint16 // signature_algorithms_cert (RFC 8446 §4.2.3)
	ALPN                 []string // application_layer_protocol_negotiation (RFC 7301)
	KeyShares            []KeyShare
	PSKModes             []uint8 // psk_key_exchange_modes (RFC 8446 §4.2.9)
	SecureRenegotiation  bool    // renegotiation_info extension or TLS_EMPTY_RENEGOTIATION_INFO_SCSV
	ExtendedMasterSecret bool
	SessionTicket        bool // session_ticket extension (RFC 5077)
}

// MaxVersion returns the highest version the client offers: the highest
// non-GREASE value of supported_versions when present, legacy_version
// otherwise.
func (c *ClientHello) MaxVersion() uint16 {
	var best uint16
	for _, v := range c.SupportedVersions {
		if !IsGREASE(v) && v > best {
			best = v
		}
	}
	if best == 0 {
		return c.Version
	}
	return best
}

// OffersVersion reports whether the client offers version v: in
// supported_versions when present (RFC 8446 §4.2.1), otherwise any version
// up to legacy_version.
func (c *ClientHello) OffersVersion(v uint16) bool {
	if len(c.SupportedVersions) > 0 {
		return slices.Contains(c.SupportedVersions, v)
	}
	return v >= VersionSSL30 && v <= c.Version
}

// ParseClientHello parses a ClientHello handshake message, header included.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	const what = "ClientHello"
	body, err := readHandshake(msg, TypeClientHello)
	if err != nil {
		return nil, err
	}
	ch := &ClientHello{}
	var sessionID, suites, comp cryptobyte.String
	switch {
	case !body.ReadUint16(&ch.Version): // legacy_version
		return nil, malformed(what, "truncated legacy_version")
	case !body.CopyBytes(ch.Random[:]): // random
		return nil, malformed(what, "truncated random")
	case !body.ReadUint8LengthPrefixed(&sessionID): // legacy_session_id<0..32>
		return nil, malformed(what, "truncated legacy_session_id")
	case len(sessionID) > 32:
		return nil, malformed(what, "legacy_session_id of %d bytes exceeds 32", len(sessionID))
	case !body.ReadUint16LengthPrefixed(&suites): // cipher_suites<2..2^16-2>
		return nil, malformed(what, "truncated cipher_suites")
	case len(suites) == 0 || len(suites)%2 != 0:
		return nil, malformed(what, "cipher_suites of %d bytes", len(suites))
	case !body.ReadUint8LengthPrefixed(&comp) || len(comp) == 0: // legacy_compression_methods<1..2^8-1>
		return nil, malformed(what, "bad legacy_compression_methods")
	}
	ch.SessionID = []byte(sessionID)
	for !suites.Empty() {
		var id uint16
		suites.ReadUint16(&id)
		ch.Suites = append(ch.Suites, id)
	}
	ch.CompressionMethods = []uint8(comp)
	if slices.Contains(ch.Suites, 0x00FF) {
		ch.SecureRenegotiation = true
	}
	if ch.Extensions, err = readExtensions(what, &body); err != nil {
		return nil, err
	}
	if !body.Empty() {
		return nil, malformed(what, "%d bytes after the extensions", len(body))
	}
	for _, e := range ch.Extensions {
		if !ch.readExtension(e) {
			return nil, malformed(what, "bad %s extension", ExtensionName(e.Type))
		}
	}
	return ch, nil
}

// Marshal returns the handshake message, header included, with exactly the
// extensions in c.Extensions (and no extensions block when there are none).
// The fields read from the extensions are not consulted.
func (c *ClientHello) Marshal() ([]byte, error) {
	return marshalHandshake(TypeClientHello, func(b *cryptobyte.Builder) {
		b.AddUint16(c.Version)
		b.AddBytes(c.Random[:])
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.SessionID) })
		addUint16List(b, c.Suites)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c.CompressionMethods) })
		if len(c.Extensions) > 0 {
			addExtensions(b, c.Extensions)
		}
	})
}

// readExtension fills the field that extension e carries. It reports false
// when e is malformed.
func (ch *ClientHello) readExtension(e Extension) bool {
	s := cryptobyte.String(e.Data)
	ok := true
	switch e.Type {
	case ExtServerName:
		// RFC 6066 §3: ServerName server_name_list<1..2^16-1>
		var list cryptobyte.String
		ok = s.ReadUint16LengthPrefixed(&list)
		for ok && !list.Empty() {
			var typ uint8
			var name cryptobyte.String
			ok = list.ReadUint8(&typ) && list.ReadUint16LengthPrefixed(&name)
			if ok && typ == 0 && ch.ServerName == "" { // host_name
				ch.ServerName = string(name)
			}
		}
	case ExtSupportedVersions:
		// RFC 8446 §4.2.1: ProtocolVersion versions<2..254>
		var list cryptobyte.String
		ok = s.ReadUint8LengthPrefixed(&list) && len(list)%2 == 0
		for ok && !list.Empty() {
			var v uint16
			list.ReadUint16(&v)
			ch.SupportedVersions = append(ch.SupportedVersions, v)
		}
	case ExtSupportedGroups:
		ch.Groups, ok = readUint16List(&s)
	case ExtECPointFormats:
		var list cryptobyte.String
		ok = s.ReadUint8LengthPrefixed(&list)
		ch.PointFormats = []uint8(list)
	case ExtSignatureAlgorithms:
		ch.SignatureSchemes, ok = readUint16List(&s)
	case ExtSignatureAlgsCert:
		ch.SignatureSchemesCert, ok = readUint16List(&s)
	case ExtALPN:
		// RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>
		var list cryptobyte.String
		ok = s.ReadUint16LengthPrefixed(&list)
		for ok && !list.Empty() {
			var p cryptobyte.String
			ok = list.ReadUint8LengthPrefixed(&p) && len(p) > 0
			ch.ALPN = append(ch.ALPN, string(p))
		}
	case ExtKeyShare:
		// RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>
		var list cryptobyte.String
		ok = s.ReadUint16LengthPrefixed(&list)
		for ok && !list.Empty() {
			var ks KeyShare
			var data cryptobyte.String
			ok = list.ReadUint16(&ks.Group) && list.ReadUint16LengthPrefixed(&data) && len(data) > 0
			ks.Data = []byte(data)
			ch.KeyShares = append(ch.KeyShares, ks)
		}
	case ExtPSKKeyExchangeModes:
		var list cryptobyte.String
		ok = s.ReadUint8LengthPrefixed(&list)
		ch.PSKModes = []uint8(list)
	case ExtRenegotiationInfo:
		var conn cryptobyte.String
		ok = s.ReadUint8LengthPrefixed(&conn)
		ch.SecureRenegotiation = true
	case ExtExtendedMasterSecret:
		ch.ExtendedMasterSecret = true
	case ExtSessionTicket:
		ch.SessionTicket = true
		s = nil // opaque ticket data
	default:
		s = nil // kept raw in Extensions
	}
	return ok && s.Empty()
}

// SSLv2ClientHello is a CLIENT-HELLO in the SSL 2.0 record format, which
// clients once sent to reach SSL 2.0 servers while offering SSL 3.0 or TLS
// (RFC 5246 Appendix E.2, RFC 6101 Appendix E).
type SSLv2ClientHello struct {
	// Version is the highest version offered: VersionSSL20, or 0x0300 and up.
	Version uint16
	// CipherSpecs are the 3-byte V2CipherSpecs; TLS suites have a zero
	// first byte (see Suites).
	CipherSpecs []uint32
	SessionID   []byte
	Challenge   []byte
}

// Suites returns the TLS cipher suites among the cipher specs.
func (h *SSLv2ClientHello) Suites() []uint16 {
	var out []uint16
	for _, spec := range h.CipherSpecs {
		if spec>>16 == 0 {
			out = append(out, uint16(spec))
		}
	}
	return out
}

// LooksLikeSSLv2ClientHello reports whether b, the first bytes a client
// sent, start an SSLv2-format CLIENT-HELLO rather than a TLS record.
func LooksLikeSSLv2ClientHello(b []byte) bool {
	return len(b) >= 5 && b[0]&0x80 != 0 && b[2] == 1 &&
		(b[3] == 3 || b[3] == 0 && b[4] == 2)
}

// ParseSSLv2ClientHello parses an SSLv2-format CLIENT-HELLO record, its
// 2-byte header included; b must hold exactly the record.
func ParseSSLv2ClientHello(b []byte) (*SSLv2ClientHello, error) {
	const what = "SSLv2 CLIENT-HELLO"
	s := cryptobyte.String(b)
	var length, specLen, idLen, challengeLen uint16
	var typ uint8
	h := &SSLv2ClientHello{}
	// RFC 5246 Appendix E.2: uint8 msg_length[2] with the high bit set;
	// uint8 msg_type (1); Version version; uint16 cipher_spec_length;
	// uint16 session_id_length; uint16 challenge_length.
	if !s.ReadUint16(&length) || length&0x8000 == 0 {
		return nil, malformed(what, "not a 2-byte SSLv2 record header")
	}
	if int(length&0x7fff) != len(s) {
		return nil, malformed(what, "record length %d, have %d bytes", length&0x7fff, len(s))
	}
	switch {
	case !s.ReadUint8(&typ) || typ != 1:
		return nil, malformed(what, "message type is not CLIENT-HELLO (1)")
	case !s.ReadUint16(&h.Version) || !s.ReadUint16(&specLen) || !s.ReadUint16(&idLen) || !s.ReadUint16(&challengeLen):
		return nil, malformed(what, "truncated header")
	case specLen == 0 || specLen%3 != 0:
		return nil, malformed(what, "cipher_spec_length %d is not a positive multiple of 3", specLen)
	case idLen > 32:
		return nil, malformed(what, "session_id_length %d exceeds 32", idLen)
	case challengeLen < 16 || challengeLen > 32:
		return nil, malformed(what, "challenge_length %d is not 16 to 32", challengeLen)
	}
	var specs, id, challenge cryptobyte.String
	if !s.ReadBytes((*[]byte)(&specs), int(specLen)) || !s.ReadBytes((*[]byte)(&id), int(idLen)) ||
		!s.ReadBytes((*[]byte)(&challenge), int(challengeLen)) {
		return nil, malformed(what, "truncated body")
	}
	if !s.Empty() {
		return nil, malformed(what, "%d bytes after the challenge", len(s))
	}
	for !specs.Empty() {
		var spec uint32
		specs.ReadUint24(&spec)
		h.CipherSpecs = append(h.CipherSpecs, spec)
	}
	h.SessionID = []byte(id)
	h.Challenge = []byte(challenge)
	return h, nil
}

// Marshal returns the SSLv2-format CLIENT-HELLO record, header included.
func (h *SSLv2ClientHello) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(1)
	b.AddUint16(h.Version)
	b.AddUint16(uint16(3 * len(h.CipherSpecs)))
	b.AddUint16(uint16(len(h.SessionID)))
	b.AddUint16(uint16(len(h.Challenge)))
	for _, spec := range h.CipherSpecs {
		b.AddUint24(spec)
	}
	b.AddBytes(h.SessionID)
	b.AddBytes(h.Challenge)
	body, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	if len(body) > 0x7fff {
		return nil, malformed("SSLv2 CLIENT-HELLO", "%d bytes exceed the 2-byte header", len(body))
	}
	return append([]byte{byte(len(body)>>8) | 0x80, byte(len(body))}, body...), nil
}
