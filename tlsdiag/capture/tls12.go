package capture

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// prf12 is the TLS 1.2 PRF, P_hash(secret, label + seed) (RFC 5246, section 5).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	labelSeed := append([]byte(label), seed...)
	out := make([]byte, 0, n)
	mac := hmac.New(h, secret)
	mac.Write(labelSeed)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// newRecordCipher12 derives, from the master secret of a TLS 1.2 connection, the cipher
// that opens the records side sends (RFC 5246, section 6.3: the key block is
// PRF(master_secret, "key expansion", server_random + client_random), split into the
// client's and the server's write keys, then their IVs). Only AEAD suites are decrypted:
// AES-GCM (RFC 5288: a 4-byte salt and an explicit 8-byte nonce per record) and
// ChaCha20-Poly1305 (RFC 7905: a 12-byte IV XORed with the sequence number).
func newRecordCipher12(suite uint16, master []byte, clientRandom, serverRandom [32]byte, side Side) (*recordCipher, error) {
	s, ok := tlswire.SuiteByID(suite)
	if !ok || s.MAC != "AEAD" {
		return nil, errNoAEAD
	}
	h := sha256.New
	if strings.HasSuffix(s.Name, "_SHA384") {
		h = sha512.New384
	}
	var keyLen, ivLen int
	switch s.Cipher {
	case "AES_128_GCM":
		keyLen, ivLen = 16, 4
	case "AES_256_GCM":
		keyLen, ivLen = 32, 4
	case "CHACHA20_POLY1305":
		keyLen, ivLen = chacha20poly1305.KeySize, 12
	default:
		return nil, errNoAEAD
	}
	seed := append(serverRandom[:], clientRandom[:]...)
	block := prf12(h, master, "key expansion", seed, 2*keyLen+2*ivLen)
	key, iv := block[:keyLen], block[2*keyLen:2*keyLen+ivLen]
	if side == Server {
		key, iv = block[keyLen:2*keyLen], block[2*keyLen+ivLen:]
	}
	rc := &recordCipher{tls12: true}
	copy(rc.iv[:], iv)
	var err error
	if ivLen == 12 {
		rc.aead, err = chacha20poly1305.New(key)
	} else {
		rc.explicit = 8
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			rc.aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// open12 decrypts one TLS 1.2 AEAD record; the content type is the record's own.
func (rc *recordCipher) open12(hdr, fragment []byte) (uint8, []byte, error) {
	if len(fragment) < rc.explicit+rc.aead.Overhead() {
		return 0, nil, errors.New("record shorter than its nonce and tag")
	}
	if rc.explicit > 0 {
		copy(rc.nonce[:4], rc.iv[:4])
		copy(rc.nonce[4:], fragment[:rc.explicit])
		fragment = fragment[rc.explicit:]
	} else {
		rc.nonce = rc.iv
		var seq [8]byte
		binary.BigEndian.PutUint64(seq[:], rc.seq)
		for i := range seq {
			rc.nonce[4+i] ^= seq[i]
		}
	}
	// additional_data = seq_num + type + version + length of the plaintext (RFC 5246,
	// section 6.2.3.3).
	var ad [13]byte
	binary.BigEndian.PutUint64(ad[:8], rc.seq)
	copy(ad[8:11], hdr[:3])
	binary.BigEndian.PutUint16(ad[11:], uint16(len(fragment)-rc.aead.Overhead()))
	plain, err := rc.aead.Open(nil, rc.nonce[:rc.aead.NonceSize()], fragment, ad[:])
	if err != nil {
		return 0, nil, err
	}
	rc.seq++
	return hdr[0], plain, nil
}
