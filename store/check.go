package store

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// CheckKey reports why key may not be a key of a store: empty, longer than MaxKeySize
// (ErrTooLarge), or not UTF-8. Backends check every key they are given with it.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > MaxKeySize:
		return fmt.Errorf("key of %d bytes, more than %d: %w", len(key), MaxKeySize, ErrTooLarge)
	case !utf8.ValidString(key):
		return fmt.Errorf("key %q is not UTF-8", key)
	}
	return nil
}

// CheckTxn reports why a transaction may not run, before it is tried: a bad key, a
// negative revision in a condition, a key in two ops, a value longer than MaxValueSize
// (ErrTooLarge).
func CheckTxn(conds []Cond, ops []Op) error {
	for _, c := range conds {
		if err := CheckKey(c.Key); err != nil {
			return fmt.Errorf("condition: %w", err)
		}
		if c.ModRevision < 0 {
			return fmt.Errorf("condition on %q: negative revision %d", c.Key, c.ModRevision)
		}
	}
	seen := make(map[string]bool, len(ops))
	for _, op := range ops {
		if err := CheckKey(op.Key); err != nil {
			return err
		}
		if seen[op.Key] {
			return fmt.Errorf("key %q is in two ops", op.Key)
		}
		seen[op.Key] = true
		if len(op.Value) > MaxValueSize {
			return fmt.Errorf("value of %q has %d bytes, more than %d: %w", op.Key, len(op.Value), MaxValueSize, ErrTooLarge)
		}
	}
	return nil
}

// Failed returns the error of a condition that did not hold: the key's mod revision is
// mod (0: it does not exist). It wraps ErrConflict.
func (c Cond) Failed(mod int64) error {
	if c.ModRevision == 0 {
		return fmt.Errorf("key %q exists (mod revision %d): %w", c.Key, mod, ErrConflict)
	}
	return fmt.Errorf("key %q has mod revision %d, not %d: %w", c.Key, mod, c.ModRevision, ErrConflict)
}
