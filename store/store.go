// Package store defines the revisioned key-value contract tlsgate keeps its configuration
// in: every change is a transaction that gets the next revision, and a watch replays the
// changes under a prefix from any revision still kept. The shape is etcd's, so an etcd
// backend can sit behind it; store/boltstore is the embedded default and store/storetest
// the conformance suite every backend passes.
package store

import (
	"context"
	"errors"
	"io/fs"
)

// Errors every backend returns (wrapped or not: test them with errors.Is).
var (
	// ErrNotFound: the key does not exist. It wraps fs.ErrNotExist.
	ErrNotFound = notFound{}
	// ErrConflict: a condition of a transaction did not hold; nothing was written.
	ErrConflict = errors.New("store: condition failed, another writer changed the key")
	// ErrCompacted: a watch asked for a revision older than the history kept.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrTooLarge: a key or value exceeds the backend's limits (MaxKeySize, MaxValueSize).
	ErrTooLarge = errors.New("store: key or value too large")
)

type notFound struct{}

func (notFound) Error() string        { return "store: key not found" }
func (notFound) Is(target error) bool { return target == fs.ErrNotExist }

// Limits every backend accepts at least; larger keys or values may be refused with
// ErrTooLarge.
const (
	MaxKeySize   = 1 << 10
	MaxValueSize = 1 << 20 * 8
)

// KV is one key at one revision.
type KV struct {
	Key            string
	Value          []byte
	CreateRevision int64 // the revision that created the key (since its last deletion)
	ModRevision    int64 // the revision of its last change
	Version        int64 // how many times it was written since it was created, 1 at creation
}

// EventType says what happened to a key.
type EventType int

// The event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	}
	return "unknown"
}

// Event is one change of one key. For a delete, KV holds the key and the deleting revision
// (as ModRevision) and no value.
type Event struct {
	Type EventType
	KV   KV
}

// Op is one write of a transaction: a put of Value, or a delete when Delete is set.
// Deleting a key that does not exist is not an error (nothing happens).
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Put returns the op that writes value at key.
func Put(key string, value []byte) Op { return Op{Key: key, Value: value} }

// Delete returns the op that deletes key.
func Delete(key string) Op { return Op{Key: key, Delete: true} }

// Cond is a condition of a transaction: the key's ModRevision must equal ModRevision;
// 0 means the key must not exist.
type Cond struct {
	Key         string
	ModRevision int64
}

// Store is a revisioned key-value store. All methods are safe for concurrent use. Keys
// are non-empty UTF-8 strings; listing and watching select keys by byte prefix.
type Store interface {
	// Get returns the key's current value, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key with the prefix in key order, and the revision they were
	// read at.
	List(ctx context.Context, prefix string) ([]KV, int64, error)
	// Txn checks every condition and, if all hold, applies every op atomically as one new
	// revision, which it returns; a failed condition returns ErrConflict and writes
	// nothing. A key may appear in at most one op. A transaction whose ops change nothing
	// (no ops, or only deletes of absent keys) writes nothing and returns the current
	// revision; its conditions are checked all the same. When Txn returns without error
	// the change is durable (it survives a crash).
	Txn(ctx context.Context, conds []Cond, ops []Op) (int64, error)
	// Revision returns the current revision: 0 for an empty store, then one more per
	// transaction that wrote something.
	Revision(ctx context.Context) (int64, error)
	// Watch sends, in revision order, every event under prefix from revision from (0: from
	// the next revision) until ctx ends or the store closes, then closes the channel. The
	// events of one revision come in the order of its ops. Asking for a revision older
	// than the history kept returns ErrCompacted. A watcher that does not keep up is not
	// allowed to block writers: it may be ended (its channel closed, always between two
	// revisions) and must watch again from the revision after the last event it saw, or,
	// if that returns ErrCompacted, List again.
	Watch(ctx context.Context, prefix string, from int64) (<-chan Event, error)
	// Close releases the store; pending watches end.
	Close() error
}
