package capture

import (
	"fmt"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// firstBytesLen is how many of a stream's first bytes are kept when it is not TLS.
const firstBytesLen = 64

// recordHeaderLen is the length of a TLS record header (RFC 8446, section 5.1).
const recordHeaderLen = tlswire.RecordHeaderLength

// half reads the records of one direction of a connection from its bytes, as they arrive
// in segments of any size. It hands whole records to the connection, or only their headers
// when the connection does not need their content (application data it cannot or need not
// decrypt), so that bulk data is never copied. Memory is bounded by one record.
type half struct {
	side Side
	c    *conn

	started bool   // the first unit (a record or an SSLv2 hello) has been recognised
	sslv2   bool   // the first unit is an SSLv2-compatible ClientHello
	buf     []byte // the start of a unit whose end has not arrived
	skip    int    // bytes of the current record's fragment still to discard
	dead    string // why the stream is no longer read; "" while it is

	notTLS     bool
	firstBytes []byte // the first bytes, kept while the stream is not TLS

	bytes   int64 // payload bytes seen, gaps included
	missing int64 // bytes lost in gaps
	records int
}

// feed reads the bytes data, which follow the bytes fed before (and the gaps reported).
// data is not retained.
func (h *half) feed(data []byte) {
	h.bytes += int64(len(data))
	if h.notTLS {
		if n := firstBytesLen - len(h.firstBytes); n > 0 {
			h.firstBytes = append(h.firstBytes, data[:min(n, len(data))]...)
		}
		return
	}
	if h.dead != "" {
		return
	}
	if !h.started {
		h.buf = append(h.buf, data...)
		if !h.begin() {
			return
		}
		data, h.buf = h.buf, nil
	}
	for len(data) > 0 && h.dead == "" {
		if h.skip > 0 {
			n := min(h.skip, len(data))
			h.skip -= n
			data = data[n:]
			continue
		}
		if len(h.buf) > 0 {
			data = h.fill(data)
			continue
		}
		full := h.unitLen(data)
		switch {
		case h.dead != "":
		case full < 0:
			h.buf = append(make([]byte, 0, recordHeaderLen), data...)
			data = nil
		case h.skippable(data, full):
			h.c.record(h.side, data[:recordHeaderLen], nil, full-recordHeaderLen)
			h.skip = full - recordHeaderLen
			data = data[recordHeaderLen:]
		case len(data) >= full:
			h.unit(data[:full])
			data = data[full:]
		default:
			h.buf = append(make([]byte, 0, full), data...)
			data = nil
		}
	}
}

// fill adds to the unit started in h.buf what data holds of it, hands it on when it is
// whole, and returns the rest of data.
func (h *half) fill(data []byte) []byte {
	full := h.unitLen(h.buf)
	switch {
	case h.dead != "":
		return nil
	case full < 0:
		n := min(recordHeaderLen-len(h.buf), len(data))
		h.buf = append(h.buf, data[:n]...)
		return data[n:]
	case len(h.buf) == recordHeaderLen && h.skippable(h.buf, full):
		hdr := h.buf
		h.buf = nil
		h.c.record(h.side, hdr, nil, full-recordHeaderLen)
		h.skip = full - recordHeaderLen
		return data
	}
	n := min(full-len(h.buf), len(data))
	h.buf = append(h.buf, data[:n]...)
	if len(h.buf) == full {
		unit := h.buf
		h.buf = nil
		h.unit(unit)
	}
	return data[n:]
}

// skippable reports whether the connection needs only the header of the record at b.
func (h *half) skippable(b []byte, full int) bool {
	return h.isRecord() && !h.c.wants(h.side, b[0], full-recordHeaderLen)
}

// isRecord reports whether the next unit is a TLS record, not the SSLv2 hello.
func (h *half) isRecord() bool { return h.records > 0 || !h.sslv2 }

// begin recognises the stream's first bytes, buffered in h.buf: a TLS record, an
// SSLv2-compatible ClientHello, or something that is not TLS. It returns true when the
// stream is TLS, false when it is not or when more bytes are needed to tell.
func (h *half) begin() bool {
	b := h.buf
	switch {
	case len(b) == 0:
		return false
	case h.side == Client && b[0]&0x80 != 0 && len(b) < 5:
		return false
	case h.side == Client && tlswire.LooksLikeSSLv2ClientHello(b):
		h.started, h.sslv2 = true, true
		return true
	case b[0] >= tlswire.RecordChangeCipherSpec && b[0] <= tlswire.RecordHeartbeat && len(b) < 2:
		return false
	case b[0] >= tlswire.RecordChangeCipherSpec && b[0] <= tlswire.RecordHeartbeat && b[1] == 3:
		h.started = true
		return true
	}
	h.notTLS = true
	h.firstBytes = append([]byte(nil), b[:min(firstBytesLen, len(b))]...)
	h.buf = nil
	h.dead = "not TLS"
	h.c.notTLS(h.side, h.firstBytes)
	return false
}

// unitLen returns the length of the unit that starts at b (header included), or -1 when b
// is too short to tell. A record header that cannot be one stops the stream (and 0 is
// returned).
func (h *half) unitLen(b []byte) int {
	if !h.isRecord() {
		if len(b) < 2 {
			return -1
		}
		return 2 + (int(b[0]&0x7f)<<8 | int(b[1]))
	}
	if len(b) < recordHeaderLen {
		return -1
	}
	if b[0] < tlswire.RecordChangeCipherSpec || b[0] > tlswire.RecordHeartbeat || b[1] != 3 {
		h.stop(fmt.Sprintf("the bytes after record %d are not a TLS record header (% x)", h.records, b[:recordHeaderLen]))
		return 0
	}
	n := int(b[3])<<8 | int(b[4])
	if n > tlswire.MaxRecordLength {
		h.stop(fmt.Sprintf("record %d claims %d bytes, more than TLS allows (%d)", h.records+1, n, tlswire.MaxRecordLength))
		return 0
	}
	return recordHeaderLen + n
}

// unit hands a whole unit to the connection.
func (h *half) unit(b []byte) {
	first := !h.isRecord()
	h.records++
	if first {
		h.c.sslv2Hello(b)
		return
	}
	h.c.record(h.side, b[:recordHeaderLen], b[recordHeaderLen:], len(b)-recordHeaderLen)
}

// gap reports n bytes that the capture lost. Inside a record the connection learns that
// the record is damaged and reading goes on after it; anywhere else the record boundaries
// are lost and the stream is no longer read.
func (h *half) gap(n int) {
	h.bytes += int64(n)
	h.missing += int64(n)
	if h.dead != "" || n <= 0 {
		return
	}
	switch {
	case h.skip > 0:
		if n > h.skip {
			h.stop(fmt.Sprintf("%d bytes missing across a record boundary: the records after it cannot be found", n))
			return
		}
		h.skip -= n
	case h.started && len(h.buf) >= recordHeaderLen && h.isRecord():
		full := h.unitLen(h.buf)
		rest := full - len(h.buf)
		if n > rest {
			h.stop(fmt.Sprintf("%d bytes missing across a record boundary: the records after it cannot be found", n))
			return
		}
		h.records++
		h.c.damaged(h.side, h.buf, full-recordHeaderLen, n)
		h.buf = nil
		h.skip = rest - n
	case !h.started && h.records == 0 && len(h.buf) == 0:
		h.stop(fmt.Sprintf("the first %d bytes are missing: the stream's records cannot be found", n))
	default:
		h.stop(fmt.Sprintf("%d bytes missing at a record boundary: the records after it cannot be found", n))
	}
}

// stop ends the reading of the stream and says why.
func (h *half) stop(why string) {
	if h.dead != "" {
		return
	}
	h.dead = why
	h.buf = nil
	h.skip = 0
	h.c.lost(h.side, why)
}
