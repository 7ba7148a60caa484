package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/tlsgate/tlsgate/store"
)

// revKey is the history key of a revision: 8 bytes big-endian, so keys sort by revision.
func revKey(rev int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(rev)) }

func getInt(b *bolt.Bucket, key []byte) (int64, error) {
	v := b.Get(key)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("meta %q: %d bytes, want 8", key, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func putInt(b *bolt.Bucket, key []byte, n int64) error {
	return b.Put(key, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// recordFormat is the first byte of every record and history entry.
const recordFormat = 1

// encodeRecord encodes a current key's record: format, CreateRevision, ModRevision,
// Version, value.
func encodeRecord(kv store.KV) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(kv.Value))
	b = append(b, recordFormat)
	b = binary.AppendUvarint(b, uint64(kv.CreateRevision))
	b = binary.AppendUvarint(b, uint64(kv.ModRevision))
	b = binary.AppendUvarint(b, uint64(kv.Version))
	return append(b, kv.Value...)
}

// decodeRecord decodes a record, copying the value out of bbolt's memory.
func decodeRecord(key string, b []byte) (store.KV, error) {
	kv, err := decodeHeader(key, b)
	if err != nil {
		return kv, err
	}
	kv.Value = bytes.Clone(kv.Value)
	if kv.Value == nil {
		kv.Value = []byte{}
	}
	return kv, nil
}

// decodeHeader decodes a record; its Value points into b.
func decodeHeader(key string, b []byte) (store.KV, error) {
	d := decoder{b: b}
	if d.byte() != recordFormat {
		return store.KV{}, fmt.Errorf("record of %q: unknown format", key)
	}
	kv := store.KV{Key: key, CreateRevision: d.int(), ModRevision: d.int(), Version: d.int()}
	if d.err {
		return store.KV{}, fmt.Errorf("record of %q: truncated", key)
	}
	kv.Value = d.b
	return kv, nil
}

// encodeEvents encodes the events of one revision: format, count, then each event:
// type, key length, key and, for a put, CreateRevision, Version, value length, value.
// ModRevision is the revision the entry is stored under.
func encodeEvents(events []store.Event) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, e := range events {
		n += 1 + 4*binary.MaxVarintLen64 + len(e.KV.Key) + len(e.KV.Value)
	}
	b := make([]byte, 0, n)
	b = append(b, recordFormat)
	b = binary.AppendUvarint(b, uint64(len(events)))
	for _, e := range events {
		b = append(b, byte(e.Type))
		b = binary.AppendUvarint(b, uint64(len(e.KV.Key)))
		b = append(b, e.KV.Key...)
		if e.Type == store.EventPut {
			b = binary.AppendUvarint(b, uint64(e.KV.CreateRevision))
			b = binary.AppendUvarint(b, uint64(e.KV.Version))
			b = binary.AppendUvarint(b, uint64(len(e.KV.Value)))
			b = append(b, e.KV.Value...)
		}
	}
	return b
}

// decodeEvents decodes the events of revision rev whose keys have the prefix, copying
// them out of bbolt's memory. It returns also the bytes of values it kept.
func decodeEvents(rev int64, b []byte, prefix string) ([]store.Event, int, error) {
	d := decoder{b: b}
	if d.byte() != recordFormat {
		return nil, 0, fmt.Errorf("history of revision %d: unknown format", rev)
	}
	var (
		events []store.Event
		size   int
	)
	for n := d.int(); n > 0 && !d.err; n-- {
		t := store.EventType(d.byte())
		key := d.bytes(d.int())
		e := store.Event{Type: t, KV: store.KV{ModRevision: rev}}
		switch t {
		case store.EventPut:
			e.KV.CreateRevision, e.KV.Version = d.int(), d.int()
			e.KV.Value = d.bytes(d.int())
		case store.EventDelete:
		default:
			return nil, 0, fmt.Errorf("history of revision %d: unknown event type %d", rev, t)
		}
		if d.err {
			break
		}
		if !strings.HasPrefix(string(key), prefix) {
			continue
		}
		e.KV.Key = string(key)
		if t == store.EventPut {
			e.KV.Value = append([]byte{}, e.KV.Value...)
			size += len(e.KV.Value)
		}
		events = append(events, e)
	}
	if d.err {
		return nil, 0, fmt.Errorf("history of revision %d: truncated", rev)
	}
	return events, size, nil
}

// decoder reads a record; a read past the end sets err and yields zeros.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) int() int64 {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > 1<<62 {
		d.err = true
		return 0
	}
	d.b = d.b[k:]
	return int64(n)
}

func (d *decoder) bytes(n int64) []byte {
	if n < 0 || n > int64(len(d.b)) {
		d.err = true
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}
