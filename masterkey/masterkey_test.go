package masterkey

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCreatesOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, src, err := Load(path, "")
	if err != nil || src != FromCreated {
		t.Fatalf("first load: %v, %q; want created", err, src)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", st.Mode().Perm())
	}
	k2, src, err := Load(path, "")
	if err != nil || src != FromFile {
		t.Fatalf("second load: %v, %q; want file", err, src)
	}
	sealed, err := k1.Seal([]byte("secret"), []byte("here"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open(sealed, []byte("here")); err != nil || string(pt) != "secret" {
		t.Errorf("reloaded key opens to %q, %v; want secret", pt, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path, ""); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("world-readable key file: got %v; want an error asking for 0600", err)
	}
}

func TestEnvironmentKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, Size)
	path := filepath.Join(t.TempDir(), "master.key")
	k, src, err := Load(path, base64.StdEncoding.EncodeToString(raw))
	if err != nil || src != FromEnv {
		t.Fatalf("got %v, %q; want the environment's key", err, src)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a key from the environment was written to disk")
	}
	if _, _, err := Load(path, "c2hvcnQ="); err == nil || !strings.Contains(err.Error(), EnvVar) {
		t.Errorf("short key: got %v; want an error naming %s", err, EnvVar)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", k, k, k, k); strings.Contains(s, "7") || !strings.Contains(s, "redacted") {
		t.Errorf("formatting a key shows %q", s)
	}
}

func TestSealBindsPlaceAndKey(t *testing.T) {
	a, _ := New(bytes.Repeat([]byte{1}, Size))
	b, _ := New(bytes.Repeat([]byte{2}, Size))
	sealed, err := a.Seal([]byte("private key bytes"), []byte("ks/alias1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("private key bytes")) {
		t.Fatal("sealed value holds the plaintext")
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	cases := []struct {
		name   string
		key    *Key
		sealed []byte
		ad     string
	}{
		{"other place", a, sealed, "ks/alias2"},
		{"other master key", b, sealed, "ks/alias1"},
		{"altered", a, flipped, "ks/alias1"},
		{"truncated", a, sealed[:10], "ks/alias1"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.key.Open(tt.sealed, []byte(tt.ad)); !errors.Is(err, ErrOpen) {
				t.Errorf("got %v; want ErrOpen", err)
			}
		})
	}
}
