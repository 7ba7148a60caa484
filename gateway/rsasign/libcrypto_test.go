//go:build cgo && linux

package rsasign

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestAvailable(t *testing.T) {
	ok, detail := Available()
	if !ok {
		t.Fatalf("Available() = false, %q; want libcrypto.so.3 loaded", detail)
	}
	if !strings.HasPrefix(detail, "OpenSSL 3.") {
		t.Errorf("Available() detail = %q; want an OpenSSL 3 version", detail)
	}
}

// wrapped returns the test key wrapped, failing t if Wrap did not wrap it.
func wrapped(t testing.TB) *Key {
	t.Helper()
	return wrap(t, testKey())
}

// wrap returns key wrapped by Wrap, which must give a *Key.
func wrap(t testing.TB, key crypto.PrivateKey) *Key {
	t.Helper()
	k, ok := Wrap(key).(*Key)
	if !ok {
		_, detail := Available()
		t.Fatalf("Wrap(*rsa.PrivateKey) did not return a *Key (libcrypto: %s)", detail)
	}
	return k
}

// digestOf hashes msg with h; crypto.MD5SHA1 gives MD5 followed by SHA-1.
func digestOf(h crypto.Hash, msg string) []byte {
	if h == crypto.MD5SHA1 {
		m, s := md5.Sum([]byte(msg)), sha1.Sum([]byte(msg))
		return append(m[:], s[:]...)
	}
	d := h.New()
	d.Write([]byte(msg))
	return d.Sum(nil)
}

func TestSignVerifies(t *testing.T) {
	key := testKey()
	k := wrapped(t)
	pss := func(salt int, h crypto.Hash) *rsa.PSSOptions { return &rsa.PSSOptions{SaltLength: salt, Hash: h} }
	maxSalt := func(h crypto.Hash) int { return key.Size() - h.Size() - 2 }
	tests := []struct {
		name string
		opts crypto.SignerOpts
		// verify is the salt length the PSS signature must have (PKCS #1
		// v1.5 signatures are compared with Go's instead).
		verify int
	}{
		{"pss equals hash sha256", pss(rsa.PSSSaltLengthEqualsHash, crypto.SHA256), 32},
		{"pss equals hash sha384", pss(rsa.PSSSaltLengthEqualsHash, crypto.SHA384), 48},
		{"pss equals hash sha512", pss(rsa.PSSSaltLengthEqualsHash, crypto.SHA512), 64},
		{"pss auto sha256", pss(rsa.PSSSaltLengthAuto, crypto.SHA256), maxSalt(crypto.SHA256)},
		{"pss auto sha384", pss(rsa.PSSSaltLengthAuto, crypto.SHA384), maxSalt(crypto.SHA384)},
		{"pss auto sha512", pss(rsa.PSSSaltLengthAuto, crypto.SHA512), maxSalt(crypto.SHA512)},
		{"pss equals hash sha1", pss(rsa.PSSSaltLengthEqualsHash, crypto.SHA1), 20},
		{"pss 32 sha256", pss(32, crypto.SHA256), 32},
		{"pss 32 sha384", pss(32, crypto.SHA384), 32},
		{"pss 32 sha512", pss(32, crypto.SHA512), 32},
		{"pkcs1 sha1", crypto.SHA1, 0},
		{"pkcs1 sha256", crypto.SHA256, 0},
		{"pkcs1 sha384", crypto.SHA384, 0},
		{"pkcs1 sha512", crypto.SHA512, 0},
		{"pkcs1 md5sha1", crypto.MD5SHA1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.opts.HashFunc()
			digest := digestOf(h, "message for "+tt.name)
			before := libcryptoSigns.Load()
			sig, err := k.Sign(rand.Reader, digest, tt.opts)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got := libcryptoSigns.Load() - before; got != 1 {
				t.Errorf("libcrypto made %d signatures; want 1", got)
			}
			if len(sig) != key.Size() {
				t.Errorf("signature is %d bytes; want %d", len(sig), key.Size())
			}
			if _, isPSS := tt.opts.(*rsa.PSSOptions); isPSS {
				err := rsa.VerifyPSS(&key.PublicKey, h, digest, sig, pss(tt.verify, h))
				if err != nil {
					t.Errorf("VerifyPSS with salt length %d: %v", tt.verify, err)
				}
				return
			}
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, h, digest, sig); err != nil {
				t.Errorf("VerifyPKCS1v15: %v", err)
			}
			want, err := rsa.SignPKCS1v15(nil, key, h, digest)
			if err != nil {
				t.Fatalf("rsa.SignPKCS1v15: %v", err)
			}
			if string(sig) != string(want) {
				t.Errorf("signature differs from rsa.SignPKCS1v15's:\ngot  %x\nwant %x", sig, want)
			}
		})
	}
}

// TestSignFallsBack checks that what libcrypto is not asked for is signed by
// Go, as the Go key would.
func TestSignFallsBack(t *testing.T) {
	key, k := testKey(), wrapped(t)
	tests := []struct {
		name   string
		opts   crypto.SignerOpts
		digest []byte
	}{
		{"raw", crypto.Hash(0), []byte("raw bytes, no DigestInfo")},
		{"pkcs1 sha224", crypto.SHA224, digestOf(crypto.SHA224, "m")},
		{"pss sha224", &rsa.PSSOptions{Hash: crypto.SHA224}, digestOf(crypto.SHA224, "m")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := libcryptoSigns.Load()
			sig, err := k.Sign(rand.Reader, tt.digest, tt.opts)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got := libcryptoSigns.Load() - before; got != 0 {
				t.Errorf("libcrypto made %d signatures; want 0", got)
			}
			h := tt.opts.HashFunc()
			if pss, ok := tt.opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(&key.PublicKey, h, tt.digest, sig, pss)
			} else {
				err = rsa.VerifyPKCS1v15(&key.PublicKey, h, tt.digest, sig)
			}
			if err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	k := wrapped(t)
	tests := []struct {
		name   string
		opts   crypto.SignerOpts
		digest []byte
		want   string
	}{
		{"short digest", crypto.SHA256, make([]byte, 20), "rsasign: digest is 20 bytes; SHA-256 needs 32"},
		{"long md5sha1", crypto.MD5SHA1, make([]byte, 37), "rsasign: digest is 37 bytes; MD5+SHA1 needs 36"},
		{"salt too long", &rsa.PSSOptions{SaltLength: 300, Hash: crypto.SHA256}, make([]byte, 32),
			"rsasign: EVP_PKEY_sign: error:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := libcryptoSigns.Load()
			sig, err := k.Sign(rand.Reader, tt.digest, tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Sign = %x, %v; want error %q", sig, err, tt.want+"…")
			}
			if got := libcryptoSigns.Load() - before; got != 0 {
				t.Errorf("libcrypto counted %d signatures; want 0", got)
			}
			t.Log(err)
		})
	}
}

func TestWrapImportFailure(t *testing.T) {
	key := testKey()
	der := x509.MarshalPKCS1PrivateKey(key)
	for _, bad := range [][]byte{nil, []byte("not a key"), der[:len(der)/2]} {
		before := importFailures.Load()
		if got := wrapDER(key, bad); got != crypto.PrivateKey(key) {
			t.Errorf("wrapDER(key, %d bytes) = %T; want the key unchanged", len(bad), got)
		}
		if got := importFailures.Load() - before; got != 1 {
			t.Errorf("wrapDER(key, %d bytes) counted %d import failures; want 1", len(bad), got)
		}
	}
	_, err := importKey([]byte("not a key"))
	if err == nil || !strings.HasPrefix(err.Error(), "rsasign: d2i_PrivateKey: ") {
		t.Errorf("importKey(garbage) error = %v; want one naming d2i_PrivateKey", err)
	}
}

func TestConcurrentSign(t *testing.T) {
	const goroutines, each = 8, 50
	key, k := testKey(), wrapped(t)
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	before := libcryptoSigns.Load()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				digest := digestOf(crypto.SHA256, fmt.Sprintf("goroutine %d, message %d", g, i))
				sig, err := k.Sign(rand.Reader, digest, opts)
				if err != nil {
					t.Errorf("goroutine %d, Sign %d: %v", g, i, err)
					return
				}
				if err := rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, digest, sig, opts); err != nil {
					t.Errorf("goroutine %d, signature %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := libcryptoSigns.Load()-before, uint64(goroutines*each); got != want {
		t.Errorf("libcrypto made %d signatures; want %d", got, want)
	}
}

func BenchmarkSign(b *testing.B) {
	key, k := testKey(), wrapped(b)
	digest := digestOf(crypto.SHA256, "benchmark")
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			if _, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("libcrypto", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Sign(rand.Reader, digest, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
