package mgmt

import (
	"encoding/json"

	"context"
	"github.com/tlsgate/tlsgate/pki/pkitest"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway"
)

// TestStatusReportsAStaleGateway runs a real gateway over the API's store, stops its
// reloading, changes a truststore, and expects status to name the gateway stale
// (inbound.truststore.stale) with the keys it does not serve yet.
func TestStatusReportsAStaleGateway(t *testing.T) {
	a := newTestAPI(t)
	a.withTruststore("ts1")
	gw, err := gateway.New(gateway.Options{Store: a.store, Sealer: a.key, ListenHost: "127.0.0.1", PortMap: func(int) int { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	select {
	case <-gw.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("gateway not ready")
	}
	api, err := New(Options{Store: a.store, Sealer: a.key, Runtime: gw, Findings: gw.Findings()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	status := func() map[string]any {
		req, _ := http.NewRequest("GET", srv.URL+"/tlsgate/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := decodeInto(resp, &out); err != nil {
			t.Fatal(err)
		}
		return out["gateway"].(map[string]any)
	}
	if g := status(); g["stale"] != nil {
		t.Fatalf("a running gateway reported stale: %v", g)
	}
	cancel()
	<-done
	a.mustDo("POST", a.envPath("/keystores/ts1/certs?alias=late"), "application/x-pem-file", newRootPEM(), http.StatusCreated)
	g := status()
	stale, ok := g["stale"].(map[string]any)
	if !ok || stale["id"] != "inbound.truststore.stale" || len(stale["keys"].([]any)) != 1 {
		t.Errorf("status of a gateway that missed a change: %v", g)
	}
}

func decodeInto(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}

func newRootPEM() []byte { return pkitest.NewRoot("Late Root").CertPEM() }
