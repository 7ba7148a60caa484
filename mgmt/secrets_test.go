package mgmt

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki/pkitest"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// secretSeed fixes the random uploads of TestSecretsNeverLeave; TLSGATE_SECRETS_SEED
// replaces it to explore other ones.
const secretSeed = 20260601

// needle is one secret in one encoding; label says which, without the value.
type needle struct {
	label string
	value []byte
}

// secrets collects every encoding of every secret the test handed to, or got generated
// by, the server.
type secrets struct {
	needles []needle
	seen    map[string]bool
}

// add records value raw, in base64 (standard, unpadded, URL) and in hex (both cases).
func (s *secrets) add(label string, value []byte) {
	if s.seen[string(value)] {
		return
	}
	s.seen[string(value)] = true
	s.needles = append(s.needles,
		needle{label + " raw", value},
		needle{label + " base64", []byte(base64.StdEncoding.EncodeToString(value))},
		needle{label + " base64 unpadded", []byte(base64.RawStdEncoding.EncodeToString(value))},
		needle{label + " base64url", []byte(base64.URLEncoding.EncodeToString(value))},
		needle{label + " hex", []byte(hex.EncodeToString(value))},
		needle{label + " HEX", []byte(strings.ToUpper(hex.EncodeToString(value)))})
}

// addPEM records the PEM text of der, and those of its 64-character base64 lines that
// carry bytes of a private part (a line of public bytes, such as an RSA modulus, may
// rightly appear in a certificate).
func (s *secrets) addPEM(label, typ string, der []byte, private [][]byte) {
	text := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	s.needles = append(s.needles, needle{label + " PEM", text})
	lines := bytes.Split(text, []byte("\n"))[1:] // after the BEGIN line
	for _, part := range private {
		at := bytes.Index(der, part)
		if at < 0 || len(part) == 0 {
			continue
		}
		for k := at / 48; k <= (at+len(part)-1)/48 && k < len(lines); k++ {
			if len(lines[k]) == 64 {
				s.needles = append(s.needles, needle{fmt.Sprintf("%s PEM line %d", label, k+2), lines[k]})
			}
		}
	}
}

// addKey records a private key as PKCS#8, as PKCS#1 or SEC1 where it has one, and its
// private parts (scalars, primes, seed).
func (s *secrets) addKey(label string, key crypto.PrivateKey) {
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	if s.seen[string(pk8)] {
		return
	}
	s.add(label+" PKCS#8", pk8)
	var private [][]byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		private = [][]byte{k.D.Bytes(), k.Primes[0].Bytes(), k.Primes[1].Bytes(),
			k.Precomputed.Dp.Bytes(), k.Precomputed.Dq.Bytes(), k.Precomputed.Qinv.Bytes()}
		pk1 := x509.MarshalPKCS1PrivateKey(k)
		s.add(label+" PKCS#1", pk1)
		s.addPEM(label+" PKCS#1", "RSA PRIVATE KEY", pk1, private)
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		private = [][]byte{d}
		sec1, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			panic(err)
		}
		s.add(label+" SEC1", sec1)
		s.addPEM(label+" SEC1", "EC PRIVATE KEY", sec1, private)
	case ed25519.PrivateKey:
		private = [][]byte{k.Seed()}
	}
	s.addPEM(label+" PKCS#8", "PRIVATE KEY", pk8, private)
	for i, p := range private {
		s.add(fmt.Sprintf("%s private part %d", label, i), p)
	}
}

// TestSecretsNeverLeave is the property: whatever is uploaded, no response, log line or
// audit record of any route ever contains private key bytes, a password or the master
// key, and no stored value holds them in clear.
func TestSecretsNeverLeave(t *testing.T) {
	seed := uint64(secretSeed)
	if v := os.Getenv("TLSGATE_SECRETS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("TLSGATE_SECRETS_SEED: %v", err)
		}
		seed = n
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	a := newTestAPI(t)
	sec := &secrets{seen: map[string]bool{}}
	sec.add("master key", a.rawKey)

	root := pkitest.NewRoot("Secrets Root")
	inter := root.Issue(pkitest.Options{CommonName: "Secrets Inter", IsCA: true})
	var leaves []*pkitest.Cert
	for i, kt := range []pkitest.KeyType{pkitest.ECDSAP256, pkitest.ECDSAP384, pkitest.RSA2048, pkitest.Ed25519,
		pkitest.ECDSAP256, pkitest.RSA2048, pkitest.Ed25519, pkitest.ECDSAP384} {
		leaf := inter.Issue(pkitest.Options{CommonName: fmt.Sprintf("leaf%d.test", i), DNSNames: []string{fmt.Sprintf("leaf%d.test", i)}, Key: kt})
		leaves = append(leaves, leaf)
		sec.addKey(fmt.Sprintf("leaf %d key (%s)", i, kt), leaf.Key)
	}
	expired := inter.Issue(pkitest.Options{CommonName: "expired.test", NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(0, 0, -1)})
	sec.addKey("expired leaf key", expired.Key)
	for _, ks := range []string{"ks", "ts"} {
		a.createKeystore(ks)
	}

	g := &uploadGen{t: t, rng: rng, sec: sec, inter: inter, leaves: leaves, expired: expired, opened: map[string]bool{}}
	var bodies [][]byte
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (TLSGATE_SECRETS_SEED=%d to replay): %s", seed, seed, fmt.Sprintf(format, args...))
	}
	get := func(path string) {
		status, body := a.do("GET", a.envPath(path), "", nil)
		if status >= 500 {
			fail("GET %s: %d %s", path, status, body)
		}
		bodies = append(bodies, body)
	}
	readAll := func(ks string, aliases []string) {
		get("/keystores")
		get("/keystores/" + ks)
		get("/keystores/" + ks + "/aliases")
		get("/keystores/" + ks + "/certs")
		for _, al := range aliases {
			p := "/keystores/" + ks + "/aliases/" + url.PathEscape(al)
			get(p)
			get(p + "/certificate")
			get(p + "/csr")
			get("/keystores/" + ks + "/certs/" + url.PathEscape(al))
			get("/keystores/" + ks + "/certs/" + url.PathEscape(al) + "-cert")
			get("/keystores/" + ks + "/certs/" + url.PathEscape(al) + "/export")
		}
	}
	aliasesOf := func(ks string) []string {
		return decode[[]string](t, a.mustDo("GET", a.envPath("/keystores/"+ks+"/aliases"), "", nil, http.StatusOK))
	}

	const steps = 150
	created := 0
	outcomes := map[string]int{}
	for i := range steps {
		ks := []string{"ks", "ts"}[g.rng.IntN(2)]
		req := g.next(ks, aliasesOf(ks))
		status, body := a.do(req.method, a.envPath(req.path), req.contentType, req.body)
		if status >= 500 {
			fail("step %d (%s): %s %s: %d %s", i, req.what, req.method, req.path, status, body)
		}
		bodies = append(bodies, body)
		outcomes[fmt.Sprintf("%s→%d", req.what, status)]++
		if status == http.StatusCreated {
			created++
		}
		// Keys the server generated (selfsignedcert) are secrets too: open every sealed key.
		g.addSealed(a, ks)
		readAll(ks, []string{req.alias})
	}
	if created < steps/5 {
		fail("only %d of %d uploads succeeded; the generator tests little", created, steps)
	}
	for _, ks := range []string{"ks", "ts"} {
		readAll(ks, aliasesOf(ks))
	}
	audit := a.mustDo("GET", "/tlsgate/v1/audit", "", nil, http.StatusOK)

	haystacks := []struct {
		what string
		data []byte
	}{{"the server log", a.logs.Bytes()}, {"the audit log", audit}}
	for i, b := range bodies {
		haystacks = append(haystacks, struct {
			what string
			data []byte
		}{fmt.Sprintf("response %d", i), b})
	}
	kvs, _, err := a.store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		haystacks = append(haystacks, struct {
			what string
			data []byte
		}{"store key " + kv.Key, append([]byte(kv.Key+"\x00"), kv.Value...)})
	}
	for _, h := range haystacks {
		for _, n := range sec.needles {
			if bytes.Contains(h.data, n.value) {
				fail("%s contains %s", h.what, n.label)
			}
		}
	}
	t.Logf("seed %d: %d requests, %d uploads accepted, %d secrets in %d encodings, %d store values", seed,
		len(bodies)+steps, created, len(sec.seen), len(sec.needles), len(kvs))
	if testing.Verbose() {
		t.Logf("outcomes: %v", outcomes)
	}
}

// uploadGen generates random uploads, good and bad.
type uploadGen struct {
	t       *testing.T
	rng     *rand.Rand
	sec     *secrets
	inter   *pkitest.Cert
	leaves  []*pkitest.Cert
	expired *pkitest.Cert
	n       int
	opened  map[string]bool // sealed keys already recorded
}

type genRequest struct {
	what, method, path, contentType, alias string
	body                                   []byte
}

// aliasName is a random alias name: usually valid, sometimes not.
func (g *uploadGen) aliasName() string {
	const valid = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
	g.n++
	switch g.rng.IntN(20) {
	case 0:
		return "bad/" + strconv.Itoa(g.n)
	case 1:
		return "bad name ü" + strconv.Itoa(g.n)
	case 2:
		return strings.Repeat("x", 129+g.rng.IntN(200))
	}
	var b strings.Builder
	b.WriteByte(valid[g.rng.IntN(62)])
	for range g.rng.IntN(12) {
		b.WriteByte(valid[g.rng.IntN(len(valid))])
	}
	return b.String() + strconv.Itoa(g.n)
}

func (g *uploadGen) password() string {
	p := fmt.Sprintf("pw-%016x", g.rng.Uint64())
	g.sec.add("password", []byte(p))
	return p
}

// keyBytes encodes leaf's key in a random way the server reads; password is set when it
// is encrypted.
func (g *uploadGen) keyBytes(key crypto.PrivateKey) (data []byte, password string) {
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		g.t.Fatal(err)
	}
	block := &pem.Block{Type: "PRIVATE KEY", Bytes: pk8}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if g.rng.IntN(2) == 0 {
			block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		}
	case *ecdsa.PrivateKey:
		if g.rng.IntN(2) == 0 {
			sec1, _ := x509.MarshalECPrivateKey(k)
			block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}
		}
	}
	switch g.rng.IntN(4) {
	case 0:
		return block.Bytes, "" // DER
	case 1:
		password = g.password()
		//lint:ignore SA1019 legacy encrypted PEM is what many tools still write.
		enc, err := x509.EncryptPEMBlock(crand.Reader, block.Type, block.Bytes, []byte(password), x509.PEMCipherAES256)
		if err != nil {
			g.t.Fatal(err)
		}
		return pem.EncodeToMemory(enc), password
	}
	return pem.EncodeToMemory(block), ""
}

func (g *uploadGen) form(fields ...formField) (string, []byte) { return multipartBody(g.t, fields...) }

// next returns a random request changing keystore ks, whose aliases are given.
func (g *uploadGen) next(ks string, aliases []string) genRequest {
	leaf := g.leaves[g.rng.IntN(len(g.leaves))]
	other := g.leaves[g.rng.IntN(len(g.leaves))]
	alias := g.aliasName()
	if len(aliases) > 0 && g.rng.IntN(10) == 0 {
		alias = aliases[g.rng.IntN(len(aliases))] // a name in use
	}
	q := "?alias=" + url.QueryEscape(alias)
	if g.rng.IntN(4) == 0 {
		q += "&privateKeyExportable=true"
	}
	chain := pkitest.PEM(leaf.Cert, g.inter.Cert)
	keyData, password := g.keyBytes(leaf.Key)
	r := genRequest{method: "POST", alias: alias}
	// A defect, or none, applied to any format.
	defect := []string{"", "", "", "mismatch", "password", "truncated", "expired", "order", "key as cert"}[g.rng.IntN(9)]
	switch defect {
	case "mismatch":
		keyData, password = g.keyBytes(other.Key)
	case "password":
		if password == "" {
			keyData, password = g.keyBytes(leaf.Key)
		}
		password = g.password() // not the one it was encrypted with (or a stray one)
	case "truncated":
		keyData = keyData[:len(keyData)/2]
	case "expired":
		leaf, chain = g.expired, pkitest.PEM(g.expired.Cert, g.inter.Cert)
		keyData, password = g.keyBytes(g.expired.Key)
	case "order":
		chain = pkitest.PEM(g.inter.Cert, leaf.Cert)
	case "key as cert":
		der, _ := x509.MarshalPKCS8PrivateKey(leaf.Key)
		chain = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	var fields []formField
	switch kind := g.rng.IntN(20); {
	case kind < 7:
		r.what = "keycertfile " + defect
		fields = []formField{fileField("keyFile", keyData), fileField("certFile", chain)}
		if g.rng.IntN(5) == 0 {
			fields = []formField{fileField("keyFile", append(append([]byte{}, chain...), keyData...)), fileField("certFile", chain)}
		}
		if password != "" {
			if g.rng.IntN(4) == 0 {
				q += "&password=" + url.QueryEscape(password)
			} else {
				fields = append(fields, valueField("password", password))
			}
		}
		r.path = "/keystores/" + ks + "/aliases" + q + "&format=keycertfile"
	case kind < 10:
		r.what = "pkcs12 " + defect
		key := leaf.Key
		if defect == "mismatch" {
			key = other.Key
		}
		pw := g.password()
		p12, err := pkcs12.Modern.Encode(key, leaf.Cert, []*x509.Certificate{g.inter.Cert}, pw)
		if err != nil && defect != "mismatch" {
			g.t.Fatal(err)
		}
		if defect == "password" {
			pw = g.password()
		}
		if defect == "truncated" {
			p12 = p12[:len(p12)/2]
		}
		fields = []formField{fileField("file", p12), valueField("password", pw)}
		r.path = "/keystores/" + ks + "/aliases" + q + "&format=pkcs12"
	case kind < 12:
		r.what = "keycertjar " + defect
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range map[string][]byte{"META-INF/descriptor.properties": []byte("certFile=c.pem\nkeyFile=k.pem\n"), "c.pem": chain, "k.pem": keyData} {
			w, _ := zw.Create(name)
			_, _ = w.Write(data)
		}
		_ = zw.Close()
		fields = []formField{fileField("file", buf.Bytes())}
		if password != "" {
			fields = append(fields, valueField("password", password))
		}
		r.path = "/keystores/" + ks + "/aliases" + q + "&format=keycertjar"
	case kind < 13:
		r.what = "selfsignedcert"
		r.path = "/keystores/" + ks + "/aliases" + q + "&format=selfsignedcert"
		r.contentType, r.body = "application/json", []byte(`{"keySize":"2048","subject":{"commonName":"self.test","email":"a@b.test"}}`)
		return r
	case kind < 16:
		// A truststore upload, with the key pasted after the certificate.
		r.what = "certs " + defect
		body := append(append([]byte{}, chain...), keyData...)
		r.path = "/keystores/" + ks + "/certs" + q
		if g.rng.IntN(2) == 0 {
			r.contentType, r.body = g.form(fileField("file", body))
		} else {
			r.contentType, r.body = "application/x-pem-file", body
		}
		return r
	case kind < 18 && len(aliases) > 0:
		// A new certificate for an existing alias, key pasted in too.
		r.what, r.method, r.alias = "put "+defect, "PUT", aliases[g.rng.IntN(len(aliases))]
		r.path = "/keystores/" + ks + "/aliases/" + url.PathEscape(r.alias)
		r.contentType, r.body = g.form(fileField("certFile", append(append([]byte{}, chain...), keyData...)))
		return r
	case len(aliases) > 0:
		r.what, r.method, r.alias = "delete", "DELETE", aliases[g.rng.IntN(len(aliases))]
		if g.rng.IntN(2) == 0 {
			r.path = "/keystores/" + ks + "/aliases/" + url.PathEscape(r.alias)
		} else {
			r.path = "/keystores/" + ks + "/certs/" + url.PathEscape(r.alias)
		}
		return r
	default:
		r.what = "keycertfile cert only"
		fields = []formField{fileField("certFile", chain)}
		r.path = "/keystores/" + ks + "/aliases" + q + "&format=keycertfile"
	}
	r.contentType, r.body = g.form(fields...)
	return r
}

// addSealed opens every sealed key of keystore ks with the test's master key and records
// it, so keys the server generated are looked for too.
func (g *uploadGen) addSealed(a *testAPI, ks string) {
	kv, err := a.store.Get(context.Background(), config.ObjectKey(a.org, a.env, config.KindKeystore, ks))
	if err != nil {
		g.t.Fatal(err)
	}
	var k config.Keystore
	if err := json.Unmarshal(kv.Value, &k); err != nil {
		g.t.Fatal(err)
	}
	for _, al := range k.Aliases {
		if len(al.SealedKey) == 0 || g.opened[string(al.SealedKey)] {
			continue
		}
		g.opened[string(al.SealedKey)] = true
		der, err := a.key.Open(al.SealedKey, config.SealAD(a.org, a.env, ks, al.Name))
		if err != nil {
			g.t.Fatalf("alias %s: the sealed key does not open: %v", al.Name, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			g.t.Fatal(err)
		}
		g.sec.addKey("sealed key of "+ks+"/"+al.Name, key)
	}
}
