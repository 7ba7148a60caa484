package tcpflow

// The connection table: opening, eviction and forgetting.

// connList is a list of connections linked through conn.prev and
// conn.next.
type connList struct {
	head, tail *conn
	n          int
}

// pushFront puts c, in no list, at the head of l.
func (l *connList) pushFront(c *conn) {
	c.prev, c.next = nil, l.head
	if l.head != nil {
		l.head.prev = c
	}
	l.head = c
	if l.tail == nil {
		l.tail = c
	}
	l.n++
}

// remove takes c out of l.
func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
	l.n--
}

// moveToFront moves c, in l, to its head.
func (l *connList) moveToFront(c *conn) {
	if l.head != c {
		l.remove(c)
		l.pushFront(c)
	}
}

// list returns the list c is in.
func (a *Assembler) list(c *conn) *connList {
	if c.closed {
		return &a.closed
	}
	return &a.open
}

// sameSYN reports whether the SYN s is a retransmission of c's opening.
func (c *conn) sameSYN(s Segment) bool {
	if s.Src != c.Client {
		return false
	}
	h := &c.half[ClientToServer]
	if h.synSeen {
		return h.isn == s.Seq
	}
	// Opened by a captured SYN-ACK: its acknowledgment told the client's
	// first sequence number.
	return c.SYN && h.init && h.next == 0 && h.nextSeq == s.Seq+1
}

// start creates the connection s opens or belongs to.
func (a *Assembler) start(s Segment, pureSYN bool) *conn {
	if a.open.n >= a.opts.MaxConns {
		a.stats.Evicted++
		a.forget(a.open.tail)
	}
	a.nextID++
	a.stats.Conns++
	c := &conn{Conn: Conn{ID: a.nextID, First: s.Time, Last: s.Time}}
	switch {
	case pureSYN:
		c.Client, c.Server = s.Src, s.Dst
	case s.Flags.Has(FlagSYN | FlagACK):
		c.Client, c.Server = s.Dst, s.Src
	default:
		c.Guessed = true
		c.Client, c.Server = s.Src, s.Dst
		if s.Src.Port() < s.Dst.Port() {
			c.Client, c.Server = s.Dst, s.Src
		}
	}
	a.conns[flowKey{c.Client, c.Server}] = c
	a.conns[flowKey{c.Server, c.Client}] = c
	a.open.pushFront(c)
	c.h = a.h.Start(&c.Conn)
	c.ignored = c.h == nil
	return c
}

// forget ends c if it is open and drops it.
func (a *Assembler) forget(c *conn) {
	if !c.closed {
		a.finish(c, -1, c.Last)
	}
	delete(a.conns, flowKey{c.Client, c.Server})
	delete(a.conns, flowKey{c.Server, c.Client})
	a.list(c).remove(c)
}

// expire ends the connections idle since before now-IdleTimeout, and
// forgets the closed ones past their linger.
func (a *Assembler) expire(now int64) {
	linger := closedLinger
	if a.opts.IdleTimeout >= 0 {
		limit := now - int64(a.opts.IdleTimeout)
		for a.open.tail != nil && a.open.tail.lastNano < limit {
			a.forget(a.open.tail)
		}
		linger = min(linger, a.opts.IdleTimeout)
	}
	limit := now - int64(linger)
	for a.closed.tail != nil && (a.closed.tail.lastNano < limit || a.closed.n >= a.maxClosed) {
		a.forget(a.closed.tail)
	}
}

// Flush ends every open connection, as at the end of the capture, from
// the least recently active, and forgets every connection.
func (a *Assembler) Flush() {
	for a.open.tail != nil {
		a.forget(a.open.tail)
	}
	for a.closed.tail != nil {
		a.forget(a.closed.tail)
	}
}
