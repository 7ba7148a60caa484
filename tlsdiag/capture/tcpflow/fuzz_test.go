package tcpflow

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// FuzzDecode decodes arbitrary bytes as a packet of each link type: no
// panic, and a segment's payload lies within the packet.
func FuzzDecode(f *testing.F) {
	for _, lt := range []pcapfile.LinkType{pcapfile.LinkEthernet, pcapfile.LinkLinuxSLL, pcapfile.LinkLinuxSLL2, pcapfile.LinkNull, pcapfile.LinkRaw} {
		f.Add(uint32(lt), linkWrap(lt, ipTCP(cli, srv, 1, 2, psh, "payload")))
		f.Add(uint32(lt), linkWrap(lt, ipTCP(cli6, srv6, 1, 2, psh, "payload")))
	}
	f.Add(uint32(pcapfile.LinkEthernet), ether(ipTCP(cli, srv, 1, 2, psh, "vlan"), etherVLAN, etherQinQ))
	f.Add(uint32(pcapfile.LinkRaw), ipv6(cli6.Addr(), srv6.Addr(), 0, append([]byte{44, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 1, 0, 0, 0, 1}, tcpHeader(cli6, srv6, 1, 2, psh, nil)...)))
	f.Fuzz(func(t *testing.T, link uint32, data []byte) {
		p := pcapfile.Packet{LinkType: pcapfile.LinkType(link % 300), Data: data, OrigLen: len(data) + int(link>>24)}
		s, ok := Decode(p)
		if !ok {
			return
		}
		if len(s.Payload) > 0 {
			start := uintptr(unsafe.Pointer(unsafe.SliceData(s.Payload))) - uintptr(unsafe.Pointer(unsafe.SliceData(data)))
			if start+uintptr(len(s.Payload)) > uintptr(len(data)) {
				t.Fatalf("payload of %d bytes outside the packet of %d", len(s.Payload), len(data))
			}
		}
		if s.PayloadLen < len(s.Payload) || s.Truncated != (s.PayloadLen > len(s.Payload)) {
			t.Fatalf("PayloadLen %d, captured %d, Truncated %v", s.PayloadLen, len(s.Payload), s.Truncated)
		}
		if !s.Src.IsValid() || !s.Dst.IsValid() {
			t.Fatalf("invalid endpoints %v → %v", s.Src, s.Dst)
		}
	})
}

// FuzzAssembler feeds arbitrary segments to an Assembler with small
// bounds: it must never panic, never deliver more bytes than it was
// given, keep every direction's offsets contiguous, end every connection
// once and deliver nothing after End, and keep its buffers within bounds.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0x01, 0, 0, 0, 0, 0, 0, 1, 0x12, 0, 1, 0, 1, 10, 0, 1, 0x10, 0, 20, 0, 1, 5, 0, 1})
	f.Add(bytes.Repeat([]byte{0x10, 0, 1, 0, 0, 30, 0x83, 0}, 10))
	f.Add([]byte{0x10, 0xff, 0xf0, 0, 0, 40, 0, 1, 0x10, 0, 0x10, 0, 0, 40, 0, 1, 0x31, 0, 0, 0, 0x30, 0, 0, 1, 0x04, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(fuzzAssembler)
}

func fuzzAssembler(t *testing.T, in []byte) {
	r := &recorder{t: t}
	const maxBuf = 100
	a := NewAssembler(r, Options{MaxBufferedPerConn: maxBuf, IdleTimeout: 2 * time.Second, MaxConns: 2})
	ends := []netip.AddrPort{cli, srv, netip.MustParseAddrPort("127.0.0.1:50001"), cli6, srv6}
	base := [2]uint32{0xffffff00, 5000}
	payload := make([]byte, 256)
	for i := range payload {
		payload[i] = byte(i)
	}
	now := at(0)
	var given int64
	for len(in) >= 8 {
		b := in[:8]
		in = in[8:]
		d := int(b[0] & 1)
		pair := int(b[0]>>1) & 1
		c, s := ends[2*pair], ends[2*pair+1]
		if b[0]&0x40 != 0 {
			c, s = ends[3], ends[4]
		}
		var flags Flags
		flags |= Flags(b[0]>>2&1) * FlagSYN
		flags |= Flags(b[0]>>3&1) * FlagFIN
		flags |= Flags(b[0]>>4&1) * FlagACK
		flags |= Flags(b[0]>>5&1) * FlagRST
		seq := base[d] + uint32(int32(int16(binary.BigEndian.Uint16(b[1:]))))
		ackv := base[1-d] + uint32(int32(int16(binary.BigEndian.Uint16(b[3:]))))
		n := int(b[5])
		wire := n
		if b[6]&0x80 != 0 {
			wire += int(b[6] & 0x7f)
		}
		now = now.Add(time.Duration(b[7]) * 50 * time.Millisecond)
		src, dst := c, s
		if d == 1 {
			src, dst = s, c
		}
		given += int64(n)
		a.Add(Segment{Time: now, Src: src, Dst: dst, Seq: seq, Ack: ackv, Flags: flags,
			Payload: payload[:n], PayloadLen: wire, Truncated: wire > n})
		for x := a.open.head; x != nil; x = x.next {
			if x.buffered > maxBuf {
				t.Fatalf("connection %d buffers %d bytes; bound %d", x.ID, x.buffered, maxBuf)
			}
		}
		if a.open.n > 2 {
			t.Fatalf("%d open connections; bound 2", a.open.n)
		}
	}
	a.Flush()
	var delivered int64
	for _, rc := range r.conns {
		if rc.ended != 1 {
			t.Fatalf("connection %d ended %d times", rc.c.ID, rc.ended)
		}
		delivered += int64(len(rc.data[0]) + len(rc.data[1]))
		for d := range 2 {
			if rc.c.Bytes[d] != int64(len(rc.data[d])) {
				t.Fatalf("connection %d: Conn.Bytes %d, delivered %d", rc.c.ID, rc.c.Bytes[d], len(rc.data[d]))
			}
		}
	}
	if delivered > given {
		t.Fatalf("delivered %d bytes; given %d", delivered, given)
	}
	if len(a.conns) != 0 || a.open.n != 0 || a.closed.n != 0 {
		t.Fatalf("after Flush: %d map entries, %d open, %d closed", len(a.conns), a.open.n, a.closed.n)
	}
}
