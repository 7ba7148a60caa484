package tlswire

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// ServerKeyExchange holds what a diagnosis needs from a ServerKeyExchange
// message (RFC 5246 §7.4.3, RFC 8422 §5.4, RFC 4279 §2): the group or the
// Diffie-Hellman parameters the server chose, and how it signed them.
type ServerKeyExchange struct {
	// PSKIdentityHint is psk_identity_hint, for the PSK key exchanges.
	PSKIdentityHint []byte
	// Group is the named curve of an ECDHE exchange (RFC 8422 §5.4), or 0.
	// ExplicitCurve is set instead when the server sent explicit curve
	// parameters (curve_type 1 or 2), which RFC 8422 deprecates.
	Group         uint16
	ExplicitCurve bool
	// DHPrime and DHGenerator are dh_p and dh_g of a DHE exchange (RFC
	// 5246 §7.4.3); len(DHPrime)*8 approximates the group size that
	// Logjam-style checks judge.
	DHPrime     []byte
	DHGenerator []byte
	// RSAModulus is the temporary key of an RSA export exchange (RFC 2246
	// §7.4.3).
	RSAModulus []byte
	// PublicKey is the server's ephemeral public value (dh_Ys or the ECPoint).
	PublicKey []byte
	// SignatureScheme is the algorithm of the signature (TLS 1.2 only; 0
	// before, where MD5+SHA-1 or SHA-1 is implied), and Signature the
	// signature itself; both empty for anonymous and PSK exchanges.
	SignatureScheme uint16
	Signature       []byte
}

// DHBits returns the size of the DHE prime in bits, ignoring leading zero
// bytes, or 0 for other key exchanges.
func (k *ServerKeyExchange) DHBits() int {
	p := k.DHPrime
	for len(p) > 0 && p[0] == 0 {
		p = p[1:]
	}
	if len(p) == 0 {
		return 0
	}
	bits := 8 * (len(p) - 1)
	for top := p[0]; top != 0; top >>= 1 {
		bits++
	}
	return bits
}

// ParseServerKeyExchange parses a ServerKeyExchange handshake message,
// header included, for a suite of key exchange kx (and authentication auth,
// which tells whether the parameters are signed) negotiated in version.
// SRP, KRB5 and GOST exchanges are not decoded: the error wraps
// errors.ErrUnsupported.
func ParseServerKeyExchange(msg []byte, kx KeyExchange, auth Authentication, version uint16) (*ServerKeyExchange, error) {
	const what = "ServerKeyExchange"
	body, err := readHandshake(msg, TypeServerKeyExchange)
	if err != nil {
		return nil, err
	}
	k := &ServerKeyExchange{}
	signed := auth == AuthRSA || auth == AuthDSS || auth == AuthECDSA
	switch kx {
	case KxPSK, KxDHEPSK, KxECDHEPSK, KxRSAPSK:
		// RFC 4279 §2: opaque psk_identity_hint<0..2^16-1>
		var hint cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&hint) {
			return nil, malformed(what, "truncated psk_identity_hint")
		}
		k.PSKIdentityHint = []byte(hint)
		signed = false // RFC 4279 §4: RSA_PSK signs nothing here
	}
	switch kx {
	case KxDHE, KxDHEPSK:
		// RFC 5246 §7.4.3: ServerDHParams { dh_p<1..2^16-1>; dh_g<1..2^16-1>;
		// dh_Ys<1..2^16-1> }
		var p, g, y cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&p) || !body.ReadUint16LengthPrefixed(&g) ||
			!body.ReadUint16LengthPrefixed(&y) || len(p) == 0 || len(g) == 0 || len(y) == 0 {
			return nil, malformed(what, "bad ServerDHParams")
		}
		k.DHPrime, k.DHGenerator, k.PublicKey = []byte(p), []byte(g), []byte(y)
	case KxECDHE, KxECDHEPSK:
		// RFC 8422 §5.4: ServerECDHParams { ECParameters curve_params;
		// ECPoint public; }
		var curveType uint8
		if !body.ReadUint8(&curveType) {
			return nil, malformed(what, "truncated curve_type")
		}
		switch curveType {
		case 3: // named_curve
			if !body.ReadUint16(&k.Group) {
				return nil, malformed(what, "truncated namedcurve")
			}
		case 1, 2: // explicit_prime, explicit_char2 (RFC 4492 §5.4)
			k.ExplicitCurve = true
			return k, nil // the explicit parameters are not decoded
		default:
			return nil, malformed(what, "unknown curve_type %d", curveType)
		}
		var point cryptobyte.String
		if !body.ReadUint8LengthPrefixed(&point) || len(point) == 0 {
			return nil, malformed(what, "bad ECPoint")
		}
		k.PublicKey = []byte(point)
	case KxRSA:
		// RFC 2246 §7.4.3: ServerRSAParams { rsa_modulus<1..2^16-1>;
		// rsa_exponent<1..2^16-1> }, sent by export suites only
		var n, e cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&n) || !body.ReadUint16LengthPrefixed(&e) || len(n) == 0 || len(e) == 0 {
			return nil, malformed(what, "bad ServerRSAParams")
		}
		k.RSAModulus, k.PublicKey = []byte(n), []byte(e)
	case KxPSK, KxRSAPSK:
	default:
		return nil, fmt.Errorf("tlswire: parsing %s: %s key exchange: %w", what, kx, errors.ErrUnsupported)
	}
	if signed {
		// RFC 5246 §7.4.3: digitally-signed struct; TLS 1.2 prefixes the
		// SignatureAndHashAlgorithm (RFC 5246 §4.7).
		if version >= VersionTLS12 && !body.ReadUint16(&k.SignatureScheme) {
			return nil, malformed(what, "truncated signature algorithm")
		}
		var sig cryptobyte.String
		if !body.ReadUint16LengthPrefixed(&sig) {
			return nil, malformed(what, "truncated signature")
		}
		k.Signature = []byte(sig)
	}
	if !body.Empty() {
		return nil, malformed(what, "%d bytes after the parameters", len(body))
	}
	return k, nil
}
