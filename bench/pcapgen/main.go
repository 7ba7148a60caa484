// Command pcapgen builds a large capture for benchmarks by replicating recorded ones: each
// copy of a connection gets its own client address and port, its time shifted, and copies
// are interleaved a few at a time, as concurrent clients would be.
//
//	go run ./bench/pcapgen -size 200 -o big.pcap tlsdiag/capture/testdata/scenarios/*.pcap
//
// The sources must be pcap files of Ethernet frames carrying IPv4 (tcpdump -i lo writes
// those); packets of other kinds are copied unchanged. The output is a microsecond pcap.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// source is one capture's packets and the time of its first one.
type source struct {
	start   time.Time
	packets []packet
}

// packet is one packet of a source, with its time relative to the source's first packet,
// and whether it comes from the client (the side that sent the SYN).
type packet struct {
	at         time.Duration
	data       []byte
	fromClient bool
}

func main() {
	out := flag.String("o", "big.pcap", "the capture to write")
	sizeMB := flag.Int("size", 200, "write at least this many MB")
	group := flag.Int("interleave", 8, "copies played at once")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: pcapgen [-o FILE] [-size MB] SOURCE.pcap...")
		os.Exit(2)
	}
	var sources []source
	for _, path := range flag.Args() {
		src, err := load(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pcapgen:", err)
			os.Exit(1)
		}
		if len(src.packets) > 0 {
			sources = append(sources, src)
		}
	}
	n, conns, err := generate(*out, sources, int64(*sizeMB)<<20, *group)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapgen:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d MB, %d packets, %d copies of %d captures\n", *out, n>>20, conns.packets, conns.copies, len(sources))
}

// load reads a whole (small) capture into memory.
func load(path string) (source, error) {
	f, err := os.Open(path)
	if err != nil {
		return source{}, err
	}
	defer f.Close()
	r, err := pcapfile.NewReader(bufio.NewReader(f))
	if err != nil {
		return source{}, fmt.Errorf("%s: %w", path, err)
	}
	var out []packet
	var t0 time.Time
	clients := map[[6]byte]bool{}
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return source{start: t0, packets: out}, nil
		}
		if err != nil {
			return source{}, fmt.Errorf("%s: %w", path, err)
		}
		if p.LinkType != pcapfile.LinkEthernet || p.OrigLen != len(p.Data) {
			continue // only whole Ethernet frames are replicated
		}
		if t0.IsZero() {
			t0 = p.Time
		}
		src, dst, syn, ok := endpoints(p.Data)
		if ok && syn {
			clients[src] = true
		}
		out = append(out, packet{at: p.Time.Sub(t0), data: append([]byte(nil), p.Data...), fromClient: ok && clients[src] && !clients[dst]})
	}
}

// endpoints returns the source and destination address:port of an Ethernet/IPv4/TCP frame,
// and whether it is a SYN without ACK.
func endpoints(frame []byte) (src, dst [6]byte, syn, ok bool) {
	if len(frame) < 14+20+20 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 || frame[14]>>4 != 4 || frame[23] != 6 {
		return src, dst, false, false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	if len(ip) < ihl+20 {
		return src, dst, false, false
	}
	tcp := ip[ihl:]
	copy(src[:4], ip[12:16])
	copy(src[4:], tcp[0:2])
	copy(dst[:4], ip[16:20])
	copy(dst[4:], tcp[2:4])
	return src, dst, tcp[13]&0x12 == 0x02, true
}

type counts struct{ packets, copies int }

// generate writes copies of sources, interleaved group at a time, until the file holds
// size bytes.
func generate(path string, sources []source, size int64, group int) (int64, counts, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, counts{}, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	// pcap global header: magic, version 2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET.
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 262144)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	w.Write(hdr)
	written := int64(len(hdr))
	var c counts
	// The copies start at the latest source's time: the certificates of every source are
	// valid then (or expired, as recorded), as they were when recorded.
	var base time.Time
	for _, src := range sources {
		if src.start.After(base) {
			base = src.start
		}
	}
	rec := make([]byte, 16)
	for batch := 0; written < size; batch++ {
		// group copies, each of the next source, started 1 ms apart, merged by time.
		type cursor struct {
			ps    []packet
			start time.Duration
			id    int
		}
		var cs []cursor
		for k := range group {
			src := sources[(batch*group+k)%len(sources)]
			cs = append(cs, cursor{ps: src.packets, start: time.Duration(batch)*50*time.Millisecond + time.Duration(k)*time.Millisecond, id: c.copies})
			c.copies++
		}
		for {
			best := -1
			for i, cu := range cs {
				if len(cu.ps) > 0 && (best < 0 || cu.start+cu.ps[0].at < cs[best].start+cs[best].ps[0].at) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			cu := &cs[best]
			p := cu.ps[0]
			cu.ps = cu.ps[1:]
			data := rewrite(p, cu.id)
			t := base.Add(cu.start + p.at)
			binary.LittleEndian.PutUint32(rec[0:], uint32(t.Unix()))
			binary.LittleEndian.PutUint32(rec[4:], uint32(t.Nanosecond()/1000))
			binary.LittleEndian.PutUint32(rec[8:], uint32(len(data)))
			binary.LittleEndian.PutUint32(rec[12:], uint32(len(data)))
			w.Write(rec)
			if _, err := w.Write(data); err != nil {
				return written, c, err
			}
			written += int64(len(rec) + len(data))
			c.packets++
		}
	}
	return written, c, w.Flush()
}

// rewrite gives copy id of an Ethernet/IPv4/TCP frame its own client address, 10.a.b.c,
// keeping the ports. The IPv4 header checksum is recomputed; the TCP checksum is left as
// captured (loopback captures carry none that is valid), as readers do not check it.
func rewrite(p packet, id int) []byte {
	out := append([]byte(nil), p.data...)
	if _, _, _, ok := endpoints(out); !ok {
		return out
	}
	ip := out[14:]
	ihl := int(ip[0]&0x0f) * 4
	client := []byte{10, byte(id >> 16), byte(id >> 8), byte(id)}
	if p.fromClient {
		copy(ip[12:16], client)
	} else {
		copy(ip[16:20], client)
	}
	ip[10], ip[11] = 0, 0
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	return out
}
