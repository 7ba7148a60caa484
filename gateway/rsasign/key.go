package rsasign

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"
	"sync/atomic"
)

// Key is an RSA private key whose signatures are made by libcrypto. Keys are
// made by [Wrap]; the zero Key is not usable.
//
// Key implements [crypto.Signer] and [crypto.Decrypter]. Decrypt, which
// crypto/tls calls for the TLS_RSA_* key exchange suites, and the signatures
// libcrypto is not asked for are done by the Go key.
type Key struct {
	priv *rsa.PrivateKey
	lc   *lcKey // libcrypto's copy of priv; nil when there is none
}

var (
	_ crypto.Signer    = (*Key)(nil)
	_ crypto.Decrypter = (*Key)(nil)
)

// libcryptoSigns counts the signatures libcrypto made; importFailures counts
// the keys Wrap returned unchanged because libcrypto did not accept them.
var libcryptoSigns, importFailures atomic.Uint64

// Unwrap returns the Go key k was made from.
func (k *Key) Unwrap() *rsa.PrivateKey { return k.priv }

// Public returns the *rsa.PublicKey of the key k was made from.
func (k *Key) Public() crypto.PublicKey { return &k.priv.PublicKey }

// Decrypt decrypts ciphertext with the Go key, exactly as
// [rsa.PrivateKey.Decrypt] does.
func (k *Key) Decrypt(rand io.Reader, ciphertext []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	return k.priv.Decrypt(rand, ciphertext, opts)
}

// Sign signs digest, the hash of a message, as [rsa.PrivateKey.Sign] does:
// with RSASSA-PSS when opts is a *rsa.PSSOptions and with PKCS #1 v1.5
// otherwise. Requests libcrypto is not used for (see the package
// documentation) are passed to the Go key; rand is used only by those.
func (k *Key) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	p, ok := paramsFor(opts)
	if !ok || k.lc == nil {
		return k.priv.Sign(rand, digest, opts)
	}
	if want := p.hash.Size(); len(digest) != want {
		return nil, fmt.Errorf("rsasign: digest is %d bytes; %v needs %d", len(digest), p.hash, want)
	}
	sig, err := k.lc.sign(p, digest, k.priv.Size())
	if err != nil {
		return nil, err
	}
	libcryptoSigns.Add(1)
	return sig, nil
}

// Values of OpenSSL 3's RSA padding modes and special PSS salt lengths
// (openssl/rsa.h).
const (
	paddingPKCS1 = 1 // RSA_PKCS1_PADDING
	paddingPSS   = 6 // RSA_PKCS1_PSS_PADDING

	saltLenDigest = -1 // RSA_PSS_SALTLEN_DIGEST: as long as the digest
	saltLenMax    = -3 // RSA_PSS_SALTLEN_MAX: as long as the key allows
)

// signParams is what libcrypto is asked for: a padding mode, a digest (an
// index into the C side's table, 0 for none) and, for PSS, a salt length.
type signParams struct {
	hash    crypto.Hash
	padding int
	md      int
	saltLen int
}

// mdIndex numbers the digests libcrypto signs; the C side's table of
// EVP_MD pointers has the same order.
var mdIndex = map[crypto.Hash]int{
	crypto.SHA1:   1,
	crypto.SHA256: 2,
	crypto.SHA384: 3,
	crypto.SHA512: 4,
}

// paramsFor translates opts to libcrypto's terms; ok is false when libcrypto
// is not to be used for them.
func paramsFor(opts crypto.SignerOpts) (p signParams, ok bool) {
	if opts == nil {
		return p, false
	}
	if pss, isPSS := opts.(*rsa.PSSOptions); isPSS {
		md, known := mdIndex[pss.Hash]
		if !known {
			return p, false
		}
		p = signParams{hash: pss.Hash, padding: paddingPSS, md: md}
		switch n := pss.SaltLength; {
		case n == rsa.PSSSaltLengthEqualsHash:
			p.saltLen = saltLenDigest
		case n == rsa.PSSSaltLengthAuto:
			p.saltLen = saltLenMax
		case n > 0:
			p.saltLen = n
		default:
			return p, false
		}
		return p, true
	}
	h := opts.HashFunc()
	if h == crypto.MD5SHA1 {
		// No digest set: libcrypto pads the 36 bytes as they are, with no
		// DigestInfo, as TLS 1.0 and 1.1 want.
		return signParams{hash: h, padding: paddingPKCS1}, true
	}
	md, known := mdIndex[h]
	if !known {
		return p, false
	}
	return signParams{hash: h, padding: paddingPKCS1, md: md}, true
}
