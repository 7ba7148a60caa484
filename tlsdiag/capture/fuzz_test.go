package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// Operations of a fuzzed connection: one byte of kind, two of length, then, for data, the
// bytes.
const (
	opClientData = iota
	opServerData
	opClientGap
	opServerGap
	opClientFIN
	opServerFIN
	opClientRST
	opServerRST
	numOps
)

// encodeEvents turns recorded events into the fuzz input format, cutting each write in
// two to exercise reassembly across records.
func encodeEvents(events []event) []byte {
	var b []byte
	for _, e := range events {
		if e.close {
			b = append(b, byte(opClientFIN+int(e.side)), 0, 0)
			continue
		}
		half := len(e.data) / 2
		for _, d := range [][]byte{e.data[:half], e.data[half:]} {
			b = append(b, byte(opClientData+int(e.side)))
			b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
			b = append(b, d...)
		}
	}
	return b
}

// FuzzConnection feeds arbitrary byte streams, gaps and closes to the TLS reader of one
// connection, with an arbitrary key log, and judges the result: nothing may panic, and the
// transcript stays bounded.
func FuzzConnection(f *testing.F) {
	// testdata/fuzz/FuzzConnection holds real handshakes (go test -update rewrites them).
	f.Add([]byte{opClientData, 0, 5, 0x80, 0x2e, 0x01, 0x03, 0x01}, []byte(nil))
	f.Add([]byte{opClientData, 0, 4, 'G', 'E', 'T', ' ', opServerData, 0, 4, 'H', 'T', 'T', 'P'}, []byte(nil))
	f.Fuzz(func(t *testing.T, in, keylog []byte) {
		keys, _ := ParseKeyLog(bytes.NewReader(keylog))
		c := newConn(pkitest.Epoch, keys)
		now := pkitest.Epoch
		for len(in) >= 3 {
			op, n := int(in[0])%numOps, int(binary.BigEndian.Uint16(in[1:3]))
			in = in[3:]
			now = now.Add(time.Millisecond)
			switch op {
			case opClientData, opServerData:
				n = min(n, len(in))
				c.data(now, Side(op-opClientData), in[:n])
				in = in[n:]
			case opClientGap, opServerGap:
				c.gap(now, Side(op-opClientGap), n, n%2 == 0)
			case opClientFIN, opServerFIN:
				c.closed(now, Side(op-opClientFIN), false)
			default:
				c.closed(now, Side(op-opClientRST), true)
			}
		}
		conn := c.finish("127.0.0.1:1", "127.0.0.1:2")
		if len(conn.Transcript) > maxEntries+1 {
			t.Fatalf("%d transcript entries", len(conn.Transcript))
		}
		if conn.Judged() {
			j := &Judge{Engine: catalog.Engine()}
			if r := j.Report(conn); r == nil {
				t.Fatal("a judged connection has no report")
			}
		}
	})
}

// TestFuzzSeeds writes, with -update, the handshakes of TestHandshakes as seeds of
// FuzzConnection in testdata/fuzz/FuzzConnection; without, it checks that they are there.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzConnection")
	if !*update {
		if seeds, _ := filepath.Glob(filepath.Join(dir, "*")); len(seeds) < len(handshakeCases()) {
			t.Fatalf("%d seeds in %s; go test -update writes them", len(seeds), dir)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := testCerts()
	for _, tc := range handshakeCases() {
		s, c := tc.configs(p)
		events, keys := play(t, s, c)
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", encodeEvents(events), keys)
		name := strings.NewReplacer(" ", "-", ",", "").Replace(tc.name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
