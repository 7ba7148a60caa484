package mgmt

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// startScenario starts a lab scenario with OpenSSL's s_server.
func startScenario(t *testing.T, name string) *lab.Running {
	t.Helper()
	for _, s := range lab.Scenarios() {
		if s.Name != name {
			continue
		}
		peer := lab.PeerOpenSSL
		if !s.PlayedBy(peer) {
			peer = lab.PeerGo
		}
		r, err := lab.Start(context.Background(), s, peer, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	t.Fatalf("no lab scenario %s", name)
	return nil
}

// uploadScenarioClient puts the scenario's truststore (behind reference tsref) and, if it
// has one, its client credential (keystore clientks, alias client) into the environment.
func (a *testAPI) uploadScenarioClient(r *lab.Running) {
	a.t.Helper()
	a.createKeystore("clientts")
	for i, c := range r.Scenario.Client.Roots {
		a.mustDo("POST", a.envPath("/keystores/clientts/certs?alias=root"+strconv.Itoa(i)), "application/x-pem-file", pkitest.PEM(c), http.StatusCreated)
	}
	a.mustDo("POST", a.envPath("/references"), "application/json", []byte(`{"name":"tsref","refers":"clientts","resourceType":"TrustStore"}`), http.StatusCreated)
	if cred := r.Scenario.Client.Cert; cred != nil {
		der, err := x509.MarshalPKCS8PrivateKey(cred.Key)
		if err != nil {
			a.t.Fatal(err)
		}
		a.createKeystore("clientks")
		status, body := a.postForm("POST", a.envPath("/keystores/clientks/aliases?alias=client&format=keycertfile"),
			fileField("certFile", pkitest.PEM(cred.Chain...)), fileField("keyFile", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
		if status != http.StatusCreated {
			a.t.Fatalf("uploading the client credential: %d %s", status, body)
		}
	}
}

type testSSLReport struct {
	OK       bool `json:"ok"`
	Findings []struct {
		ID       string   `json:"id"`
		Severity string   `json:"severity"`
		Fix      []string `json:"fix"`
	} `json:"findings"`
}

func (a *testAPI) testSSL(r *lab.Running, conf string) testSSLReport {
	a.t.Helper()
	host, port, _ := net.SplitHostPort(r.Address)
	body := fmt.Sprintf(`{"host":%q,"port":%s,"connectionTimeout":5000,"commonName":{"value":%q},"targetEndpointConfiguration":%s}`,
		host, port, r.ServerName, conf)
	data := a.mustDo("POST", a.envPath("/testssl"), "application/json", []byte(body), http.StatusOK)
	var rep testSSLReport
	if err := json.Unmarshal(data, &rep); err != nil {
		a.t.Fatalf("testssl answer %s: %v", data, err)
	}
	return rep
}

func ids(rep testSSLReport) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Severity == "error" {
			out = append(out, f.ID)
		}
	}
	return out
}

func TestTestSSL(t *testing.T) {
	tests := []struct {
		scenario string
		conf     string
		want     string // the error finding expected, "" for none
	}{
		{"healthy.two-way", `{"trustStore":"ref://tsref","clientAuthEnabled":"true","keyStore":"clientks","keyAlias":"client","protocols":["TLSv1.2","TLSv1.3"]}`, ""},
		{"healthy.two-way", `{"trustStore":"ref://tsref"}`, "clientcert.missing"},
		{"truststore.missing-anchor", `{"trustStore":"ref://tsref"}`, "truststore.missing-anchor"},
		{"protocol.mismatch", `{"trustStore":"ref://tsref","protocols":["TLSv1.2"]}`, "protocol.mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario+"/"+tt.want, func(t *testing.T) {
			a := newTestAPI(t)
			r := startScenario(t, tt.scenario)
			a.uploadScenarioClient(r)
			rep := a.testSSL(r, tt.conf)
			got := ids(rep)
			switch {
			case tt.want == "" && (!rep.OK || len(got) > 0):
				t.Errorf("testssl found %v; want a healthy handshake", got)
			case tt.want != "" && (rep.OK || !slices.Contains(got, tt.want)):
				t.Errorf("testssl found %v; want %s", got, tt.want)
			}
		})
	}
}

func TestTestSSLBadConfiguration(t *testing.T) {
	a := newTestAPI(t)
	tests := []struct {
		body, code string
		words      []string
	}{
		{`{"host":"127.0.0.1"}`, CodeInvalidRequest, []string{"port"}},
		{`{"host":"127.0.0.1","port":443,"targetEndpointConfiguration":{"trustStore":"ref://nope"}}`, CodeInvalidRequest, []string{"nope"}},
		{`{"host":"127.0.0.1","port":443,"targetEndpointConfiguration":{"clientAuthEnabled":true}}`, CodeInvalidRequest, []string{"keyAlias"}},
		{`{"host":"127.0.0.1","port":443,"targetEndpointConfiguration":{"protocols":["TLSv9"]}}`, CodeInvalidRequest, []string{"TLSv9"}},
		{`{"host":"127.0.0.1","port":443,"targetEndpointConfiguration":{"ciphers":["NOPE_SUITE"]}}`, CodeInvalidRequest, []string{"NOPE_SUITE"}},
		{`{"targetServer":"missing"}`, CodeTargetNotFound, []string{"missing"}},
	}
	for _, tt := range tests {
		status, body := a.do("POST", a.envPath("/testssl"), "application/json", []byte(tt.body))
		wantStatus := http.StatusBadRequest
		if tt.code == CodeTargetNotFound {
			wantStatus = http.StatusNotFound
		}
		wantError(t, status, body, wantStatus, tt.code, tt.words...)
	}
}
