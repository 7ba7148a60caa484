package pcapfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WriterOptions choose how a Writer or an NGWriter lays out its file.
type WriterOptions struct {
	// BigEndian writes the file in big-endian byte order; the default is
	// little-endian, as written on most machines.
	BigEndian bool
	// Nanoseconds writes pcap timestamps in nanoseconds (magic
	// 0xa1b23c4d), as tcpdump --time-stamp-precision=nano does; the default
	// is microseconds.
	Nanoseconds bool
	// Snaplen is the snapshot length recorded in the pcap header; packets
	// longer are cut. Default MaxPacketLen.
	Snaplen int
}

// byteOrder both reads and appends.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func (o WriterOptions) order() byteOrder {
	if o.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Writer writes a pcap file: for tests, and for tools that write a
// filtered or rewritten capture.
type Writer struct {
	w     io.Writer
	order byteOrder
	nano  bool
	snap  int
	buf   []byte
}

// NewWriter writes a pcap file header for packets of link type link to w
// and returns a Writer for the packets.
func NewWriter(w io.Writer, link LinkType, opts WriterOptions) (*Writer, error) {
	pw := &Writer{w: w, order: opts.order(), nano: opts.Nanoseconds, snap: opts.Snaplen}
	if pw.snap <= 0 || pw.snap > MaxPacketLen {
		pw.snap = MaxPacketLen
	}
	h := make([]byte, pcapFileHeaderLen)
	magic := uint32(0xa1b2c3d4)
	if pw.nano {
		magic = 0xa1b23c4d
	}
	pw.order.PutUint32(h, magic)
	pw.order.PutUint16(h[4:], 2)
	pw.order.PutUint16(h[6:], 4)
	pw.order.PutUint32(h[16:], uint32(pw.snap))
	pw.order.PutUint32(h[20:], uint32(link))
	if _, err := w.Write(h); err != nil {
		return nil, fmt.Errorf("writing pcap file header: %w", err)
	}
	return pw, nil
}

// WritePacket writes p's time, lengths and data, cut to the snapshot
// length. p.LinkType and p.Interface are not recorded.
func (w *Writer) WritePacket(p Packet) error {
	data := p.Data
	if len(data) > w.snap {
		data = data[:w.snap]
	}
	orig := max(p.OrigLen, len(p.Data))
	sec, ns := p.Time.Unix(), p.Time.Nanosecond()
	if sec < 0 || sec > 1<<32-1 {
		return fmt.Errorf("writing packet: time %v out of pcap's range", p.Time)
	}
	frac := uint32(ns)
	if !w.nano {
		frac = uint32(ns / 1000)
	}
	b := w.buf[:0]
	b = w.order.AppendUint32(b, uint32(sec))
	b = w.order.AppendUint32(b, frac)
	b = w.order.AppendUint32(b, uint32(len(data)))
	b = w.order.AppendUint32(b, uint32(orig))
	b = append(b, data...)
	w.buf = b
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("writing packet: %w", err)
	}
	return nil
}

// NGWriter writes a pcapng file of one section: Interface Description
// Blocks, Enhanced Packet Blocks and Decryption Secrets Blocks.
type NGWriter struct {
	w      io.Writer
	order  byteOrder
	ifaces []ngInterface
	buf    []byte
}

// NewNGWriter writes a Section Header Block to w and returns an NGWriter
// for the section. opts.Nanoseconds and opts.Snaplen are not used: each
// interface has its own.
func NewNGWriter(w io.Writer, opts WriterOptions) (*NGWriter, error) {
	nw := &NGWriter{w: w, order: opts.order()}
	// Byte-Order Magic, Major Version 1, Minor Version 0, Section Length
	// -1 (not given).
	body := nw.order.AppendUint32(nil, byteOrderMag)
	body = nw.order.AppendUint16(body, 1)
	body = nw.order.AppendUint16(body, 0)
	body = nw.order.AppendUint64(body, ^uint64(0))
	if err := nw.block(blockSHB, body, nil); err != nil {
		return nil, fmt.Errorf("writing pcapng section header: %w", err)
	}
	return nw, nil
}

// AddInterface writes an Interface Description Block and returns the
// interface's number, for Packet.Interface. tsresol is the if_tsresol
// exponent: timestamps in 10^-tsresol seconds, from 0 to 9; 6 (the format's
// default) when 0 is given.
func (w *NGWriter) AddInterface(link LinkType, snaplen int, tsresol uint8) (int, error) {
	if tsresol == 0 {
		tsresol = 6
	}
	if tsresol > 9 {
		return 0, errors.New("adding pcapng interface: if_tsresol above 9")
	}
	if snaplen <= 0 || snaplen > MaxPacketLen {
		snaplen = MaxPacketLen
	}
	body := w.order.AppendUint16(nil, uint16(link))
	body = w.order.AppendUint16(body, 0)
	body = w.order.AppendUint32(body, uint32(snaplen))
	if tsresol != 6 {
		body = w.order.AppendUint16(body, optTSResol)
		body = w.order.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
		body = w.order.AppendUint32(body, 0) // opt_endofopt
	}
	if err := w.block(blockIDB, body, nil); err != nil {
		return 0, fmt.Errorf("writing pcapng interface block: %w", err)
	}
	w.ifaces = append(w.ifaces, ngInterface{linkType: link, snaplen: uint32(snaplen), exp: tsresol})
	return len(w.ifaces) - 1, nil
}

// WritePacket writes p as an Enhanced Packet Block of interface
// p.Interface, cut to the interface's snapshot length.
func (w *NGWriter) WritePacket(p Packet) error {
	if p.Interface < 0 || p.Interface >= len(w.ifaces) {
		return fmt.Errorf("writing packet: interface %d not added", p.Interface)
	}
	ifc := &w.ifaces[p.Interface]
	data := p.Data
	if len(data) > int(ifc.snaplen) {
		data = data[:ifc.snaplen]
	}
	ns := p.Time.UnixNano()
	if p.Time.IsZero() || ns < 0 {
		ns = 0
	}
	ts := uint64(ns) / pow10[9-ifc.exp]
	body := w.buf[:0]
	body = w.order.AppendUint32(body, uint32(p.Interface))
	body = w.order.AppendUint32(body, uint32(ts>>32))
	body = w.order.AppendUint32(body, uint32(ts))
	body = w.order.AppendUint32(body, uint32(len(data)))
	body = w.order.AppendUint32(body, uint32(max(p.OrigLen, len(p.Data))))
	w.buf = body
	if err := w.block(blockEPB, body, data); err != nil {
		return fmt.Errorf("writing packet: %w", err)
	}
	return nil
}

// WriteSecrets writes a Decryption Secrets Block, such as a TLS key log
// (Type SecretsTLSKeyLog); it belongs before the packets it decrypts.
func (w *NGWriter) WriteSecrets(s Secret) error {
	body := w.order.AppendUint32(nil, s.Type)
	body = w.order.AppendUint32(body, uint32(len(s.Data)))
	if err := w.block(blockDSB, body, s.Data); err != nil {
		return fmt.Errorf("writing pcapng secrets block: %w", err)
	}
	return nil
}

// block writes a block of type typ whose body is body then data, padded to
// 32 bits.
func (w *NGWriter) block(typ uint32, body, data []byte) error {
	pad := (4 - len(data)%4) % 4
	n := 12 + len(body) + len(data) + pad
	var h [8]byte
	w.order.PutUint32(h[:], typ)
	w.order.PutUint32(h[4:], uint32(n))
	var t [8]byte // padding, then the trailing length
	w.order.PutUint32(t[pad:], uint32(n))
	for _, b := range [][]byte{h[:], body, data, t[:pad+4]} {
		if _, err := w.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
