// Package boltstore keeps a store.Store in one bbolt file, the embedded default backend
// of tlsgate's configuration.
//
// The file holds three buckets. "kv" maps each current key to its record: a format
// byte, then CreateRevision, ModRevision and Version as uvarints, then the value.
// "history" maps each revision, as 8 bytes big-endian, to the events of that
// revision, so that Watch can replay from any revision still kept; only the latest
// Options.HistoryLimit revisions are kept. "meta" holds the current revision and the
// compacted revision (the newest one whose history was dropped).
//
// Every transaction is one bbolt Update, which fsyncs the file before it returns: a Txn
// that returned without error survives a crash of the process or the machine. The
// file is locked while it is open, so one process at a time uses a store.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/tlsgate/tlsgate/store"
)

// Defaults of Options.
const (
	DefaultTimeout      = time.Second
	DefaultHistoryLimit = 10000
	DefaultWatchBuffer  = 1024
)

// Options tunes Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for another process to release the file's lock
	// before it gives up with ErrInUse; 0 means DefaultTimeout.
	Timeout time.Duration
	// HistoryLimit is how many of the latest revisions are kept for Watch to replay;
	// a watch from an older revision fails with store.ErrCompacted. 0 means
	// DefaultHistoryLimit.
	HistoryLimit int
	// WatchBuffer is how many live events a watch queues for a reader that is slower
	// than the writers; 0 means DefaultWatchBuffer. Past it the queue is dropped and the
	// watch catches up by reading the history instead, so a slow reader costs writers
	// nothing. A reader that falls further behind than HistoryLimit revisions has its
	// channel closed, at a revision boundary: it must watch again from the revision
	// after the last event it received.
	WatchBuffer int
	// Logger receives what the store does (opening, history trimming, watches that
	// fall behind); nil discards it. Values are never logged.
	Logger *slog.Logger
}

// ErrInUse is returned (wrapped) by Open when another process holds the store's file.
var ErrInUse = errors.New("store in use by another process")

// Store is a store.Store kept in a bbolt file. It is safe for concurrent use.
type Store struct {
	db           *bolt.DB
	path         string
	log          *slog.Logger
	historyLimit int64
	watchBuffer  int
	closed       atomic.Bool
	done         chan struct{} // closed by Close: watches end

	// wmu orders commits with their fan-out to watchers, so watchers get revisions
	// in order. bbolt serialises writers anyway.
	wmu sync.Mutex

	mu        sync.Mutex
	notified  int64 // the newest revision fanned out to watchers
	compacted int64 // the newest revision whose history is gone
	watchers  map[*watcher]struct{}
	wg        sync.WaitGroup // one per watcher goroutine
}

var _ store.Store = (*Store)(nil)

var (
	bucketKV      = []byte("kv")
	bucketHistory = []byte("history")
	bucketMeta    = []byte("meta")
	metaRevision  = []byte("revision")
	metaCompacted = []byte("compacted")
)

// Open opens the store kept in the file at path, creating the file (mode 0600) if it
// does not exist. The directory must exist.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = DefaultHistoryLimit
	}
	if opts.WatchBuffer <= 0 {
		opts.WatchBuffer = DefaultWatchBuffer
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("opening store %s: directory %s does not exist: %w", path, dir, fs.ErrNotExist)
	} else if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("opening store %s: %s is not a directory", path, dir)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("opening store %s: %w (its lock was not released within %s)", path, ErrInUse, opts.Timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("opening store %s: the file is not a bbolt database, or it is damaged: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}

	s := &Store{
		db:           db,
		path:         path,
		log:          opts.Logger.With("store", path),
		historyLimit: int64(opts.HistoryLimit),
		watchBuffer:  opts.WatchBuffer,
		done:         make(chan struct{}),
		watchers:     make(map[*watcher]struct{}),
	}
	if err := db.Update(s.init); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	s.log.Debug("store opened", "revision", s.notified, "compacted", s.compacted)
	return s, nil
}

// init creates the buckets of a new file, checks those of an old one, and trims the
// history when HistoryLimit was lowered.
func (s *Store) init(tx *bolt.Tx) error {
	if tx.Bucket(bucketMeta) == nil {
		other := false
		tx.ForEach(func([]byte, *bolt.Bucket) error { other = true; return nil })
		if other {
			return fmt.Errorf("the file is a bbolt database but not a tlsgate store (no %q bucket)", bucketMeta)
		}
	}
	for _, name := range [][]byte{bucketKV, bucketHistory, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %q: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	var err error
	if s.notified, err = getInt(meta, metaRevision); err != nil {
		return err
	}
	if s.compacted, err = getInt(meta, metaCompacted); err != nil {
		return err
	}
	s.compacted, err = s.trim(tx, s.notified, s.compacted)
	return err
}

// Path returns the file the store is kept in.
func (s *Store) Path() string { return s.path }

// Get returns the key's current value, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if err := s.check(ctx); err != nil {
		return store.KV{}, err
	}
	if err := store.CheckKey(key); err != nil {
		return store.KV{}, fmt.Errorf("get: %w", err)
	}
	var kv store.KV
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKV).Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		kv, err = decodeRecord(key, v)
		return err
	})
	if err != nil {
		return store.KV{}, s.wrap(fmt.Sprintf("get %q", key), err)
	}
	return kv, nil
}

// List returns every key with the prefix in key order, and the revision they were
// read at.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	var (
		kvs []store.KV
		rev int64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if rev, err = getInt(tx.Bucket(bucketMeta), metaRevision); err != nil {
			return err
		}
		c := tx.Bucket(bucketKV).Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			kv, err := decodeRecord(string(k), v)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.wrap(fmt.Sprintf("list %q", prefix), err)
	}
	return kvs, rev, nil
}

// Revision returns the current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var rev int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rev, err = getInt(tx.Bucket(bucketMeta), metaRevision)
		return err
	})
	if err != nil {
		return 0, s.wrap("revision", err)
	}
	return rev, nil
}

// errUnchanged rolls back a transaction whose ops changed nothing.
var errUnchanged = errors.New("unchanged")

// Txn checks the conditions and applies the ops as one new revision (see store.Store).
// Ops whose keys repeat are refused. A transaction whose ops change nothing (none, or
// only deletes of absent keys) creates no revision and returns the current one. Txn
// returns once the file is synced to disk.
func (s *Store) Txn(ctx context.Context, conds []store.Cond, ops []store.Op) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckTxn(conds, ops); err != nil {
		return 0, fmt.Errorf("txn: %w", err)
	}
	if len(ops) == 0 {
		var rev int64
		err := s.db.View(func(tx *bolt.Tx) error {
			if err := checkConds(tx.Bucket(bucketKV), conds); err != nil {
				return err
			}
			var err error
			rev, err = getInt(tx.Bucket(bucketMeta), metaRevision)
			return err
		})
		if err != nil {
			return 0, s.wrap("txn", err)
		}
		return rev, nil
	}
	// The caller may reuse its slices once Txn returns; watchers get their own copies.
	ops = cloneOps(ops)

	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var (
		rev, compacted int64
		events         []store.Event
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		kvb, meta := tx.Bucket(bucketKV), tx.Bucket(bucketMeta)
		if err := checkConds(kvb, conds); err != nil {
			return err
		}
		cur, err := getInt(meta, metaRevision)
		if err != nil {
			return err
		}
		rev = cur + 1
		for _, op := range ops {
			key := []byte(op.Key)
			old := kvb.Get(key)
			if op.Delete {
				if old == nil {
					continue
				}
				if err := kvb.Delete(key); err != nil {
					return err
				}
				events = append(events, store.Event{Type: store.EventDelete, KV: store.KV{Key: op.Key, ModRevision: rev}})
				continue
			}
			kv := store.KV{Key: op.Key, Value: op.Value, CreateRevision: rev, ModRevision: rev, Version: 1}
			if old != nil {
				prev, err := decodeRecord(op.Key, old)
				if err != nil {
					return err
				}
				kv.CreateRevision, kv.Version = prev.CreateRevision, prev.Version+1
			}
			if err := kvb.Put(key, encodeRecord(kv)); err != nil {
				return err
			}
			events = append(events, store.Event{Type: store.EventPut, KV: kv})
		}
		if len(events) == 0 {
			rev = cur
			return errUnchanged
		}
		if err := tx.Bucket(bucketHistory).Put(revKey(rev), encodeEvents(events)); err != nil {
			return err
		}
		if err := putInt(meta, metaRevision, rev); err != nil {
			return err
		}
		if compacted, err = getInt(meta, metaCompacted); err != nil {
			return err
		}
		compacted, err = s.trim(tx, rev, compacted)
		return err
	})
	if errors.Is(err, errUnchanged) {
		return rev, nil
	}
	if err != nil {
		return 0, s.wrap("txn", err)
	}
	s.fanout(rev, compacted, events)
	return rev, nil
}

// trim drops the history older than the latest historyLimit revisions and returns the
// new compacted revision.
func (s *Store) trim(tx *bolt.Tx, rev, compacted int64) (int64, error) {
	keep := rev - s.historyLimit
	if keep <= compacted {
		return compacted, nil
	}
	c := tx.Bucket(bucketHistory).Cursor()
	for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= keep; k, _ = c.Next() {
		if err := c.Delete(); err != nil {
			return 0, fmt.Errorf("trimming history: %w", err)
		}
	}
	if err := putInt(tx.Bucket(bucketMeta), metaCompacted, keep); err != nil {
		return 0, err
	}
	if keep-compacted > 1 {
		s.log.Debug("history trimmed", "compacted", keep, "dropped", keep-compacted)
	}
	return keep, nil
}

// Close ends every watch, waits for the transactions under way and closes the file.
// Later calls return store.ErrClosed; closing again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("closing store %s: %w", s.path, err)
	}
	s.log.Debug("store closed")
	return nil
}

// check returns why a call may not go on: the context ended or the store closed.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// wrap gives err its operation, and reports a closed bbolt file as store.ErrClosed.
func (s *Store) wrap(op string, err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return fmt.Errorf("%s: %w", op, err)
}

func checkConds(kvb *bolt.Bucket, conds []store.Cond) error {
	for _, c := range conds {
		var mod int64
		if v := kvb.Get([]byte(c.Key)); v != nil {
			kv, err := decodeHeader(c.Key, v)
			if err != nil {
				return err
			}
			mod = kv.ModRevision
		}
		if mod != c.ModRevision {
			return c.Failed(mod)
		}
	}
	return nil
}

func cloneOps(ops []store.Op) []store.Op {
	out := make([]store.Op, len(ops))
	for i, op := range ops {
		out[i] = op
		if !op.Delete {
			out[i].Value = bytes.Clone(op.Value)
			if out[i].Value == nil {
				out[i].Value = []byte{}
			}
		} else {
			out[i].Value = nil
		}
	}
	return out
}
