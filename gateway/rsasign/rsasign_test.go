package rsasign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
)

// testKey is the RSA-2048 key of the tests, made once.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
})

func TestWrapLeavesOtherKeys(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	noPrimes := *testKey()
	noPrimes.Primes = nil
	tests := []struct {
		name string
		key  crypto.PrivateKey
	}{
		{"ecdsa", ecKey},
		{"ed25519", edKey},
		{"nil", nil},
		{"nil rsa", (*rsa.PrivateKey)(nil)},
		{"rsa without primes", &noPrimes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Wrap(tt.key)
			if !sameKey(got, tt.key) {
				t.Errorf("Wrap(%T) = %T; want the key unchanged", tt.key, got)
			}
		})
	}
}

func TestWrapRSA(t *testing.T) {
	key := testKey()
	got := Wrap(key)
	ok, detail := Available()
	if !ok {
		if got != crypto.PrivateKey(key) {
			t.Errorf("Wrap(key) = %T without libcrypto (%s); want the key unchanged", got, detail)
		}
		return
	}
	k, isKey := got.(*Key)
	if !isKey {
		t.Fatalf("Wrap(key) = %T; want *Key", got)
	}
	if k.Unwrap() != key {
		t.Errorf("Unwrap() = %p; want %p", k.Unwrap(), key)
	}
	pub, isRSA := k.Public().(*rsa.PublicKey)
	if !isRSA || !pub.Equal(&key.PublicKey) {
		t.Errorf("Public() = %T %v; want the key's *rsa.PublicKey", k.Public(), k.Public())
	}
}

// sameKey reports whether a and b are the same key value.
func sameKey(a, b crypto.PrivateKey) bool {
	if ed, ok := b.(ed25519.PrivateKey); ok {
		got, ok := a.(ed25519.PrivateKey)
		return ok && got.Equal(ed)
	}
	return a == b
}

func TestParamsFor(t *testing.T) {
	tests := []struct {
		name   string
		opts   crypto.SignerOpts
		want   signParams
		wantOK bool
	}{
		{"nil", nil, signParams{}, false},
		{"raw", crypto.Hash(0), signParams{}, false},
		{"pkcs1 sha224", crypto.SHA224, signParams{}, false},
		{"pkcs1 sha1", crypto.SHA1, signParams{crypto.SHA1, paddingPKCS1, 1, 0}, true},
		{"pkcs1 sha512", crypto.SHA512, signParams{crypto.SHA512, paddingPKCS1, 4, 0}, true},
		{"pkcs1 md5sha1", crypto.MD5SHA1, signParams{crypto.MD5SHA1, paddingPKCS1, 0, 0}, true},
		{"pss equals hash", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256},
			signParams{crypto.SHA256, paddingPSS, 2, saltLenDigest}, true},
		{"pss auto", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA384},
			signParams{crypto.SHA384, paddingPSS, 3, saltLenMax}, true},
		{"pss 20", &rsa.PSSOptions{SaltLength: 20, Hash: crypto.SHA1},
			signParams{crypto.SHA1, paddingPSS, 1, 20}, true},
		{"pss negative salt", &rsa.PSSOptions{SaltLength: -5, Hash: crypto.SHA256}, signParams{}, false},
		{"pss md5sha1", &rsa.PSSOptions{Hash: crypto.MD5SHA1}, signParams{}, false},
		{"pss sha224", &rsa.PSSOptions{Hash: crypto.SHA224}, signParams{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := paramsFor(tt.opts)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("paramsFor = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
