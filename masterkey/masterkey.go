// Package masterkey keeps the master key that private keys are sealed under at rest, and
// seals and opens them with AES-256-GCM.
//
// The master key lives outside the store: in a file created with mode 0600 at first start,
// or in the environment (TLSGATE_MASTER_KEY, base64 of 32 bytes). Sealed values are bound
// to where they are kept (the additional data), so a sealed key copied to another alias
// does not open.
package masterkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvVar names the environment variable that may hold the master key.
const EnvVar = "TLSGATE_MASTER_KEY"

// Size is the length of a master key: AES-256.
const Size = 32

// version is the first byte of every sealed value, so the format can change later.
const version = 1

// ErrOpen: a sealed value does not open under this key (another master key, another
// place, or altered bytes).
var ErrOpen = errors.New("masterkey: sealed value does not open with this master key")

// Key seals and opens values. It never prints its bytes: String and GoString are
// redacted, so a Key logged by mistake shows nothing.
type Key struct {
	aead cipher.AEAD
	rand io.Reader
}

// New returns the Key of 32 raw bytes.
func New(raw []byte) (*Key, error) {
	if len(raw) != Size {
		return nil, fmt.Errorf("masterkey: want %d bytes, got %d", Size, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead, rand: rand.Reader}, nil
}

// Parse reads a master key written as base64 (standard or URL alphabet, padded or not).
func Parse(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			return New(raw)
		}
	}
	return nil, errors.New("masterkey: not base64")
}

// Source says where Load found the key.
type Source string

// The sources of a master key.
const (
	FromEnv     Source = "environment"
	FromFile    Source = "file"
	FromCreated Source = "created"
)

// Load returns the master key: from env (the value of EnvVar, "" when unset) if given,
// else from path, else a new random key written to path with mode 0600 (atomically: a
// temporary file renamed into place). A key file readable by others is refused.
func Load(path, env string) (*Key, Source, error) {
	if env != "" {
		k, err := Parse(env)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", EnvVar, err)
		}
		return k, FromEnv, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		st, serr := os.Stat(path)
		if serr == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, "", fmt.Errorf("master key %s: mode %v lets others read it; want 0600 (chmod 600 %s)", path, st.Mode().Perm(), path)
		}
		k, err := Parse(string(data))
		if err != nil {
			return nil, "", fmt.Errorf("master key %s: %w", path, err)
		}
		return k, FromFile, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("master key: %w", err)
	}
	raw := make([]byte, Size)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	if err := writeAtomic(path, []byte(base64.StdEncoding.EncodeToString(raw)+"\n")); err != nil {
		return nil, "", fmt.Errorf("master key: %w", err)
	}
	k, err := New(raw)
	return k, FromCreated, err
}

// writeAtomic writes data to path with mode 0600 through a temporary file in the same
// directory, synced before the rename.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".masterkey-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Seal encrypts plaintext bound to ad (where the value is kept).
func (k *Key) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return nil, err
	}
	out := append([]byte{version}, nonce...)
	return k.aead.Seal(out, nonce, plaintext, ad), nil
}

// Open decrypts a value Seal returned for the same ad, or returns ErrOpen.
func (k *Key) Open(sealed, ad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// String hides the key.
func (k *Key) String() string { return "masterkey.Key(redacted)" }

// GoString hides the key.
func (k *Key) GoString() string { return k.String() }
