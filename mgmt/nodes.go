package mgmt

import (
	"errors"
	"net/http"

	"github.com/tlsgate/tlsgate/cluster"
	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/store"
)

// nodes returns the gateway nodes' reports judged against the configuration stored.
func (s *Server) nodes(r *http.Request) ([]cluster.Status, error) {
	reports, err := cluster.List(r.Context(), s.store)
	if err != nil {
		return nil, err
	}
	kvs, _, err := s.store.List(r.Context(), config.ConfigPrefix)
	if err != nil {
		return nil, err
	}
	return cluster.Assess(reports, kvs, s.now(), s.every), nil
}

// listNodes serves GET /tlsgate/v1/nodes: every gateway node that reports to the store
// (a cluster on etcd), its state, and stale ones with inbound.truststore.stale.
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) error {
	nodes, err := s.nodes(r)
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
