//go:build unix && !aix

package outbound

import (
	"net"
	"syscall"
)

// peeker tells whether the socket under an idle connection is quiet: nothing to read, not
// closed. A server that closed a kept-alive connection (a close_notify, a FIN) is seen
// before a request is written on it.
type peeker struct {
	raw  syscall.RawConn // nil when the connection is no socket
	fn   func(fd uintptr) bool
	buf  [1]byte
	idle bool
}

func (p *peeker) init(conn net.Conn) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.raw, p.fn = raw, p.peek
}

// quiet reports whether a read would block; true when the connection is no socket.
func (p *peeker) quiet() bool {
	if p.raw == nil {
		return true
	}
	p.idle = false
	if err := p.raw.Read(p.fn); err != nil {
		return false
	}
	return p.idle
}

// peek looks at the socket without waiting and without taking what it finds.
func (p *peeker) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	p.idle = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true
}
