package pcapfile

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// got is a packet with its data copied.
type got struct {
	Time      time.Time
	LinkType  LinkType
	Data      string
	OrigLen   int
	Interface int
}

// readAll reads every packet of b; it fails the test on an error other
// than io.EOF.
func readAll(t testing.TB, b []byte) []got {
	t.Helper()
	pkts, err := readUntilErr(b)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	return pkts
}

func readUntilErr(b []byte) ([]got, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var pkts []got
	for {
		p, err := r.Next()
		if err == io.EOF {
			return pkts, nil
		}
		if err != nil {
			return pkts, err
		}
		pkts = append(pkts, got{p.Time, p.LinkType, string(p.Data), p.OrigLen, p.Interface})
	}
}

// pcapFile builds a pcap file by hand: magic as read in file order, and
// records of (seconds, fraction, data, original length).
type rec struct {
	sec, frac uint32
	data      string
	orig      uint32
}

func pcapFile(order binary.ByteOrder, magic uint32, link uint32, modified bool, recs ...rec) []byte {
	b := make([]byte, 24)
	order.PutUint32(b, magic)
	order.PutUint16(b[4:], 2)
	order.PutUint16(b[6:], 4)
	order.PutUint32(b[16:], 65535)
	order.PutUint32(b[20:], link)
	for _, r := range recs {
		h := make([]byte, 16)
		order.PutUint32(h, r.sec)
		order.PutUint32(h[4:], r.frac)
		order.PutUint32(h[8:], uint32(len(r.data)))
		order.PutUint32(h[12:], r.orig)
		b = append(b, h...)
		if modified {
			b = append(b, make([]byte, 8)...) // ifindex, protocol, type, pad
		}
		b = append(b, r.data...)
	}
	return b
}

func TestPcap(t *testing.T) {
	recs := []rec{{1700000000, 123456, "first packet", 12}, {1700000001, 999999, "cut", 1500}}
	tests := []struct {
		name     string
		order    binary.ByteOrder
		magic    uint32
		modified bool
		link     uint32
		wantLink LinkType
		wantNsec [2]int
	}{
		{"little-endian micro", binary.LittleEndian, 0xa1b2c3d4, false, 1, LinkEthernet, [2]int{123456000, 999999000}},
		{"big-endian micro", binary.BigEndian, 0xa1b2c3d4, false, 113, LinkLinuxSLL, [2]int{123456000, 999999000}},
		{"little-endian nano", binary.LittleEndian, 0xa1b23c4d, false, 276, LinkLinuxSLL2, [2]int{123456, 999999}},
		{"big-endian nano", binary.BigEndian, 0xa1b23c4d, false, 101, LinkRaw, [2]int{123456, 999999}},
		{"modified little-endian", binary.LittleEndian, 0xa1b2cd34, true, 0, LinkNull, [2]int{123456000, 999999000}},
		{"modified big-endian", binary.BigEndian, 0xa1b2cd34, true, 108, LinkLoop, [2]int{123456000, 999999000}},
		{"FCS bits in the link type", binary.LittleEndian, 0xa1b2c3d4, false, 0x14000001, LinkEthernet, [2]int{123456000, 999999000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts := readAll(t, pcapFile(tt.order, tt.magic, tt.link, tt.modified, recs...))
			if len(pkts) != 2 {
				t.Fatalf("got %d packets; want 2", len(pkts))
			}
			for i, p := range pkts {
				want := got{time.Unix(int64(recs[i].sec), int64(tt.wantNsec[i])).UTC(), tt.wantLink, recs[i].data, int(recs[i].orig), 0}
				if p != want {
					t.Errorf("packet %d: got %+v; want %+v", i, p, want)
				}
			}
		})
	}
}

// ng builds pcapng blocks.
type ng struct {
	order byteOrder
	b     []byte
}

func (n *ng) u16(v uint16) []byte { return n.order.AppendUint16(nil, v) }
func (n *ng) u32(v uint32) []byte { return n.order.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func pad4(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }

func (n *ng) block(typ uint32, body []byte) *ng {
	body = pad4(body)
	l := uint32(12 + len(body))
	n.b = append(n.b, cat(n.u32(typ), n.u32(l), body, n.u32(l))...)
	return n
}

// opt returns an option: code, length, padded value.
func (n *ng) opt(code uint16, v []byte) []byte {
	return cat(n.u16(code), n.u16(uint16(len(v))), pad4(append([]byte(nil), v...)))
}

func (n *ng) shb() *ng {
	return n.block(blockSHB, cat(n.u32(byteOrderMag), n.u16(1), n.u16(0), n.order.AppendUint64(nil, ^uint64(0)),
		n.opt(4, []byte("test writer")), n.opt(0, nil)))
}

func (n *ng) idb(link LinkType, snaplen uint32, opts ...[]byte) *ng {
	body := cat(n.u16(uint16(link)), n.u16(0), n.u32(snaplen))
	if len(opts) > 0 {
		body = cat(body, cat(opts...), n.opt(0, nil))
	}
	return n.block(blockIDB, body)
}

func (n *ng) epb(iface uint32, ts uint64, data string, orig uint32) *ng {
	return n.block(blockEPB, cat(n.u32(iface), n.u32(uint32(ts>>32)), n.u32(uint32(ts)),
		n.u32(uint32(len(data))), n.u32(orig), pad4([]byte(data)), n.opt(1, []byte("comment")), n.opt(0, nil)))
}

func TestPcapng(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			n := &ng{order: order}
			other := &ng{order: binary.LittleEndian}
			if order == binary.LittleEndian {
				other.order = binary.BigEndian
			}
			tsoff := n.order.AppendUint64(nil, 100)
			n.shb().
				idb(LinkEthernet, 64).                                                             // 0: microseconds
				idb(LinkRaw, 0, n.opt(optTSResol, []byte{9})).                                     // 1: nanoseconds
				idb(LinkLinuxSLL2, 0, n.opt(optTSResol, []byte{0x8a}), n.opt(optTSOffset, tsoff)). // 2: 2^-10 s, +100 s
				block(4, cat(n.u16(1), n.u16(8), []byte{127, 0, 0, 1, 'l', 'o', 0, 0}, n.u32(0))). // name resolution
				epb(0, 1_700_000_000_123456, "ether", 5).
				epb(1, 1_700_000_000_123456789, "raw", 300).
				epb(2, 5*1024+512, "sll2", 4).
				block(5, cat(n.u32(0), n.u32(0), n.u32(0), n.u32(0))). // interface statistics
				block(0x00000bad, cat(n.u32(32473), []byte("custom"))).
				block(0x40000bad, cat(n.u32(32473), []byte("custom"))).
				block(0x80000001, []byte("local use")).
				block(blockSPB, cat(n.u32(70), pad4([]byte(strings.Repeat("s", 70))))). // cut to snaplen 64
				block(blockPB, cat(n.u16(1), n.u16(0), n.u32(0), n.u32(1_000_000_007), n.u32(2), n.u32(2), pad4([]byte("pb")))).
				block(blockDSB, cat(n.u32(SecretsTLSKeyLog), n.u32(11), pad4([]byte("CLIENT_R 1\n"))))
			// A second section in the other byte order: interfaces start over.
			other.shb().idb(LinkNull, 0).epb(0, 2_000_000, "null", 4)
			file := append(n.b, other.b...)

			r, err := NewReader(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			want := []got{
				{time.Unix(1_700_000_000, 123456000).UTC(), LinkEthernet, "ether", 5, 0},
				{time.Unix(1_700_000_000, 123456789).UTC(), LinkRaw, "raw", 300, 1},
				{time.Unix(105, 500_000_000).UTC(), LinkLinuxSLL2, "sll2", 4, 2},
				{time.Time{}, LinkEthernet, strings.Repeat("s", 64), 70, 0},
				{time.Unix(1, 7).UTC(), LinkRaw, "pb", 2, 1},
				{time.Unix(2, 0).UTC(), LinkNull, "null", 4, 3},
			}
			for i, w := range want {
				p, err := r.Next()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				g := got{p.Time, p.LinkType, string(p.Data), p.OrigLen, p.Interface}
				if !g.Time.Equal(w.Time) || g.LinkType != w.LinkType || g.Data != w.Data || g.OrigLen != w.OrigLen || g.Interface != w.Interface {
					t.Errorf("packet %d: got %+v; want %+v", i, g, w)
				}
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("after the last packet: got %v; want io.EOF", err)
			}
			s := Secrets(r)
			if len(s) != 1 || s[0].Type != SecretsTLSKeyLog || string(s[0].Data) != "CLIENT_R 1\n" {
				t.Errorf("Secrets: got %+v; want one key log", s)
			}
		})
	}
}

func TestTimestampResolutions(t *testing.T) {
	tests := []struct {
		resol byte
		ts    uint64
		want  time.Time
	}{
		{0, 7, time.Unix(7, 0)},
		{3, 1500, time.Unix(1, 500_000_000)},
		{6, 1_500_000, time.Unix(1, 500_000_000)},
		{9, 1_000_000_001, time.Unix(1, 1)},
		{12, 1_000_001_001_999, time.Unix(1, 1_001)},
		{19, 1e19 - 1, time.Unix(0, 999_999_999)},
		{0x80, 3, time.Unix(3, 0)},
		{0x81, 3, time.Unix(1, 500_000_000)},
		{0x80 | 30, 1<<30 + 1<<29, time.Unix(1, 500_000_000)},
		{0x80 | 63, 1 << 62, time.Unix(0, 500_000_000)},
	}
	for _, tt := range tests {
		n := &ng{order: binary.LittleEndian}
		n.shb().idb(LinkRaw, 0, n.opt(optTSResol, []byte{tt.resol})).epb(0, tt.ts, "x", 1)
		pkts := readAll(t, n.b)
		if len(pkts) != 1 || !pkts[0].Time.Equal(tt.want) {
			t.Errorf("if_tsresol %#x, timestamp %d: got %+v; want %v", tt.resol, tt.ts, pkts, tt.want.UTC())
		}
	}
}

func TestErrors(t *testing.T) {
	le := binary.LittleEndian
	good := pcapFile(le, 0xa1b2c3d4, 1, false, rec{1, 2, "abcd", 4})
	big := pcapFile(le, 0xa1b2c3d4, 1, false, rec{1, 2, "abcd", 4})
	le.PutUint32(big[24+8:], MaxPacketLen+1)
	badVersion := append([]byte(nil), good...)
	le.PutUint16(badVersion[4:], 3)
	n := func() *ng { return (&ng{order: le}).shb().idb(LinkEthernet, 0) }
	badTrailer := n().epb(0, 1, "data", 4).b
	le.PutUint32(badTrailer[len(badTrailer)-4:], 4)
	odd := n().b
	odd = append(odd, cat(le.AppendUint32(nil, 6), le.AppendUint32(nil, 13))...)
	huge := n().b
	huge = append(huge, cat(le.AppendUint32(nil, 4), le.AppendUint32(nil, MaxBlockLen+4))...)
	badBOM := (&ng{order: le}).shb().b
	badBOM[8] = 0
	cutEPB := n().epb(0, 1, "data that is cut", 16).b
	cutEPB = cutEPB[:len(cutEPB)-10]
	var gz bytes.Buffer
	gz.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3})

	tests := []struct {
		name    string
		in      []byte
		packets int // read before the error
		kind    error
		msg     string
	}{
		{"empty", nil, 0, ErrNotCapture, "not a pcap or pcapng file: the file is empty"},
		{"text", []byte("16:50:01.123 IP 127.0.0.1.443 > 127.0.0.1.5000: Flags [S]\n"), 0, ErrNotCapture, "not a pcap or pcapng file (first bytes 31 36 3a 35"},
		{"text hint", []byte("16:50:01.123 IP 127.0.0.1.443 > 127.0.0.1.5000: Flags [S]\n"), 0, ErrNotCapture, "tcpdump's printed output"},
		{"PEM", []byte("-----BEGIN CERTIFICATE-----\n"), 0, ErrNotCapture, "a PEM file"},
		{"too short", []byte{0xd4, 0xc3}, 0, ErrNotCapture, "too short"},
		{"pcap header cut", good[:10], 0, ErrTruncated, "truncated pcap file header (10 of 24 bytes)"},
		{"pcap version", badVersion, 0, ErrMalformed, "version 3.4"},
		{"record header cut", good[:24+10], 0, ErrTruncated, "truncated packet record header at offset 24"},
		{"record cut", append(good, good[24:24+18]...), 1, ErrTruncated, "truncated packet record at offset 44 (18 of 20 bytes)"},
		{"record too long", big, 0, ErrMalformed, "captured length 262145 above the limit of 262144 bytes"},
		{"pcapng bad byte order", badBOM, 0, ErrMalformed, "bad byte-order magic"},
		{"pcapng trailer", badTrailer, 0, ErrMalformed, "trailing length 4 differs"},
		{"pcapng odd length", odd, 0, ErrMalformed, "length 13 is not a multiple of 4"},
		{"pcapng block too long", huge, 0, ErrMalformed, "above the limit of 16777216 bytes"},
		{"pcapng interface not described", (&ng{order: le}).shb().epb(0, 1, "x", 1).b, 0, ErrMalformed, "interface 0 not described (the section has 0)"},
		{"pcapng packet cut", cutEPB, 0, ErrTruncated, "truncated packet record at offset"},
		{"pcapng section header cut", (&ng{order: le}).shb().b[:20], 0, ErrTruncated, "truncated pcapng section header"},
		{"pcapng captured length past block", func() []byte {
			start := len(n().b)
			b := n().epb(0, 1, "data", 4).b
			le.PutUint32(b[start+8+12:], 100) // Captured Packet Length
			return b
		}(), 0, ErrMalformed, "runs past the end of the block"},
		{"bad gzip", gz.Bytes(), 0, nil, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts, err := readUntilErr(tt.in)
			if err == nil {
				t.Fatalf("got no error; want %q", tt.msg)
			}
			if len(pkts) != tt.packets {
				t.Errorf("got %d packets before the error; want %d", len(pkts), tt.packets)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("got error %q; want one wrapping %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got error %q; want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestErrorIsSticky(t *testing.T) {
	b := pcapFile(binary.LittleEndian, 0xa1b2c3d4, 1, false, rec{1, 2, "abcd", 4})
	r, err := NewReader(bytes.NewReader(b[:len(b)-1]))
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("got %v then %v; want the same error twice", err1, err2)
	}
}

func TestGzip(t *testing.T) {
	plain := pcapFile(binary.BigEndian, 0xa1b23c4d, 1, false, rec{5, 6, "packet", 6})
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(plain)
	zw.Close()
	want := readAll(t, plain)
	g := readAll(t, zb.Bytes())
	if len(g) != 1 || g[0] != want[0] {
		t.Errorf("got %+v; want %+v", g, want)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	pkts := []Packet{
		{Time: time.Unix(1_700_000_000, 123_456_789).UTC(), LinkType: LinkRaw, Data: []byte("first"), OrigLen: 5},
		{Time: time.Unix(1_700_000_001, 1_000).UTC(), LinkType: LinkRaw, Data: []byte("second, longer"), OrigLen: 1400},
	}
	for _, opts := range []WriterOptions{{}, {BigEndian: true}, {Nanoseconds: true}, {BigEndian: true, Nanoseconds: true}} {
		for _, format := range []string{"pcap", "pcapng"} {
			var buf bytes.Buffer
			var write func(Packet) error
			if format == "pcap" {
				w, err := NewWriter(&buf, LinkRaw, opts)
				if err != nil {
					t.Fatal(err)
				}
				write = w.WritePacket
			} else {
				w, err := NewNGWriter(&buf, opts)
				if err != nil {
					t.Fatal(err)
				}
				resol := uint8(6)
				if opts.Nanoseconds {
					resol = 9
				}
				if _, err := w.AddInterface(LinkRaw, 0, resol); err != nil {
					t.Fatal(err)
				}
				write = w.WritePacket
			}
			for _, p := range pkts {
				if err := write(p); err != nil {
					t.Fatal(err)
				}
			}
			g := readAll(t, buf.Bytes())
			for i, p := range pkts {
				want := got{p.Time, p.LinkType, string(p.Data), p.OrigLen, 0}
				if !opts.Nanoseconds {
					want.Time = want.Time.Truncate(time.Microsecond)
				}
				if i >= len(g) || g[i] != want {
					t.Errorf("%s %+v: packet %d: got %+v; want %+v", format, opts, i, g, want)
				}
			}
		}
	}
}

func TestLinkTypeString(t *testing.T) {
	for lt, want := range map[LinkType]string{LinkEthernet: "ETHERNET", LinkLinuxSLL2: "LINUX_SLL2", 127: "IEEE802_11_RADIOTAP", 4242: "LINKTYPE_4242"} {
		if got := lt.String(); got != want {
			t.Errorf("LinkType(%d).String() = %q; want %q", uint32(lt), got, want)
		}
	}
}

// TestRecorded reads the captures recorded with tcpdump, dumpcap and
// editcap (testdata/record.sh) and compares the packet counts and the
// first and last timestamps with tshark's (testdata/packets.tsv).
func TestRecorded(t *testing.T) {
	links := map[string]map[int]LinkType{ // by interface
		"tls12-lo.pcap":             {0: LinkEthernet},
		"tls13-lo6-nano.pcap":       {0: LinkEthernet},
		"sll2-any.pcap":             {0: LinkLinuxSLL2},
		"sll-any6.pcap":             {0: LinkLinuxSLL},
		"alert-lo.pcap":             {0: LinkEthernet},
		"snaplen96-lo.pcap":         {0: LinkEthernet},
		"many-lo.pcap":              {0: LinkEthernet},
		"dumpcap-lo.pcapng":         {0: LinkEthernet},
		"dumpcap-2if.pcapng":        {0: LinkEthernet, 1: LinkLinuxSLL},
		"tls13-lo6-nano-dsb.pcapng": {0: LinkEthernet},
	}
	tsv, err := os.ReadFile("../testdata/packets.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(tsv)), "\n")[1:]
	if len(lines) != len(links) {
		t.Errorf("packets.tsv lists %d files; want %d", len(lines), len(links))
	}
	for _, line := range lines {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("packets.tsv: %q: want 4 fields", line)
		}
		file, first, last := f[0], f[2], f[3]
		count, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatal(err)
		}
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			pkts := readAll(t, b)
			if len(pkts) != count || count == 0 {
				t.Fatalf("got %d packets; want %d (tshark)", len(pkts), count)
			}
			epoch := func(tm time.Time) string { return fmt.Sprintf("%d.%09d", tm.Unix(), tm.Nanosecond()) }
			if got := epoch(pkts[0].Time); got != first {
				t.Errorf("first packet at %s; want %s (tshark)", got, first)
			}
			if got := epoch(pkts[len(pkts)-1].Time); got != last {
				t.Errorf("last packet at %s; want %s (tshark)", got, last)
			}
			for i, p := range pkts {
				if want, ok := links[file][p.Interface]; !ok || p.LinkType != want {
					t.Fatalf("packet %d: interface %d, link type %v; want %v", i, p.Interface, p.LinkType, links[file])
				}
				if p.OrigLen < len(p.Data) {
					t.Fatalf("packet %d: OrigLen %d below captured length %d", i, p.OrigLen, len(p.Data))
				}
				if strings.Contains(file, "snaplen96") && len(p.Data) > 96 {
					t.Fatalf("packet %d: %d bytes captured with snaplen 96", i, len(p.Data))
				}
			}
		})
	}
}

func TestRecordedSecrets(t *testing.T) {
	keylog, err := os.ReadFile("../testdata/tls13-lo6-nano.keylog")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../testdata/tls13-lo6-nano-dsb.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	s := Secrets(r)
	if len(s) != 1 || s[0].Type != SecretsTLSKeyLog || !bytes.Equal(bytes.TrimRight(s[0].Data, "\x00"), keylog) {
		t.Errorf("got secrets %+v; want the key log %q", s, keylog)
	}
}

func TestNextAllocations(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, LinkEthernet, WriterOptions{})
	for i := 0; i < 1000; i++ {
		w.WritePacket(Packet{Time: time.Unix(int64(i), 0), Data: make([]byte, 1000)})
	}
	ngBuf := new(bytes.Buffer)
	nw, _ := NewNGWriter(ngBuf, WriterOptions{})
	nw.AddInterface(LinkEthernet, 0, 9)
	for i := 0; i < 1000; i++ {
		nw.WritePacket(Packet{Time: time.Unix(int64(i), 0), Data: make([]byte, 1000)})
	}
	for name, file := range map[string][]byte{"pcap": buf.Bytes(), "pcapng": ngBuf.Bytes()} {
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(500, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet; want 0", name, allocs)
		}
	}
}
