package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/store"
)

// AuditPrefix holds the audit log: one record per change, written in the same store
// transaction as the change, so the log and the state never disagree.
const AuditPrefix = "/audit/"

// AuditRecord is one change: who, what, when, and (when read back) the store revision it
// made. It names keys and objects, never values.
type AuditRecord struct {
	Revision int64     `json:"revision,omitempty"`
	Time     time.Time `json:"time"`
	Who      string    `json:"who"`
	Action   string    `json:"action"` // e.g. "POST /v1/organizations/o/environments/e/keystores"
	Keys     []string  `json:"keys"`   // the store keys written or deleted
	Detail   string    `json:"detail,omitempty"`
}

var auditSeq atomic.Uint64

// auditKey orders records by time, then by a process counter.
func auditKey(now time.Time) string {
	return fmt.Sprintf("%s%020d-%08d", AuditPrefix, now.UnixNano(), auditSeq.Add(1)%100000000)
}

// commit writes ops under conds as one transaction together with the audit record of the
// request, and returns the revision. A failed condition is a 409.
func (s *Server) commit(r *http.Request, detail string, conds []store.Cond, ops []store.Op) (int64, error) {
	return s.commitAs(r.Context(), principalName(r.Context()), r.Method+" "+r.URL.Path, detail, conds, ops)
}

// commitAs is commit for changes that do not come from a request (serve --config).
func (s *Server) commitAs(ctx context.Context, who, action, detail string, conds []store.Cond, ops []store.Op) (int64, error) {
	if len(ops) == 0 {
		return s.store.Revision(ctx)
	}
	now := s.now()
	rec := AuditRecord{Time: now.UTC(), Who: who, Action: action, Detail: detail}
	for _, op := range ops {
		rec.Keys = append(rec.Keys, op.Key)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	rev, err := s.store.Txn(ctx, conds, append(ops, store.Put(auditKey(now), data)))
	if errors.Is(err, store.ErrConflict) {
		return 0, errorf(http.StatusConflict, CodeConflict, "another change to the same object was made at the same time; read it again and retry")
	}
	if errors.Is(err, store.ErrTooLarge) {
		return 0, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the object is too large to store")
	}
	if err != nil {
		return 0, err
	}
	s.log.Info("change", "who", who, "action", action, "detail", detail, "revision", rev, "keys", rec.Keys)
	return rev, nil
}

// getAudit serves GET /tlsgate/v1/audit[?since=REV]: the audit records, oldest first.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request) error {
	var since int64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badRequest("query parameter since: want a store revision, got %q", v)
		}
		since = n
	}
	kvs, _, err := s.store.List(r.Context(), AuditPrefix)
	if err != nil {
		return err
	}
	out := []AuditRecord{}
	for _, kv := range kvs {
		if kv.ModRevision <= since {
			continue
		}
		var rec AuditRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("audit record %s: %w", kv.Key, err)
		}
		rec.Revision = kv.ModRevision
		out = append(out, rec)
	}
	return writeJSON(w, http.StatusOK, out)
}
