package pcapfile

import (
	"io"
)

// minBuffer is a reader's first buffer size; it grows as records need,
// up to the bounds the callers check.
const minBuffer = 64 << 10

// buffer reads ahead from r so that a whole record can be looked at in
// place. Unlike bufio.Reader it starts small and grows to the largest
// record met.
type buffer struct {
	r          io.Reader
	buf        []byte
	start, end int
	err        error
}

// peek returns the next n bytes without consuming them, valid until the
// next call. At the end of the input it returns what is left with io.EOF
// if nothing is, io.ErrUnexpectedEOF otherwise.
func (b *buffer) peek(n int) ([]byte, error) {
	for b.end-b.start < n {
		if b.err != nil {
			rest := b.buf[b.start:b.end]
			if b.err == io.EOF && len(rest) > 0 {
				return rest, io.ErrUnexpectedEOF
			}
			return rest, b.err
		}
		if n > len(b.buf) {
			size := max(minBuffer, 2*len(b.buf))
			for size < n {
				size *= 2
			}
			buf := make([]byte, size)
			b.end = copy(buf, b.buf[b.start:b.end])
			b.buf, b.start = buf, 0
		} else if b.start+n > len(b.buf) {
			b.end = copy(b.buf, b.buf[b.start:b.end])
			b.start = 0
		}
		m, err := b.r.Read(b.buf[b.end:])
		b.end += m
		if err != nil {
			b.err = err
		}
	}
	return b.buf[b.start : b.start+n], nil
}

// discard consumes n bytes, reading past the buffer if need be. It
// returns how many it consumed.
func (b *buffer) discard(n int) (int, error) {
	if b.end-b.start >= n {
		b.start += n
		return n, nil
	}
	done := b.end - b.start
	b.start, b.end = 0, 0
	if b.err != nil {
		if b.err == io.EOF {
			return done, io.ErrUnexpectedEOF
		}
		return done, b.err
	}
	m, err := io.CopyN(io.Discard, b.r, int64(n-done))
	done += int(m)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return done, err
}
