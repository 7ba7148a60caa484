package pcapfile

import (
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"time"
)

// pcapng block types (draft-ietf-opsawg-pcapng section 10.1).
const (
	blockSHB = 0x0a0d0d0a // Section Header Block
	blockIDB = 0x00000001 // Interface Description Block
	blockPB  = 0x00000002 // Packet Block (obsolete)
	blockSPB = 0x00000003 // Simple Packet Block
	blockEPB = 0x00000006 // Enhanced Packet Block
	blockDSB = 0x0000000a // Decryption Secrets Block
)

// pcapng option codes used here (draft-ietf-opsawg-pcapng section 4.2).
const (
	optEndOfOpt  = 0
	optTSResol   = 9  // if_tsresol
	optTSOffset  = 14 // if_tsoffset
	byteOrderMag = 0x1a2b3c4d
)

// SecretsTLSKeyLog is the secrets type of a Decryption Secrets Block
// holding an SSLKEYLOGFILE ("TLSK").
const SecretsTLSKeyLog = 0x544c534b

// maxSecrets bounds the Decryption Secrets kept from one file.
const maxSecrets = 16 << 20

// Secret is the content of a pcapng Decryption Secrets Block
// (draft-ietf-opsawg-pcapng section 4.7), as editcap --inject-secrets
// writes it.
type Secret struct {
	Type uint32 // SecretsTLSKeyLog for a key log
	Data []byte
}

// Secrets returns the Decryption Secrets Blocks r has read so far: none
// for a pcap file. The blocks precede the packets they decrypt, so after
// reading the packets of a connection its secrets are known.
func Secrets(r Reader) []Secret {
	if s, ok := r.(interface{ secrets() []Secret }); ok {
		return s.secrets()
	}
	return nil
}

// ngInterface is an interface of the current section.
type ngInterface struct {
	linkType LinkType
	snaplen  uint32
	// Timestamp units: 10^-exp seconds, or 2^-exp seconds when pow2.
	exp    uint8
	pow2   bool
	offset int64 // if_tsoffset, seconds
	index  int   // number over the whole file
}

// ngReader reads the blocks of a pcapng file.
type ngReader struct {
	br       *buffer
	order    binary.ByteOrder
	ifaces   []ngInterface
	nIfaces  int // interfaces of earlier sections
	off      int64
	discard  int
	err      error
	secret   []Secret
	secretsN int
}

func newNGReader(br *buffer) (*ngReader, error) {
	r := &ngReader{br: br}
	// The first block must be a section header; reading it sets the byte
	// order.
	if err := r.readSHB(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *ngReader) secrets() []Secret { return r.secret }

func (r *ngReader) Next() (Packet, error) {
	if r.err != nil {
		return Packet{}, r.err
	}
	p, err := r.next()
	if err != nil {
		r.err = err
	}
	return p, err
}

func (r *ngReader) next() (Packet, error) {
	for {
		if r.discard > 0 {
			r.br.discard(r.discard)
			r.discard = 0
		}
		h, err := r.br.peek(8)
		if err != nil {
			if err == io.EOF {
				return Packet{}, io.EOF
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Packet{}, errorf(ErrTruncated, "truncated pcapng block header at offset %d (%d of 8 bytes): the file was cut short", r.off, len(h))
			}
			return Packet{}, err
		}
		typ := r.order.Uint32(h)
		if typ == blockSHB {
			if err := r.readSHB(); err != nil {
				return Packet{}, err
			}
			continue
		}
		n := r.order.Uint32(h[4:])
		if n < 12 || n%4 != 0 {
			return Packet{}, errorf(ErrMalformed, "pcapng block at offset %d: length %d is not a multiple of 4 of at least 12", r.off, n)
		}
		if n > MaxBlockLen {
			return Packet{}, errorf(ErrMalformed, "pcapng block at offset %d: length %d above the limit of %d bytes (corrupted file?)", r.off, n, MaxBlockLen)
		}
		switch typ {
		case blockEPB, blockPB, blockSPB:
			if n > maxPacketBlock {
				return Packet{}, errorf(ErrMalformed, "pcapng packet block at offset %d: length %d above the limit of %d bytes (corrupted file?)", r.off, n, maxPacketBlock)
			}
			b, err := r.block(int(n))
			if err != nil {
				return Packet{}, err
			}
			p, err := r.packet(typ, b)
			r.discard = int(n)
			off := r.off
			r.off += int64(n)
			if err != nil {
				return Packet{}, errorf(ErrMalformed, "pcapng packet block at offset %d: %v", off, err)
			}
			return p, nil
		case blockIDB, blockDSB:
			if n > maxParsedBlock {
				if typ == blockIDB {
					return Packet{}, errorf(ErrMalformed, "pcapng interface block at offset %d: length %d above the limit of %d bytes", r.off, n, maxParsedBlock)
				}
				// Secrets this large are not a key log: skipped.
				if _, err := r.br.discard(int(n)); err != nil {
					return Packet{}, r.truncated(err, "block", n)
				}
				r.off += int64(n)
				continue
			}
			pb, err := r.br.peek(int(n))
			if err != nil {
				return Packet{}, r.truncated(err, "block", n)
			}
			b := append([]byte(nil), pb...)
			r.br.discard(int(n))
			off := r.off
			r.off += int64(n)
			if err := r.checkTrailer(b, off); err != nil {
				return Packet{}, err
			}
			if typ == blockIDB {
				if err := r.addInterface(b[8 : n-4]); err != nil {
					return Packet{}, errorf(ErrMalformed, "pcapng interface block at offset %d: %v", off, err)
				}
			} else {
				r.addSecret(b[8 : n-4])
			}
		default:
			// Name resolution, interface statistics, custom, journal and
			// unknown blocks: skipped unread.
			d, err := r.br.discard(int(n))
			if err != nil {
				return Packet{}, r.truncated(err, "block", uint32(d))
			}
			r.off += int64(n)
		}
	}
}

// block returns the whole block of n bytes at the reader's position,
// checking its trailing length.
func (r *ngReader) block(n int) ([]byte, error) {
	b, err := r.br.peek(n)
	if err != nil {
		return nil, r.truncated(err, "packet block", uint32(n))
	}
	return b, r.checkTrailer(b, r.off)
}

func (r *ngReader) checkTrailer(b []byte, off int64) error {
	n := len(b)
	if t := r.order.Uint32(b[n-4:]); t != uint32(n) {
		return errorf(ErrMalformed, "pcapng block at offset %d: trailing length %d differs from leading length %d", off, t, n)
	}
	return nil
}

func (r *ngReader) truncated(err error, what string, n uint32) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		if what == "packet block" {
			return errorf(ErrTruncated, "truncated packet record at offset %d (block of %d bytes): the file was cut short", r.off, n)
		}
		return errorf(ErrTruncated, "truncated pcapng %s at offset %d (%d bytes declared): the file was cut short", what, r.off, n)
	}
	return err
}

// readSHB reads a Section Header Block: it sets the byte order and starts
// a new list of interfaces.
func (r *ngReader) readSHB() error {
	h, err := r.br.peek(12)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return errorf(ErrTruncated, "truncated pcapng section header at offset %d", r.off)
		}
		return err
	}
	switch binary.LittleEndian.Uint32(h[8:]) {
	case byteOrderMag:
		r.order = binary.LittleEndian
	case bits.ReverseBytes32(byteOrderMag):
		r.order = binary.BigEndian
	default:
		return errorf(ErrMalformed, "pcapng section header at offset %d: bad byte-order magic % x", r.off, h[8:12])
	}
	n := r.order.Uint32(h[4:])
	if n < 28 || n%4 != 0 || n > maxParsedBlock {
		return errorf(ErrMalformed, "pcapng section header at offset %d: bad length %d", r.off, n)
	}
	b, err := r.br.peek(int(n))
	if err != nil {
		return r.truncated(err, "section header", n)
	}
	if err := r.checkTrailer(b, r.off); err != nil {
		return err
	}
	if major := r.order.Uint16(b[12:]); major != 1 {
		return errorf(ErrMalformed, "pcapng section header at offset %d: version %d.%d, want 1.x", r.off, major, r.order.Uint16(b[14:]))
	}
	r.br.discard(int(n))
	r.off += int64(n)
	r.nIfaces += len(r.ifaces)
	r.ifaces = r.ifaces[:0]
	return nil
}

// addInterface parses the body of an Interface Description Block
// (section 4.2): LinkType, Reserved, SnapLen, options.
func (r *ngReader) addInterface(b []byte) error {
	if len(b) < 8 {
		return errors.New("body shorter than 8 bytes")
	}
	ifc := ngInterface{
		linkType: LinkType(r.order.Uint16(b)),
		snaplen:  r.order.Uint32(b[4:]),
		exp:      6,
		index:    r.nIfaces + len(r.ifaces),
	}
	err := r.options(b[8:], func(code uint16, v []byte) error {
		switch code {
		case optTSResol:
			if len(v) != 1 {
				return errors.New("if_tsresol is not one byte")
			}
			ifc.pow2 = v[0]&0x80 != 0
			ifc.exp = v[0] & 0x7f
			if (!ifc.pow2 && ifc.exp > 19) || (ifc.pow2 && ifc.exp > 63) {
				return errors.New("if_tsresol out of range")
			}
		case optTSOffset:
			if len(v) != 8 {
				return errors.New("if_tsoffset is not 8 bytes")
			}
			ifc.offset = int64(r.order.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// options walks the options of a block body (section 3.5).
func (r *ngReader) options(b []byte, f func(code uint16, v []byte) error) error {
	for len(b) >= 4 {
		code := r.order.Uint16(b)
		n := int(r.order.Uint16(b[2:]))
		if code == optEndOfOpt {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return errors.New("option runs past the end of the block")
		}
		if err := f(code, b[4:4+n]); err != nil {
			return err
		}
		b = b[4+padded:]
	}
	return nil
}

// addSecret keeps the body of a Decryption Secrets Block (section 4.7):
// Secrets Type, Secrets Length, Secrets Data, options.
func (r *ngReader) addSecret(b []byte) {
	if len(b) < 8 {
		return
	}
	typ := r.order.Uint32(b)
	n := r.order.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) || r.secretsN+int(n) > maxSecrets {
		return
	}
	r.secretsN += int(n)
	r.secret = append(r.secret, Secret{Type: typ, Data: b[8 : 8+n : 8+n]})
}

// packet decodes an Enhanced, Simple or obsolete Packet Block.
func (r *ngReader) packet(typ uint32, b []byte) (Packet, error) {
	body := b[8 : len(b)-4]
	var (
		ifID           int
		tsHigh, tsLow  uint32
		capLen, origLn uint32
		data           []byte
	)
	switch typ {
	case blockEPB:
		// Interface ID, Timestamp (high, low), Captured Packet Length,
		// Original Packet Length, Packet Data, options (section 4.3).
		if len(body) < 20 {
			return Packet{}, errors.New("enhanced packet block shorter than its fixed fields")
		}
		ifID = int(r.order.Uint32(body))
		tsHigh, tsLow = r.order.Uint32(body[4:]), r.order.Uint32(body[8:])
		capLen, origLn = r.order.Uint32(body[12:]), r.order.Uint32(body[16:])
		data = body[20:]
	case blockPB:
		// Interface ID (16 bits), Drops Count (16 bits), Timestamp,
		// Captured Length, Packet Length, data (appendix A).
		if len(body) < 20 {
			return Packet{}, errors.New("packet block shorter than its fixed fields")
		}
		ifID = int(r.order.Uint16(body))
		tsHigh, tsLow = r.order.Uint32(body[4:]), r.order.Uint32(body[8:])
		capLen, origLn = r.order.Uint32(body[12:]), r.order.Uint32(body[16:])
		data = body[20:]
	case blockSPB:
		// Original Packet Length, Packet Data (section 4.4): the captured
		// length is what interface 0's snaplen and the block leave.
		if len(body) < 4 {
			return Packet{}, errors.New("simple packet block shorter than its fixed fields")
		}
		origLn = r.order.Uint32(body)
		data = body[4:]
		capLen = origLn
		if len(r.ifaces) > 0 && r.ifaces[0].snaplen != 0 && capLen > r.ifaces[0].snaplen {
			capLen = r.ifaces[0].snaplen
		}
		if capLen > uint32(len(data)) {
			capLen = uint32(len(data))
		}
	}
	if ifID >= len(r.ifaces) {
		return Packet{}, errorf(ErrMalformed, "interface %d not described (the section has %d)", ifID, len(r.ifaces))
	}
	if capLen > uint32(len(data)) {
		return Packet{}, errorf(ErrMalformed, "captured length %d runs past the end of the block", capLen)
	}
	if capLen > MaxPacketLen {
		return Packet{}, errorf(ErrMalformed, "captured length %d above the limit of %d bytes", capLen, MaxPacketLen)
	}
	ifc := &r.ifaces[ifID]
	orig := int(origLn)
	if orig < int(capLen) {
		orig = int(capLen)
	}
	p := Packet{
		LinkType:  ifc.linkType,
		Data:      data[:capLen:capLen],
		OrigLen:   orig,
		Interface: ifc.index,
	}
	if typ != blockSPB {
		p.Time = ifc.time(uint64(tsHigh)<<32 | uint64(tsLow))
	}
	return p, nil
}

// time converts a timestamp in the interface's units.
func (ifc *ngInterface) time(ts uint64) time.Time {
	var sec, nsec uint64
	if ifc.pow2 {
		// ts / 2^exp seconds: the fraction scaled to nanoseconds with a
		// 128-bit product so that no resolution overflows.
		sec = ts >> ifc.exp
		frac := ts & (1<<ifc.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		nsec = lo>>ifc.exp | hi<<(64-ifc.exp)
		if ifc.exp == 0 {
			nsec = 0
		}
	} else {
		unit := pow10[ifc.exp]
		sec = ts / unit
		frac := ts % unit
		if ifc.exp <= 9 {
			nsec = frac * pow10[9-ifc.exp]
		} else {
			nsec = frac / pow10[ifc.exp-9]
		}
	}
	return time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
}

var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}
