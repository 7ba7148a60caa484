package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tlsgate/tlsgate/config"
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
	kvs, _, err := s.store.List(r.Context(), config.ConfigPrefix)
	if err != nil {
		return err
	}
	if s.rt != nil {
		served := s.rt.Revision()
		gw := map[string]any{"revision": served, "counters": s.rt.Counters(), "problems": nonNil(s.rt.Problems()), "targets": s.rt.Health()}
		var latest int64
		var changed []string
		for _, kv := range kvs {
			latest = max(latest, kv.ModRevision)
			if kv.ModRevision > served {
				changed = append(changed, kv.Key)
			}
		}
		gw["configRevision"] = latest
		if len(changed) > 0 {
			gw["stale"] = map[string]any{
				"id":     "inbound.truststore.stale",
				"detail": fmt.Sprintf("the gateway serves revision %d; %d configuration object(s) changed after it", served, len(changed)),
				"keys":   changed,
			}
		}
		out["gateway"] = gw
	}
	nodes, err := s.nodes(r)
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
// request (cause, evidence, fix), by the message ID its response carried.
func (s *Server) getFinding(w http.ResponseWriter, r *http.Request) error {
	if s.found == nil {
		return notFound(CodeNotFound, "no gateway runs in this process")
	}
	f, ok := s.found.Get(r.PathValue("id"))
	if !ok {
		return notFound(CodeNotFound, "no finding for message ID %s (only the latest findings are kept)", r.PathValue("id"))
	}
	return writeJSON(w, http.StatusOK, f)
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
