package tcpflow

import (
	"encoding/binary"
	"net/netip"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// EtherTypes (IEEE 802 numbers).
const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100 // 802.1Q
	etherQinQ  = 0x88a8 // 802.1ad
	etherQinQ1 = 0x9100 // pre-standard 802.1ad
)

// maxVLANTags bounds the stacked VLAN tags Decode walks.
const maxVLANTags = 4

// Decode decodes p's link, IP and TCP headers. It reports false for
// anything that is not a TCP segment over IPv4 or IPv6: another protocol,
// an unsupported link type, a later IP fragment, or headers too short or
// inconsistent to read.
//
// Link types: Ethernet (with any number of 802.1Q and 802.1ad tags up to
// four), Linux cooked v1 and v2, BSD null and OpenBSD loop (AF_ values of
// any BSD, in either byte order), raw IP. IPv6 extension headers (hop by
// hop, routing, destination options, fragment, authentication, mobility,
// HIP, shim6) are skipped.
//
// The segment's Payload points into p.Data.
func Decode(p pcapfile.Packet) (Segment, bool) {
	b := p.Data
	var ipv int // 4 or 6, 0 from the version nibble
	switch p.LinkType {
	case pcapfile.LinkEthernet:
		if len(b) < 14 {
			return Segment{}, false
		}
		et := binary.BigEndian.Uint16(b[12:])
		b = b[14:]
		for i := 0; et == etherVLAN || et == etherQinQ || et == etherQinQ1; i++ {
			if len(b) < 4 || i == maxVLANTags {
				return Segment{}, false
			}
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
		}
		if ipv = etherIP(et); ipv < 0 {
			return Segment{}, false
		}
	case pcapfile.LinkLinuxSLL:
		// Packet type, ARPHRD type, address length, 8 address bytes,
		// protocol (EtherType).
		if len(b) < 16 {
			return Segment{}, false
		}
		if ipv = etherIP(binary.BigEndian.Uint16(b[14:])); ipv < 0 {
			return Segment{}, false
		}
		b = b[16:]
	case pcapfile.LinkLinuxSLL2:
		// Protocol (EtherType), reserved, interface index, ARPHRD type,
		// packet type, address length, 8 address bytes.
		if len(b) < 20 {
			return Segment{}, false
		}
		if ipv = etherIP(binary.BigEndian.Uint16(b)); ipv < 0 {
			return Segment{}, false
		}
		b = b[20:]
	case pcapfile.LinkNull, pcapfile.LinkLoop:
		if len(b) < 4 {
			return Segment{}, false
		}
		af := binary.LittleEndian.Uint32(b)
		if af > 0xffff {
			af = binary.BigEndian.Uint32(b)
		}
		switch af {
		case 2: // AF_INET everywhere
			ipv = 4
		case 24, 28, 30, 10: // AF_INET6: NetBSD/OpenBSD, FreeBSD, Darwin, Linux
			ipv = 6
		default:
			return Segment{}, false
		}
		b = b[4:]
	case pcapfile.LinkRaw:
	case pcapfile.LinkIPv4:
		ipv = 4
	case pcapfile.LinkIPv6:
		ipv = 6
	default:
		return Segment{}, false
	}
	if len(b) == 0 {
		return Segment{}, false
	}
	if v := int(b[0] >> 4); ipv == 0 {
		ipv = v
	} else if v != ipv {
		return Segment{}, false
	}
	s := Segment{Time: p.Time}
	var tcp []byte
	var tcpLen int // TCP header and payload on the wire
	var src, dst netip.Addr
	switch ipv {
	case 4:
		// RFC 791 section 3.1.
		if len(b) < 20 {
			return Segment{}, false
		}
		ihl := int(b[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(b[2:]))
		if ihl < 20 || len(b) < ihl || b[9] != 6 {
			return Segment{}, false
		}
		frag := binary.BigEndian.Uint16(b[6:])
		if frag&0x1fff != 0 {
			return Segment{}, false // a later fragment: no TCP header
		}
		s.Fragment = frag&0x2000 != 0
		if total == 0 {
			// Segmentation offload: the stack left the length to the
			// hardware. Take what was captured.
			total = len(b) + p.OrigLen - len(p.Data)
		}
		if total < ihl {
			return Segment{}, false
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		tcp, tcpLen = b[ihl:], total-ihl
	case 6:
		// RFC 8200 section 3.
		if len(b) < 40 {
			return Segment{}, false
		}
		plen := int(binary.BigEndian.Uint16(b[4:]))
		if plen == 0 {
			// A jumbogram or offload: take what was captured.
			plen = len(b) - 40 + p.OrigLen - len(p.Data)
		}
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		next := b[6]
		b = b[40:]
		var ok bool
		if next, b, plen, ok = skipIPv6Ext(next, b, plen, &s.Fragment); !ok || next != 6 {
			return Segment{}, false
		}
		tcp, tcpLen = b, plen
	default:
		return Segment{}, false
	}
	// RFC 9293 section 3.1: ports, sequence and acknowledgment numbers,
	// data offset, flags.
	if len(tcp) < 14 {
		return Segment{}, false
	}
	s.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(tcp))
	s.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(tcp[2:]))
	s.Seq = binary.BigEndian.Uint32(tcp[4:])
	s.Ack = binary.BigEndian.Uint32(tcp[8:])
	off := int(tcp[12]>>4) * 4
	s.Flags = Flags(tcp[13])
	if off < 20 || tcpLen < off {
		return Segment{}, false
	}
	s.PayloadLen = tcpLen - off
	if len(tcp) > tcpLen {
		tcp = tcp[:tcpLen] // Ethernet padding or trailer
	}
	if len(tcp) >= off {
		s.Payload = tcp[off:len(tcp):len(tcp)]
	}
	s.Truncated = len(s.Payload) < s.PayloadLen
	if s.Fragment {
		s.PayloadLen = len(s.Payload)
		s.Truncated = false
	}
	return s, true
}

// etherIP returns 4 or 6 for the EtherType of IPv4 or IPv6, -1 otherwise.
func etherIP(et uint16) int {
	switch et {
	case etherIPv4:
		return 4
	case etherIPv6:
		return 6
	}
	return -1
}

// skipIPv6Ext skips the IPv6 extension headers starting with header type
// next in b, whose payload length on the wire is plen. It returns the
// upper-layer protocol, its bytes and its length on the wire; ok is false
// for a later fragment, ESP, "no next header" or a header cut short.
func skipIPv6Ext(next uint8, b []byte, plen int, fragment *bool) (uint8, []byte, int, bool) {
	for i := 0; i < 16; i++ {
		var n int
		switch next {
		case 0, 43, 60, 135, 139, 140, 253, 254:
			// Hop-by-hop, routing, destination options, mobility, HIP,
			// shim6, experiments: (Hdr Ext Len + 1) * 8 bytes.
			if len(b) < 2 {
				return 0, nil, 0, false
			}
			n = (int(b[1]) + 1) * 8
		case 51:
			// Authentication header (RFC 4302): (Payload Len + 2) * 4.
			if len(b) < 2 {
				return 0, nil, 0, false
			}
			n = (int(b[1]) + 2) * 4
		case 44:
			// Fragment header (RFC 8200 section 4.5): 8 bytes.
			if len(b) < 8 {
				return 0, nil, 0, false
			}
			fo := binary.BigEndian.Uint16(b[2:])
			if fo&0xfff8 != 0 {
				return 0, nil, 0, false // a later fragment
			}
			if fo&1 != 0 {
				*fragment = true
			}
			n = 8
		default:
			return next, b, plen, true
		}
		if len(b) < n || plen < n {
			return 0, nil, 0, false
		}
		next = b[0]
		b, plen = b[n:], plen-n
	}
	return 0, nil, 0, false
}
