package mgmt

import (
	"context"
	"errors"
	"net/http"

	"github.com/tlsgate/tlsgate/cluster"
	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/store"
)

// nodes returns the gateway nodes' reports judged against the configuration keys cfg
// (read from the store when nil), or none when no node reports.
func (s *Server) nodes(ctx context.Context, cfg []store.KV) ([]cluster.Status, error) {
	reports, err := cluster.List(ctx, s.store)
	if err != nil || len(reports) == 0 {
		return []cluster.Status{}, err
	}
	if cfg == nil {
		if cfg, _, err = s.store.List(ctx, config.ConfigPrefix); err != nil {
			return nil, err
		}
	}
	return cluster.Assess(reports, cfg, s.now(), s.every), nil
}

// listNodes serves GET /tlsgate/v1/nodes: every gateway node that reports to the store
// (a cluster on etcd), its state, and stale ones with inbound.truststore.stale.
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	nodes, err := s.nodes(r.Context(), nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nodes)
}

// deleteNode serves DELETE /tlsgate/v1/nodes/{node}: forgets the report of a node gone
// for good. A node still running reports again at its next period.
func (s *Server) deleteNode(w http.ResponseWriter, r *http.Request) error {
	node := r.PathValue("node")
	if err := cluster.CheckNode(node); err != nil {
		return badRequest("%v", err)
	}
	kv, err := s.store.Get(r.Context(), cluster.Prefix+node)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(CodeNotFound, "no report of node %s", node)
	}
	if err != nil {
		return err
	}
	conds := []store.Cond{{Key: kv.Key, ModRevision: kv.ModRevision}}
	if _, err := s.commitAs(r.Context(), principalName(r.Context()), "delete", "node "+node, conds, []store.Op{store.Delete(kv.Key)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
