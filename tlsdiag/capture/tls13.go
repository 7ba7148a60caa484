package capture

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/hkdf"
)

// TLS 1.3 suites (RFC 8446, appendix B.4).
const (
	suiteAES128GCMSHA256        uint16 = 0x1301
	suiteAES256GCMSHA384        uint16 = 0x1302
	suiteChaCha20Poly1305SHA256 uint16 = 0x1303
)

// errNoAEAD is returned for a TLS 1.3 suite whose records cannot be decrypted here (the
// CCM suites).
var errNoAEAD = errors.New("cipher suite not supported for decryption")

// suiteHash returns the hash of a TLS 1.3 suite and its key length.
func suiteHash(suite uint16) (func() hash.Hash, int, error) {
	switch suite {
	case suiteAES128GCMSHA256:
		return sha256.New, 16, nil
	case suiteAES256GCMSHA384:
		return sha512.New384, 32, nil
	case suiteChaCha20Poly1305SHA256:
		return sha256.New, chacha20poly1305.KeySize, nil
	}
	return nil, 0, errNoAEAD
}

// expandLabel is HKDF-Expand-Label (RFC 8446, section 7.1):
//
//	struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; } HkdfLabel;
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte("tls13 "))
		b.AddBytes([]byte(label))
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	info := b.BytesOrPanic()
	out := make([]byte, length)
	if _, err := hkdf.Expand(h, secret, info).Read(out); err != nil {
		panic("capture: hkdf: " + err.Error()) // only for lengths above 255 hashes
	}
	return out
}

// recordCipher decrypts the records one side protects with one traffic secret (RFC 8446,
// section 5.2), or, in TLS 1.2, with its write key (see newRecordCipher12), counting their
// sequence numbers.
type recordCipher struct {
	aead  cipher.AEAD
	iv    [12]byte
	seq   uint64
	nonce [12]byte
	// tls12 selects TLS 1.2's record protection (see open12), with explicit bytes of
	// nonce in each record.
	tls12    bool
	explicit int
}

// newRecordCipher derives the traffic keys of secret for suite (RFC 8446, section 7.3):
// key = HKDF-Expand-Label(secret, "key", "", key_length), iv = HKDF-Expand-Label(secret,
// "iv", "", 12).
func newRecordCipher(suite uint16, secret []byte) (*recordCipher, error) {
	h, keyLen, err := suiteHash(suite)
	if err != nil {
		return nil, err
	}
	if len(secret) != h().Size() {
		return nil, errors.New("secret length does not match the suite's hash")
	}
	key := expandLabel(h, secret, "key", nil, keyLen)
	rc := &recordCipher{}
	copy(rc.iv[:], expandLabel(h, secret, "iv", nil, 12))
	if suite == suiteChaCha20Poly1305SHA256 {
		rc.aead, err = chacha20poly1305.New(key)
	} else {
		var block cipher.Block
		if block, err = aes.NewCipher(key); err == nil {
			rc.aead, err = cipher.NewGCM(block)
		}
	}
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// open decrypts one TLS 1.3 record whose 5-byte header is hdr. It returns the inner
// content type and the content (RFC 8446, section 5.2: TLSInnerPlaintext = content ||
// type || zeros). On failure the sequence number is not advanced, so that a record
// protected otherwise (early data) does not shift the count of the next ones.
func (rc *recordCipher) open(hdr, fragment []byte) (typ uint8, content []byte, err error) {
	if rc.tls12 {
		return rc.open12(hdr, fragment)
	}
	// The per-record nonce: the 64-bit sequence number, left-padded to 12 bytes, XORed
	// with the IV (RFC 8446, section 5.3).
	rc.nonce = rc.iv
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], rc.seq)
	for i := range seq {
		rc.nonce[4+i] ^= seq[i]
	}
	if len(fragment) < rc.aead.Overhead() {
		return 0, nil, errors.New("record shorter than the AEAD tag")
	}
	plain, err := rc.aead.Open(nil, rc.nonce[:], fragment, hdr)
	if err != nil {
		return 0, nil, err
	}
	rc.seq++
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, errors.New("decrypted record has no content type")
	}
	return plain[i], plain[:i], nil
}
