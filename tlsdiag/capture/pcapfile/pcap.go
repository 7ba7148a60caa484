package pcapfile

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
)

// pcap magic numbers as the first four bytes read in file order.
var (
	magicMicroBE = [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	magicMicroLE = [4]byte{0xd4, 0xc3, 0xb2, 0xa1}
	magicNanoBE  = [4]byte{0xa1, 0xb2, 0x3c, 0x4d}
	magicNanoLE  = [4]byte{0x4d, 0x3c, 0xb2, 0xa1}
	// The "modified" pcap of Alexey Kuznetzov's patches, with 24-byte
	// record headers; microsecond resolution.
	magicModBE = [4]byte{0xa1, 0xb2, 0xcd, 0x34}
	magicModLE = [4]byte{0x34, 0xcd, 0xb2, 0xa1}
)

func isPcapMagic(b []byte) bool {
	switch [4]byte(b[:4]) {
	case magicMicroBE, magicMicroLE, magicNanoBE, magicNanoLE, magicModBE, magicModLE:
		return true
	}
	return false
}

const pcapFileHeaderLen = 24

// pcapReader reads the records of a pcap file.
type pcapReader struct {
	br        *buffer
	order     binary.ByteOrder
	nano      bool
	recHdrLen int // 16, or 24 in the modified format
	linkType  LinkType
	snaplen   uint32
	off       int64 // file offset of the next record
	discard   int   // bytes of the previous record still to consume
	err       error
}

func newPcapReader(br *buffer) (*pcapReader, error) {
	h, err := br.peek(pcapFileHeaderLen)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(ErrTruncated, "truncated pcap file header (%d of %d bytes)", len(h), pcapFileHeaderLen)
		}
		return nil, err
	}
	r := &pcapReader{br: br, recHdrLen: 16}
	switch [4]byte(h[:4]) {
	case magicMicroBE:
		r.order = binary.BigEndian
	case magicMicroLE:
		r.order = binary.LittleEndian
	case magicNanoBE:
		r.order, r.nano = binary.BigEndian, true
	case magicNanoLE:
		r.order, r.nano = binary.LittleEndian, true
	case magicModBE:
		r.order, r.recHdrLen = binary.BigEndian, 24
	case magicModLE:
		r.order, r.recHdrLen = binary.LittleEndian, 24
	}
	major := r.order.Uint16(h[4:])
	if major != 2 {
		return nil, errorf(ErrMalformed, "pcap file header: version %d.%d, want 2.x", major, r.order.Uint16(h[6:]))
	}
	r.snaplen = r.order.Uint32(h[16:])
	// The upper bits of the link type field may carry the FCS length
	// (draft-ietf-opsawg-pcap section 4); the link type is the rest, as
	// libpcap's LT_LINKTYPE takes it.
	r.linkType = LinkType(r.order.Uint32(h[20:]) & 0x03ffffff)
	br.discard(pcapFileHeaderLen)
	r.off = pcapFileHeaderLen
	return r, nil
}

func (r *pcapReader) Next() (Packet, error) {
	if r.err != nil {
		return Packet{}, r.err
	}
	p, err := r.next()
	if err != nil {
		r.err = err
	}
	return p, err
}

func (r *pcapReader) next() (Packet, error) {
	if r.discard > 0 {
		r.br.discard(r.discard)
		r.discard = 0
	}
	h, err := r.br.peek(r.recHdrLen)
	if err != nil {
		if err == io.EOF {
			return Packet{}, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Packet{}, errorf(ErrTruncated, "truncated packet record header at offset %d (%d of %d bytes): the file was cut short", r.off, len(h), r.recHdrLen)
		}
		return Packet{}, err
	}
	sec := r.order.Uint32(h[0:])
	frac := r.order.Uint32(h[4:])
	capLen := r.order.Uint32(h[8:])
	origLen := r.order.Uint32(h[12:])
	if capLen > MaxPacketLen {
		return Packet{}, errorf(ErrMalformed, "packet record at offset %d: captured length %d above the limit of %d bytes (corrupted file?)", r.off, capLen, MaxPacketLen)
	}
	n := r.recHdrLen + int(capLen)
	rec, err := r.br.peek(n)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return Packet{}, errorf(ErrTruncated, "truncated packet record at offset %d (%d of %d bytes): the file was cut short", r.off, len(rec), n)
		}
		return Packet{}, err
	}
	r.discard = n
	r.off += int64(n)
	var ns int64
	if r.nano {
		ns = int64(frac)
	} else {
		ns = int64(frac) * 1000
	}
	orig := int(origLen)
	if orig < int(capLen) {
		orig = int(capLen)
	}
	return Packet{
		Time:     time.Unix(int64(sec), ns).UTC(),
		LinkType: r.linkType,
		Data:     rec[r.recHdrLen:n:n],
		OrigLen:  orig,
	}, nil
}
