package tlswire

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// Size bounds of the record layer.
const (
	// MaxPlaintext is the largest record fragment a sender may produce
	// before encryption (RFC 8446 §5.1, RFC 5246 §6.2.1: 2^14).
	MaxPlaintext = 16384
	// MaxRecordLength is the largest fragment ReadRecord accepts: 2^14 plus
	// the 2048 bytes of expansion RFC 5246 §6.2.3 allows a ciphertext.
	MaxRecordLength = MaxPlaintext + 2048
	// RecordHeaderLength is the size of a record header: type, version,
	// length (RFC 8446 §5.1).
	RecordHeaderLength = 5
	// DefaultMaxHandshakeSize bounds a handshake message when
	// NewHandshakeReader is given no bound. Certificate chains above 64 KiB
	// are rare and usually a misconfiguration.
	DefaultMaxHandshakeSize = 64 << 10
)

// ErrMalformed is wrapped by every error about input that breaks the TLS
// wire format: truncated fields, lengths that disagree, values out of range.
var ErrMalformed = errors.New("malformed TLS data")

// malformed returns an error about a message that breaks the wire format.
func malformed(what, format string, args ...any) error {
	return fmt.Errorf("tlswire: parsing %s: %s: %w", what, fmt.Sprintf(format, args...), ErrMalformed)
}

// NotTLSError reports a peer whose first bytes cannot start a TLS record:
// a plaintext HTTP server ("HTTP/1.1 400 Bad Request"), an SSH server
// ("SSH-2.0-..."), an SMTP banner, an SSLv2-only server.
type NotTLSError struct {
	// FirstBytes holds the bytes that were read, at least one.
	FirstBytes []byte
}

// Error says that the peer did not speak TLS and quotes its first bytes.
func (e *NotTLSError) Error() string {
	return fmt.Sprintf("tlswire: the peer did not answer with TLS: first bytes %q", e.FirstBytes)
}

// Record is one TLS record (RFC 8446 §5.1, RFC 5246 §6.2.1).
type Record struct {
	Type     uint8  // content type, e.g. RecordHandshake
	Version  uint16 // legacy_record_version
	Fragment []byte
}

// validContentType reports whether t can start a TLS record.
func validContentType(t uint8) bool {
	return t >= RecordChangeCipherSpec && t <= RecordHeartbeat
}

// ReadRecord reads one record from r. A first byte that is not a TLS content
// type (20 to 24), or a version whose major byte is not 3, yields a
// *NotTLSError. A peer that closes before sending anything yields io.EOF; one
// that closes within a record yields an error wrapping io.ErrUnexpectedEOF.
// Errors of r (deadlines, resets) are wrapped so that errors.Is sees them.
// ReadRecord never reads past the record.
func ReadRecord(r io.Reader) (Record, error) {
	var hdr [RecordHeaderLength]byte
	n, err := io.ReadFull(r, hdr[:])
	// The header check comes before the error check: "OK\n" followed by a
	// close is not TLS, however short it is.
	if n >= 1 && !validContentType(hdr[0]) || n >= 2 && hdr[1] != 3 {
		return Record{}, &NotTLSError{FirstBytes: append([]byte(nil), hdr[:n]...)}
	}
	switch {
	case n == 0 && err == io.EOF:
		return Record{}, io.EOF
	case err != nil:
		return Record{}, fmt.Errorf("tlswire: reading record header: %w", err)
	}
	// RFC 8446 §5.1: struct { ContentType type; ProtocolVersion
	// legacy_record_version; uint16 length; opaque fragment[length]; }
	rec := Record{Type: hdr[0], Version: uint16(hdr[1])<<8 | uint16(hdr[2])}
	length := int(hdr[3])<<8 | int(hdr[4])
	if length > MaxRecordLength {
		return Record{}, malformed("record", "%s record of %d bytes exceeds %d", ContentTypeName(rec.Type), length, MaxRecordLength)
	}
	rec.Fragment = make([]byte, length)
	if _, err := io.ReadFull(r, rec.Fragment); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, fmt.Errorf("tlswire: reading %d-byte %s record: %w", length, ContentTypeName(rec.Type), err)
	}
	return rec, nil
}

// MarshalRecord frames payload as records of the given content type and
// version, in fragments of at most MaxPlaintext bytes. An empty payload
// yields one empty record.
func MarshalRecord(typ uint8, version uint16, payload []byte) []byte {
	out := make([]byte, 0, len(payload)+RecordHeaderLength*(1+len(payload)/MaxPlaintext))
	for first := true; first || len(payload) > 0; first = false {
		n := min(len(payload), MaxPlaintext)
		out = append(out, typ, byte(version>>8), byte(version), byte(n>>8), byte(n))
		out = append(out, payload[:n]...)
		payload = payload[n:]
	}
	return out
}

// HandshakeReader reassembles handshake messages from the records of a
// stream, as RFC 8446 §5.1 allows them to be fragmented and coalesced.
// It is not safe for concurrent use.
type HandshakeReader struct {
	r       io.Reader
	maxSize int
	buf     []byte // handshake bytes read but not yet returned
}

// NewHandshakeReader returns a reader of the handshake messages in r that
// refuses any message whose body exceeds maxMessageSize bytes
// (DefaultMaxHandshakeSize if maxMessageSize is 0 or less).
func NewHandshakeReader(r io.Reader, maxMessageSize int) *HandshakeReader {
	if maxMessageSize <= 0 {
		maxMessageSize = DefaultMaxHandshakeSize
	}
	return &HandshakeReader{r: r, maxSize: maxMessageSize}
}

// Next returns the next whole handshake message, header included, or the
// next record of another content type (an alert, a ChangeCipherSpec, the
// encrypted records of TLS 1.3) when one comes between messages: exactly one
// of msg and other is non-nil when err is nil. A record of another type that
// arrives in the middle of a fragmented handshake message is an error (RFC
// 8446 §5.1). At the end of the stream Next returns io.EOF, or an error
// wrapping io.ErrUnexpectedEOF if a message was cut short.
func (h *HandshakeReader) Next() (msg []byte, other *Record, err error) {
	for {
		if msg, err := h.take(); msg != nil || err != nil {
			return msg, nil, err
		}
		rec, err := ReadRecord(h.r)
		if err != nil {
			if err == io.EOF && len(h.buf) > 0 {
				err = fmt.Errorf("tlswire: reading handshake message: %d bytes of a message before the end: %w", len(h.buf), io.ErrUnexpectedEOF)
			}
			return nil, nil, err
		}
		if rec.Type != RecordHandshake {
			if len(h.buf) > 0 {
				return nil, nil, malformed("handshake message", "a %s record arrived inside a fragmented message", ContentTypeName(rec.Type))
			}
			return nil, &rec, nil
		}
		h.buf = append(h.buf, rec.Fragment...)
	}
}

// take returns the first whole message in h.buf, if there is one.
func (h *HandshakeReader) take() ([]byte, error) {
	if len(h.buf) < 4 {
		return nil, nil
	}
	// RFC 8446 §4: struct { HandshakeType msg_type; uint24 length; ... }
	length := int(h.buf[1])<<16 | int(h.buf[2])<<8 | int(h.buf[3])
	if length > h.maxSize {
		return nil, malformed(HandshakeTypeName(h.buf[0]), "message of %d bytes exceeds the limit of %d", length, h.maxSize)
	}
	if len(h.buf) < 4+length {
		return nil, nil
	}
	msg := h.buf[: 4+length : 4+length]
	h.buf = h.buf[4+length:]
	if len(h.buf) == 0 {
		h.buf = nil
	}
	return msg, nil
}

// marshalHandshake frames the body that f writes as a handshake message of
// type typ (RFC 8446 §4).
func marshalHandshake(typ uint8, f cryptobyte.BuilderContinuation) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(f)
	return b.Bytes()
}

// readHandshake checks the header of msg and returns its body.
func readHandshake(msg []byte, want uint8) (cryptobyte.String, error) {
	s := cryptobyte.String(msg)
	var typ uint8
	var body cryptobyte.String
	name := HandshakeTypeName(want)
	if !s.ReadUint8(&typ) {
		return nil, malformed(name, "empty message")
	}
	if typ != want {
		return nil, malformed(name, "message type is %s (%d)", HandshakeTypeName(typ), typ)
	}
	if !s.ReadUint24LengthPrefixed(&body) {
		return nil, malformed(name, "truncated: %d bytes after the type", len(msg)-1)
	}
	if !s.Empty() {
		return nil, malformed(name, "%d bytes after the message", len(s))
	}
	return body, nil
}

// Extension is one extension as it appears on the wire (RFC 8446 §4.2).
type Extension struct {
	Type uint16
	Data []byte
}

// readExtensions reads an extensions block (RFC 8446 §4.2: Extension
// extensions<0..2^16-1>), rejecting duplicates as RFC 8446 §4.2 requires.
// An absent block (s empty) yields no extensions.
func readExtensions(what string, s *cryptobyte.String) ([]Extension, error) {
	if s.Empty() {
		return nil, nil
	}
	var block cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&block) {
		return nil, malformed(what, "truncated extensions")
	}
	var exts []Extension
	seen := make(map[uint16]bool)
	for !block.Empty() {
		var e Extension
		var data cryptobyte.String
		if !block.ReadUint16(&e.Type) || !block.ReadUint16LengthPrefixed(&data) {
			return nil, malformed(what, "truncated extension")
		}
		if seen[e.Type] {
			return nil, malformed(what, "duplicate %s extension", ExtensionName(e.Type))
		}
		seen[e.Type] = true
		e.Data = []byte(data)
		exts = append(exts, e)
	}
	return exts, nil
}

// addExtensions writes an extensions block.
func addExtensions(b *cryptobyte.Builder, exts []Extension) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddUint16(e.Type)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
		}
	})
}

// findExtension returns the data of the extension of type typ.
func findExtension(exts []Extension, typ uint16) ([]byte, bool) {
	for _, e := range exts {
		if e.Type == typ {
			return e.Data, true
		}
	}
	return nil, false
}
