package pcapfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"
)

// LinkType is the link-layer header type of captured packets: a value of the
// tcpdump.org LINKTYPE_ registry, as stored in a pcap file header or a pcapng
// Interface Description Block.
type LinkType uint32

// The link types that tcpflow decodes. Other values are passed through in
// [Packet.LinkType] for the caller to report.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte AF_ value in the capturing host's byte order
	LinkEthernet  LinkType = 1   // Ethernet II / 802.3
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6, told apart by the version nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte AF_ value in network byte order
	LinkLinuxSLL  LinkType = 113 // Linux "cooked" capture v1 (tcpdump -i any before libpcap 1.10)
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux "cooked" capture v2 (tcpdump -i any since libpcap 1.10)
)

var linkNames = map[LinkType]string{
	LinkNull:      "NULL",
	LinkEthernet:  "ETHERNET",
	LinkRaw:       "RAW",
	LinkLoop:      "LOOP",
	LinkLinuxSLL:  "LINUX_SLL",
	LinkIPv4:      "IPV4",
	LinkIPv6:      "IPV6",
	LinkLinuxSLL2: "LINUX_SLL2",
	105:           "IEEE802_11",
	127:           "IEEE802_11_RADIOTAP",
	9:             "PPP",
	50:            "PPP_HDLC",
	104:           "C_HDLC",
	192:           "PPI",
	220:           "USB_LINUX_MMAPPED",
	249:           "NETLINK",
}

// String returns the LINKTYPE_ name without its prefix ("ETHERNET",
// "LINUX_SLL2"), or the number for a type this package does not name.
func (t LinkType) String() string {
	if s, ok := linkNames[t]; ok {
		return s
	}
	return fmt.Sprintf("LINKTYPE_%d", uint32(t))
}

// Packet is one captured packet.
type Packet struct {
	// Time is when the packet was captured, in UTC, at the resolution the
	// file records (microseconds, nanoseconds, or an interface's
	// if_tsresol). It is the zero Time for a pcapng Simple Packet Block,
	// which records none.
	Time time.Time
	// LinkType is the link-layer header type of Data; in pcapng it belongs
	// to the packet's interface.
	LinkType LinkType
	// Data holds the captured bytes. It points into the reader's buffer and
	// is valid until the next call to Next; copy it to keep it.
	Data []byte
	// OrigLen is the packet's length on the wire. It is larger than
	// len(Data) when the capture's snapshot length (tcpdump -s) cut the
	// packet; it is never smaller.
	OrigLen int
	// Interface numbers the interface that captured the packet: 0 in pcap;
	// in pcapng the interfaces of every section counted in file order from
	// 0, so that an interface of a second section has a number of its own.
	Interface int
}

// Reader reads a capture one packet at a time.
type Reader interface {
	// Next returns the next packet, or io.EOF after the last one. Any other
	// error wraps ErrTruncated, ErrMalformed or the underlying reader's
	// error; after an error, Next keeps returning it.
	Next() (Packet, error)
}

// Errors wrapped by Next and NewReader.
var (
	// ErrNotCapture: the input does not start like a pcap or pcapng file.
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrTruncated: the input ends inside a record.
	ErrTruncated = errors.New("truncated capture")
	// ErrMalformed: a record contradicts the file format.
	ErrMalformed = errors.New("malformed capture")
)

// Bounds on what a file may declare, checked before reading or allocating.
const (
	// MaxPacketLen bounds a packet's captured length: 262144 bytes, the
	// largest snapshot length tcpdump and Wireshark use.
	MaxPacketLen = 256 << 10
	// MaxBlockLen bounds a pcapng block: 16 MiB, as Wireshark does. Blocks
	// this package parses (section and interface headers, secrets) are read
	// whole; others are skipped without being held in memory.
	MaxBlockLen = 16 << 20
	// maxParsedBlock bounds a section or interface header block, which is
	// read whole into memory.
	maxParsedBlock = 1 << 20
	// maxPacketBlock bounds a pcapng packet block: the largest packet,
	// its fixed fields and 64 KiB of options.
	maxPacketBlock = MaxPacketLen + 64<<10
)

// formatError is an error of the capture format; it unwraps to one of the
// sentinel errors above.
type formatError struct {
	kind error
	msg  string
}

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &formatError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// NewReader returns a Reader for the pcap or pcapng capture r, reading its
// file header (pcap) or first section header (pcapng) before it returns. A
// gzip-compressed capture is decompressed on the fly. Input that is neither
// yields an error wrapping ErrNotCapture that quotes its first bytes.
//
// NewReader buffers r; it reads nothing from r after the capture's end
// except what the buffer had already read ahead.
func NewReader(r io.Reader) (Reader, error) {
	return newReader(r, false)
}

func newReader(r io.Reader, gz bool) (Reader, error) {
	br := &buffer{r: r}
	head, err := br.peek(4)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(io.MultiReader(bytes.NewReader(br.buf[br.start:br.end]), br.r))
		if err != nil {
			return nil, fmt.Errorf("reading gzip-compressed capture: %w", err)
		}
		return newReader(zr, true)
	}
	if len(head) < 4 {
		if gz && err != io.EOF {
			return nil, fmt.Errorf("reading gzip-compressed capture: %w", err)
		}
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("reading capture header: %w", err)
		}
		if len(head) == 0 {
			return nil, errorf(ErrNotCapture, "%v: the file is empty", ErrNotCapture)
		}
		return nil, errorf(ErrNotCapture, "%v (first bytes % x, too short for a header)", ErrNotCapture, head)
	}
	switch {
	case bytes.Equal(head, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		return newNGReader(br)
	case isPcapMagic(head):
		return newPcapReader(br)
	}
	first, _ := br.peek(16)
	return nil, errorf(ErrNotCapture, "%v (first bytes % x%s)", ErrNotCapture, first, guessFormat(first))
}

// guessFormat names a few formats people mistake for captures.
func guessFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("-----BEGIN")):
		return ": a PEM file"
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return ": zstd-compressed, decompress it first"
	case bytes.HasPrefix(b, []byte("BZh")):
		return ": bzip2-compressed, decompress it first"
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z'}):
		return ": xz-compressed, decompress it first"
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return ": a zip archive, extract it first"
	case bytes.HasPrefix(b, []byte("\x16\x03")):
		return ": raw TLS bytes, not a packet capture"
	case bytes.HasPrefix(b, []byte("XCP\x00")) || bytes.HasPrefix(b, []byte("\x00\x00\x00\x00\x00")):
		return ""
	case isText(b):
		return ": text, perhaps tcpdump's printed output rather than a file written with -w"
	}
	return ""
}

func isText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}
