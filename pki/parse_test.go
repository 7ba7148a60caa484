package pki

import (
	"errors"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

func TestParseKeyPair(t *testing.T) {
	root := pkitest.NewRoot("Parse Root")
	leaf := root.Issue(pkitest.Options{CommonName: "parse.test"})
	other := root.Issue(pkitest.Options{CommonName: "other.test"})
	chain := pkitest.PEM(leaf.Cert, root.Cert)

	b, err := ParseKeyPair(chain, leaf.KeyPEM(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Chain) != 2 || !b.Chain[0].Equal(leaf.Cert) || !KeyMatches(b.Chain[0], b.Key) {
		t.Errorf("got chain of %d, key match %v; want the leaf, its root and its key", len(b.Chain), KeyMatches(b.Chain[0], b.Key))
	}

	errs := []struct {
		name      string
		cert, key []byte
		want      error
	}{
		{"mismatch", chain, other.KeyPEM(), ErrKeyMismatch},
		{"no key", chain, chain, ErrNoKey},
		{"garbage cert", []byte("hello"), leaf.KeyPEM(), ErrUnknownFormat},
		{"too large", make([]byte, MaxFileSize+1), leaf.KeyPEM(), ErrTooLarge},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeyPair(tt.cert, tt.key, "")
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v; want %v", err, tt.want)
			}
		})
	}
}

func TestParseKeystorePEM(t *testing.T) {
	leaf := pkitest.NewRoot("Parse Root").Issue(pkitest.Options{CommonName: "parse.test"})
	b, err := ParseKeystore(append(leaf.CertPEM(), leaf.KeyPEM()...), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Format != FormatPEM || !KeyMatches(b.Chain[0], b.Key) {
		t.Errorf("format %q; want pem with a matching key", b.Format)
	}
	if _, err := ParseKeystore(leaf.CertPEM(), "", ""); !errors.Is(err, ErrNoKey) {
		t.Errorf("certificate only: got %v; want ErrNoKey", err)
	}
}
