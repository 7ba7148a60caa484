package h1

import (
	"bytes"
	"strings"
	"testing"
)

// TestValidToken checks every byte, within a name, against RFC 9110's definition of a
// token: visible ASCII characters but the delimiters.
func TestValidToken(t *testing.T) {
	if ValidToken("") || ValidToken([]byte{}) {
		t.Error("the empty string is no token")
	}
	for c := 0; c < 256; c++ {
		name := "X-" + string([]byte{byte(c)}) + "-Name"
		want := c > ' ' && c < 0x7f && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
		if got := ValidToken(name); got != want {
			t.Errorf("ValidToken(%q) = %v, want %v", name, got, want)
		}
		if got := ValidToken([]byte(name)); got != want {
			t.Errorf("ValidToken([]byte(%q)) = %v, want %v", name, got, want)
		}
	}
}

func TestTrimOWS(t *testing.T) {
	for _, s := range []string{"", " ", "\t \t", "a", " a", "a ", " \ta b\t ", "\u00a0a\u00a0", "a\r\n", "\t\tvalue with spaces  "} {
		want := strings.Trim(s, " \t")
		if got := TrimOWS(s); got != want {
			t.Errorf("TrimOWS(%q) = %q, want %q", s, got, want)
		}
		if got := TrimOWS([]byte(s)); !bytes.Equal(got, []byte(want)) {
			t.Errorf("TrimOWS([]byte(%q)) = %q, want %q", s, got, want)
		}
	}
}
