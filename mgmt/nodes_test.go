package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/cluster"
)

// TestNodes: the reports of two nodes, one serving the latest configuration and one an
// older revision, are listed by GET /tlsgate/v1/nodes and in status (the stale one named
// with inbound.truststore.stale); DELETE forgets a node, once, and is audited.
func TestNodes(t *testing.T) {
	a := newTestAPI(t)
	a.withTruststore("ts1")
	ctx := context.Background()
	rev, err := a.store.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range []cluster.Report{{Node: "a", Revision: rev, Updated: now}, {Node: "b", Revision: rev - 1, Updated: now}} {
		if err := cluster.Write(ctx, a.store, r); err != nil {
			t.Fatal(err)
		}
	}
	var nodes []cluster.Status
	if err := json.Unmarshal(a.mustDo("GET", "/tlsgate/v1/nodes", "", nil, http.StatusOK), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Node != "a" || nodes[0].State != cluster.StateCurrent || nodes[1].Node != "b" ||
		nodes[1].Stale == nil || nodes[1].Stale.ID != "inbound.truststore.stale" || !strings.HasSuffix(nodes[1].Stale.Keys[0], "/ts1") {
		t.Fatalf("nodes: %+v", nodes)
	}
	var status struct {
		Nodes      []cluster.Status `json:"nodes"`
		StaleNodes []string         `json:"staleNodes"`
	}
	if err := json.Unmarshal(a.mustDo("GET", "/tlsgate/v1/status", "", nil, http.StatusOK), &status); err != nil {
		t.Fatal(err)
	}
	if len(status.Nodes) != 2 || strings.Join(status.StaleNodes, ",") != "b" {
		t.Fatalf("status: %+v", status)
	}

	a.mustDo("DELETE", "/tlsgate/v1/nodes/b", "", nil, http.StatusNoContent)
	a.mustDo("DELETE", "/tlsgate/v1/nodes/b", "", nil, http.StatusNotFound)
	a.mustDo("DELETE", "/tlsgate/v1/nodes/-bad", "", nil, http.StatusBadRequest)
	if err := json.Unmarshal(a.mustDo("GET", "/tlsgate/v1/nodes", "", nil, http.StatusOK), &nodes); err != nil || len(nodes) != 1 || nodes[0].Node != "a" {
		t.Fatalf("nodes after forgetting b: %+v, %v", nodes, err)
	}
	if audit := string(a.mustDo("GET", "/tlsgate/v1/audit", "", nil, http.StatusOK)); !strings.Contains(audit, `"node b"`) {
		t.Errorf("audit has no record of forgetting node b: %s", audit)
	}
}
