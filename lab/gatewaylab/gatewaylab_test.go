package gatewaylab

import (
	"context"
	"testing"

	"github.com/tlsgate/tlsgate/lab"
)

// TestEveryScenarioThroughTheGateway: one gateway in front of every scenario the Go and
// OpenSSL peers play; each answer is the one the scenario calls for.
func TestEveryScenarioThroughTheGateway(t *testing.T) {
	ctx := context.Background()
	g, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	n := 0
	for _, s := range lab.Scenarios() {
		for _, peer := range []lab.Peer{lab.PeerGo, lab.PeerOpenSSL} {
			if !s.PlayedBy(peer) {
				continue
			}
			r, err := lab.Start(ctx, s, peer, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			res, err := g.Try(ctx, r)
			r.Close()
			if err != nil {
				t.Fatalf("%s/%s: %v", s.Name, peer, err)
			}
			if !res.AsExpected {
				t.Errorf("%s/%s: %s", s.Name, peer, res.Problem)
			}
			if res.Note == "" && res.MessageID == "" {
				t.Errorf("%s/%s: no message ID", s.Name, peer)
			}
			n++
		}
	}
	if n < 40 {
		t.Errorf("only %d scenario runs", n)
	}
}
