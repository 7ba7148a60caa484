package pki

import (
	"context"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

const storePass = "changeit"

// testPKI is a root, an intermediate and a leaf with its key, written as PEM in a
// temporary directory.
type testPKI struct {
	dir                   string
	root, inter, leaf     *pkitest.Cert
	leafPEM, keyPEM, ca   string // paths: leaf+intermediate, leaf key, root
	rootPEM, interPEM     string
	rsaLeaf               *pkitest.Cert
	rsaLeafPEM, rsaKeyPEM string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	p.root = pkitest.NewRoot("Load Root CA")
	p.inter = p.root.Issue(pkitest.Options{CommonName: "Load Intermediate CA", IsCA: true})
	p.leaf = p.inter.Issue(pkitest.Options{CommonName: "load.test", DNSNames: []string{"load.test"}})
	p.rsaLeaf = p.inter.Issue(pkitest.Options{CommonName: "rsa.test", Key: pkitest.RSA2048})
	p.leafPEM = write(t, p.dir, "leaf.pem", pkitest.PEM(p.leaf.Cert, p.inter.Cert))
	p.keyPEM = write(t, p.dir, "leaf.key", p.leaf.KeyPEM())
	p.rootPEM = write(t, p.dir, "root.pem", p.root.CertPEM())
	p.interPEM = write(t, p.dir, "inter.pem", p.inter.CertPEM())
	p.rsaLeafPEM = write(t, p.dir, "rsa.pem", pkitest.PEM(p.rsaLeaf.Cert, p.inter.Cert))
	p.rsaKeyPEM = write(t, p.dir, "rsa.key", p.rsaLeaf.KeyPEM())
	return p
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p, err := pkitest.WriteFile(dir, name, data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tool runs a command with a timeout and fails the test with its output on error.
func tool(t *testing.T, name string, args ...string) {
	t.Helper()
	if err := toolErr(name, args...); err != nil {
		t.Fatal(err)
	}
}

func toolErr(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return errors.New(name + " " + strings.Join(args, " ") + ": " + err.Error() + "\n" + string(out))
	}
	return nil
}

func needKeytool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("keytool"); err != nil {
		t.Fatal("keytool not found: install the Debian package default-jdk-headless")
	}
}

func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl not found: install the Debian package openssl")
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v; want %v", err, want)
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("got %T; want *LoadError", err)
	}
	if strings.Contains(err.Error(), storePass) {
		t.Fatalf("error %q shows the password", err)
	}
}

func TestDetectFormat(t *testing.T) {
	p := newTestPKI(t)
	p12, err := pkcs12.Modern.Encode(p.leaf.Key, p.leaf.Cert, nil, storePass)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"pem", p.leaf.CertPEM(), FormatPEM},
		{"pem after text", append([]byte("Certificate:\n  Data: ...\n"), p.leaf.CertPEM()...), FormatPEM},
		{"der", p.leaf.Cert.Raw, FormatDER},
		{"pkcs12", p12, FormatPKCS12},
		{"jks", []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2}, FormatJKS},
		{"garbage", []byte("hello"), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectFormat(tt.data); got != tt.want {
				t.Errorf("DetectFormat = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestLoadCertificates(t *testing.T) {
	needOpenSSL(t)
	needKeytool(t)
	p := newTestPKI(t)
	d := p.dir
	mixed := write(t, d, "mixed.pem", append(append(append([]byte("comment\n"), p.leaf.KeyPEM()...),
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{1}})...), pkitest.PEM(p.leaf.Cert, p.inter.Cert, p.root.Cert)...))
	der := write(t, d, "root.der", p.root.Cert.Raw)
	p12 := filepath.Join(d, "openssl.p12")
	tool(t, "openssl", "pkcs12", "-export", "-in", p.leafPEM, "-inkey", p.keyPEM, "-certfile", p.rootPEM,
		"-name", "server", "-passout", "pass:"+storePass, "-out", p12)
	nokeys := filepath.Join(d, "nokeys.p12")
	tool(t, "openssl", "pkcs12", "-export", "-nokeys", "-in", p.leafPEM, "-passout", "pass:"+storePass, "-out", nokeys)
	jks := filepath.Join(d, "trust.jks")
	tool(t, "keytool", "-importcert", "-storetype", "JKS", "-keystore", jks, "-storepass", storePass,
		"-alias", "root", "-file", p.rootPEM, "-noprompt")
	tool(t, "keytool", "-importcert", "-storetype", "JKS", "-keystore", jks, "-storepass", storePass,
		"-alias", "inter", "-file", p.interPEM, "-noprompt")
	javaP12 := filepath.Join(d, "trust.p12")
	tool(t, "keytool", "-importcert", "-storetype", "PKCS12", "-keystore", javaP12, "-storepass", storePass,
		"-alias", "root", "-file", p.rootPEM, "-noprompt")

	tests := []struct {
		name, path, password string
		want                 int
	}{
		{"pem bundle with a key and a CRL", mixed, "", 3},
		{"der", der, "", 1},
		{"openssl pkcs12 with key", p12, storePass, 3},
		{"openssl pkcs12 without key", nokeys, storePass, 2},
		{"jks", jks, storePass, 2},
		{"jks without password", jks, "", 2},
		{"java pkcs12 truststore", javaP12, storePass, 1},
	}
	if err := toolErr("openssl", "pkcs12", "-export", "-legacy", "-in", p.leafPEM, "-inkey", p.keyPEM,
		"-passout", "pass:"+storePass, "-out", filepath.Join(d, "legacy.p12")); err == nil {
		tests = append(tests, struct {
			name, path, password string
			want                 int
		}{"openssl legacy pkcs12", filepath.Join(d, "legacy.p12"), storePass, 2})
	} else {
		t.Logf("openssl pkcs12 -legacy not available here: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := LoadCertificates(tt.path, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tt.want {
				t.Errorf("got %d certificates; want %d", len(certs), tt.want)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		empty := write(t, d, "empty.pem", nil)
		blank := write(t, d, "blank.pem", []byte("\n  \n"))
		garbage := write(t, d, "garbage.bin", []byte("this is not a certificate"))
		keyOnly := write(t, d, "key-only.pem", p.leaf.KeyPEM())
		big := write(t, d, "big.pem", make([]byte, MaxFileSize+1))
		errs := []struct {
			name, path, password string
			want                 error
		}{
			{"empty", empty, "", ErrEmpty},
			{"blank", blank, "", ErrEmpty},
			{"garbage", garbage, "", ErrUnknownFormat},
			{"key only", keyOnly, "", ErrNoCertificate},
			{"too large", big, "", ErrTooLarge},
			{"missing", filepath.Join(d, "nope.pem"), "", fs.ErrNotExist},
			{"pkcs12 wrong password", p12, "wrong" + storePass, ErrWrongPassword},
			{"jks wrong password", jks, "wrong" + storePass, ErrWrongPassword},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				_, err := LoadCertificates(tt.path, tt.password)
				wantErr(t, err, tt.want)
			})
		}
	})
}

func TestLoadKeystore(t *testing.T) {
	needOpenSSL(t)
	needKeytool(t)
	p := newTestPKI(t)
	d := p.dir
	p12 := filepath.Join(d, "server.p12")
	tool(t, "openssl", "pkcs12", "-export", "-in", p.leafPEM, "-inkey", p.keyPEM, "-certfile", p.rootPEM,
		"-name", "server", "-passout", "pass:"+storePass, "-out", p12)
	p12b := filepath.Join(d, "second.p12")
	tool(t, "openssl", "pkcs12", "-export", "-in", p.rsaLeafPEM, "-inkey", p.rsaKeyPEM,
		"-name", "second", "-passout", "pass:"+storePass, "-out", p12b)
	// Two key entries in one Java PKCS#12 keystore, and the same in JKS.
	javaP12 := filepath.Join(d, "two.p12")
	jks := filepath.Join(d, "two.jks")
	for _, src := range []string{p12, p12b} {
		tool(t, "keytool", "-importkeystore", "-srckeystore", src, "-srcstoretype", "PKCS12", "-srcstorepass", storePass,
			"-destkeystore", javaP12, "-deststoretype", "PKCS12", "-deststorepass", storePass, "-noprompt")
		tool(t, "keytool", "-importkeystore", "-srckeystore", src, "-srcstoretype", "PKCS12", "-srcstorepass", storePass,
			"-destkeystore", jks, "-deststoretype", "JKS", "-deststorepass", storePass, "-noprompt")
	}
	nokeys := filepath.Join(d, "nokeys.p12")
	tool(t, "openssl", "pkcs12", "-export", "-nokeys", "-in", p.leafPEM, "-passout", "pass:"+storePass, "-out", nokeys)
	combined := write(t, d, "combined.pem", append(pkitest.PEM(p.leaf.Cert, p.inter.Cert), p.leaf.KeyPEM()...))

	tests := []struct {
		name, path, alias string
		leaf              *pkitest.Cert
		wantAlias         string
		chain             int
	}{
		{"openssl pkcs12", p12, "", p.leaf, "server", 3},
		{"openssl pkcs12 by alias", p12, "SERVER", p.leaf, "server", 3},
		{"java pkcs12 first", javaP12, "", nil, "", 0},
		{"java pkcs12 second", javaP12, "second", p.rsaLeaf, "second", 3}, // the root of the other entry completes it
		{"java pkcs12 server", javaP12, "server", p.leaf, "server", 3},
		{"jks second", jks, "second", p.rsaLeaf, "second", 2},
		{"jks server", jks, "server", p.leaf, "server", 3},
		{"pem with key", combined, "", p.leaf, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := LoadKeystore(tt.path, storePass, tt.alias)
			if err != nil {
				t.Fatal(err)
			}
			if !KeyMatches(b.Chain[0], b.Key) {
				t.Fatal("key does not match the leaf")
			}
			if tt.leaf == nil {
				return
			}
			if !b.Chain[0].Equal(tt.leaf.Cert) {
				t.Errorf("leaf %s; want %s", b.Chain[0].Subject, tt.leaf.Cert.Subject)
			}
			if b.Alias != tt.wantAlias {
				t.Errorf("alias %q; want %q", b.Alias, tt.wantAlias)
			}
			if len(b.Chain) != tt.chain {
				t.Errorf("chain of %d; want %d", len(b.Chain), tt.chain)
			}
			if tc := b.TLSCertificate(); len(tc.Certificate) != len(b.Chain) || tc.Leaf != b.Chain[0] {
				t.Errorf("TLSCertificate does not carry the chain")
			}
		})
	}

	errs := []struct {
		name, path, password, alias string
		want                        error
		mention                     string
	}{
		{"pkcs12 wrong password", p12, "nope", "", ErrWrongPassword, ""},
		{"jks wrong password", jks, "nope", "", ErrWrongPassword, ""},
		{"pkcs12 alias not found", javaP12, storePass, "client", ErrAliasNotFound, "second"},
		{"jks alias not found", jks, storePass, "client", ErrAliasNotFound, "server"},
		{"pkcs12 without key", nokeys, storePass, "", ErrNoKey, ""},
		{"pem without key", p.leafPEM, storePass, "", ErrNoKey, ""},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKeystore(tt.path, tt.password, tt.alias)
			wantErr(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q; want it to mention %q", err, tt.mention)
			}
		})
	}
}

func TestLoadKeyPair(t *testing.T) {
	needOpenSSL(t)
	p := newTestPKI(t)
	d := p.dir
	legacyEnc := filepath.Join(d, "legacy-enc.key")
	tool(t, "openssl", "pkey", "-in", p.rsaKeyPEM, "-traditional", "-aes256", "-passout", "pass:"+storePass, "-out", legacyEnc)
	pkcs8Enc := filepath.Join(d, "pkcs8-enc.key")
	tool(t, "openssl", "pkey", "-in", p.keyPEM, "-aes256", "-passout", "pass:"+storePass, "-out", pkcs8Enc)
	pkcs1 := filepath.Join(d, "pkcs1.key")
	tool(t, "openssl", "pkey", "-in", p.rsaKeyPEM, "-traditional", "-out", pkcs1)
	sec1 := filepath.Join(d, "sec1.key")
	tool(t, "openssl", "pkey", "-in", p.keyPEM, "-traditional", "-out", sec1)
	derKey := filepath.Join(d, "key.der")
	tool(t, "openssl", "pkey", "-in", p.keyPEM, "-outform", "DER", "-out", derKey)
	derCert := write(t, d, "leaf.der", p.leaf.Cert.Raw)

	ok := []struct {
		name, cert, key, password string
	}{
		{"pkcs8", p.leafPEM, p.keyPEM, ""},
		{"pkcs1", p.rsaLeafPEM, pkcs1, ""},
		{"sec1", p.leafPEM, sec1, ""},
		{"der cert and key", derCert, derKey, ""},
		{"legacy encrypted pem", p.rsaLeafPEM, legacyEnc, storePass},
		{"encrypted pkcs8", p.leafPEM, pkcs8Enc, storePass},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			b, err := LoadKeyPair(tt.cert, tt.key, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if !KeyMatches(b.Chain[0], b.Key) {
				t.Error("key does not match")
			}
		})
	}
	errs := []struct {
		name, cert, key, password string
		want                      error
	}{
		{"mismatch", p.leafPEM, p.rsaKeyPEM, "", ErrKeyMismatch},
		{"legacy encrypted, wrong password", p.rsaLeafPEM, legacyEnc, "wrong", ErrWrongPassword},
		{"legacy encrypted, no password", p.rsaLeafPEM, legacyEnc, "", ErrWrongPassword},
		{"pkcs8 encrypted, wrong password", p.leafPEM, pkcs8Enc, "wrong", ErrWrongPassword},
		{"no key", p.leafPEM, p.rootPEM, "", ErrNoKey},
		{"key as certificate", p.keyPEM, p.keyPEM, "", ErrNoCertificate},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKeyPair(tt.cert, tt.key, tt.password)
			wantErr(t, err, tt.want)
		})
	}
}

func TestLoadBounds(t *testing.T) {
	p := newTestPKI(t)
	t.Run("pkcs12 iterations", func(t *testing.T) {
		data, err := pkcs12.Modern.WithIterations(maxIterations+1).Encode(p.leaf.Key, p.leaf.Cert, nil, storePass)
		if err != nil {
			t.Fatal(err)
		}
		path := write(t, p.dir, "slow.p12", data)
		_, err = LoadCertificates(path, storePass)
		if err == nil || !strings.Contains(err.Error(), "iterations") {
			t.Fatalf("got %v; want a refusal naming the iterations", err)
		}
	})
	t.Run("jks lengths", func(t *testing.T) {
		// A header claiming 2^32-1 entries, and an entry whose key claims 4 GiB.
		for _, data := range [][]byte{
			{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff},
			append([]byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, make([]byte, 64)...),
		} {
			path := write(t, p.dir, "bad.jks", data)
			_, err := LoadCertificates(path, storePass)
			if err == nil || !strings.Contains(err.Error(), "malformed JKS") {
				t.Errorf("got %v; want malformed JKS", err)
			}
		}
	})
	t.Run("truncated pkcs12", func(t *testing.T) {
		data, err := pkcs12.Modern.Encode(p.leaf.Key, p.leaf.Cert, nil, storePass)
		if err != nil {
			t.Fatal(err)
		}
		path := write(t, p.dir, "short.p12", data[:len(data)/2])
		if _, err := LoadCertificates(path, storePass); err == nil {
			t.Error("truncated PKCS#12 loaded")
		}
	})
}

func TestParseCertificates(t *testing.T) {
	p := newTestPKI(t)
	raw, err := os.ReadFile(p.leafPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{raw, append(p.leaf.Cert.Raw, p.inter.Cert.Raw...)} {
		certs, err := ParseCertificates(data)
		if err != nil || len(certs) != 2 {
			t.Fatalf("got %d certificates, %v; want 2", len(certs), err)
		}
		if !certs[0].Equal(p.leaf.Cert) {
			t.Errorf("first certificate %s; want the leaf", certs[0].Subject)
		}
	}
	if _, err := ParseCertificates([]byte("nothing")); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("got %v; want ErrUnknownFormat", err)
	}
}
