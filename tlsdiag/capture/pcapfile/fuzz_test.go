package pcapfile

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReader reads arbitrary bytes as a capture: it must never panic nor
// loop, and every packet must respect the bounds.
func FuzzReader(f *testing.F) {
	le := binary.LittleEndian
	f.Add(pcapFile(le, 0xa1b2c3d4, 1, false, rec{1, 2, "abcd", 4}))
	f.Add(pcapFile(binary.BigEndian, 0xa1b23c4d, 113, false, rec{1, 2, "abcd", 40}))
	f.Add(pcapFile(le, 0xa1b2cd34, 0, true, rec{1, 2, "abcd", 4}))
	n := &ng{order: le}
	n.shb().idb(LinkEthernet, 64, n.opt(optTSResol, []byte{0x8a})).epb(0, 1, "data", 4).
		block(blockSPB, cat(n.u32(4), []byte("spbx"))).
		block(blockDSB, cat(n.u32(SecretsTLSKeyLog), n.u32(4), []byte("keys")))
	f.Add(n.b)
	for _, name := range []string{"alert-lo.pcap", "sll2-any.pcap", "dumpcap-2if.pcapng", "tls13-lo6-nano-dsb.pcapng"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			p, err := r.Next()
			if err != nil {
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("got %v, then %v; want the same error", err, err2)
				}
				if err != io.EOF && err.Error() == "" {
					t.Fatal("empty error message")
				}
				return
			}
			if len(p.Data) > MaxPacketLen || p.OrigLen < len(p.Data) || p.Interface < 0 {
				t.Fatalf("packet %d: %d bytes captured, %d on the wire, interface %d", i, len(p.Data), p.OrigLen, p.Interface)
			}
			if i > len(b) {
				t.Fatalf("%d packets from %d bytes", i, len(b))
			}
		}
	})
}
