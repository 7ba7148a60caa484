package mgmt

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// formField is one field of a multipart/form-data upload; a filename makes it a file, as
// curl -F name=@file sends it.
type formField struct {
	name, filename string
	data           []byte
}

func fileField(name string, data []byte) formField {
	return formField{name: name, filename: name + ".upload", data: data}
}

func valueField(name, value string) formField { return formField{name: name, data: []byte(value)} }

// multipartBody encodes fields as curl -F does and returns the Content-Type and body.
func multipartBody(t *testing.T, fields ...formField) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		var err error
		var w interface{ Write([]byte) (int, error) }
		if f.filename != "" {
			w, err = mw.CreateFormFile(f.name, f.filename)
		} else {
			w, err = mw.CreateFormField(f.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

// postForm sends a multipart upload.
func (a *testAPI) postForm(method, path string, fields ...formField) (int, []byte) {
	a.t.Helper()
	ct, body := multipartBody(a.t, fields...)
	return a.do(method, path, ct, body)
}

// createKeystore creates keystore name in the test environment.
func (a *testAPI) createKeystore(name string) {
	a.t.Helper()
	a.mustDo("POST", a.envPath("/keystores"), "application/json", []byte(`{"name":"`+name+`"}`), http.StatusCreated)
}

// keystoreKV returns the stored keystore value and revision, to prove a failed request
// changed nothing.
func (a *testAPI) keystoreKV(name string) (string, int64) {
	a.t.Helper()
	kv, err := a.store.Get(context.Background(), config.ObjectKey(a.org, a.env, config.KindKeystore, name))
	if err != nil {
		a.t.Fatalf("reading keystore %s: %v", name, err)
	}
	return string(kv.Value), kv.ModRevision
}

// wantError checks an Edge error response: status, code, and words of the message.
func wantError(t *testing.T, status int, body []byte, wantStatus int, wantCode string, words ...string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d; want %d; body %s", status, wantStatus, body)
	}
	e := decode[Error](t, body)
	if wantCode != "" && e.Code != wantCode {
		t.Errorf("code %q; want %q (message %q)", e.Code, wantCode, e.Message)
	}
	for _, w := range words {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message %q does not say %q", e.Message, w)
		}
	}
}

// wantCertInfo compares a certs view with pki.EdgeCertInfo of certs, judged at a time
// close to the request (every test certificate is far from its validity bounds).
func wantCertInfo(t *testing.T, got certsInfo, certName string, certs ...*x509.Certificate) {
	t.Helper()
	if got.CertName != certName {
		t.Errorf("certName %q; want %q", got.CertName, certName)
	}
	if len(got.CertInfo) != len(certs) {
		t.Fatalf("%d certInfo; want %d", len(got.CertInfo), len(certs))
	}
	for i, c := range certs {
		if want := pki.EdgeCertInfo(c, time.Now()); !reflect.DeepEqual(got.CertInfo[i], want) {
			t.Errorf("certInfo[%d]:\n got %+v\nwant %+v", i, got.CertInfo[i], want)
		}
	}
}

func TestKeystoreCRUD(t *testing.T) {
	a := newTestAPI(t)
	got := a.mustDo("POST", a.envPath("/keystores"), "application/json", []byte(`{"name":"ks1"}`), http.StatusCreated)
	if want := `{"aliases":[],"certs":[],"keys":[],"name":"ks1"}`; compactJSON(t, got) != want {
		t.Errorf("create: got %s; want %s", got, want)
	}
	// Edge's documented form: XML with text/xml, through the short /o/{org}/e/{env} form.
	a.mustDo("POST", "/v1/o/org/e/test/keystores", "text/xml", []byte(`<KeyStore name="ks2"/>`), http.StatusCreated)
	status, body := a.do("POST", a.envPath("/keystores"), "application/json", []byte(`{"name":"ks1"}`))
	wantError(t, status, body, http.StatusConflict, CodeAlreadyExists, "ks1")
	status, body = a.do("POST", a.envPath("/keystores"), "application/json", []byte(`{"name":"a/b"}`))
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest)
	status, body = a.do("POST", a.envPath("/keystores"), "application/json", []byte(`{}`))
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, "name")

	list := decode[[]string](t, a.mustDo("GET", a.envPath("/keystores"), "", nil, http.StatusOK))
	if !reflect.DeepEqual(list, []string{"ks1", "ks2"}) {
		t.Errorf("list: %q", list)
	}
	ks := decode[keystoreView](t, a.mustDo("GET", "/v1/o/org/e/test/keystores/ks2", "", nil, http.StatusOK))
	if ks.Name != "ks2" || len(ks.Aliases)+len(ks.Certs)+len(ks.Keys) != 0 {
		t.Errorf("get: %+v", ks)
	}
	a.mustDo("DELETE", a.envPath("/keystores/ks2"), "", nil, http.StatusOK)
	status, body = a.do("GET", a.envPath("/keystores/ks2"), "", nil)
	wantError(t, status, body, http.StatusNotFound, CodeKeystoreNotFound, "ks2")
	status, body = a.do("GET", "/v1/organizations/org/environments/nope/keystores", "", nil)
	wantError(t, status, body, http.StatusNotFound, CodeEnvNotFound)
}

func compactJSON(t *testing.T, data []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return b.String()
}

// TestKeystoreView checks Edge's keystore JSON with an alias holding a key and a
// certificate-only alias.
func TestKeystoreView(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ks")
	leaf := pkitest.NewRoot("Root").Issue(pkitest.Options{CommonName: "api.test"})
	a.mustDo("POST", a.envPath("/keystores/ks/aliases?alias=a&format=keycertfile"), "", nil, http.StatusUnsupportedMediaType)
	status, body := a.postForm("POST", a.envPath("/keystores/ks/aliases?alias=a&format=keycertfile"),
		fileField("keyFile", leaf.KeyPEM()), fileField("certFile", leaf.CertPEM()))
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	a.mustDo("POST", a.envPath("/keystores/ks/certs?alias=serverCert"), "application/x-pem-file", leaf.CertPEM(), http.StatusCreated)
	got := compactJSON(t, a.mustDo("GET", a.envPath("/keystores/ks"), "", nil, http.StatusOK))
	want := `{"aliases":[{"aliasName":"a","cert":"a-cert","key":"a"},{"aliasName":"serverCert","cert":"serverCert"}],` +
		`"certs":["a-cert","serverCert"],"keys":["a"],"name":"ks"}`
	if got != want {
		t.Errorf("keystore:\n got %s\nwant %s", got, want)
	}
	deleted := compactJSON(t, a.mustDo("DELETE", a.envPath("/keystores/ks"), "", nil, http.StatusOK))
	if deleted != want {
		t.Errorf("delete answered %s; want %s", deleted, want)
	}
}

// TestPlaybookCertCommands runs the playbooks' own commands: a truststore listing and the
// cert details, with a bearer token, through both path spellings and the real curl.
func TestPlaybookCertCommands(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ts")
	root := pkitest.NewRoot("Playbook Root CA")
	inter := root.Issue(pkitest.Options{CommonName: "Playbook Intermediate", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "backend.example.com", Organization: "Apigee",
		DNSNames: []string{"backend.example.com", "alt.example.com"}, Key: pkitest.RSA2048})
	// A chain as PEM, and a root as DER with multipart, as the docs' curl -F file=@ does.
	a.mustDo("POST", a.envPath("/keystores/ts/certs?alias=serverCert"), "application/x-www-form-urlencoded",
		pkitest.PEM(leaf.Cert, inter.Cert), http.StatusCreated)
	if status, body := a.postForm("POST", a.envPath("/keystores/ts/certs?alias=rootCA"), fileField("file", root.Cert.Raw)); status != http.StatusCreated {
		t.Fatalf("DER upload: %d %s", status, body)
	}

	for _, base := range []string{"/v1/organizations/org/environments/test", "/v1/o/org/e/test"} {
		names := decode[[]string](t, a.mustDo("GET", base+"/keystores/ts/certs", "", nil, http.StatusOK))
		if !reflect.DeepEqual(names, []string{"serverCert", "rootCA"}) {
			t.Errorf("%s certs: %q", base, names)
		}
		got := decode[certsInfo](t, a.mustDo("GET", base+"/keystores/ts/certs/serverCert", "", nil, http.StatusOK))
		wantCertInfo(t, got, "serverCert", leaf.Cert, inter.Cert)
		got = decode[certsInfo](t, a.mustDo("GET", base+"/keystores/ts/certs/rootCA", "", nil, http.StatusOK))
		wantCertInfo(t, got, "rootCA", root.Cert)
	}

	// Every field of Edge's example is there, with Edge's JSON types.
	var raw struct {
		CertInfo []map[string]any `json:"certInfo"`
	}
	if err := json.Unmarshal(a.mustDo("GET", a.envPath("/keystores/ts/certs/serverCert"), "", nil, http.StatusOK), &raw); err != nil {
		t.Fatal(err)
	}
	ci := raw.CertInfo[0]
	for _, f := range []string{"basicConstraints", "expiryDate", "isValid", "issuer", "publicKey", "serialNumber",
		"sigAlgName", "subject", "subjectAlternativeNames", "validFrom", "version"} {
		if _, ok := ci[f]; !ok {
			t.Errorf("certInfo lacks %s", f)
		}
	}
	if len(ci) != 11 {
		t.Errorf("certInfo has %d fields; want Edge's 11: %v", len(ci), ci)
	}
	if ci["expiryDate"] != float64(leaf.Cert.NotAfter.UnixMilli()) || ci["validFrom"] != float64(leaf.Cert.NotBefore.UnixMilli()) {
		t.Errorf("dates: %v %v; want milliseconds %d %d", ci["validFrom"], ci["expiryDate"], leaf.Cert.NotBefore.UnixMilli(), leaf.Cert.NotAfter.UnixMilli())
	}
	if ci["isValid"] != "Yes" || ci["version"] != float64(3) || ci["publicKey"] != "RSA Public Key, 2048 bits" ||
		ci["subject"] != "CN=backend.example.com, O=Apigee" || ci["basicConstraints"] != "CA:FALSE" {
		t.Errorf("certInfo: %v", ci)
	}

	// The same command with the real curl, unchanged.
	curl := func(path string) []byte {
		out, err := exec.Command("curl", "-s", "-H", "Authorization: Bearer "+a.token, a.srv.URL+path).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", path, err)
		}
		return out
	}
	if got := decode[[]string](t, curl("/v1/organizations/org/environments/test/keystores/ts/certs")); !reflect.DeepEqual(got, []string{"serverCert", "rootCA"}) {
		t.Errorf("curl certs: %q", got)
	}
	wantCertInfo(t, decode[certsInfo](t, curl("/v1/o/org/e/test/keystores/ts/certs/serverCert")), "serverCert", leaf.Cert, inter.Cert)

	// Export, lookup by alias, delete.
	if got := a.mustDo("GET", a.envPath("/keystores/ts/certs/serverCert/export"), "", nil, http.StatusOK); !bytes.Equal(got, pkitest.PEM(leaf.Cert, inter.Cert)) {
		t.Errorf("export:\n%s", got)
	}
	status, body := a.do("GET", a.envPath("/keystores/ts/certs/nope"), "", nil)
	wantError(t, status, body, http.StatusNotFound, CodeCertNotFound, "nope")
	status, body = a.do("POST", a.envPath("/keystores/ts/certs?alias=rootCA"), "", root.CertPEM())
	wantError(t, status, body, http.StatusConflict, CodeAlreadyExists, "rootCA")
	wantCertInfo(t, decode[certsInfo](t, a.mustDo("DELETE", a.envPath("/keystores/ts/certs/rootCA"), "", nil, http.StatusOK)), "rootCA", root.Cert)
	if names := decode[[]string](t, a.mustDo("GET", a.envPath("/keystores/ts/certs"), "", nil, http.StatusOK)); !reflect.DeepEqual(names, []string{"serverCert"}) {
		t.Errorf("after delete: %q", names)
	}
}

// TestCertUploadRules checks Edge's rules for truststore uploads; a refused upload leaves
// the keystore as it was.
func TestCertUploadRules(t *testing.T) {
	a := newTestAPI(t)
	a.createKeystore("ts")
	root := pkitest.NewRoot("Rules Root")
	inter := root.Issue(pkitest.Options{CommonName: "Rules Inter", IsCA: true})
	leaf := inter.Issue(pkitest.Options{CommonName: "rules.test"})
	expired := root.Issue(pkitest.Options{CommonName: "old.test", NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	future := root.Issue(pkitest.Options{CommonName: "future.test", NotBefore: time.Now().AddDate(1, 0, 0), NotAfter: time.Now().AddDate(2, 0, 0)})
	long := []*x509.Certificate{}
	ca := root
	for i := range 10 {
		ca = ca.Issue(pkitest.Options{CommonName: fmt.Sprintf("CA %d", i), IsCA: true})
		long = append([]*x509.Certificate{ca.Cert}, long...)
	}
	long = append(long, root.Cert)
	flat := strings.ReplaceAll(string(leaf.CertPEM()), "\n", "")

	a.mustDo("POST", a.envPath("/keystores/ts/certs?alias=keep"), "", root.CertPEM(), http.StatusCreated)
	before, rev := a.keystoreKV("ts")
	for _, tc := range []struct {
		name, query string
		body        []byte
		status      int
		code        string
		words       []string
	}{
		{"garbage", "alias=x", []byte("hello, not a certificate"), 400, CodeInvalidCertificate, []string{"not a certificate in PEM or DER"}},
		{"key only", "alias=x", leaf.KeyPEM(), 400, CodeInvalidCertificate, []string{"no certificate"}},
		{"empty", "alias=x", nil, 400, CodeInvalidCertificate, []string{"empty"}},
		{"no alias", "", root.CertPEM(), 400, CodeInvalidRequest, []string{"alias"}},
		{"bad alias", "alias=a%2Fb", root.CertPEM(), 400, CodeInvalidRequest, []string{"alias"}},
		{"expired", "alias=x", expired.CertPEM(), 400, CodeCertExpired,
			[]string{"expired on " + expired.Cert.NotAfter.UTC().Format(time.RFC3339), "ignoreExpiryValidation=true"}},
		{"not yet valid", "alias=x", future.CertPEM(), 400, CodeCertNotYetValid, []string{"ignoreExpiryValidation=true"}},
		{"out of order", "alias=x", pkitest.PEM(inter.Cert, leaf.Cert), 400, CodeChainOrder, []string{"position 2", "CN=Rules Inter"}},
		{"gap", "alias=x", pkitest.PEM(leaf.Cert, root.Cert), 400, CodeChainOrder, []string{"position 2"}},
		{"too long", "alias=x", pkitest.PEM(long...), 400, CodeInvalidCertificate, []string{"11 certificates", "at most 10"}},
		{"over 50 KB", "alias=x", bytes.Repeat([]byte("A"), 50<<10+1), 413, CodeBodyTooLarge, []string{"50 KB"}},
		{"10 MB", "alias=x", bytes.Repeat([]byte("A"), 10<<20), 413, CodeBodyTooLarge, []string{"50 KB"}},
		{"flag", "alias=x&ignoreExpiryValidation=maybe", root.CertPEM(), 400, CodeInvalidRequest, []string{"ignoreExpiryValidation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := a.do("POST", a.envPath("/keystores/ts/certs?"+tc.query), "application/octet-stream", tc.body)
			wantError(t, status, body, tc.status, tc.code, tc.words...)
			if after, arev := a.keystoreKV("ts"); after != before || arev != rev {
				t.Errorf("the keystore changed after a refused upload")
			}
		})
	}
	t.Run("multipart over 50 KB", func(t *testing.T) {
		status, body := a.postForm("POST", a.envPath("/keystores/ts/certs?alias=x"), fileField("file", bytes.Repeat([]byte("A"), 50<<10+1)))
		wantError(t, status, body, 413, CodeBodyTooLarge, "file", "50 KB")
		status, body = a.postForm("POST", a.envPath("/keystores/ts/certs?alias=x"), fileField("file", bytes.Repeat([]byte("A"), 10<<20)))
		wantError(t, status, body, 413, CodeBodyTooLarge)
		status, body = a.postForm("POST", a.envPath("/keystores/ts/certs?alias=x"), fileField("other", root.CertPEM()))
		wantError(t, status, body, 400, CodeInvalidRequest, "file")
	})

	// The store still works, and the flags and lost line breaks are accepted.
	a.mustDo("POST", a.envPath("/keystores/ts/certs?alias=old&ignoreExpiryValidation=true"), "", expired.CertPEM(), http.StatusCreated)
	a.mustDo("POST", a.envPath("/keystores/ts/certs?alias=flat&ignoreNewlineValidation=true"), "", []byte(flat), http.StatusCreated)
	got := decode[certsInfo](t, a.mustDo("GET", a.envPath("/keystores/ts/certs/old"), "", nil, http.StatusOK))
	if got.CertInfo[0].IsValid != "No" {
		t.Errorf("expired certificate isValid %q; want No", got.CertInfo[0].IsValid)
	}
	wantCertInfo(t, decode[certsInfo](t, a.mustDo("GET", a.envPath("/keystores/ts/certs/flat"), "", nil, http.StatusOK)), "flat", leaf.Cert)
}
