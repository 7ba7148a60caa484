package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// withTruststore creates truststore ts holding a root, for objects to refer to.
func (a *testAPI) withTruststore(ts string) *pkitest.Cert {
	a.t.Helper()
	root := pkitest.NewRoot("Objects Root")
	a.createKeystore(ts)
	a.mustDo("POST", a.envPath("/keystores/"+ts+"/certs?alias=root"), "application/x-pem-file", root.CertPEM(), http.StatusCreated)
	return root
}

func TestReferenceCRUD(t *testing.T) {
	a := newTestAPI(t)
	a.withTruststore("ts1")
	a.withTruststore("ts2")

	body := a.mustDo("POST", a.envPath("/references"), "application/json",
		[]byte(`{"name":"tsref","refers":"ts1","resourceType":"KeyStore"}`), http.StatusCreated)
	if got := compactJSON(t, body); got != `{"name":"tsref","refers":"ts1","resourceType":"KeyStore"}` {
		t.Errorf("created reference %s", got)
	}
	status, body := a.do("POST", a.envPath("/references"), "application/json", []byte(`{"name":"tsref","refers":"ts1","resourceType":"KeyStore"}`))
	wantError(t, status, body, http.StatusConflict, CodeAlreadyExists, "tsref")

	// Rotation as the playbooks do it: PUT the reference to the new keystore.
	a.mustDo("PUT", a.envPath("/references/tsref"), "application/json", []byte(`{"refers":"ts2","resourceType":"KeyStore"}`), http.StatusOK)
	got := decode[map[string]string](t, a.mustDo("GET", "/v1/o/org/e/test/references/tsref", "", nil, http.StatusOK))
	if got["refers"] != "ts2" {
		t.Errorf("after PUT the reference refers to %q; want ts2", got["refers"])
	}
	if names := decode[[]string](t, a.mustDo("GET", a.envPath("/references"), "", nil, http.StatusOK)); len(names) != 1 || names[0] != "tsref" {
		t.Errorf("list %v; want [tsref]", names)
	}

	// A reference to a keystore that does not exist is refused, naming it.
	status, body = a.do("POST", a.envPath("/references"), "application/json", []byte(`{"name":"dangling","refers":"nosuch","resourceType":"KeyStore"}`))
	wantError(t, status, body, http.StatusBadRequest, CodeValidation, "nosuch")
	status, body = a.do("PUT", a.envPath("/references/tsref"), "application/json", []byte(`{"name":"other","refers":"ts1","resourceType":"KeyStore"}`))
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, "renaming")

	a.mustDo("DELETE", a.envPath("/references/tsref"), "", nil, http.StatusOK)
	status, body = a.do("GET", a.envPath("/references/tsref"), "", nil)
	wantError(t, status, body, http.StatusNotFound, CodeReferenceNotFound, "tsref")
}

func TestTargetServerJSONAndXML(t *testing.T) {
	a := newTestAPI(t)
	a.withTruststore("backendts")
	a.mustDo("POST", a.envPath("/references"), "application/json", []byte(`{"name":"tsref","refers":"backendts","resourceType":"TrustStore"}`), http.StatusCreated)

	xmlBody := `<TargetServer name="backend1">
  <Host>backend.example.com</Host>
  <Port>8443</Port>
  <IsEnabled>true</IsEnabled>
  <SSLInfo>
    <Enabled>true</Enabled>
    <TrustStore>ref://tsref</TrustStore>
    <Protocols><Protocol>TLSv1.2</Protocol></Protocols>
  </SSLInfo>
</TargetServer>`
	body := a.mustDo("POST", a.envPath("/targetservers"), "text/xml", []byte(xmlBody), http.StatusCreated)
	var ts struct {
		Name      string `json:"name"`
		Host      string `json:"host"`
		Port      int    `json:"port"`
		IsEnabled bool   `json:"isEnabled"`
		SSLInfo   struct {
			Enabled    string   `json:"enabled"`
			TrustStore string   `json:"trustStore"`
			Protocols  []string `json:"protocols"`
			Ciphers    []string `json:"ciphers"`
		} `json:"sSLInfo"`
	}
	if err := json.Unmarshal(body, &ts); err != nil {
		t.Fatal(err)
	}
	if ts.Name != "backend1" || ts.Host != "backend.example.com" || ts.Port != 8443 || !ts.IsEnabled ||
		ts.SSLInfo.Enabled != "true" || ts.SSLInfo.TrustStore != "ref://tsref" || len(ts.SSLInfo.Protocols) != 1 || ts.SSLInfo.Ciphers == nil {
		t.Errorf("target server from XML reads back as %s", body)
	}

	// Edge's XML back on request.
	req, _ := http.NewRequest("GET", a.srv.URL+a.envPath("/targetservers/backend1"), nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/xml")
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("Accept: application/xml got %q", ct)
	}

	// JSON with Edge's string booleans, and the validation of what it points at.
	status, body := a.do("POST", a.envPath("/targetservers"), "application/json",
		[]byte(`{"name":"backend2","host":"b2","port":443,"sSLInfo":{"enabled":"true","clientAuthEnabled":"true","keyStore":"nokeystore","keyAlias":"client"}}`))
	wantError(t, status, body, http.StatusBadRequest, CodeValidation, "nokeystore")
	status, body = a.do("POST", a.envPath("/targetservers"), "application/json", []byte(`{"name":"backend3","host":"b3","port":70000}`))
	wantError(t, status, body, http.StatusBadRequest, CodeValidation, "70000")
	status, body = a.do("POST", a.envPath("/targetservers"), "text/xml", []byte(`<TargetServer name="x"><Host>h</Host><Port>1</Port>`))
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, "XML")
	status, body = a.do("POST", a.envPath("/targetservers"), "application/json", []byte(`{"name":"backend4","host":`))
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, "JSON")
}

func TestVirtualHostTwoWay(t *testing.T) {
	a := newTestAPI(t)
	a.withTruststore("clientts")
	a.createKeystore("vhks")
	leaf := pkitest.NewRoot("VH Root").Issue(pkitest.Options{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}})
	status, body := a.postForm("POST", a.envPath("/keystores/vhks/aliases?alias=server&format=keycertfile"),
		fileField("certFile", leaf.CertPEM()), fileField("keyFile", leaf.KeyPEM()))
	if status != http.StatusCreated {
		t.Fatalf("uploading the server key: %d %s", status, body)
	}
	vh := `{"name":"secure","hostAliases":["api.example.com","*.example.org"],"port":443,
	        "sSLInfo":{"enabled":"true","clientAuthEnabled":"true","keyStore":"vhks","keyAlias":"server","trustStore":"clientts"}}`
	a.mustDo("POST", a.envPath("/virtualhosts"), "application/json", []byte(vh), http.StatusCreated)

	// Two-way TLS without a truststore, and an alias without a key, are refused.
	status, body = a.do("PUT", a.envPath("/virtualhosts/secure"), "application/json",
		[]byte(`{"hostAliases":["api.example.com"],"port":443,"sSLInfo":{"enabled":"true","clientAuthEnabled":"true","keyStore":"vhks","keyAlias":"server"}}`))
	wantError(t, status, body, http.StatusBadRequest, CodeValidation, "trustStore")
	status, body = a.do("PUT", a.envPath("/virtualhosts/secure"), "application/json",
		[]byte(`{"hostAliases":["api.example.com"],"port":443,"sSLInfo":{"enabled":"true","keyStore":"clientts","keyAlias":"root"}}`))
	wantError(t, status, body, http.StatusBadRequest, CodeValidation, "root")
}

func TestAccessAndRoutes(t *testing.T) {
	a := newTestAPI(t)
	get := func(path, auth string) int {
		req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/organizations", nil)
	req.SetBasicAuth("admin@example.com", a.token)
	basic := req.Header.Get("Authorization")
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"bearer", "/v1/organizations", "Bearer " + a.token, 200},
		{"basic with the token as password", "/v1/organizations", basic, 200},
		{"no credentials", "/v1/organizations", "", 401},
		{"wrong token", "/v1/organizations", "Bearer tg_not-a-token", 401},
		{"health needs none", "/tlsgate/v1/health", "", 200},
		{"unknown org", "/v1/organizations/nope/environments/test/keystores", "Bearer " + a.token, 404},
		{"unknown env", "/v1/organizations/org/environments/nope/keystores", "Bearer " + a.token, 404},
		{"unknown route", "/v1/nothing", "Bearer " + a.token, 404},
	}
	for _, tt := range tests {
		if got := get(tt.path, tt.auth); got != tt.want {
			t.Errorf("%s: GET %s got %d; want %d", tt.name, tt.path, got, tt.want)
		}
	}
	status, body := a.do("PATCH", a.envPath("/references"), "application/json", nil)
	wantError(t, status, body, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	status, body = a.do("POST", "/v1/organizations", "application/json", []byte(`{"name":"bad/name"}`))
	wantError(t, status, body, http.StatusBadRequest, CodeInvalidRequest, "bad/name")
	status, body = a.do("POST", a.envPath("/references"), "application/json", []byte(strings.Repeat(" ", MaxBodyBytes+10)))
	wantError(t, status, body, http.StatusRequestEntityTooLarge, CodeBodyTooLarge)
}

func TestAuditRecordsEveryChange(t *testing.T) {
	a := newTestAPI(t)
	a.withTruststore("ts1")
	a.mustDo("POST", a.envPath("/references"), "application/json", []byte(`{"name":"r","refers":"ts1","resourceType":"KeyStore"}`), http.StatusCreated)
	a.mustDo("DELETE", a.envPath("/references/r"), "", nil, http.StatusOK)
	recs := decode[[]AuditRecord](t, a.mustDo("GET", "/tlsgate/v1/audit", "", nil, http.StatusOK))
	var actions []string
	for i, r := range recs {
		if r.Who == "" || r.Time.IsZero() || r.Revision == 0 {
			t.Errorf("record %d lacks who, when or revision: %+v", i, r)
		}
		if i > 0 && r.Revision <= recs[i-1].Revision {
			t.Errorf("records out of revision order: %d after %d", r.Revision, recs[i-1].Revision)
		}
		actions = append(actions, r.Action)
	}
	joined := strings.Join(actions, "\n")
	for _, want := range []string{"POST /v1/organizations", "POST /v1/organizations/org/environments/test/keystores", "POST /v1/organizations/org/environments/test/references", "DELETE /v1/organizations/org/environments/test/references/r"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q:\n%s", want, joined)
		}
	}
	// The revision of the last record is the store's.
	rev, err := a.store.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Revision != rev {
		t.Errorf("last audit record at revision %d; store at %d", last.Revision, rev)
	}
	// A refused change leaves no record.
	a.do("POST", a.envPath("/references"), "application/json", []byte(`{"name":"x","refers":"none","resourceType":"KeyStore"}`))
	if again := decode[[]AuditRecord](t, a.mustDo("GET", "/tlsgate/v1/audit", "", nil, http.StatusOK)); len(again) != len(recs) {
		t.Errorf("a refused change added %d audit records", len(again)-len(recs))
	}
}
