package tcpflow

import (
	"encoding/binary"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

func TestDecodeLinkTypes(t *testing.T) {
	v4 := ipTCP(cli, srv, 1000, 2000, FlagPSH|FlagACK, "hello")
	v6 := ipTCP(cli6, srv6, 1000, 2000, FlagPSH|FlagACK, "hello")
	links := []pcapfile.LinkType{pcapfile.LinkEthernet, pcapfile.LinkLinuxSLL, pcapfile.LinkLinuxSLL2,
		pcapfile.LinkNull, pcapfile.LinkLoop, pcapfile.LinkRaw}
	for _, lt := range links {
		for _, ip := range [][]byte{v4, v6} {
			name := lt.String() + "/v4"
			src, dst := cli, srv
			if ip[0]>>4 == 6 {
				name, src, dst = lt.String()+"/v6", cli6, srv6
			}
			t.Run(name, func(t *testing.T) {
				s, ok := Decode(pcapfile.Packet{LinkType: lt, Data: linkWrap(lt, ip), Time: at(1)})
				want := Segment{Time: at(1), Src: src, Dst: dst, Seq: 1000, Ack: 2000, Flags: FlagPSH | FlagACK, PayloadLen: 5}
				checkSegment(t, s, ok, want, "hello")
			})
		}
	}
	t.Run("IPV4", func(t *testing.T) {
		s, ok := Decode(pcapfile.Packet{LinkType: pcapfile.LinkIPv4, Data: v4})
		checkSegment(t, s, ok, Segment{Src: cli, Dst: srv, Seq: 1000, Ack: 2000, Flags: FlagPSH | FlagACK, PayloadLen: 5}, "hello")
	})
	t.Run("IPV6", func(t *testing.T) {
		s, ok := Decode(pcapfile.Packet{LinkType: pcapfile.LinkIPv6, Data: v6})
		checkSegment(t, s, ok, Segment{Src: cli6, Dst: srv6, Seq: 1000, Ack: 2000, Flags: FlagPSH | FlagACK, PayloadLen: 5}, "hello")
	})
	// The BSD null header in the other byte order, and each BSD's AF_INET6.
	for _, af := range []uint32{24, 28, 30} {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			h := make([]byte, 4)
			order.PutUint32(h, af)
			s, ok := Decode(pcapfile.Packet{LinkType: pcapfile.LinkNull, Data: append(h, v6...)})
			if !ok || s.Src != cli6 {
				t.Errorf("null AF %d %v: got %v, %v; want a segment from %v", af, order, s.Src, ok, cli6)
			}
		}
	}
}

func checkSegment(t *testing.T, s Segment, ok bool, want Segment, payload string) {
	t.Helper()
	if !ok {
		t.Fatalf("Decode: not a TCP segment; want %+v", want)
	}
	if string(s.Payload) != payload {
		t.Errorf("payload %q; want %q", s.Payload, payload)
	}
	s.Payload = nil
	if s.Time != want.Time || s.Src != want.Src || s.Dst != want.Dst || s.Seq != want.Seq || s.Ack != want.Ack ||
		s.Flags != want.Flags || s.PayloadLen != want.PayloadLen || s.Truncated != want.Truncated || s.Fragment != want.Fragment {
		t.Errorf("got %+v;\nwant %+v", s, want)
	}
}

func TestDecode(t *testing.T) {
	v4 := ipTCP(cli, srv, 7, 9, FlagSYN, "")
	withOpts := ipv4(cli.Addr(), srv.Addr(), 6, append(tcpHeader(cli, srv, 7, 9, FlagACK, []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}), "data"...))
	padded := append(ether(ipTCP(cli, srv, 7, 9, FlagACK, "ab")), make([]byte, 10)...) // Ethernet padding to 60 bytes
	ext := func(next byte, hdrs ...[]byte) []byte {
		seg := append(tcpHeader(cli6, srv6, 7, 9, FlagACK, nil), "v6ext"...)
		var chain []byte
		for _, h := range hdrs {
			chain = append(chain, h...)
		}
		return ipv6(cli6.Addr(), srv6.Addr(), next, append(chain, seg...))
	}
	hopByHop := []byte{60, 0, 1, 4, 0, 0, 0, 0}                          // next: destination options
	destOpts := []byte{43, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 16 bytes, next: routing
	routing := []byte{51, 0, 4, 0, 0, 0, 0, 0}                           // next: AH
	ah := []byte{44, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}                    // (1+2)*4 = 12 bytes, next: fragment
	frag0 := []byte{6, 0, 0, 1, 0, 0, 0, 42}                             // offset 0, more fragments
	fragN := []byte{6, 0, 0, 8, 0, 0, 0, 42}                             // offset 1 (8 bytes)
	fragAtom := []byte{6, 0, 0, 0, 0, 0, 0, 42}                          // atomic fragment
	ipFrag := func(flagsOff uint16) []byte {
		b := ipTCP(cli, srv, 7, 9, FlagACK, "fragment")
		binary.BigEndian.PutUint16(b[6:], flagsOff)
		return b
	}
	udp := ipv4(cli.Addr(), srv.Addr(), 17, make([]byte, 12))
	arp := append(make([]byte, 12), 0x08, 0x06)
	zeroLen := ipTCP(cli, srv, 7, 9, FlagACK, "offload")
	zeroLen[2], zeroLen[3] = 0, 0

	tests := []struct {
		name    string
		p       pcapfile.Packet
		ok      bool
		payload string
		plen    int
		trunc   bool
		frag    bool
	}{
		{"SYN", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: v4}, true, "", 0, false, false},
		{"TCP options", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: withOpts}, true, "data", 4, false, false},
		{"Ethernet padding", pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: padded}, true, "ab", 2, false, false},
		{"802.1Q", pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: ether(ipTCP(cli, srv, 7, 9, FlagACK, "vlan"), etherVLAN)}, true, "vlan", 4, false, false},
		{"802.1ad", pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: ether(ipTCP(cli, srv, 7, 9, FlagACK, "qinq"), etherQinQ, etherVLAN)}, true, "qinq", 4, false, false},
		{"too many tags", pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: ether(ipTCP(cli, srv, 7, 9, FlagACK, "x"), etherVLAN, etherVLAN, etherVLAN, etherVLAN, etherVLAN)}, false, "", 0, false, false},
		{"IPv6 extension headers", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ext(0, hopByHop, destOpts, routing, ah, fragAtom)}, true, "v6ext", 5, false, false},
		{"IPv6 first fragment", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ext(44, frag0)}, true, "v6ext", 5, false, true},
		{"IPv6 later fragment", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ext(44, fragN)}, false, "", 0, false, false},
		{"IPv6 no next header", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ipv6(cli6.Addr(), srv6.Addr(), 59, nil)}, false, "", 0, false, false},
		{"IPv6 ESP", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ipv6(cli6.Addr(), srv6.Addr(), 50, make([]byte, 40))}, false, "", 0, false, false},
		{"IPv6 extension cut", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ext(0, hopByHop)[:44]}, false, "", 0, false, false},
		{"IPv4 first fragment", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ipFrag(0x2000)}, true, "fragment", 8, false, true},
		{"IPv4 later fragment", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ipFrag(0x0003)}, false, "", 0, false, false},
		{"IPv4 total length 0 (offload)", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: zeroLen, OrigLen: len(zeroLen)}, true, "offload", 7, false, false},
		{"snaplen cut payload", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: ipTCP(cli, srv, 7, 9, FlagACK, "0123456789")[:45], OrigLen: 50}, true, "01234", 10, true, false},
		{"snaplen cut TCP options", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: withOpts[:36], OrigLen: len(withOpts)}, true, "", 4, true, false},
		{"snaplen cut TCP header", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: v4[:30]}, false, "", 0, false, false},
		{"UDP", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: udp}, false, "", 0, false, false},
		{"ARP", pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: arp}, false, "", 0, false, false},
		{"802.3 length", pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: append(make([]byte, 12), 0x00, 0x40, 0xaa)}, false, "", 0, false, false},
		{"unknown link type", pcapfile.Packet{LinkType: 127, Data: v4}, false, "", 0, false, false},
		{"version mismatch", pcapfile.Packet{LinkType: pcapfile.LinkIPv6, Data: v4}, false, "", 0, false, false},
		{"empty", pcapfile.Packet{LinkType: pcapfile.LinkRaw}, false, "", 0, false, false},
		{"bad IHL", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: append([]byte{0x41}, v4[1:]...)}, false, "", 0, false, false},
		{"bad data offset", pcapfile.Packet{LinkType: pcapfile.LinkRaw, Data: func() []byte {
			b := ipTCP(cli, srv, 7, 9, FlagACK, "x")
			b[20+12] = 0x40
			return b
		}()}, false, "", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.p.OrigLen == 0 {
				tt.p.OrigLen = len(tt.p.Data)
			}
			s, ok := Decode(tt.p)
			if ok != tt.ok {
				t.Fatalf("ok = %v; want %v (segment %+v)", ok, tt.ok, s)
			}
			if !ok {
				return
			}
			if string(s.Payload) != tt.payload || s.PayloadLen != tt.plen || s.Truncated != tt.trunc || s.Fragment != tt.frag {
				t.Errorf("got payload %q, PayloadLen %d, Truncated %v, Fragment %v; want %q, %d, %v, %v",
					s.Payload, s.PayloadLen, s.Truncated, s.Fragment, tt.payload, tt.plen, tt.trunc, tt.frag)
			}
			if s.Seq != 7 || s.Ack != 9 || s.Src.Port() != 50000 || s.Dst.Port() != 443 {
				t.Errorf("got %v → %v seq %d ack %d", s.Src, s.Dst, s.Seq, s.Ack)
			}
		})
	}
}

func TestDecodeAllocations(t *testing.T) {
	p := pcapfile.Packet{LinkType: pcapfile.LinkEthernet, Data: ether(ipTCP(cli6, srv6, 1, 2, FlagACK, "payload"))}
	if n := testing.AllocsPerRun(100, func() { Decode(p) }); n != 0 {
		t.Errorf("Decode: %v allocations; want 0", n)
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[Flags]string{0: "none", FlagSYN: "SYN", FlagSYN | FlagACK: "SYN|ACK", FlagFIN | FlagPSH | FlagACK: "FIN|PSH|ACK"} {
		if got := f.String(); got != want {
			t.Errorf("Flags(%#x).String() = %q; want %q", uint8(f), got, want)
		}
	}
}
