package sockio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// newConn returns tc as a Conn.
func newConn(tc *net.TCPConn, rc syscall.RawConn) net.Conn {
	c := &Conn{TCPConn: tc, rc: rc}
	c.rfn, c.wfn = c.read, c.write
	return c
}

// maxRW bounds one system call's bytes, as internal/poll does.
const maxRW = 1 << 30

func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerr = b[:min(len(b), maxRW)], 0, 0
	err := c.rc.Read(c.rfn)
	n, errno := c.rn, c.rerr
	c.rbuf = nil
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// read is one read(2) into c.rbuf; false when it would block (the caller waits for the
// socket to be readable, then calls again).
func (c *Conn) read(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.rbuf[0])), uintptr(len(c.rbuf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			c.rn = int(r)
		default:
			c.rerr = e
		}
		return true
	}
}

func (c *Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf, c.wn, c.werr = b, 0, 0
	err := c.rc.Write(c.wfn)
	n, errno := c.wn, c.werr
	c.wbuf = nil
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// write writes what is left of c.wbuf with write(2) until all is written or an error;
// false when the socket's buffer is full (the caller waits for it to be writable, then
// calls again).
func (c *Conn) write(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		p := c.wbuf[c.wn:]
		p = p[:min(len(p), maxRW)]
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch e {
		case 0:
			if r == 0 { // as internal/poll: a write of nothing ends the loop
				c.werr = syscall.EIO
				return true
			}
			c.wn += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = e
			return true
		}
	}
	return true
}
