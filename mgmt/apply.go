package mgmt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/cluster"
	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/store"
)

// MaxApplyBytes bounds a declarative file sent to apply (it may carry keys and chains of
// many aliases).
const MaxApplyBytes = 8 << 20

// applyResult is what POST /tlsgate/v1/apply answers.
type applyResult struct {
	Revision int64           `json:"revision"`
	DryRun   bool            `json:"dryRun,omitempty"`
	Summary  string          `json:"summary"`
	Changes  []config.Change `json:"changes"`
}

// apply serves POST /tlsgate/v1/apply[?prune=true][&dryRun=true]: the body is the
// declarative YAML file with certificates and keys inline (the CLI inlines certFile and
// keyFile before sending; a body naming files is refused, the server reads none). The
// whole file is one store transaction: all of it or nothing.
func (s *Server) apply(w http.ResponseWriter, r *http.Request) error {
	prune, err := boolQuery(r, "prune")
	if err != nil {
		return err
	}
	dry, err := boolQuery(r, "dryRun")
	if err != nil {
		return err
	}
	data, err := readBody(r, MaxApplyBytes)
	if err != nil {
		return err
	}
	doc, err := config.ParseYAMLInline(data, "request body")
	if err != nil {
		return errorf(http.StatusBadRequest, CodeValidation, "%v", err)
	}
	plan, err := config.Plan(r.Context(), s.store, doc, config.PlanOptions{Prune: prune, Sealer: s.sealer, Now: s.now()})
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return errorf(http.StatusBadRequest, CodeValidation, "%v", err)
	}
	if err != nil {
		return err
	}
	res := applyResult{DryRun: dry, Summary: plan.Summary(), Changes: plan.Changes}
	if dry {
		res.Revision, err = s.store.Revision(r.Context())
	} else {
		res.Revision, err = s.commit(r, "apply: "+plan.Summary(), plan.Conds, plan.Ops)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// ApplyDocument applies a parsed declarative document as one transaction, recorded in
// the audit log as done by who (serve --config). It returns the revision and the plan.
func (s *Server) ApplyDocument(ctx context.Context, doc *config.Document, who string, prune bool) (int64, *config.ApplyPlan, error) {
	plan, err := config.Plan(ctx, s.store, doc, config.PlanOptions{Prune: prune, Sealer: s.sealer, Now: s.now()})
	if err != nil {
		return 0, nil, err
	}
	rev, err := s.commitAs(ctx, who, "apply", plan.Summary(), plan.Conds, plan.Ops)
	return rev, plan, err
}

// export serves GET /tlsgate/v1/export: everything as the declarative YAML file, private
// keys left out (they are never exported; apply keeps the stored ones).
func (s *Server) export(w http.ResponseWriter, r *http.Request) error {
	doc, rev, err := config.Load(r.Context(), s.store)
	if err != nil {
		return err
	}
	data, err := config.MarshalYAML(doc)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Tlsgate-Revision", strconv.FormatInt(rev, 10))
	_, err = w.Write(data)
	return err
}

// getStatus serves GET /tlsgate/v1/status: the version, the store revision, and, with a
// gateway in the process, the revision it serves (behind the configuration stored:
// inbound.truststore.stale), what it could not serve, and its counters; and, when gateway
// nodes report to the store (a cluster on etcd), each node's state, stale ones named.
func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	rev, err := s.store.Revision(r.Context())
	if err != nil {
		return err
	}
	out := map[string]any{"version": s.ver, "revision": rev}
	// Staleness is judged on configuration keys only (others, such as the audit log's
	// and the node reports, do not count).
	var kvs []store.KV
	if s.rt != nil {
		if kvs, _, err = s.store.List(r.Context(), config.ConfigPrefix); err != nil {
			return err
		}
		served := s.rt.Revision()
		gw := map[string]any{"revision": served, "counters": s.rt.Counters(), "problems": nonNil(s.rt.Problems()), "targets": s.rt.Health()}
		var latest int64
		for _, kv := range kvs {
			latest = max(latest, kv.ModRevision)
		}
		gw["configRevision"] = latest
		if changed := cluster.ChangedAfter(kvs, served); len(changed) > 0 {
			gw["stale"] = map[string]any{
				"id":     "inbound.truststore.stale",
				"detail": fmt.Sprintf("the gateway serves revision %d; %d configuration object(s) changed after it", served, len(changed)),
				"keys":   changed,
			}
		}
		out["gateway"] = gw
	}
	nodes, err := s.nodes(r.Context(), kvs)
	if err != nil {
		return err
	}
	if len(nodes) > 0 {
		var stale []string
		for _, n := range nodes {
			if n.Stale != nil {
				stale = append(stale, n.Node)
			}
		}
		out["nodes"] = nodes
		out["staleNodes"] = nonNil(stale)
	}
	return writeJSON(w, http.StatusOK, out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getFinding serves GET /tlsgate/v1/findings/{messageid}: the full finding of a failed
// request (cause, evidence, fix), by the message ID its response carried. In a cluster,
// a finding this node does not hold is asked of the other nodes (their management APIs,
// from their reports, with the caller's credentials), unless ?local=true.
func (s *Server) getFinding(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if s.found != nil {
		if f, ok := s.found.Get(id); ok {
			return writeJSON(w, http.StatusOK, f)
		}
	}
	if r.URL.Query().Get("local") != "true" {
		body, asked, err := s.findingElsewhere(r, id)
		if err != nil {
			return err
		}
		if body != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, err := w.Write(body)
			return err
		}
		if len(asked) > 0 {
			return notFound(CodeNotFound, "no finding for message ID %s on this node nor on %s (only the latest findings are kept)", id, strings.Join(asked, ", "))
		}
	}
	if s.found == nil {
		return notFound(CodeNotFound, "no gateway runs in this process")
	}
	return notFound(CodeNotFound, "no finding for message ID %s (only the latest findings are kept)", id)
}

// maxFindingBytes bounds a finding fetched from another node.
const maxFindingBytes = 4 << 20

// findingElsewhere asks the other nodes of the cluster for a finding, at once, and
// returns the first found (its JSON), or the nodes asked, each with what it answered
// when it could not be asked.
func (s *Server) findingElsewhere(r *http.Request, id string) ([]byte, []string, error) {
	reports, err := cluster.List(r.Context(), s.store)
	if err != nil {
		return nil, nil, err
	}
	type answer struct {
		node string
		body []byte
		err  error
	}
	answers := make(chan answer, len(reports))
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	n := 0
	for _, rep := range reports {
		if rep.Node == s.node || !strings.HasPrefix(rep.API, "http://") && !strings.HasPrefix(rep.API, "https://") {
			continue
		}
		n++
		go func() {
			req, err := http.NewRequestWithContext(ctx, "GET", rep.API+"/tlsgate/v1/findings/"+url.PathEscape(id)+"?local=true", nil)
			if err != nil {
				answers <- answer{rep.Node, nil, err}
				return
			}
			req.Header.Set("Authorization", r.Header.Get("Authorization"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- answer{rep.Node, nil, err}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxFindingBytes))
			switch {
			case err != nil:
				answers <- answer{rep.Node, nil, err}
			case resp.StatusCode == http.StatusOK:
				answers <- answer{rep.Node, body, nil}
			case resp.StatusCode == http.StatusNotFound:
				answers <- answer{rep.Node, nil, nil}
			default:
				answers <- answer{rep.Node, nil, fmt.Errorf("status %d", resp.StatusCode)}
			}
		}()
	}
	var asked []string
	for range n {
		a := <-answers
		if a.body != nil {
			return a.body, nil, nil
		}
		if a.err != nil {
			asked = append(asked, fmt.Sprintf("node %s (not reached: %v)", a.node, a.err))
		} else {
			asked = append(asked, "node "+a.node)
		}
	}
	slices.Sort(asked)
	return nil, asked, nil
}

// listFindings serves GET /tlsgate/v1/findings[?limit=N]: the latest findings, newest first.
func (s *Server) listFindings(w http.ResponseWriter, r *http.Request) error {
	if s.found == nil {
		return writeJSON(w, http.StatusOK, []any{})
	}
	n := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		if k, err := strconv.Atoi(v); err == nil && k > 0 && k <= 10000 {
			n = k
		} else {
			return badRequest("query parameter limit: want 1 to 10000, got %q", v)
		}
	}
	return writeJSON(w, http.StatusOK, s.found.Recent(n))
}

func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	switch strings.ToLower(v) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, badRequest("query parameter %s: want true or false, got %q", name, v)
}
