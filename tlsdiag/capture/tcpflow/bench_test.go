package tcpflow

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// synthetic builds a pcap capture of at least size bytes: TLS-like
// connections on loopback addresses, active connections interleaved
// packet by packet, each a handshake, a few kilobytes of records each
// way, and FINs.
func synthetic(size int) synthCapture {
	const active = 64
	var buf bytes.Buffer
	buf.Grow(size + 1<<20)
	w, err := pcapfile.NewWriter(&buf, pcapfile.LinkEthernet, pcapfile.WriterOptions{Nanoseconds: true})
	if err != nil {
		panic(err)
	}
	type flow struct {
		c, s    netip.AddrPort
		cs, ss  uint32 // next sequence numbers
		step    int
		payload []int // segment sizes left: >0 client, <0 server
	}
	now := time.Unix(1_700_000_000, 0)
	var payload int64
	pkt := make([]byte, 0, 1600)
	body := make([]byte, 1448)
	for i := range body {
		body[i] = byte(i)
	}
	write := func(src, dst netip.AddrPort, seq, ack uint32, flags Flags, n int) {
		pkt = pkt[:0]
		pkt = append(pkt, make([]byte, 12)...)
		pkt = binary.BigEndian.AppendUint16(pkt, etherIPv4)
		pkt = append(pkt, ipv4(src.Addr(), dst.Addr(), 6, append(tcpHeader(src, dst, seq, ack, flags, nil), body[:n]...))...)
		now = now.Add(7 * time.Microsecond)
		payload += int64(n)
		if err := w.WritePacket(pcapfile.Packet{Time: now, Data: pkt, OrigLen: len(pkt)}); err != nil {
			panic(err)
		}
	}
	flows := make([]*flow, active)
	packets, conns := 0, 0
	newFlow := func() *flow {
		conns++
		// 127.x.y.z clients, one server: tuples never repeat within
		// 2^24 connections.
		a := netip.AddrFrom4([4]byte{127, byte(conns >> 16), byte(conns >> 8), byte(conns)})
		f := &flow{c: netip.AddrPortFrom(a, uint16(32768+conns%28000)), s: srv, cs: uint32(conns) * 7919, ss: uint32(conns) * 104729}
		// ClientHello; server flight; client Finished; then application
		// data: a request and a response of full segments.
		f.payload = []int{517, -1448, -1448, -1200, 80, 300, -1448, -1448, -1448, -1448, -1448, -1448, -1448, -1448, -700}
		return f
	}
	for i := range flows {
		flows[i] = newFlow()
	}
	for buf.Len() < size {
		for i, f := range flows {
			switch f.step {
			case 0:
				write(f.c, f.s, f.cs, 0, syn, 0)
				f.cs++
			case 1:
				write(f.s, f.c, f.ss, f.cs, synack, 0)
				f.ss++
			case 2:
				write(f.c, f.s, f.cs, f.ss, ack, 0)
			default:
				if len(f.payload) > 0 {
					n := f.payload[0]
					f.payload = f.payload[1:]
					if n > 0 {
						write(f.c, f.s, f.cs, f.ss, psh, n)
						f.cs += uint32(n)
					} else {
						write(f.s, f.c, f.ss, f.cs, psh, -n)
						f.ss += uint32(-n)
					}
				} else {
					write(f.c, f.s, f.cs, f.ss, fin, 0)
					write(f.s, f.c, f.ss, f.cs+1, fin, 0)
					write(f.c, f.s, f.cs+1, f.ss+1, ack, 0)
					packets += 2
					flows[i] = newFlow()
				}
			}
			f.step++
			packets++
		}
	}
	return synthCapture{buf.Bytes(), packets, conns, payload}
}

// synthCapture is a capture built by synthetic.
type synthCapture struct {
	data           []byte
	packets, conns int
	payload        int64 // TCP payload bytes
}

var synth struct {
	once sync.Once
	synthCapture
}

func synthetic50MB() synthCapture {
	synth.once.Do(func() { synth.synthCapture = synthetic(50 << 20) })
	return synth.synthCapture
}

// readAssemble reads, decodes and reassembles a whole capture.
func readAssemble(tb testing.TB, file []byte, h Handler) *Assembler {
	a := NewAssembler(h, Options{})
	r, err := pcapfile.NewReader(bytes.NewReader(file))
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		a.AddPacket(p)
	}
	a.Flush()
	return a
}

// BenchmarkReadAssemble reads, decodes and reassembles a 50 MB capture
// built in memory.
func BenchmarkReadAssemble(b *testing.B) {
	sc := synthetic50MB()
	file, packets, conns := sc.data, sc.packets, sc.conns
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h := &countHandler{}
		readAssemble(b, file, h)
		if h.conns != conns || h.ends != conns || h.bytes != sc.payload {
			b.Fatalf("got %d connections, %d ended, %d bytes; want %d, %d", h.conns, h.ends, h.bytes, conns, sc.payload)
		}
	}
	b.ReportMetric(float64(packets), "packets/op")
	b.ReportMetric(float64(conns), "conns/op")
}

// TestSynthetic checks the benchmark's capture: every connection
// reassembled whole, and the assembler's memory bounded by the
// connections open at once, not by the capture's size.
func TestSynthetic(t *testing.T) {
	sc := synthetic(4 << 20)
	file, conns := sc.data, sc.conns
	h := &countHandler{}
	a := NewAssembler(h, Options{})
	r, err := pcapfile.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	maxOpen := 0
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		a.AddPacket(p)
		maxOpen = max(maxOpen, a.open.n)
	}
	a.Flush()
	if h.conns != conns || h.ends != conns || h.gaps != 0 {
		t.Errorf("got %d connections, %d ended, %d bytes missing; want %d, %d, 0", h.conns, h.ends, h.gaps, conns, conns)
	}
	if h.bytes != sc.payload {
		t.Errorf("got %d bytes; want %d", h.bytes, sc.payload)
	}
	if maxOpen > 64+1 {
		t.Errorf("up to %d connections open at once; want at most 65", maxOpen)
	}
}

// TestMemoryFlat checks that the memory the assembler keeps does not grow
// with the capture: four times the connections, about the same heap.
func TestMemoryFlat(t *testing.T) {
	retained := func(size int) (uint64, int) {
		sc := synthetic(size)
		h := &countHandler{}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := NewAssembler(h, Options{})
		a.maxClosed = 256
		r, err := pcapfile.NewReader(bytes.NewReader(sc.data))
		if err != nil {
			t.Fatal(err)
		}
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			a.AddPacket(p)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(r)
		n := a.open.n + a.closed.n
		a.Flush()
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc), n
	}
	small, nSmall := retained(8 << 20)
	large, nLarge := retained(32 << 20)
	t.Logf("retained %d KiB for %d connections, %d KiB for %d", small>>10, nSmall, large>>10, nLarge)
	if nSmall > 256+64 || nLarge > 256+64 {
		t.Errorf("%d then %d connections remembered; want at most %d", nSmall, nLarge, 256+64)
	}
	if large > 2*small {
		t.Errorf("retained %d KiB after 32 MB; want about the %d KiB retained after 8 MB", large>>10, small>>10)
	}
}
