package capture

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKeyLog(t *testing.T) {
	random := strings.Repeat("ab", 32)
	secret32, secret48 := strings.Repeat("01", 32), strings.Repeat("02", 48)
	in := strings.Join([]string{
		"# a comment",
		"",
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + random + " " + secret32,
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " + random + " " + secret32,
		"CLIENT_TRAFFIC_SECRET_0 " + random + " " + secret48,
		"SERVER_TRAFFIC_SECRET_0 " + random + " " + secret48,
		"EXPORTER_SECRET " + random + " " + secret32,
		"CLIENT_RANDOM " + random + " " + secret48,
		"CLIENT_RANDOM " + random + " " + secret32, // line 9: a master secret is 48 bytes
		"NOT_A_LABEL " + random + " " + secret32,   // line 10
		"CLIENT_RANDOM abc " + secret48,            // line 11
		"CLIENT_RANDOM " + random,                  // line 12
		"CLIENT_RANDOM " + random + " zz",          // line 13
	}, "\n")
	k, err := ParseKeyLog(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 1 {
		t.Errorf("Len() = %d; want 1", k.Len())
	}
	var r [32]byte
	hex.Decode(r[:], []byte(random))
	s := k.Lookup(r)
	if s == nil || len(s.ClientHandshake) != 32 || len(s.ServerTraffic0) != 48 || len(s.MasterSecret) != 48 {
		t.Fatalf("secrets %+v", s)
	}
	if k.Lookup([32]byte{}) != nil {
		t.Error("secrets for an unknown random")
	}
	for i, line := range []string{"line 9", "line 10", "line 11", "line 12", "line 13"} {
		if i >= len(k.Problems) || !strings.HasPrefix(k.Problems[i], line+":") {
			t.Errorf("problem %d: %q; want one about %s", i, k.Problems, line)
		}
	}
}

func TestParseKeyLogRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no key log line", "hello\nworld\n", "no line is a key log line"},
		{"binary", string(bytes.Repeat([]byte{0xff}, 5000)), "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyLog(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadKeyLogTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxKeyLogSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := LoadKeyLog(path); !errors.Is(err, ErrKeyLogTooLarge) {
		t.Errorf("error %v; want ErrKeyLogTooLarge", err)
	}
	if _, err := LoadKeyLog(filepath.Join(t.TempDir(), "none.log")); err == nil || !strings.Contains(err.Error(), "none.log") {
		t.Errorf("error %v; want one naming the file", err)
	}
}

// TestTrafficKeys checks the key schedule against RFC 8448, section 3 (the server's
// handshake traffic keys of the simple 1-RTT handshake).
func TestTrafficKeys(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	secret := unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38")
	h, n, err := suiteHash(suiteAES128GCMSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := expandLabel(h, secret, "key", nil, n), unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"); !bytes.Equal(got, want) {
		t.Errorf("key %x; want %x", got, want)
	}
	if got, want := expandLabel(h, secret, "iv", nil, 12), unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"); !bytes.Equal(got, want) {
		t.Errorf("iv %x; want %x", got, want)
	}
	if _, err := newRecordCipher(0x1304, secret); err == nil {
		t.Error("TLS_AES_128_CCM_SHA256 accepted")
	}
	if _, err := newRecordCipher(suiteAES256GCMSHA384, secret); err == nil {
		t.Error("a 32-byte secret accepted for a SHA-384 suite")
	}
}
