// Package tcpflow decodes link, IP and TCP layers and reassembles TCP streams.
//
// [Decode] turns a captured packet into a TCP [Segment]; an [Assembler]
// sorts segments into connections and hands each connection's byte streams,
// in order, to a [ConnHandler] as [Event] values. [ReadFile] does both for a
// capture file.
//
// # Roles
//
// The client is the side that sent the SYN (or received the SYN-ACK when
// the SYN was not captured). For a connection whose opening was not
// captured, the roles are inferred and [Conn.Guessed] is set: the side with
// the lower port is the server (443 against an ephemeral port); with equal
// ports, the side that sent the first captured segment is the client. A
// consumer that learns otherwise from the content (a ClientHello sent by
// the "server") should trust the content.
//
// # Reassembly
//
// Sequence numbers are relative: a direction's stream starts after the
// SYN's sequence number, or at the first sequence number captured when the
// SYN was not (the capture began mid-connection); [Event.Offset] counts
// from there. Arithmetic is modulo 2^32, so streams cross the sequence
// number wraparound.
//
// Retransmitted and overlapping bytes are delivered once: the first copy
// captured wins, as in Wireshark's default. Segments ahead of the next
// expected byte are buffered, copied, until the missing bytes arrive; the
// buffer is bounded per connection by [Options.MaxBufferedPerConn].
//
// Missing bytes are never invented: the stream continues after them and a
// [Gap] event says how many bytes are missing. A gap is declared when
//
//   - the buffer of out-of-order data would exceed its bound;
//   - the receiver acknowledges bytes beyond the hole that the capture
//     never saw while later data waits in the buffer;
//   - the connection ends (FIN, RST, idle, end of capture) with data still
//     waiting behind a hole, or with bytes acknowledged but never captured
//     (then GapLen is a lower bound: the last sequence number acknowledged
//     may have been an uncaptured FIN);
//   - a segment was cut by the capture's snapshot length (tcpdump -s): its
//     captured prefix is delivered as Data, then a Gap with
//     [Event.Truncated] set covers the bytes cut off. Lengths stay exact,
//     so a consumer that frames records (TLS) can skip over the gap and
//     resume at the next record boundary, and can tell "truncated capture"
//     from "packets missing".
//
// # Connections
//
// A connection ends when both sides' FINs were delivered in order, at the
// first RST (from either side: an RST ends both directions), when it has
// been idle for [Options.IdleTimeout] of capture time, when [Options.MaxConns]
// forces the least recently active one out, or at [Assembler.Flush]. Packets
// that trail a closed connection (the last ACK, a late retransmission) are
// absorbed, not turned into a new connection, until a new SYN on the same
// addresses and ports starts one (port reuse) or the closed connection is
// forgotten: after 15 seconds of capture time (IdleTimeout if shorter), or
// sooner when thousands of closed connections are remembered.
//
// IPv4 fragments are not reassembled: the first fragment's TCP segment is
// passed on with [Segment.Fragment] set (the rest of its payload then shows
// as a gap), later fragments are not TCP segments for Decode.
package tcpflow
