// Package etcdstore keeps a store.Store in etcd (API v3), the backend of a cluster of
// gateway nodes: every node opens the same etcd and prefix, watches it, and serves what
// it holds.
//
// Keys live under Options.Prefix in etcd. A store revision is etcd's revision less one,
// so that an etcd of its own gives exactly the contract of package store (0 for an empty
// store, one more per transaction that wrote something); in an etcd shared with other
// applications, revisions also advance with their writes (still in order, never
// repeated). A transaction is one etcd Txn: conditions compare mod revisions (create
// revision 0 for "must not exist"), and etcd commits it durably before it answers.
//
// etcd refuses requests larger than its --max-request-bytes (1.5 MiB by default); a value
// of store.MaxValueSize needs at least 8.5 MiB there: run etcd with
// --max-request-bytes=10485760. A larger request it refuses is store.ErrTooLarge.
package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tlsgate/tlsgate/store"
)

// Defaults of Options.
const (
	DefaultPrefix      = "/tlsgate/"
	DefaultDialTimeout = 5 * time.Second
	DefaultWatchBuffer = 1024
)

// Options says which etcd to open and how. Endpoints is required.
type Options struct {
	// Endpoints are the etcd members' client URLs, such as http://127.0.0.1:2379.
	Endpoints []string
	// Prefix is put before every key in etcd; "" means DefaultPrefix. Stores with
	// different prefixes share an etcd without seeing each other's keys.
	Prefix string
	// DialTimeout bounds Open's wait for a first answer from etcd; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// HistoryLimit, when not 0, makes the store compact etcd's history after its own
	// transactions so that only the latest HistoryLimit revisions are kept for Watch.
	// 0 leaves compaction to etcd's own settings (--auto-compaction-*).
	HistoryLimit int
	// TLS, when set, is used to reach https endpoints.
	TLS *tls.Config
	// Username and Password authenticate to an etcd with authentication on.
	Username, Password string
	// WatchBuffer is how many events a watch queues for its reader; 0 means
	// DefaultWatchBuffer. A reader that lets it fill is ended (its channel closed) before
	// the next revision's events: it must watch again from the revision after the last
	// event it received.
	WatchBuffer int
	// Logger receives what the store does (compactions, watches ended by etcd); nil
	// discards it. Values are never logged.
	Logger *slog.Logger
}

// Store is a store.Store kept in etcd. It is safe for concurrent use.
type Store struct {
	c            *clientv3.Client
	prefix       string
	endpoints    string
	historyLimit int64
	watchBuffer  int
	log          *slog.Logger
	closed       atomic.Bool
	done         chan struct{} // closed by Close: watches end
	wg           sync.WaitGroup

	cmu       sync.Mutex
	compacted int64 // the store revision etcd's history was last compacted to
}

var _ store.Store = (*Store)(nil)

// Open connects to etcd and checks, within DialTimeout, that it answers. ctx bounds that
// check only: the connection lasts until Close.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("opening etcd store: no endpoint")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.WatchBuffer <= 0 {
		opts.WatchBuffer = DefaultWatchBuffer
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	endpoints := strings.Join(opts.Endpoints, ",")
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   opts.Endpoints,
		DialTimeout: opts.DialTimeout,
		// A transaction may carry a value of store.MaxValueSize; a List may return many.
		MaxCallSendMsgSize: store.MaxValueSize + 1<<20,
		MaxCallRecvMsgSize: 1 << 30,
		TLS:                opts.TLS,
		Username:           opts.Username,
		Password:           opts.Password,
		Logger:             zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("opening etcd store at %s: %w", endpoints, err)
	}
	s := &Store{c: c, prefix: opts.Prefix, endpoints: endpoints, historyLimit: int64(opts.HistoryLimit),
		watchBuffer: opts.WatchBuffer, log: opts.Logger, done: make(chan struct{})}
	cctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if _, err := c.Get(cctx, s.prefix, clientv3.WithCountOnly()); err != nil {
		c.Close()
		if cctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("opening etcd store at %s: no answer within %s (does etcd run there, with the URL's scheme? does TLS match: its CA, the client certificate it asks for?): %w", endpoints, opts.DialTimeout, err)
		}
		return nil, fmt.Errorf("opening etcd store at %s: %w", endpoints, err)
	}
	s.log.Info("etcd store open", "endpoints", endpoints, "prefix", s.prefix)
	return s, nil
}

// Endpoints returns the etcd endpoints the store uses, comma-separated.
func (s *Store) Endpoints() string { return s.endpoints }

// Prefix returns the prefix of the store's keys in etcd.
func (s *Store) Prefix() string { return s.prefix }

// fromEtcd and toEtcd map etcd's revisions to the store's and back: an empty etcd is at
// revision 1, an empty store at 0.
func fromEtcd(rev int64) int64 { return rev - 1 }
func toEtcd(rev int64) int64   { return rev + 1 }

func (s *Store) kv(kv *mvccpb.KeyValue) store.KV {
	return store.KV{Key: strings.TrimPrefix(string(kv.Key), s.prefix), Value: kv.Value,
		CreateRevision: fromEtcd(kv.CreateRevision), ModRevision: fromEtcd(kv.ModRevision), Version: kv.Version}
}

// Get returns the key's current value, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := s.check(ctx); err != nil {
		return store.KV{}, err
	}
	if err := store.CheckKey(key); err != nil {
		return store.KV{}, fmt.Errorf("get: %w", err)
	}
	resp, err := s.c.Get(ctx, s.prefix+key)
	if err != nil {
		return store.KV{}, s.wrap(fmt.Sprintf("get %q", key), err)
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, fmt.Errorf("get %q: %w", key, store.ErrNotFound)
	}
	return s.kv(resp.Kvs[0]), nil
}

// List returns every key with the prefix, in key order, and the revision read at.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	resp, err := s.c.Get(ctx, s.prefix+prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, s.wrap(fmt.Sprintf("list %q", prefix), err)
	}
	kvs := make([]store.KV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		kvs[i] = s.kv(kv)
	}
	return kvs, fromEtcd(resp.Header.Revision), nil
}

// Revision returns the current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	resp, err := s.c.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, s.wrap("revision", err)
	}
	return fromEtcd(resp.Header.Revision), nil
}

// Txn checks the conditions and applies the ops as one etcd transaction.
func (s *Store) Txn(ctx context.Context, conds []store.Cond, ops []store.Op) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckTxn(conds, ops); err != nil {
		return 0, fmt.Errorf("txn: %w", err)
	}
	cmps := make([]clientv3.Cmp, len(conds))
	gets := make([]clientv3.Op, len(conds)) // what the keys are, when a condition fails
	for i, c := range conds {
		k := s.prefix + c.Key
		if c.ModRevision == 0 {
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(k), "=", 0)
		} else {
			cmps[i] = clientv3.Compare(clientv3.ModRevision(k), "=", toEtcd(c.ModRevision))
		}
		gets[i] = clientv3.OpGet(k, clientv3.WithKeysOnly())
	}
	puts := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		if op.Delete {
			puts[i] = clientv3.OpDelete(s.prefix + op.Key)
		} else {
			puts[i] = clientv3.OpPut(s.prefix+op.Key, string(op.Value))
		}
	}
	resp, err := s.c.Txn(ctx).If(cmps...).Then(puts...).Else(gets...).Commit()
	if err != nil {
		return 0, s.wrap("txn", err)
	}
	if !resp.Succeeded {
		return 0, conflict(conds, resp)
	}
	rev := fromEtcd(resp.Header.Revision)
	s.compact(ctx, rev)
	return rev, nil
}

// conflict names the first condition that failed, from the keys the failed
// transaction read.
func conflict(conds []store.Cond, resp *clientv3.TxnResponse) error {
	for i, c := range conds {
		var mod int64
		if i < len(resp.Responses) {
			if r := resp.Responses[i].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
				mod = fromEtcd(r.Kvs[0].ModRevision)
			}
		}
		if mod != c.ModRevision {
			return c.Failed(mod)
		}
	}
	return fmt.Errorf("a key changed while the transaction ran: %w", store.ErrConflict)
}

// compact keeps etcd's history to the latest HistoryLimit revisions after the store's
// own transaction at rev, when the store has a limit.
func (s *Store) compact(ctx context.Context, rev int64) {
	if s.historyLimit <= 0 {
		return
	}
	target := rev - s.historyLimit + 1 // the oldest revision kept
	step := max(1, s.historyLimit/16)  // not a compaction for every transaction
	s.cmu.Lock()
	defer s.cmu.Unlock()
	if target <= 0 || target-s.compacted < step {
		return
	}
	if _, err := s.c.Compact(ctx, toEtcd(target)); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		s.log.Warn("etcd store: compaction failed", "revision", target, "err", err)
		return
	}
	s.compacted = target
}

// Watch sends the events under prefix from revision from (0: the next one).
func (s *Store) Watch(ctx context.Context, prefix string, from int64) (<-chan store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if from < 0 {
		return nil, fmt.Errorf("watch %q: negative revision %d", prefix, from)
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCreatedNotify()}
	if from > 0 {
		// etcd creates a watch from a compacted revision, then ends it: ask first.
		_, err := s.c.Get(ctx, s.prefix, clientv3.WithRev(toEtcd(from)), clientv3.WithCountOnly())
		if err != nil && !errors.Is(err, rpctypes.ErrFutureRev) && !errors.Is(err, rpctypes.ErrGRPCFutureRev) {
			return nil, s.wrap(fmt.Sprintf("watch %q from revision %d", prefix, from), err)
		}
		opts = append(opts, clientv3.WithRev(toEtcd(from)))
	}
	wctx, cancel := context.WithCancel(ctx)
	wch := s.c.Watch(wctx, s.prefix+prefix, opts...)
	// The first answer says whether the watch runs: created, or refused (compacted).
	var first clientv3.WatchResponse
	select {
	case r, ok := <-wch:
		if !ok {
			cancel()
			if err := s.check(ctx); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("watch %q: etcd ended the watch at once", prefix)
		}
		first = r
	case <-s.done:
		cancel()
		return nil, store.ErrClosed
	}
	if first.CompactRevision != 0 {
		cancel()
		return nil, fmt.Errorf("watch %q from revision %d (etcd kept from %d): %w", prefix, from, fromEtcd(first.CompactRevision), store.ErrCompacted)
	}
	if err := first.Err(); err != nil {
		cancel()
		return nil, s.wrap(fmt.Sprintf("watch %q", prefix), err)
	}
	out := make(chan store.Event, s.watchBuffer)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		if !s.forward(wctx, first, out) {
			return
		}
		for r := range wch {
			if !s.forward(wctx, r, out) {
				return
			}
		}
	}()
	return out, nil
}

// forward sends the events of one watch answer; false ends the watch (the context ended,
// the store closed, or etcd ended the watch: its reader must watch again).
func (s *Store) forward(ctx context.Context, r clientv3.WatchResponse, out chan<- store.Event) bool {
	if r.Canceled || r.CompactRevision != 0 {
		if ctx.Err() == nil && !s.closed.Load() {
			s.log.Warn("etcd store: etcd ended a watch", "err", r.Err())
		}
		return false
	}
	var rev int64
	for _, ev := range r.Events {
		e := store.Event{Type: store.EventPut, KV: s.kv(ev.Kv)}
		if ev.Type == mvccpb.DELETE {
			e = store.Event{Type: store.EventDelete, KV: store.KV{Key: e.KV.Key, ModRevision: e.KV.ModRevision}}
		}
		if e.KV.ModRevision != rev {
			// A new revision: a reader whose queue is full is not keeping up. It is
			// ended here, between two revisions, rather than have etcd's client queue
			// every event for it; it watches again from the revision after its last.
			if rev = e.KV.ModRevision; len(out) == cap(out) {
				s.log.Warn("etcd store: a watch fell behind; ended at a revision boundary", "next", rev)
				return false
			}
		}
		select {
		case out <- e:
		case <-ctx.Done():
			return false
		case <-s.done:
			return false
		}
	}
	return true
}

// Close ends the watches and the connection to etcd.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.done)
	err := s.c.Close()
	s.wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("closing etcd store: %w", err)
	}
	return nil
}

// check returns why a call may not go on: the context ended or the store closed.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap gives err its operation, and maps etcd's errors to the store's.
func (s *Store) wrap(op string, err error) error {
	switch {
	case s.closed.Load():
		return store.ErrClosed
	case errors.Is(err, rpctypes.ErrRequestTooLarge), errors.Is(err, rpctypes.ErrGRPCRequestTooLarge),
		status.Code(err) == codes.ResourceExhausted: // larger than etcd's gRPC limit (the request limit + 512 KiB)
		return fmt.Errorf("%s: etcd at %s refused the request as too large (run etcd with --max-request-bytes=10485760): %w", op, s.endpoints, store.ErrTooLarge)
	case errors.Is(err, rpctypes.ErrCompacted), errors.Is(err, rpctypes.ErrGRPCCompacted):
		return fmt.Errorf("%s: %w", op, store.ErrCompacted)
	}
	return fmt.Errorf("%s (etcd at %s): %w", op, s.endpoints, err)
}
