package outbound_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/outbound"
	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// want is what a GET through the transport must give for a lab scenario: success for a
// healthy setup or a warning (the gateway, like Go, accepts a misordered chain), otherwise
// an *Error of the kind the cause belongs to, with the scenario's cause.
func want(s lab.Scenario) (ok bool, kind outbound.Kind) {
	if s.Healthy() || s.Severity != tlsdiag.SeverityError {
		return true, 0
	}
	switch s.Expect {
	case catalog.NetworkUnreachable:
		return false, outbound.Unreachable
	case catalog.NetworkTimeout:
		return false, outbound.Timeout
	}
	return false, outbound.HandshakeFailed
}

// TestLabScenarios sends a GET through a Transport configured as each lab scenario's
// client, against each peer that plays it (Go crypto/tls, openssl s_server -www, nginx),
// and checks the outcome: healthy scenarios answer, failing ones fail with the
// scenario's cause.
func TestLabScenarios(t *testing.T) {
	diag := outbound.NewDiagnoser(outbound.DiagnoserOptions{})
	t.Cleanup(diag.Close)
	var (
		mu    sync.Mutex
		table []string
	)
	t.Cleanup(func() {
		slices.Sort(table)
		t.Logf("scenario / peer / want / got / how\n%s", strings.Join(table, "\n"))
	})
	for _, s := range lab.Scenarios() {
		for _, p := range s.Peers {
			t.Run(s.Name+"/"+string(p), func(t *testing.T) {
				t.Parallel()
				r, err := lab.Start(t.Context(), s, p, t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				tr := outbound.NewTransport(labConfig(r), outbound.Options{Diagnoser: diag})
				defer tr.CloseIdleConnections()

				start := time.Now()
				status, _, err := get(t, tr)
				took := time.Since(start).Round(time.Millisecond)
				got := fmt.Sprintf("HTTP %d", status)
				how := ""
				if e := outbound.AsError(err); e != nil {
					id, _ := e.Cause()
					got = fmt.Sprintf("%v %s", e.Kind, id)
					if e.FollowUp {
						how = "follow-up"
					} else {
						how = "on the spot"
					}
				} else if err != nil {
					got = "error " + err.Error()
				}
				mu.Lock()
				table = append(table, fmt.Sprintf("%s | %s | %s | %s | %s %v", s.Name, p, s.ExpectText(), got, how, took))
				mu.Unlock()

				ok, kind := want(s)
				if ok {
					if err != nil {
						t.Fatalf("GET: %v; want an answer", err)
					}
					if status >= 500 {
						t.Errorf("status %d; want an answer below 500", status)
					}
					return
				}
				e := wantCause(t, err, kind, s.Expect)
				if e.Report == nil || e.Report.OK {
					t.Errorf("report %+v; want one that is not OK", e.Report)
				}
			})
		}
	}
}
