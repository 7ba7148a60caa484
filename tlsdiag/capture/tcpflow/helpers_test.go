package tcpflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// Loopback endpoints for hand-built packets.
var (
	cli  = netip.MustParseAddrPort("127.0.0.1:50000")
	srv  = netip.MustParseAddrPort("127.0.0.1:443")
	cli6 = netip.MustParseAddrPort("[::1]:50000")
	srv6 = netip.MustParseAddrPort("[::1]:443")
)

// tcpHeader builds a TCP header of 20 bytes plus opts (a multiple of 4).
func tcpHeader(src, dst netip.AddrPort, seq, ack uint32, flags Flags, opts []byte) []byte {
	h := make([]byte, 20, 20+len(opts))
	binary.BigEndian.PutUint16(h, src.Port())
	binary.BigEndian.PutUint16(h[2:], dst.Port())
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12] = byte((20 + len(opts)) / 4 << 4)
	h[13] = byte(flags)
	binary.BigEndian.PutUint16(h[14:], 65535)
	return append(h, opts...)
}

// ipv4 wraps an upper-layer payload of protocol proto in an IPv4 header.
func ipv4(src, dst netip.Addr, proto byte, payload []byte) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[6:], 0x4000) // DF
	h[8] = 64
	h[9] = proto
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, payload...)
}

// ipv6 wraps payload in an IPv6 header whose next header is next; ext
// holds extension headers already chained to the upper layer.
func ipv6(src, dst netip.Addr, next byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

// ipTCP builds an IPv4 or IPv6 packet carrying a TCP segment.
func ipTCP(src, dst netip.AddrPort, seq, ack uint32, flags Flags, payload string) []byte {
	seg := append(tcpHeader(src, dst, seq, ack, flags, nil), payload...)
	if src.Addr().Is4() {
		return ipv4(src.Addr(), dst.Addr(), 6, seg)
	}
	return ipv6(src.Addr(), dst.Addr(), 6, seg)
}

// ether wraps an IP packet in an Ethernet header, with VLAN tags (TPIDs)
// in between.
func ether(ip []byte, tags ...uint16) []byte {
	h := make([]byte, 12, 14+4*len(tags)+len(ip))
	for _, tpid := range tags {
		h = binary.BigEndian.AppendUint16(h, tpid)
		h = binary.BigEndian.AppendUint16(h, 42) // VLAN ID
	}
	h = binary.BigEndian.AppendUint16(h, ethertypeOf(ip))
	return append(h, ip...)
}

func ethertypeOf(ip []byte) uint16 {
	if ip[0]>>4 == 6 {
		return etherIPv6
	}
	return etherIPv4
}

// linkWrap frames an IP packet for link type lt.
func linkWrap(lt pcapfile.LinkType, ip []byte) []byte {
	switch lt {
	case pcapfile.LinkEthernet:
		return ether(ip)
	case pcapfile.LinkLinuxSLL:
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 772) // ARPHRD_LOOPBACK
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], ethertypeOf(ip))
		return append(h, ip...)
	case pcapfile.LinkLinuxSLL2:
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h, ethertypeOf(ip))
		binary.BigEndian.PutUint32(h[4:], 1)
		binary.BigEndian.PutUint16(h[8:], 772)
		return append(h, ip...)
	case pcapfile.LinkNull:
		af := uint32(2)
		if ip[0]>>4 == 6 {
			af = 30
		}
		return append(binary.LittleEndian.AppendUint32(nil, af), ip...)
	case pcapfile.LinkLoop:
		af := uint32(2)
		if ip[0]>>4 == 6 {
			af = 24
		}
		return append(binary.BigEndian.AppendUint32(nil, af), ip...)
	}
	return ip
}

// at returns the capture time of test events: second s after a fixed
// epoch.
func at(s float64) time.Time {
	return time.Unix(1_700_000_000, 0).Add(time.Duration(s * float64(time.Second))).UTC()
}

// recorder is a Handler that writes down what it is told.
type recorder struct {
	t     testing.TB
	conns []*recConn
	// ignore, when set, makes Start return nil for connections to this
	// server.
	ignore netip.AddrPort
}

type recConn struct {
	t      testing.TB
	c      *Conn
	events []string
	data   [2][]byte
	gaps   [2]int64
	next   [2]int64 // offset expected next
	ended  int
}

func (r *recorder) Start(c *Conn) ConnHandler {
	if r.ignore.IsValid() && c.Server == r.ignore {
		r.conns = append(r.conns, &recConn{t: r.t, c: c})
		return nil
	}
	rc := &recConn{t: r.t, c: c}
	r.conns = append(r.conns, rc)
	return rc
}

func (rc *recConn) Event(e Event) {
	if rc.ended > 0 {
		rc.t.Errorf("conn %d: event %v after End", rc.c.ID, e.Kind)
	}
	dir := "c>s"
	if e.Dir == ServerToClient {
		dir = "s>c"
	}
	switch e.Kind {
	case Data:
		rc.checkOffset(e)
		rc.data[e.Dir] = append(rc.data[e.Dir], e.Data...)
		rc.next[e.Dir] = e.Offset + int64(len(e.Data))
		rc.events = append(rc.events, fmt.Sprintf("%s %q@%d", dir, e.Data, e.Offset))
	case Gap:
		rc.checkOffset(e)
		rc.gaps[e.Dir] += int64(e.GapLen)
		rc.next[e.Dir] = e.Offset + int64(e.GapLen)
		s := fmt.Sprintf("%s gap %d@%d", dir, e.GapLen, e.Offset)
		if e.Truncated {
			s += " cut"
		}
		rc.events = append(rc.events, s)
	default:
		rc.events = append(rc.events, dir+" "+e.Kind.String())
	}
}

func (rc *recConn) checkOffset(e Event) {
	if e.Offset != rc.next[e.Dir] {
		rc.t.Errorf("conn %d %v: %v at offset %d; want %d", rc.c.ID, e.Dir, e.Kind, e.Offset, rc.next[e.Dir])
	}
}

func (rc *recConn) End() {
	rc.ended++
	if rc.ended > 1 {
		rc.t.Errorf("conn %d: End called %d times", rc.c.ID, rc.ended)
	}
}

// String lists the events, then "end" if End was called.
func (rc *recConn) String() string {
	s := strings.Join(rc.events, ", ")
	if rc.ended > 0 {
		s += " | end"
	}
	return s
}
