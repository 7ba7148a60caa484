package tcpflow

import (
	"net/netip"
	"strings"
	"time"
)

// Flags are the TCP header's control bits (RFC 9293 section 3.1), with the
// header's own bit values.
type Flags uint8

// TCP control bits.
const (
	FlagFIN Flags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String lists the bits set, as tcpdump names them: "SYN|ACK".
func (f Flags) String() string {
	names := [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	var b strings.Builder
	for i, n := range names {
		if f&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// Segment is one TCP segment as captured.
type Segment struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	Flags    Flags
	// Payload holds the captured TCP payload, without the Ethernet padding
	// of short frames. It points into the packet's data.
	Payload []byte
	// PayloadLen is the payload's length on the wire, from the IP header.
	// It exceeds len(Payload) exactly when Truncated is set.
	PayloadLen int
	// Truncated reports that the capture's snapshot length cut the packet:
	// the payload (or even the TCP header's options) is incomplete.
	Truncated bool
	// Fragment reports the first fragment of a fragmented IPv4 or IPv6
	// packet: Payload holds the fragment's part of the TCP payload and the
	// rest, not reassembled, is missing.
	Fragment bool
}

// Dir is the direction of a byte stream in a connection. Its values index
// the per-direction arrays of [Conn].
type Dir int

// The two directions of a connection.
const (
	ClientToServer Dir = iota
	ServerToClient
)

// String returns "client->server" or "server->client".
func (d Dir) String() string {
	switch d {
	case ClientToServer:
		return "client->server"
	case ServerToClient:
		return "server->client"
	}
	return "Dir(?)"
}

// Reverse returns the other direction.
func (d Dir) Reverse() Dir { return 1 - d }

// EventKind says what an [Event] reports.
type EventKind int

// Kinds of events.
const (
	// Data: Event.Data holds the next bytes of the direction's stream.
	Data EventKind = iota + 1
	// Gap: Event.GapLen bytes of the direction's stream are missing; the
	// stream goes on after them.
	Gap
	// FIN: the direction's sender closed it, after all its bytes.
	FIN
	// RST: the direction's sender reset the connection.
	RST
)

// String returns "data", "gap", "fin" or "rst".
func (k EventKind) String() string {
	switch k {
	case Data:
		return "data"
	case Gap:
		return "gap"
	case FIN:
		return "fin"
	case RST:
		return "rst"
	}
	return "EventKind(?)"
}

// Event is what happened next on a connection, in one direction.
type Event struct {
	// Time is when the packet that carried the event was captured. Data
	// delivered after a hole was filled carries its own, earlier, time.
	Time time.Time
	Dir  Dir
	Kind EventKind
	// Data holds, for Data, the next bytes in order, contiguous with the
	// previous Data or Gap of the same direction. It is valid only until
	// Event returns: copy it to keep it.
	Data []byte
	// GapLen is, for Gap, how many bytes are missing.
	GapLen int
	// Truncated is set on a Gap whose bytes were captured but cut off by
	// the snapshot length, rather than not captured at all.
	Truncated bool
	// Offset is the position in the direction's stream of the first byte
	// of Data or of the gap: the relative sequence number minus one, as
	// Wireshark counts.
	Offset int64
}

// Conn is a TCP connection. The assembler updates its counters as events
// are delivered; they are final when End is called.
type Conn struct {
	// ID numbers the connections of a capture from 1 in the order they
	// started.
	ID int
	// Client and Server are the two endpoints; see the package
	// documentation for how the roles are decided.
	Client, Server netip.AddrPort
	// First and Last are the capture times of its first segment and of
	// the last one before it ended (packets trailing a closed connection
	// are not counted).
	First, Last time.Time
	// SYN reports that the connection's opening (SYN or SYN-ACK) was
	// captured. Guessed reports that the roles were inferred.
	SYN, Guessed bool
	// Per direction, indexed by Dir: segments captured; bytes delivered as
	// Data; bytes declared missing by Gap events; whether a FIN was
	// delivered or an RST received.
	Packets [2]int64
	Bytes   [2]int64
	Missing [2]int64
	FIN     [2]bool
	RST     [2]bool
}

// Handler is told of each new connection. An Assembler calls it from the
// goroutine that calls Add and Flush.
type Handler interface {
	// Start is called when a connection starts: at its SYN, or at its first
	// captured segment. It returns the ConnHandler for the connection's
	// events, or nil to ignore the connection (its bytes are then neither
	// buffered nor delivered). c stays valid after End.
	Start(c *Conn) ConnHandler
}

// ConnHandler receives the events of one connection.
type ConnHandler interface {
	// Event is called for each event of the connection, both directions
	// interleaved in the order the capture allows them.
	Event(e Event)
	// End is called once, last: after both FINs or an RST, when the
	// connection was evicted as idle or for room, or at Flush.
	End()
}
