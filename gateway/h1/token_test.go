package h1

import (
	"bytes"
	"net/http"
	"slices"
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

// TestTokens: the elements of comma-separated values, trimmed, empty ones skipped, the
// same for strings and bytes, and an early break honoured.
func TestTokens(t *testing.T) {
	for v, want := range map[string][]string{
		"":                            nil,
		",, ,\t,":                     nil,
		"close":                       {"close"},
		" keep-alive , Upgrade,":      {"keep-alive", "Upgrade"},
		"a,b,,c":                      {"a", "b", "c"},
		"\tX-Name ,x-other\t, close ": {"X-Name", "x-other", "close"},
		"one token with spaces":       {"one token with spaces"},
		",leading":                    {"leading"},
	} {
		var got, gotBytes []string
		for tok := range Tokens(v) {
			got = append(got, tok)
		}
		for tok := range Tokens([]byte(v)) {
			gotBytes = append(gotBytes, string(tok))
		}
		if !slices.Equal(got, want) || !slices.Equal(gotBytes, want) {
			t.Errorf("Tokens(%q) = %q and %q for bytes; want %q", v, got, gotBytes, want)
		}
	}
	n := 0
	for range Tokens("a, b, c") {
		n++
		break
	}
	if n != 1 {
		t.Errorf("a break after the first token yielded %d tokens", n)
	}
}

// TestDeclaredTrailers: the names a Trailer field lists, canonical, in order, empty
// elements skipped, and those that may not be trailers (Content-Length, Host...) left out.
func TestDeclaredTrailers(t *testing.T) {
	h := http.Header{"Trailer": {"x-checksum, ,Content-Length", "grpc-status,host,X-B"}}
	got := DeclaredTrailers(h)
	want := []string{"X-Checksum", "Grpc-Status", "X-B"}
	if !slices.Equal(got, want) {
		t.Errorf("DeclaredTrailers(%v) = %q; want %q", h, got, want)
	}
	if got := DeclaredTrailers(http.Header{}); got != nil {
		t.Errorf("no Trailer field: got %q; want none", got)
	}
}
