package tcpflow

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
)

// wantConn is a connection as tshark saw it (testdata/captures.tsv,
// written by testdata/record.sh).
type wantConn struct {
	client, server string
	bytes          [2]int64
	fin, rst       [2]bool
}

func readCapturesTSV(t *testing.T) map[string][]wantConn {
	t.Helper()
	f, err := os.Open("../testdata/captures.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := make(map[string][]wantConn)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		v := strings.Split(sc.Text(), "\t")
		if len(v) != 10 {
			t.Fatalf("captures.tsv: %q: want 10 fields", sc.Text())
		}
		n := func(i int) int64 {
			x, err := strconv.ParseInt(v[i], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
		want[v[0]] = append(want[v[0]], wantConn{v[2], v[3], [2]int64{n(4), n(5)}, [2]bool{n(6) == 1, n(7) == 1}, [2]bool{n(8) == 1, n(9) == 1}})
	}
	return want
}

// TestRecorded reassembles the captures recorded on loopback with real
// TLS peers and compares connections, endpoints, payload bytes per
// direction, FINs and RSTs with what tshark reported, and the byte
// streams with the TLS records they hold.
func TestRecorded(t *testing.T) {
	want := readCapturesTSV(t)
	if len(want) < 10 {
		t.Fatalf("captures.tsv lists %d files; want at least 10", len(want))
	}
	for file, conns := range want {
		t.Run(file, func(t *testing.T) {
			r := &recorder{t: t}
			st, err := ReadFileStats(filepath.Join("..", "testdata", file), r, Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.conns) != len(conns) {
				t.Fatalf("got %d connections; want %d", len(r.conns), len(conns))
			}
			truncated := strings.Contains(file, "snaplen")
			if (st.Truncated > 0) != truncated {
				t.Errorf("got %d truncated segments; want some: %v", st.Truncated, truncated)
			}
			for i, w := range conns {
				rc := r.conns[i]
				c := rc.c
				if c.Client.String() != w.client || c.Server.String() != w.server {
					t.Errorf("connection %d: got %v → %v; want %v → %v", i, c.Client, c.Server, w.client, w.server)
				}
				if !c.SYN || c.Guessed {
					t.Errorf("connection %d: SYN %v, guessed %v; want the opening seen", i, c.SYN, c.Guessed)
				}
				if c.FIN != w.fin || c.RST != w.rst {
					t.Errorf("connection %d: FIN %v, RST %v; want %v, %v", i, c.FIN, c.RST, w.fin, w.rst)
				}
				if rc.ended != 1 {
					t.Errorf("connection %d: End called %d times", i, rc.ended)
				}
				for d := range 2 {
					if got := c.Bytes[d] + c.Missing[d]; got != w.bytes[d] {
						t.Errorf("connection %d %v: %d bytes delivered + %d missing; want %d", i, Dir(d), c.Bytes[d], c.Missing[d], w.bytes[d])
					}
					if int64(len(rc.data[d])) != c.Bytes[d] || rc.gaps[d] != c.Missing[d] {
						t.Errorf("connection %d %v: handler saw %d bytes and %d missing; Conn says %d and %d", i, Dir(d), len(rc.data[d]), rc.gaps[d], c.Bytes[d], c.Missing[d])
					}
					if truncated {
						continue
					}
					if c.Missing[d] != 0 {
						t.Errorf("connection %d %v: %d bytes missing; want none", i, Dir(d), c.Missing[d])
					}
					if n, err := tlsRecords(rc.data[d]); err != nil {
						t.Errorf("connection %d %v: %v", i, Dir(d), err)
					} else if n == 0 && len(rc.data[d]) > 0 {
						t.Errorf("connection %d %v: no TLS record", i, Dir(d))
					}
				}
			}
			if truncated {
				total := int64(0)
				for _, rc := range r.conns {
					total += rc.c.Missing[0] + rc.c.Missing[1]
					for _, e := range rc.events {
						if strings.Contains(e, " gap ") && !strings.HasSuffix(e, " cut") {
							t.Errorf("connection %d: %s; want every gap marked as cut by the snapshot length", rc.c.ID, e)
						}
					}
				}
				if total == 0 {
					t.Error("no byte missing from a capture cut at 96 bytes")
				}
			}
		})
	}
}

// tlsRecords walks b as TLS records and checks that their lengths add up
// to len(b) exactly; it returns how many there were.
func tlsRecords(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if len(b) < 5 || b[0] < 20 || b[0] > 24 || b[1] != 3 {
			return n, errorString("bytes that are not a TLS record header at record " + strconv.Itoa(n))
		}
		l := 5 + int(binary.BigEndian.Uint16(b[3:]))
		if l > len(b) {
			return n, errorString("the last TLS record runs past the stream's end")
		}
		b = b[l:]
		n++
	}
	return n, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// TestRecordedAsPcapng converts each recorded pcap file to pcapng and
// checks that reassembly tells the same story.
func TestRecordedAsPcapng(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.pcap")
	if len(files) < 5 {
		t.Fatalf("found %d pcap files; want at least 5", len(files))
	}
	for i, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ng := toPcapng(t, b, i%2 == 1) // both byte orders
			want, got := events(t, bytes.NewReader(b)), events(t, bytes.NewReader(ng))
			if want != got {
				t.Errorf("pcapng events differ from pcap:\n%s\nwant\n%s", got, want)
			}
		})
	}
	// The capture that editcap converted and injected the key log into.
	want := events(t, mustOpen(t, "../testdata/tls13-lo6-nano.pcap"))
	if got := events(t, mustOpen(t, "../testdata/tls13-lo6-nano-dsb.pcapng")); got != want {
		t.Errorf("editcap's pcapng differs from pcap:\n%s\nwant\n%s", got, want)
	}
}

func mustOpen(t *testing.T, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// toPcapng rewrites a capture as pcapng with nanosecond timestamps.
func toPcapng(t *testing.T, b []byte, bigEndian bool) []byte {
	t.Helper()
	r, err := pcapfile.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := pcapfile.NewNGWriter(&out, pcapfile.WriterOptions{BigEndian: bigEndian})
	if err != nil {
		t.Fatal(err)
	}
	ifaces := map[pcapfile.LinkType]int{}
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out.Bytes()
		}
		if err != nil {
			t.Fatal(err)
		}
		id, ok := ifaces[p.LinkType]
		if !ok {
			if id, err = w.AddInterface(p.LinkType, 0, 9); err != nil {
				t.Fatal(err)
			}
			ifaces[p.LinkType] = id
		}
		p.Interface = id
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
}

// events reassembles a capture and lists every connection's events.
func events(t *testing.T, r io.Reader) string {
	t.Helper()
	rec := &recorder{t: t}
	a := NewAssembler(rec, Options{})
	if err := a.Read(r, 0, nil); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range rec.conns {
		b.WriteString(c.c.Client.String() + " " + c.c.Server.String() + ": " + c.String() + "\n")
	}
	return b.String()
}

func TestReadFileProgress(t *testing.T) {
	var calls [][2]int64
	err := ReadFile("../testdata/many-lo.pcap", &countHandler{}, Options{}, func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat("../testdata/many-lo.pcap")
	if len(calls) < 2 || calls[0] != [2]int64{0, fi.Size()} || calls[len(calls)-1] != [2]int64{fi.Size(), fi.Size()} {
		t.Errorf("progress calls %v; want from 0 to %d of %d", calls, fi.Size(), fi.Size())
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../testdata/tls12-lo.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	h := &countHandler{}
	err = ReadFile(cut, h, Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "cut.pcap: truncated packet record at offset") {
		t.Errorf("got error %v; want a truncated record", err)
	}
	if h.conns == 0 || h.ends != h.conns {
		t.Errorf("got %d connections started, %d ended; want every one read ended", h.conns, h.ends)
	}
	text := filepath.Join(dir, "capture.txt")
	_ = os.WriteFile(text, []byte("17:06:41.748152 IP 127.0.0.1.59790 > 127.0.0.1.44301: Flags [S]\n"), 0o644)
	if err := ReadFile(text, h, Options{}, nil); err == nil || !strings.Contains(err.Error(), "not a pcap or pcapng file") {
		t.Errorf("got error %v; want not a capture", err)
	}
	if err := ReadFile(filepath.Join(dir, "missing.pcap"), h, Options{}, nil); !os.IsNotExist(err) {
		t.Errorf("got error %v; want not exist", err)
	}
}

func TestStatsNotTCP(t *testing.T) {
	var buf bytes.Buffer
	w, _ := pcapfile.NewWriter(&buf, 127, pcapfile.WriterOptions{})
	if err := w.WritePacket(pcapfile.Packet{Time: at(0), Data: []byte("radiotap")}); err != nil {
		t.Fatal(err)
	}
	a := NewAssembler(&countHandler{}, Options{})
	if err := a.Read(&buf, 0, nil); err != nil {
		t.Fatal(err)
	}
	st := a.Stats()
	if st.Packets != 1 || st.NotTCP != 1 || st.LinkTypes[127] != 1 {
		t.Errorf("got %+v; want one packet of link type 127 counted", st)
	}
}
