package mgmt

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/pki/pkitest"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// openssl runs openssl with args in dir, failing the test on error.
func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// encryptedPKCS8 encrypts a key PEM as openssl pkcs8 -topk8 -v2 aes-256-cbc does.
func encryptedPKCS8(t *testing.T, keyPEM []byte, password string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "pkcs8", "-topk8", "-in", "key.pem", "-out", "enc.pem", "-passout", "pass:"+password, "-v2", "aes-256-cbc")
	data, err := os.ReadFile(filepath.Join(dir, "enc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// legacyEncrypted encrypts an EC key PEM as openssl ec -aes256 does (Proc-Type: 4,ENCRYPTED).
func legacyEncrypted(t *testing.T, keyPEM []byte, password string) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "ec", "-in", "key.pem", "-aes256", "-passout", "pass:"+password, "-out", "enc.pem")
	data, err := os.ReadFile(filepath.Join(dir, "enc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("Proc-Type: 4,ENCRYPTED")) {
		t.Fatalf("openssl ec did not write a legacy encrypted key:\n%s", data)
	}
	return data
}

// opensslPKCS12 builds a PKCS#12 file with openssl pkcs12 -export.
func opensslPKCS12(t *testing.T, leaf *pkitest.Cert, chain []*x509.Certificate, password string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"key.pem": leaf.KeyPEM(), "cert.pem": leaf.CertPEM(), "chain.pem": pkitest.PEM(chain...)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	openssl(t, dir, "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-certfile", "chain.pem",
		"-name", "server", "-passout", "pass:"+password, "-out", "ks.p12")
	data, err := os.ReadFile(filepath.Join(dir, "ks.p12"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// jar builds a JAR as Edge's keycertjar format wants it.
func jar(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sealedKey opens the stored key of an alias with the test's master key.
func (a *testAPI) sealedKey(ks, alias string) crypto.PrivateKey {
	a.t.Helper()
	kv, err := a.store.Get(context.Background(), config.ObjectKey(a.org, a.env, config.KindKeystore, ks))
	if err != nil {
		a.t.Fatal(err)
	}
	var k config.Keystore
	if err := json.Unmarshal(kv.Value, &k); err != nil {
		a.t.Fatal(err)
	}
	al := k.Alias(alias)
	if al == nil || len(al.SealedKey) == 0 {
		a.t.Fatalf("alias %s of %s has no sealed key", alias, ks)
	}
	der, err := a.key.Open(al.SealedKey, config.SealAD(a.org, a.env, ks, alias))
	if err != nil {
		a.t.Fatalf("opening the sealed key: %v", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		a.t.Fatal(err)
	}
	return key
}

// TestAliasFormats uploads one alias in each of Edge's formats and reads it back through
// every alias route.
func TestAliasFormats(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ks")
	root := pkitest.NewRoot("Formats Root")
	inter := root.Issue(pkitest.Options{CommonName: "Formats Inter", IsCA: true})
	leaves := map[string]*pkitest.Cert{}
	mint := func(name string, kt pkitest.KeyType) *pkitest.Cert {
		leaves[name] = inter.Issue(pkitest.Options{CommonName: name + ".test", DNSNames: []string{name + ".test"}, Key: kt})
		return leaves[name]
	}
	chainPEM := func(c *pkitest.Cert) []byte { return pkitest.PEM(c.Cert, inter.Cert) }

	plain := mint("plain", pkitest.ECDSAP256)
	enc := mint("enc", pkitest.RSA2048)
	p12 := mint("p12", pkitest.RSA2048)
	gop12 := mint("gop12", pkitest.ECDSAP384)
	jarred := mint("jarred", pkitest.Ed25519)
	legacy := mint("legacy", pkitest.ECDSAP256)
	goP12, err := pkcs12.Modern.Encode(gop12.Key, gop12.Cert, []*x509.Certificate{inter.Cert}, "go-secret")
	if err != nil {
		t.Fatal(err)
	}

	uploads := []struct {
		alias  string
		leaf   *pkitest.Cert
		fields []formField
		format string
	}{
		{"plain", plain, []formField{fileField("keyFile", plain.KeyPEM()), fileField("certFile", chainPEM(plain))}, "keycertfile"},
		{"enc", enc, []formField{fileField("keyFile", encryptedPKCS8(t, enc.KeyPEM(), "s3cret")), fileField("certFile", chainPEM(enc)), valueField("password", "s3cret")}, "keycertfile"},
		{"p12", p12, []formField{fileField("file", opensslPKCS12(t, p12, []*x509.Certificate{inter.Cert}, "p12-secret")), valueField("password", "p12-secret")}, "pkcs12"},
		{"gop12", gop12, []formField{fileField("file", goP12), valueField("password", "go-secret")}, "pkcs12"},
		{"legacy", legacy, []formField{fileField("keyFile", legacyEncrypted(t, legacy.KeyPEM(), "old-secret")), fileField("certFile", chainPEM(legacy)), valueField("password", "old-secret")}, "keycertfile"},
		{"jarred", jarred, []formField{fileField("file", jar(t, map[string][]byte{
			"META-INF/descriptor.properties": []byte("# keycertjar\ncertFile=certs/cert.pem\nkeyFile=keys/key.pem\n"),
			"certs/cert.pem":                 chainPEM(jarred),
			"keys/key.pem":                   jarred.KeyPEM(),
		}))}, "keycertjar"},
	}
	for _, up := range uploads {
		status, body := a.postForm("POST", a.envPath("/keystores/ks/aliases?alias="+up.alias+"&format="+up.format), up.fields...)
		if status != http.StatusCreated {
			t.Fatalf("%s (%s): %d %s", up.alias, up.format, status, body)
		}
		got := decode[aliasView](t, body)
		if got.Alias != up.alias || got.KeyName != up.alias {
			t.Errorf("%s: alias %q keyName %q", up.alias, got.Alias, got.KeyName)
		}
		wantCertInfo(t, got.CertsInfo, up.alias+"-cert", up.leaf.Cert, inter.Cert)
		if key := a.sealedKey("ks", up.alias); !pki.KeyMatches(up.leaf.Cert, key) {
			t.Errorf("%s: the sealed key is not the leaf's", up.alias)
		}
	}

	// Edge's legacy JAR route, and a certificate-only alias (a truststore entry).
	ts := mint("truststore", pkitest.ECDSAP256)
	status, body := a.postForm("POST", a.envPath("/keystores/ks/aliases?alias=trust&format=keycertfile"), fileField("certFile", ts.CertPEM()))
	if status != http.StatusCreated {
		t.Fatalf("cert only: %d %s", status, body)
	}
	if got := decode[map[string]any](t, body); got["keyName"] != nil {
		t.Errorf("a certificate-only alias has keyName %v", got["keyName"])
	}

	// Self-signed, as Edge's documentation sends it (numbers as strings).
	ss := `{"alias":"self","keySize":"2048","sigAlg":"SHA384withRSA","certValidityInDays":"90",
	  "subject":{"countryCode":"US","state":"CA","locality":"San Jose","org":"Apigee","orgUnit":"E2E","commonName":"api-ssl.example.com","email":"test@test.com"},
	  "subjectAlternativeDNSNames":{"subjectAlternativeName":["api.example.com","www.example.com"]}}`
	body = a.mustDo("POST", a.envPath("/keystores/ks/aliases?format=selfsignedcert"), "application/json", []byte(ss), http.StatusCreated)
	self := decode[aliasView](t, body)
	ci := self.CertsInfo.CertInfo[0]
	wantSubject := "EMAILADDRESS=test@test.com, CN=api-ssl.example.com, OU=E2E, O=Apigee, L=San Jose, ST=CA, C=US"
	if self.Alias != "self" || self.KeyName != "self" || ci.Subject != wantSubject || ci.Issuer != wantSubject ||
		ci.SigAlgName != "SHA384withRSA" || ci.PublicKey != "RSA Public Key, 2048 bits" || ci.IsValid != "Yes" ||
		!reflect.DeepEqual(ci.SubjectAlternativeNames, []string{"api.example.com", "www.example.com"}) ||
		time.Duration(ci.ExpiryDate-ci.ValidFrom)*time.Millisecond != 90*24*time.Hour {
		t.Errorf("self-signed: %+v", self)
	}
	for _, bad := range []string{`{"alias":"s2","keySize":4096,"subject":{"commonName":"x"}}`, `{"alias":"s2","sigAlg":"SHA1withRSA","subject":{"commonName":"x"}}`,
		`{"alias":"s2","subject":{}}`, `{"alias":"s2","certValidityInDays":-1,"subject":{"commonName":"x"}}`, `{"alias":`} {
		status, body := a.do("POST", a.envPath("/keystores/ks/aliases?format=selfsignedcert"), "application/json", []byte(bad))
		wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest)
	}

	// The listings.
	wantAliases := []string{"plain", "enc", "p12", "gop12", "legacy", "jarred", "trust", "self"}
	if got := decode[[]string](t, a.mustDo("GET", a.envPath("/keystores/ks/aliases"), "", nil, http.StatusOK)); !reflect.DeepEqual(got, wantAliases) {
		t.Errorf("aliases: %q", got)
	}
	ks := decode[keystoreView](t, a.mustDo("GET", a.envPath("/keystores/ks"), "", nil, http.StatusOK))
	if want := []string{"plain", "enc", "p12", "gop12", "legacy", "jarred", "self"}; !reflect.DeepEqual(ks.Keys, want) {
		t.Errorf("keys: %q; want %q", ks.Keys, want)
	}
	if got := decode[[]string](t, a.mustDo("GET", a.envPath("/keystores/ks/certs"), "", nil, http.StatusOK)); len(got) != 8 || got[6] != "trust-cert" {
		t.Errorf("certs: %q", got)
	}
	// Cert details by certificate name and by alias name.
	wantCertInfo(t, decode[certsInfo](t, a.mustDo("GET", a.envPath("/keystores/ks/certs/plain-cert"), "", nil, http.StatusOK)), "plain-cert", plain.Cert, inter.Cert)
	wantCertInfo(t, decode[certsInfo](t, a.mustDo("GET", a.envPath("/keystores/ks/certs/plain"), "", nil, http.StatusOK)), "plain-cert", plain.Cert, inter.Cert)

	// Get, certificate, CSR.
	wantCertInfo(t, decode[aliasView](t, a.mustDo("GET", "/v1/o/org/e/test/keystores/ks/aliases/enc", "", nil, http.StatusOK)).CertsInfo, "enc-cert", enc.Cert, inter.Cert)
	if got := a.mustDo("GET", a.envPath("/keystores/ks/aliases/enc/certificate"), "", nil, http.StatusOK); !bytes.Equal(got, chainPEM(enc)) {
		t.Errorf("certificate:\n%s", got)
	}
	for name, leaf := range map[string]*pkitest.Cert{"plain": plain, "enc": enc, "jarred": jarred} {
		blk, _ := pem.Decode(a.mustDo("GET", a.envPath("/keystores/ks/aliases/"+name+"/csr"), "", nil, http.StatusOK))
		if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
			t.Fatalf("%s csr: not a PEM CERTIFICATE REQUEST", name)
		}
		csr, err := x509.ParseCertificateRequest(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Errorf("%s csr: %v", name, err)
		}
		if !bytes.Equal(csr.RawSubject, leaf.Cert.RawSubject) || !reflect.DeepEqual(csr.DNSNames, leaf.Cert.DNSNames) ||
			!csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(leaf.Cert.PublicKey) {
			t.Errorf("%s csr: subject %s names %q", name, csr.Subject, csr.DNSNames)
		}
	}
	status, body = a.do("GET", a.envPath("/keystores/ks/aliases/trust/csr"), "", nil)
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, "certificate only")
	status, body = a.do("GET", a.envPath("/keystores/ks/aliases/nope"), "", nil)
	wantError(t, status, body, http.StatusNotFound, CodeAliasNotFound, "nope")

	// PUT a renewed certificate with the same key; a certificate with another key is refused.
	renewed := renew(t, plain, inter)
	body = a.mustDo("PUT", a.envPath("/keystores/ks/aliases/plain"), "application/x-pem-file", pkitest.PEM(renewed, inter.Cert), http.StatusOK)
	wantCertInfo(t, decode[aliasView](t, body).CertsInfo, "plain-cert", renewed, inter.Cert)
	before, rev := a.keystoreKV("ks")
	status, body = a.postForm("PUT", a.envPath("/keystores/ks/aliases/plain"), fileField("certFile", chainPEM(enc)))
	wantError(t, status, body, http.StatusBadRequest, CodeKeyMismatch, "CN=enc.test", "plain")
	status, body = a.do("PUT", a.envPath("/keystores/ks/aliases/plain"), "", bytes.Repeat([]byte("x"), 60<<10))
	wantError(t, status, body, http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "50 KB")
	if after, arev := a.keystoreKV("ks"); after != before || arev != rev {
		t.Errorf("a refused PUT changed the keystore")
	}
	a.mustDo("PUT", a.envPath("/keystores/ks/aliases/trust"), "", root.CertPEM(), http.StatusOK)

	// Delete answers with the alias.
	got := decode[aliasView](t, a.mustDo("DELETE", a.envPath("/keystores/ks/aliases/jarred"), "", nil, http.StatusOK))
	if got.Alias != "jarred" || got.KeyName != "jarred" {
		t.Errorf("delete: %+v", got)
	}
	a.mustDo("GET", a.envPath("/keystores/ks/aliases/jarred"), "", nil, http.StatusNotFound)
}

// renew issues a new certificate for leaf's key, as a CA renewing it would.
func renew(t *testing.T, leaf, issuer *pkitest.Cert) *x509.Certificate {
	t.Helper()
	tmpl := *leaf.Cert
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotAfter = leaf.Cert.NotAfter.AddDate(1, 0, 0)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, issuer.Cert, leaf.Cert.PublicKey, issuer.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAliasUploadRules sends every kind of bad upload: each is refused with Edge's status
// and a code, and leaves the keystore as it was.
func TestAliasUploadRules(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ks")
	root := pkitest.NewRoot("Rules Root")
	inter := root.Issue(pkitest.Options{CommonName: "Rules Inter", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "rules.test"})
	other := inter.Issue(pkitest.Options{CommonName: "other.test"})
	expired := inter.Issue(pkitest.Options{CommonName: "old.test", NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(0, 0, -3)})
	var long []*x509.Certificate
	ca := root
	for range 10 {
		ca = ca.Issue(pkitest.Options{CommonName: "CA", IsCA: true})
		long = append([]*x509.Certificate{ca.Cert}, long...)
	}
	deep := ca.Issue(pkitest.Options{CommonName: "deep.test"})
	long = append([]*x509.Certificate{deep.Cert}, long...)
	encKey := encryptedPKCS8(t, leaf.KeyPEM(), "right")
	p12 := opensslPKCS12(t, leaf, []*x509.Certificate{inter.Cert}, "right")
	chain := pkitest.PEM(leaf.Cert, inter.Cert)
	bomb := bytes.Repeat([]byte{0}, 1<<20)

	a.mustDo("POST", a.envPath("/keystores/ks/certs?alias=keep"), "", root.CertPEM(), http.StatusCreated)
	before, rev := a.keystoreKV("ks")
	kcf := "/keystores/ks/aliases?alias=x&format=keycertfile"
	for _, tc := range []struct {
		name   string
		query  string
		fields []formField
		status int
		code   string
		words  []string
	}{
		{"garbage cert", kcf, []formField{fileField("keyFile", leaf.KeyPEM()), fileField("certFile", []byte("garbage"))}, 400, CodeInvalidCertificate, []string{"certFile: not a certificate in PEM or DER"}},
		{"garbage key", kcf, []formField{fileField("keyFile", []byte("garbage")), fileField("certFile", chain)}, 400, CodeInvalidKey, []string{"keyFile: not a private key"}},
		{"key as cert", kcf, []formField{fileField("keyFile", leaf.KeyPEM()), fileField("certFile", leaf.KeyPEM())}, 400, CodeInvalidCertificate, []string{"certFile"}},
		{"no cert", kcf, []formField{fileField("keyFile", leaf.KeyPEM())}, 400, CodeInvalidRequest, []string{"certFile"}},
		{"mismatch", kcf, []formField{fileField("keyFile", other.KeyPEM()), fileField("certFile", chain)}, 400, CodeKeyMismatch, []string{"CN=rules.test"}},
		{"wrong password", kcf, []formField{fileField("keyFile", encKey), fileField("certFile", chain), valueField("password", "wrong")}, 400, CodeWrongPassword, []string{"wrong password"}},
		{"no password", kcf, []formField{fileField("keyFile", encKey), fileField("certFile", chain)}, 400, CodeWrongPassword, []string{"password field"}},
		{"wrong password in query", kcf + "&password=wrong", []formField{fileField("keyFile", encKey), fileField("certFile", chain)}, 400, CodeWrongPassword, []string{"wrong password"}},
		{"expired", kcf, []formField{fileField("keyFile", expired.KeyPEM()), fileField("certFile", pkitest.PEM(expired.Cert, inter.Cert))}, 400, CodeCertExpired,
			[]string{"expired on " + expired.Cert.NotAfter.UTC().Format(time.RFC3339), "ignoreExpiryValidation=true"}},
		{"out of order", kcf, []formField{fileField("keyFile", leaf.KeyPEM()), fileField("certFile", pkitest.PEM(inter.Cert, leaf.Cert))}, 400, CodeChainOrder, []string{"position 2"}},
		{"too long", kcf, []formField{fileField("keyFile", deep.KeyPEM()), fileField("certFile", pkitest.PEM(long...))}, 400, CodeInvalidCertificate, []string{"at most 10"}},
		{"cert over 50 KB", kcf, []formField{fileField("keyFile", leaf.KeyPEM()), fileField("certFile", bytes.Repeat([]byte("A"), 50<<10+1))}, 413, CodeBodyTooLarge, []string{"certFile", "50 KB"}},
		{"10 MB form", kcf, []formField{fileField("certFile", bytes.Repeat([]byte("A"), 10<<20))}, 413, CodeBodyTooLarge, nil},
		{"p12 wrong password", "/keystores/ks/aliases?alias=x&format=pkcs12", []formField{fileField("file", p12), valueField("password", "wrong")}, 400, CodeWrongPassword, []string{"wrong password"}},
		{"p12 no password", "/keystores/ks/aliases?alias=x&format=pkcs12", []formField{fileField("file", p12)}, 400, CodeWrongPassword, []string{"password"}},
		{"p12 garbage", "/keystores/ks/aliases?alias=x&format=pkcs12", []formField{fileField("file", []byte{0x30, 1, 2, 3}), valueField("password", "x")}, 400, CodeInvalidRequest, []string{"PKCS#12"}},
		{"p12 of PEM", "/keystores/ks/aliases?alias=x&format=pkcs12", []formField{fileField("file", chain), valueField("password", "x")}, 400, CodeInvalidRequest, []string{"not a PKCS#12"}},
		{"jar not zip", "/keystores/ks/aliases?alias=x&format=keycertjar", []formField{fileField("file", []byte("PK no"))}, 400, CodeInvalidRequest, []string{"JAR"}},
		{"jar no descriptor", "/keystores/ks/aliases?alias=x&format=keycertjar", []formField{fileField("file", jar(t, map[string][]byte{"cert.pem": chain}))}, 400, CodeInvalidRequest, []string{"descriptor.properties"}},
		{"jar missing entry", "/keystores/ks/aliases?alias=x&format=keycertjar", []formField{fileField("file", jar(t, map[string][]byte{
			"META-INF/descriptor.properties": []byte("certFile=cert.pem\nkeyFile=key.pem\n"), "cert.pem": chain}))}, 400, CodeInvalidRequest, []string{`"key.pem"`}},
		{"jar bomb", "/keystores/ks/aliases?alias=x&format=keycertjar", []formField{fileField("file", jar(t, map[string][]byte{
			"META-INF/descriptor.properties": []byte("certFile=cert.pem\n"), "cert.pem": bomb}))}, 413, CodeBodyTooLarge, []string{"cert.pem", "50 KB"}},
		{"jar mismatch", "/keystores/ks/aliases?alias=x&format=keycertjar", []formField{fileField("file", jar(t, map[string][]byte{
			"META-INF/descriptor.properties": []byte("certFile=cert.pem\nkeyFile=key.pem\n"), "cert.pem": chain, "key.pem": other.KeyPEM()}))}, 400, CodeKeyMismatch, []string{"CN=rules.test"}},
		{"exists", "/keystores/ks/aliases?alias=keep&format=keycertfile", []formField{fileField("certFile", chain)}, 409, CodeAlreadyExists, []string{"keep"}},
		{"no format", "/keystores/ks/aliases?alias=x", []formField{fileField("certFile", chain)}, 400, CodeInvalidRequest, []string{"format"}},
		{"bad format", "/keystores/ks/aliases?alias=x&format=jks", []formField{fileField("certFile", chain)}, 400, CodeInvalidRequest, []string{"jks"}},
		{"no alias", "/keystores/ks/aliases?format=keycertfile", []formField{fileField("certFile", chain)}, 400, CodeInvalidRequest, []string{"alias"}},
		{"long alias", "/keystores/ks/aliases?format=keycertfile&alias=" + strings.Repeat("a", 129), []formField{fileField("certFile", chain)}, 400, CodeInvalidRequest, []string{"128"}},
		{"no keystore", "/keystores/nope/aliases?alias=x&format=keycertfile", []formField{fileField("certFile", chain)}, 404, CodeKeystoreNotFound, []string{"nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := a.postForm("POST", a.envPath(tc.query), tc.fields...)
			wantError(t, status, body, tc.status, tc.code, tc.words...)
			if after, arev := a.keystoreKV("ks"); after != before || arev != rev {
				t.Errorf("the keystore changed after a refused upload")
			}
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		status, body := a.do("POST", a.envPath(kcf), "application/x-pem-file", chain)
		wantError(t, status, body, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "-F certFile=@")
		status, body = a.do("POST", a.envPath("/keystores/ks/aliases?alias=x&format=selfsignedcert"), "application/json",
			[]byte(`{"alias":"y","subject":{"commonName":"x"}}`))
		wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, `"y"`)
	})

	// After all that the keystore takes uploads, with the flags Edge's scripts send.
	status, body := a.postForm("POST", a.envPath("/keystores/ks/aliases?alias=x&format=keycertfile&privateKeyExportable=true&ignoreNewlineValidation=true"),
		fileField("keyFile", encKey), fileField("certFile", chain), valueField("password", "right"))
	if status != http.StatusCreated {
		t.Fatalf("upload after refusals: %d %s", status, body)
	}
	a.mustDo("POST", a.envPath("/keystores/ks/aliases?alias=old&format=keycertfile&ignoreExpiryValidation=true"), "", nil, http.StatusUnsupportedMediaType)
	status, body = a.postForm("POST", a.envPath("/keystores/ks/aliases?alias=old&format=keycertfile&ignoreExpiryValidation=true"),
		fileField("keyFile", expired.KeyPEM()), fileField("certFile", pkitest.PEM(expired.Cert, inter.Cert)))
	if status != http.StatusCreated || decode[aliasView](t, body).CertsInfo.CertInfo[0].IsValid != "No" {
		t.Fatalf("expired with ignoreExpiryValidation: %d %s", status, body)
	}
	// A certificate name already used by another alias (x-cert) is refused.
	status, body = a.do("POST", a.envPath("/keystores/ks/certs?alias=x-cert"), "", root.CertPEM())
	wantError(t, status, body, http.StatusConflict, CodeAlreadyExists, "x-cert")
}

// TestConcurrentAliasUploads uploads aliases to one keystore at once: each lands, though
// the keystore is one stored value.
func TestConcurrentAliasUploads(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ks")
	leaf := pkitest.NewRoot("Concurrent Root").Issue(pkitest.Options{CommonName: "c.test"})
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		ct, body := multipartBody(t, fileField("keyFile", leaf.KeyPEM()), fileField("certFile", leaf.CertPEM()))
		url := a.srv.URL + a.envPath(fmt.Sprintf("/keystores/ks/aliases?alias=a%d&format=keycertfile", i))
		wg.Go(func() {
			req, err := http.NewRequest("POST", url, bytes.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+a.token)
			resp, err := a.srv.Client().Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusCreated {
			t.Errorf("upload %d: status %d; want 201", i, st)
		}
	}
	if got := decode[[]string](t, a.mustDo("GET", a.envPath("/keystores/ks/aliases"), "", nil, http.StatusOK)); len(got) != n {
		t.Errorf("%d aliases after %d concurrent uploads: %q", len(got), n, got)
	}
}

// TestAliasJKS uploads a JKS keystore written by keytool with format=pkcs12: tlsgate reads
// it too (Edge takes PKCS#12 only).
func TestAliasJKS(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ks")
	root := pkitest.NewRoot("JKS Root")
	leaf := root.Issue(pkitest.Options{CommonName: "jks.test", Key: pkitest.RSA2048})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ks.p12"), opensslPKCS12(t, leaf, []*x509.Certificate{root.Cert}, "changeit"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("keytool", "-importkeystore", "-noprompt", "-srckeystore", "ks.p12", "-srcstoretype", "PKCS12",
		"-srcstorepass", "changeit", "-destkeystore", "ks.jks", "-deststoretype", "JKS", "-deststorepass", "changeit")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("keytool: %v\n%s", err, out)
	}
	jks, err := os.ReadFile(filepath.Join(dir, "ks.jks"))
	if err != nil {
		t.Fatal(err)
	}
	status, body := a.postForm("POST", a.envPath("/keystores/ks/aliases?alias=j&format=pkcs12"), fileField("file", jks), valueField("password", "wrong"))
	wantError(t, status, body, http.StatusBadRequest, CodeWrongPassword)
	status, body = a.postForm("POST", a.envPath("/keystores/ks/aliases?alias=j&format=pkcs12"), fileField("file", jks), valueField("password", "changeit"))
	if status != http.StatusCreated {
		t.Fatalf("JKS upload: %d %s", status, body)
	}
	wantCertInfo(t, decode[aliasView](t, body).CertsInfo, "j-cert", leaf.Cert, root.Cert)
	if !pki.KeyMatches(leaf.Cert, a.sealedKey("ks", "j")) {
		t.Error("the sealed key is not the leaf's")
	}
}
