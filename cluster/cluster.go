// Package cluster keeps, in the store the gateway nodes of a cluster share, what each
// node reports (the store revision it serves), and judges from it which nodes serve an
// older configuration than the one stored: inbound.truststore.stale, the playbooks'
// "the Router did not load the new certificate".
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/store"
)

// Prefix is where node reports live in the store, one key per node: Prefix + name.
const Prefix = "/nodes/"

// Defaults of Publisher.
const (
	// DefaultEvery is how often a node reports even when nothing changed, so that a
	// silent node (stopped, hung, cut off from the store) shows.
	DefaultEvery = 10 * time.Second
	// DefaultPoll is how often a node looks whether the revision it serves changed; a
	// change is reported at once after it.
	DefaultPoll = 250 * time.Millisecond
)

// Report is what one node says of itself.
type Report struct {
	Node     string    `json:"node"`
	Revision int64     `json:"revision"` // the store revision the node's gateway serves
	Problems []string  `json:"problems"` // what its configuration could not serve
	Version  string    `json:"version"`
	API      string    `json:"api,omitempty"` // the node's management API, for lookups across nodes
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"` // when the node wrote this report
}

var nodeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// CheckNode reports why name may not name a node: 1 to 63 letters, digits, '.', '_' or
// '-', starting with a letter or digit.
func CheckNode(name string) error {
	if !nodeName.MatchString(name) {
		return fmt.Errorf("node name %q: want 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Served is what a node's gateway tells the publisher: the revision it serves (0 before
// its first load) and what it could not serve. Safe for concurrent use.
type Served interface {
	Revision() int64
	Problems() []string
}

// Publisher writes a node's report to the store whenever the revision it serves changes,
// and every Every.
type Publisher struct {
	Store   store.Store
	Node    string
	Version string
	API     string           // the node's management API URL, http://HOST:PORT
	Every   time.Duration    // 0: DefaultEvery
	Poll    time.Duration    // 0: DefaultPoll
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: discard
}

// Run reports until ctx ends. A report that cannot be written is logged and tried again
// at the next poll.
func (p *Publisher) Run(ctx context.Context, src Served) {
	every, poll, now, log := p.Every, p.Poll, p.Now, p.Logger
	if every <= 0 {
		every = DefaultEvery
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	started := now()
	var last Report
	written := false
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		rev := src.Revision()
		if rev > 0 && (!written || rev != last.Revision || now().Sub(last.Updated) >= every) {
			r := Report{Node: p.Node, Revision: rev, Problems: src.Problems(), Version: p.Version, API: p.API, Started: started, Updated: now()}
			if r.Problems == nil {
				r.Problems = []string{}
			}
			if err := Write(ctx, p.Store, r); err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Warn("node report not written", "node", p.Node, "err", err.Error())
			} else {
				last, written = r, true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Write stores one report.
func Write(ctx context.Context, st store.Store, r Report) error {
	if err := CheckNode(r.Node); err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = st.Txn(ctx, nil, []store.Op{store.Put(Prefix+r.Node, data)})
	return err
}

// List returns every node's report, by node name. A report that does not decode is
// returned with its node name and Problems saying so.
func List(ctx context.Context, st store.Store) ([]Report, error) {
	kvs, _, err := st.List(ctx, Prefix)
	if err != nil {
		return nil, fmt.Errorf("listing node reports: %w", err)
	}
	out := make([]Report, 0, len(kvs))
	for _, kv := range kvs {
		var r Report
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			r = Report{Problems: []string{fmt.Sprintf("report of %s does not decode: %v", kv.Key, err)}}
		}
		r.Node = strings.TrimPrefix(kv.Key, Prefix)
		out = append(out, r)
	}
	return out, nil
}

// The states of a node.
const (
	StateCurrent = "current" // it serves every configuration change stored
	StateStale   = "stale"   // configuration changed after the revision it serves
)

// Stale is the finding on a node that serves an older configuration than the one stored.
type Stale struct {
	ID     string   `json:"id"` // inbound.truststore.stale
	Detail string   `json:"detail"`
	Keys   []string `json:"keys"` // the configuration keys changed after the revision it serves
	Fix    string   `json:"fix"`
}

// Status is a node's report judged against the stored configuration.
type Status struct {
	Report
	State string `json:"state"`
	// Silent is set when the node's last report is older than three reporting periods:
	// it stopped, hangs or lost the store.
	Silent      bool    `json:"silent"`
	SilentForMS float64 `json:"silentForMs,omitempty"`
	Stale       *Stale  `json:"stale,omitempty"`
}

// ChangedAfter returns, sorted, the keys of config (configuration keys with their mod
// revisions) that changed after revision rev: what a gateway serving rev does not serve.
func ChangedAfter(config []store.KV, rev int64) []string {
	var keys []string
	for _, kv := range config {
		if kv.ModRevision > rev {
			keys = append(keys, kv.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

// Assess judges each report against the configuration keys stored (with their mod
// revisions), at now, for nodes that report every every (0: DefaultEvery).
func Assess(reports []Report, config []store.KV, now time.Time, every time.Duration) []Status {
	if every <= 0 {
		every = DefaultEvery
	}
	out := make([]Status, 0, len(reports))
	for _, r := range reports {
		s := Status{Report: r, State: StateCurrent}
		if age := now.Sub(r.Updated); age > 3*every {
			s.Silent, s.SilentForMS = true, float64(age.Milliseconds())
		}
		if keys := ChangedAfter(config, r.Revision); len(keys) > 0 {
			s.State = StateStale
			detail := fmt.Sprintf("node %s serves store revision %d; %d configuration object(s) changed after it", r.Node, r.Revision, len(keys))
			fix := fmt.Sprintf("look in node %s's gateway.log for reload errors; restart its tlsgate serve if it does not catch up", r.Node)
			if s.Silent {
				detail += fmt.Sprintf(", and it has not reported for %s", (time.Duration(s.SilentForMS) * time.Millisecond).Round(time.Second))
				fix = fmt.Sprintf("node %s stopped reporting: check that its tlsgate serve runs and reaches the store; restart it", r.Node)
			}
			s.Stale = &Stale{ID: "inbound.truststore.stale", Detail: detail, Keys: keys, Fix: fix}
		}
		out = append(out, s)
	}
	return out
}
