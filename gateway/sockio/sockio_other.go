//go:build !linux

package sockio

import (
	"net"
	"syscall"
)

// newConn returns tc itself: Conn's raw calls are Linux's.
func newConn(tc *net.TCPConn, _ syscall.RawConn) net.Conn { return tc }
