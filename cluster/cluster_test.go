package cluster

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/store"
	"github.com/tlsgate/tlsgate/store/boltstore"
)

func TestAssess(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	config := []store.KV{{Key: "/cfg/o/e/keystore/ts1", ModRevision: 7}, {Key: "/cfg/o/e/proxy/p", ModRevision: 3}}
	tests := []struct {
		name      string
		report    Report
		state     string
		silent    bool
		keys      []string
		detailHas string
	}{
		{"current", Report{Node: "a", Revision: 7, Updated: now.Add(-time.Second)}, StateCurrent, false, nil, ""},
		{"ahead of the configuration", Report{Node: "a", Revision: 9, Updated: now}, StateCurrent, false, nil, ""},
		{"one key behind", Report{Node: "b", Revision: 5, Updated: now}, StateStale, false, []string{"/cfg/o/e/keystore/ts1"}, "node b serves store revision 5; 1 configuration object(s)"},
		{"two keys behind", Report{Node: "b", Revision: 2, Updated: now}, StateStale, false, []string{"/cfg/o/e/keystore/ts1", "/cfg/o/e/proxy/p"}, "2 configuration object(s)"},
		{"silent and behind", Report{Node: "c", Revision: 5, Updated: now.Add(-time.Minute)}, StateStale, true, []string{"/cfg/o/e/keystore/ts1"}, "has not reported for 1m0s"},
		{"silent, current", Report{Node: "c", Revision: 7, Updated: now.Add(-31 * time.Second)}, StateCurrent, true, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Assess([]Report{tt.report}, config, now, 10*time.Second)[0]
			if got.State != tt.state || got.Silent != tt.silent {
				t.Fatalf("state %q silent %v; want %q %v", got.State, got.Silent, tt.state, tt.silent)
			}
			if tt.keys == nil {
				if got.Stale != nil {
					t.Fatalf("stale %+v; want none", got.Stale)
				}
				return
			}
			if got.Stale == nil || got.Stale.ID != "inbound.truststore.stale" || strings.Join(got.Stale.Keys, " ") != strings.Join(tt.keys, " ") ||
				!strings.Contains(got.Stale.Detail, tt.detailHas) || !strings.Contains(got.Stale.Fix, "node "+tt.report.Node) {
				t.Fatalf("stale %+v; want keys %v, detail with %q", got.Stale, tt.keys, tt.detailHas)
			}
		})
	}
}

// served is a gateway's revision as the publisher reads it.
type served struct{ rev atomic.Int64 }

func (s *served) Revision() int64    { return s.rev.Load() }
func (s *served) Problems() []string { return []string{"proxy p: no target"} }

// TestPublisher: nothing is written before the first load; a new revision is reported
// within a poll, and the report is written again every period.
func TestPublisher(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	src := &served{}
	done := make(chan struct{})
	p := &Publisher{Store: st, Node: "n1", Version: "v", Every: 300 * time.Millisecond, Poll: 10 * time.Millisecond}
	go func() { p.Run(ctx, src); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)
	if rs, _ := List(ctx, st); len(rs) != 0 {
		t.Fatalf("reports before the first load: %+v", rs)
	}
	wait := func(what string, ok func(Report) bool) Report {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if rs, err := List(ctx, st); err == nil && len(rs) == 1 && ok(rs[0]) {
				return rs[0]
			}
		}
		t.Fatalf("no report with %s", what)
		return Report{}
	}
	src.rev.Store(4)
	first := wait("revision 4", func(r Report) bool { return r.Revision == 4 })
	if first.Node != "n1" || first.Version != "v" || len(first.Problems) != 1 || first.Started.IsZero() {
		t.Fatalf("report %+v", first)
	}
	src.rev.Store(9)
	wait("revision 9", func(r Report) bool { return r.Revision == 9 })
	again := wait("a newer report of revision 9", func(r Report) bool {
		return r.Revision == 9 && r.Updated.After(first.Updated.Add(250*time.Millisecond))
	})
	if !again.Started.Equal(first.Started) {
		t.Errorf("started changed: %v then %v", first.Started, again.Started)
	}
}

func TestCheckNode(t *testing.T) {
	for _, ok := range []string{"a", "gw-1", "node_2.example", strings.Repeat("x", 63)} {
		if err := CheckNode(ok); err != nil {
			t.Errorf("CheckNode(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a b", "a/b", strings.Repeat("x", 64), "é"} {
		if err := CheckNode(bad); err == nil {
			t.Errorf("CheckNode(%q) accepted", bad)
		}
	}
}
