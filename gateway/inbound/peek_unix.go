//go:build unix

package inbound

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"time"
)

// peekClose waits up to wait for the client's first bytes on conn, without taking them,
// and tells how the client ended: "" when it sent something else (a request) or nothing
// yet; otherwise how it closed.
func peekClose(conn net.Conn, v uint16, wait time.Duration) string {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return ""
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ""
	}
	var (
		hdr  [5]byte
		n    int
		rerr error
	)
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	defer conn.SetReadDeadline(time.Time{})
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), hdr[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return !errors.Is(rerr, syscall.EAGAIN) && !errors.Is(rerr, syscall.EWOULDBLOCK)
	})
	switch {
	case err != nil: // the wait ended (deadline): the client is still there
		return ""
	case errors.Is(rerr, syscall.ECONNRESET):
		return "a reset"
	case rerr != nil:
		return ""
	case n == 0:
		return "a close without close_notify"
	case n == len(hdr) && alertShaped(hdr[0], int(hdr[3])<<8|int(hdr[4]), v):
		return "close_notify"
	case n < len(hdr) && hdr[0] == 21 && v != tls.VersionTLS13:
		return "close_notify"
	}
	return ""
}
