package tcpflow

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// step is a segment of a test conversation.
type step struct {
	from, to netip.AddrPort
	seq, ack uint32
	flags    Flags
	data     string
	wire     int     // payload length on the wire when cut; 0: len(data)
	t        float64 // capture time in seconds; 0: 1 ms after the previous
}

func c2s(seq, ack uint32, f Flags, data string) step {
	return step{from: cli, to: srv, seq: seq, ack: ack, flags: f, data: data}
}
func s2c(seq, ack uint32, f Flags, data string) step {
	return step{from: srv, to: cli, seq: seq, ack: ack, flags: f, data: data}
}

const (
	syn    = FlagSYN
	synack = FlagSYN | FlagACK
	ack    = FlagACK
	psh    = FlagPSH | FlagACK
	fin    = FlagFIN | FlagACK
	rst    = FlagRST
	rstack = FlagRST | FlagACK
)

// open is a three-way handshake: client ISN 1000, server ISN 5000.
var open = []step{c2s(1000, 0, syn, ""), s2c(5000, 1001, synack, ""), c2s(1001, 5001, ack, "")}

func conversation(steps ...[]step) []step {
	var all []step
	for _, s := range steps {
		all = append(all, s...)
	}
	return all
}

// play adds the steps to an Assembler, flushes it unless noFlush, and
// returns what the handler was told.
func play(t *testing.T, opts Options, steps []step, noFlush bool) *recorder {
	t.Helper()
	r := &recorder{t: t}
	a := NewAssembler(r, opts)
	now := 0.0
	for _, s := range steps {
		if s.t != 0 {
			now = s.t
		} else {
			now += 0.001
		}
		wire := s.wire
		if wire < len(s.data) {
			wire = len(s.data)
		}
		a.Add(Segment{Time: at(now), Src: s.from, Dst: s.to, Seq: s.seq, Ack: s.ack, Flags: s.flags,
			Payload: []byte(s.data), PayloadLen: wire, Truncated: wire > len(s.data)})
	}
	if !noFlush {
		a.Flush()
	}
	return r
}

func TestAssembler(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		steps []step
		want  []string // per connection
	}{
		{"handshake, data, FIN both ways", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "hello"), s2c(5001, 1006, psh, "world!"),
			c2s(1006, 5007, fin, ""), s2c(5007, 1007, fin, ""), c2s(1007, 5008, ack, "")}),
			[]string{`c>s "hello"@0, s>c "world!"@0, c>s fin, s>c fin | end`}},
		{"exact retransmission", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "hello"), c2s(1001, 5001, psh, "hello"), c2s(1006, 5001, psh, "!")}),
			[]string{`c>s "hello"@0, c>s "!"@5 | end`}},
		{"partial overlap", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "0123456789"), c2s(1006, 5001, psh, "56789abcde")}),
			[]string{`c>s "0123456789"@0, c>s "abcde"@10 | end`}},
		{"first copy wins over a later different copy", Options{}, conversation(open, []step{
			c2s(1006, 5001, psh, "XXXXXXXXXX"), c2s(1001, 5001, psh, "AAAAAAAAAA")}),
			[]string{`c>s "AAAAA"@0, c>s "XXXXXXXXXX"@5 | end`}},
		{"new bytes around a buffered segment", Options{}, conversation(open, []step{
			c2s(1004, 5001, psh, "xyz"), c2s(1001, 5001, psh, "0123456789")}),
			[]string{`c>s "012"@0, c>s "xyz"@3, c>s "6789"@6 | end`}},
		{"out of order", Options{}, conversation(open, []step{
			c2s(1011, 5001, psh, "second"), c2s(1017, 5001, psh, "third"), c2s(1001, 5001, psh, "first-----")}),
			[]string{`c>s "first-----"@0, c>s "second"@10, c>s "third"@16 | end`}},
		{"sequence wraparound", Options{}, []step{
			c2s(0xfffffff0, 0, syn, ""), s2c(0xfffffffa, 0xfffffff1, synack, ""),
			c2s(0xfffffff1, 0xfffffffb, psh, "0123456789abcdef"), c2s(0x00000001, 0xfffffffb, psh, "wrapped"),
			s2c(0xfffffffb, 0x00000008, psh, "0123456789"), c2s(0x00000008, 0x00000005, fin, ""),
			s2c(0x00000005, 0x00000009, fin, "")},
			[]string{`c>s "0123456789abcdef"@0, c>s "wrapped"@16, s>c "0123456789"@0, c>s fin, s>c fin | end`}},
		{"wraparound out of order", Options{}, []step{
			c2s(0xfffffff0, 0, syn, ""), c2s(0x00000001, 0, psh, "after"), c2s(0xfffffff1, 0, psh, "0123456789abcdef")},
			[]string{`c>s "0123456789abcdef"@0, c>s "after"@16 | end`}},
		{"capture starts mid-connection", Options{}, []step{
			s2c(7000, 3000, psh, "server"), c2s(3000, 7006, psh, "client"), s2c(7006, 3006, psh, "more")},
			[]string{`s>c "server"@0, c>s "client"@0, s>c "more"@6 | end`}},
		{"SYN not captured", Options{}, []step{
			s2c(5000, 1001, synack, ""), c2s(1001, 5001, psh, "hi"), s2c(5001, 1003, psh, "yo")},
			[]string{`c>s "hi"@0, s>c "yo"@0 | end`}},
		{"retransmitted SYN", Options{}, conversation([]step{c2s(1000, 0, syn, "")}, open, []step{c2s(1001, 5001, psh, "x")}),
			[]string{`c>s "x"@0 | end`}},
		{"port reuse after FIN", Options{}, conversation(open, []step{
			c2s(1001, 5001, fin, ""), s2c(5001, 1002, fin, ""), c2s(1002, 5002, ack, ""),
			c2s(1001, 5001, fin, ""), // a late retransmission: absorbed
			c2s(9000, 0, syn, ""), s2c(4000, 9001, synack, ""), c2s(9001, 4001, psh, "again")}),
			[]string{`c>s fin, s>c fin | end`, `c>s "again"@0 | end`}},
		{"port reuse without FIN", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "one"), c2s(9000, 0, syn, ""), c2s(9001, 0, psh, "two")}),
			[]string{`c>s "one"@0 | end`, `c>s "two"@0 | end`}},
		{"RST from the server", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "hello"), s2c(5001, 1006, rstack, ""), c2s(1006, 5001, psh, "late")}),
			[]string{`c>s "hello"@0, s>c rst | end`}},
		{"refused", Options{}, []step{c2s(1000, 0, syn, ""), s2c(0, 1001, rstack, "")},
			[]string{`s>c rst | end`}},
		{"RST with data buffered behind a hole", Options{}, conversation(open, []step{
			c2s(1006, 5001, psh, "after"), c2s(1011, 5001, rst, "")}),
			[]string{`c>s gap 5@0, c>s "after"@5, c>s rst | end`}},
		{"snaplen cut", Options{}, conversation(open, []step{
			{from: cli, to: srv, seq: 1001, ack: 5001, flags: psh, data: "0123", wire: 100},
			c2s(1101, 5001, psh, "next")}),
			[]string{`c>s "0123"@0, c>s gap 96@4 cut, c>s "next"@100 | end`}},
		{"snaplen cut, out of order", Options{}, conversation(open, []step{
			c2s(1101, 5001, psh, "next"),
			{from: cli, to: srv, seq: 1001, ack: 5001, flags: psh, data: "0123", wire: 100}}),
			[]string{`c>s "0123"@0, c>s gap 96@4 cut, c>s "next"@100 | end`}},
		{"hole acknowledged by the receiver", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "0123456789"), c2s(1021, 5001, psh, "after hole"),
			s2c(5001, 1031, ack, ""), c2s(1031, 5001, psh, "more")}),
			[]string{`c>s "0123456789"@0, c>s gap 10@10, c>s "after hole"@20, c>s "more"@30 | end`}},
		{"hole declared at the end", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "0123456789"), c2s(1021, 5001, psh, "after hole")}),
			[]string{`c>s "0123456789"@0, c>s gap 10@10, c>s "after hole"@20 | end`}},
		{"buffer limit", Options{MaxBufferedPerConn: 15}, conversation(open, []step{
			c2s(1011, 5001, psh, "0123456789"), c2s(1021, 5001, psh, "abcdefghij"), c2s(1031, 5001, psh, "z")}),
			[]string{`c>s gap 10@0, c>s "0123456789"@10, c>s "abcdefghij"@20, c>s "z"@30 | end`}},
		{"acknowledged, never captured", Options{}, conversation(open, []step{
			s2c(5001, 1001, ack, ""), c2s(1001, 5031, psh, "x")}),
			[]string{`c>s "x"@0, s>c gap 29@0 | end`}},
		{"FIN before the last data", Options{}, conversation(open, []step{
			c2s(1006, 5001, fin, ""), c2s(1001, 5001, psh, "hello"), s2c(5001, 1007, fin, "")}),
			[]string{`c>s "hello"@0, c>s fin, s>c fin | end`}},
		{"data with FIN, retransmitted FIN, data past FIN", Options{}, conversation(open, []step{
			c2s(1001, 5001, fin, "bye"), c2s(1001, 5001, fin, "bye"), c2s(1005, 5001, psh, "ghost")}),
			[]string{`c>s "bye"@0, c>s fin | end`}},
		{"data past a FIN learnt later", Options{MaxBufferedPerConn: 10}, conversation(open, []step{
			c2s(1011, 5001, psh, "past"), c2s(1009, 5001, fin, "89"), c2s(1021, 5001, psh, "0123456789abc")}),
			[]string{`c>s gap 8@0, c>s "89"@8, c>s fin | end`}},
		{"keep-alive", Options{}, conversation(open, []step{
			c2s(1001, 5001, psh, "a"), c2s(1001, 5001, ack, "k"), c2s(1002, 5001, psh, "b")}),
			[]string{`c>s "a"@0, c>s "b"@1 | end`}},
		{"TCP Fast Open data in the SYN", Options{}, []step{
			c2s(1000, 0, syn, "hello"), s2c(5000, 1006, synack, ""), c2s(1006, 5001, psh, "!")},
			[]string{`c>s "hello"@0, c>s "!"@5 | end`}},
		{"idle connection ended", Options{IdleTimeout: time.Second}, conversation(open, []step{
			{from: cli, to: srv, seq: 1001, ack: 5001, flags: psh, data: "a", t: 1},
			{from: cli6, to: srv6, seq: 1, ack: 1, flags: psh, data: "b", t: 3},
			{from: cli, to: srv, seq: 1002, ack: 5001, flags: psh, data: "c", t: 3.1}}),
			[]string{`c>s "a"@0 | end`, `c>s "b"@0 | end`, `c>s "c"@0 | end`}},
		{"MaxConns", Options{MaxConns: 1}, conversation(open, []step{
			c2s(1001, 5001, psh, "a"), {from: cli6, to: srv6, seq: 1, ack: 1, flags: psh, data: "b"}}),
			[]string{`c>s "a"@0 | end`, `c>s "b"@0 | end`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := play(t, tt.opts, tt.steps, false)
			var got []string
			for _, c := range r.conns {
				got = append(got, c.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

func TestConnFields(t *testing.T) {
	r := play(t, Options{}, conversation(open, []step{
		c2s(1001, 5001, psh, "hello"), {from: srv, to: cli, seq: 5001, ack: 1006, flags: psh, data: "ab", wire: 10},
		c2s(1006, 5011, fin, ""), s2c(5011, 1007, rstack, "")}), true)
	if len(r.conns) != 1 {
		t.Fatalf("got %d connections; want 1", len(r.conns))
	}
	c := r.conns[0].c
	want := Conn{ID: 1, Client: cli, Server: srv, First: at(0.001), Last: at(0.007), SYN: true,
		Packets: [2]int64{4, 3}, Bytes: [2]int64{5, 2}, Missing: [2]int64{0, 8},
		FIN: [2]bool{true, false}, RST: [2]bool{false, true}}
	if *c != want {
		t.Errorf("got %+v;\nwant %+v", *c, want)
	}
	if r.conns[0].ended != 1 {
		t.Errorf("End called %d times before Flush; want 1", r.conns[0].ended)
	}
}

func TestRolesGuessed(t *testing.T) {
	tests := []struct {
		name           string
		first          step
		client, server netip.AddrPort
		guessed        bool
	}{
		{"SYN", c2s(1, 0, syn, ""), cli, srv, false},
		{"SYN-ACK", s2c(1, 1, synack, ""), cli, srv, false},
		{"lower port is the server", s2c(1, 1, psh, "x"), cli, srv, true},
		{"lower port is the server, client first", c2s(1, 1, psh, "x"), cli, srv, true},
		{"equal ports: first sender is the client", step{from: netip.MustParseAddrPort("127.0.0.2:4000"), to: netip.MustParseAddrPort("127.0.0.1:4000"), flags: psh, data: "x"},
			netip.MustParseAddrPort("127.0.0.2:4000"), netip.MustParseAddrPort("127.0.0.1:4000"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := play(t, Options{}, []step{tt.first}, false)
			c := r.conns[0].c
			if c.Client != tt.client || c.Server != tt.server || c.Guessed != tt.guessed {
				t.Errorf("got client %v, server %v, guessed %v; want %v, %v, %v", c.Client, c.Server, c.Guessed, tt.client, tt.server, tt.guessed)
			}
		})
	}
}

func TestIgnoredConnection(t *testing.T) {
	r := &recorder{t: t, ignore: srv}
	a := NewAssembler(r, Options{})
	for i, s := range conversation(open, []step{c2s(1011, 5001, psh, "buffered?"), c2s(1001, 5001, fin, ""), s2c(5001, 1002, fin, ""),
		c2s(1002, 5002, ack, "")}) {
		a.Add(Segment{Time: at(float64(i)), Src: s.from, Dst: s.to, Seq: s.seq, Ack: s.ack, Flags: s.flags, Payload: []byte(s.data), PayloadLen: len(s.data)})
	}
	if len(r.conns) != 1 || r.conns[0].c.FIN != [2]bool{true, true} {
		t.Fatalf("got %d connections; want 1 with both FINs", len(r.conns))
	}
	if a.open.n != 0 || a.closed.n != 1 {
		t.Errorf("got %d open, %d closed; want 0, 1", a.open.n, a.closed.n)
	}
	if st := a.Stats(); st.Conns != 1 || st.Segments != 7 {
		t.Errorf("got stats %+v", st)
	}
}

func TestClosedConnectionsForgotten(t *testing.T) {
	r := &recorder{t: t}
	a := NewAssembler(r, Options{})
	for i := 0; i < maxClosed+100; i++ {
		c := netip.AddrPortFrom(cli.Addr(), uint16(10000+i))
		a.Add(Segment{Time: at(float64(i) * 0.001), Src: c, Dst: srv, Flags: rst})
	}
	if a.closed.n > maxClosed || len(a.conns) != 2*a.closed.n {
		t.Errorf("got %d closed connections, %d map entries; want at most %d", a.closed.n, len(a.conns), maxClosed)
	}
	a.Add(Segment{Time: at(1000), Src: cli, Dst: srv, Flags: rst})
	if a.closed.n != 1 {
		t.Errorf("after %v of capture time: %d closed connections remembered; want 1", closedLinger, a.closed.n)
	}
}

func TestAddAllocations(t *testing.T) {
	a := NewAssembler(&recorder{t: t}, Options{})
	h := &countHandler{}
	a.h = h
	seq := uint32(1001)
	a.Add(Segment{Time: at(0), Src: cli, Dst: srv, Seq: 1000, Flags: syn})
	payload := make([]byte, 1000)
	allocs := testing.AllocsPerRun(1000, func() {
		a.Add(Segment{Time: at(1), Src: cli, Dst: srv, Seq: seq, Ack: 1, Flags: psh, Payload: payload, PayloadLen: len(payload)})
		seq += 1000
	})
	if allocs != 0 {
		t.Errorf("Add of in-order data: %v allocations; want 0", allocs)
	}
}

// countHandler counts bytes and events without keeping them.
type countHandler struct {
	conns, ends int
	bytes, gaps int64
	events      int64
}

func (h *countHandler) Start(*Conn) ConnHandler { h.conns++; return h }
func (h *countHandler) End()                    { h.ends++ }
func (h *countHandler) Event(e Event) {
	h.events++
	h.bytes += int64(len(e.Data))
	h.gaps += int64(e.GapLen)
}
