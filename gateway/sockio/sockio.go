// Package sockio reads and writes TCP sockets without the Go runtime handing the
// goroutine's processor to another thread while the system call runs.
//
// A read or write on a non-blocking socket never sleeps in the kernel: it copies what it
// can, or fails with EAGAIN and the goroutine waits on the runtime's poller as usual.
// Yet on loopback a write does much work there (the receiver's whole TCP input path and
// its wake-up), often longer than the 20 µs after which the runtime's monitor takes the
// processor of a thread it sees in a system call and starts another thread on it. On a
// machine whose cores are all busy, that hand-off is pure cost: a thread woken, a
// context switch, and the first thread parked when its call returns. Conn makes these
// calls as raw system calls, which the monitor does not see, through the connection's
// syscall.RawConn, so deadlines, closing and the poller behave as for net.TCPConn.
package sockio

import (
	"net"
	"sync"
	"syscall"
)

// Wrap returns c as a Conn when it is a TCP connection on a system where Conn makes
// raw calls (Linux), else c itself.
func Wrap(c net.Conn) net.Conn {
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			return newConn(tc, rc)
		}
	}
	return c
}

// Conn is a TCP connection whose Read and Write are raw system calls. Everything else
// (deadlines, addresses, CloseWrite, SyscallConn) is the net.TCPConn's. Like it, Conn is
// safe for concurrent use: a Read and a Write may run at once; concurrent Reads, and
// concurrent Writes, take turns.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	// rfn and wfn are read and write as method values made once, so that a call
	// allocates nothing; rmu and wmu guard the buffer and results each works on.
	rfn, wfn func(fd uintptr) bool
	rmu      sync.Mutex
	rbuf     []byte
	rn       int
	rerr     syscall.Errno
	wmu      sync.Mutex
	wbuf     []byte
	wn       int
	werr     syscall.Errno
}

// opError wraps err as net.TCPConn's Read and Write do, so that messages and
// errors.Is/As see the same error.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok { // RawConn's: "raw-read" or "raw-write"
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
