package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/tlsgate/tlsgate/store"
)

// A watch is one goroutine that sends to the watch's channel, fed two ways: the
// history in the file, read in short View transactions, for the revisions it has to
// catch up on; and a queue that each commit fills, for the revisions after those.
// Both are cut at Store.notified, under Store.mu: a watch that starts, or whose queue
// overflowed, reads the history up to the revision notified at that moment, and every
// later commit lands in its queue. So no revision is missed or sent twice, and a
// slow reader never blocks a writer.

// Limits of one read of the history while a watch catches up.
const (
	catchUpRevisions = 256
	catchUpBytes     = 1 << 20
)

type watcher struct {
	s      *Store
	ctx    context.Context
	prefix string
	out    chan store.Event
	wake   chan struct{} // capacity 1: the queue has events, or the watch lags
	next   int64         // the first revision not yet sent; owned by run

	// Guarded by s.mu.
	queue   []store.Event // live events of revisions after those in the history read
	lagging bool          // the history up to s.notified must be read first
}

// Watch sends the events under prefix from revision from (0: from the next revision)
// until ctx ends or the store closes, then closes the channel; see store.Store and
// Options.WatchBuffer for a reader that does not keep up.
func (s *Store) Watch(ctx context.Context, prefix string, from int64) (<-chan store.Event, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if from < 0 {
		return nil, fmt.Errorf("watch %q: negative revision %d", prefix, from)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	if from == 0 {
		from = s.notified + 1
	}
	if from <= s.compacted {
		return nil, fmt.Errorf("watch %q from revision %d: history starts at revision %d: %w", prefix, from, s.compacted+1, store.ErrCompacted)
	}
	w := &watcher{
		s:       s,
		ctx:     ctx,
		prefix:  prefix,
		out:     make(chan store.Event),
		wake:    make(chan struct{}, 1),
		next:    from,
		lagging: from <= s.notified,
	}
	s.watchers[w] = struct{}{}
	s.wg.Add(1)
	go w.run()
	return w.out, nil
}

// fanout hands the events of a revision just committed to every watch. It runs under
// s.wmu, so revisions arrive in order.
func (s *Store) fanout(rev, compacted int64, events []store.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notified, s.compacted = rev, compacted
	for w := range s.watchers {
		if w.lagging {
			continue // it reads this revision from the history
		}
		n := 0
		for _, e := range events {
			if strings.HasPrefix(e.KV.Key, w.prefix) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if len(w.queue)+n > s.watchBuffer {
			w.queue, w.lagging = nil, true
			s.log.Debug("watch lags, it will read the history", "prefix", w.prefix, "revision", rev)
		} else {
			for _, e := range events {
				if strings.HasPrefix(e.KV.Key, w.prefix) {
					w.queue = append(w.queue, e)
				}
			}
		}
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) run() {
	s := w.s
	defer s.wg.Done()
	defer close(w.out)
	defer func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	for {
		s.mu.Lock()
		lagging, upTo, queue := w.lagging, s.notified, w.queue
		w.lagging, w.queue = false, nil
		s.mu.Unlock()

		if lagging {
			if !w.catchUp(upTo) {
				return
			}
		} else if len(queue) > 0 {
			last := w.next - 1
			for _, e := range queue {
				if e.KV.ModRevision < w.next {
					continue
				}
				e.KV.Value = bytes.Clone(e.KV.Value) // each reader its own copy
				if !w.send(e) {
					return
				}
				last = e.KV.ModRevision
			}
			w.next = last + 1
		}

		select {
		case <-w.wake:
		case <-w.ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// catchUp sends the events of the revisions from w.next to upTo from the history. It
// returns false when the watch must end: its context ended, the store closed, or the
// history it needs is gone.
func (w *watcher) catchUp(upTo int64) bool {
	for w.next <= upTo {
		events, through, err := w.s.readHistory(w.prefix, w.next, upTo)
		if err != nil {
			if !errors.Is(err, store.ErrClosed) {
				w.s.log.Warn("watch ended", "prefix", w.prefix, "next", w.next, "err", err)
			}
			return false
		}
		for _, e := range events {
			if !w.send(e) {
				return false
			}
		}
		w.next = through + 1
	}
	return true
}

func (w *watcher) send(e store.Event) bool {
	select {
	case w.out <- e:
		return true
	case <-w.ctx.Done():
		return false
	case <-w.s.done:
		return false
	}
}

// readHistory reads, in one short transaction, the events under prefix of the
// revisions from `from` to at most upTo, stopping after catchUpRevisions revisions or
// catchUpBytes of values. It returns the events and the last revision it read.
func (s *Store) readHistory(prefix string, from, upTo int64) ([]store.Event, int64, error) {
	var (
		events  []store.Event
		through int64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		compacted, err := getInt(tx.Bucket(bucketMeta), metaCompacted)
		if err != nil {
			return err
		}
		if from <= compacted {
			return fmt.Errorf("revision %d: the watch fell behind the history kept, which starts at revision %d: %w", from, compacted+1, store.ErrCompacted)
		}
		c := tx.Bucket(bucketHistory).Cursor()
		size, n := 0, 0
		through = from - 1
		for k, v := c.Seek(revKey(from)); k != nil; k, v = c.Next() {
			rev := int64(binary.BigEndian.Uint64(k))
			if rev > upTo {
				break
			}
			if rev != through+1 {
				return fmt.Errorf("history: revision %d follows %d", rev, through)
			}
			evs, sz, err := decodeEvents(rev, v, prefix)
			if err != nil {
				return err
			}
			events = append(events, evs...)
			through, size, n = rev, size+sz, n+1
			if n >= catchUpRevisions || size >= catchUpBytes {
				break
			}
		}
		if through < upTo && n < catchUpRevisions && size < catchUpBytes {
			return fmt.Errorf("history: revisions %d to %d missing", through+1, upTo)
		}
		return nil
	})
	if err != nil {
		return nil, 0, s.wrap("watch", err)
	}
	return events, through, nil
}
