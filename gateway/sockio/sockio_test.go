package sockio

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection: a, wrapped, and b, plain.
func pair(t *testing.T) (a net.Conn, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return Wrap(c), s.(*net.TCPConn)
}

func TestWrap(t *testing.T) {
	a, _ := pair(t)
	if _, ok := a.(*Conn); !ok && runtime.GOOS == "linux" {
		t.Fatalf("Wrap(*net.TCPConn) = %T; want *Conn", a)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := Wrap(p1); got != p1 {
		t.Fatalf("Wrap(pipe) = %T; want the pipe itself", got)
	}
	// What callers look for through the wrapper: the socket, and a half close.
	if _, ok := a.(syscall.Conn); !ok {
		t.Error("the wrapped connection is no syscall.Conn")
	}
	if _, ok := a.(interface{ CloseWrite() error }); !ok {
		t.Error("the wrapped connection has no CloseWrite")
	}
}

// TestStream sends 16 MiB each way at once, many times what the socket buffers hold, so
// that writes fill the buffer and wait, and reads find nothing and wait.
func TestStream(t *testing.T) {
	a, b := pair(t)
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	want := sha256.Sum256(data)
	a.SetDeadline(time.Now().Add(30 * time.Second)) // a lost byte fails the test, not hangs it
	b.SetDeadline(time.Now().Add(30 * time.Second))
	var wg sync.WaitGroup
	check := func(name string, r io.Reader) {
		defer wg.Done()
		h := sha256.New()
		n, err := io.Copy(h, io.LimitReader(r, int64(len(data))))
		if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("%s: read %d bytes, err %v, same bytes %v; want %d, nil, true", name, n, err, bytes.Equal(h.Sum(nil), want[:]), len(data))
		}
	}
	wg.Add(2)
	go check("wrapped end", a)
	go check("plain end", b)
	for _, w := range []io.Writer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := w.Write(data); n != len(data) || err != nil {
				t.Errorf("Write = %d, %v; want %d, nil", n, err, len(data))
			}
		}()
	}
	wg.Wait()
}

func TestEOFAndErrors(t *testing.T) {
	a, b := pair(t)
	b.Write([]byte("bye"))
	b.CloseWrite()
	got, err := io.ReadAll(a)
	if string(got) != "bye" || err != nil {
		t.Fatalf("ReadAll = %q, %v; want \"bye\", nil (io.EOF at the end)", got, err)
	}
	if n, err := a.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the end = %d, %v; want 0, io.EOF", n, err)
	}

	// A peer that resets: the error is the system's, wrapped as net's.
	b.SetLinger(0)
	b.Close()
	time.Sleep(50 * time.Millisecond)
	var werr error
	for range 10 { // the first write may still be accepted before the reset is seen
		if _, werr = a.Write([]byte("hello")); werr != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var oe *net.OpError
	if !errors.As(werr, &oe) || oe.Op != "write" || !(errors.Is(werr, syscall.ECONNRESET) || errors.Is(werr, syscall.EPIPE)) {
		t.Fatalf("Write to a reset connection: %v; want a *net.OpError \"write\" with ECONNRESET or EPIPE", werr)
	}
	if !strings.HasPrefix(werr.Error(), "write tcp 127.0.0.1:") {
		t.Errorf("error text %q; want net's: \"write tcp 127.0.0.1:...\"", werr)
	}
}

func TestReadReset(t *testing.T) {
	a, b := pair(t)
	b.SetLinger(0)
	b.Close() // a reset, no end of stream first
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := a.Read(make([]byte, 8))
	if !errors.Is(err, syscall.ECONNRESET) || !strings.HasPrefix(err.Error(), "read tcp 127.0.0.1:") {
		t.Fatalf("Read from a reset connection: %v; want \"read tcp 127.0.0.1:...\" with ECONNRESET", err)
	}
}

func TestDeadlineAndClose(t *testing.T) {
	a, _ := pair(t)
	a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := a.Read(make([]byte, 8))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past its deadline: %v; want os.ErrDeadlineExceeded, a timeout", err)
	}
	if !strings.HasPrefix(err.Error(), "read tcp ") {
		t.Errorf("error text %q; want net's: \"read tcp ...\"", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Read returned after %v", d)
	}

	// A deadline set in the past from another goroutine ends a waiting read (how the
	// gateway aborts a backend exchange), and so does Close.
	for _, end := range []func(){
		func() { a.SetDeadline(time.Unix(1, 0)) },
		func() { a.Close() },
	} {
		a.SetReadDeadline(time.Time{})
		done := make(chan error, 1)
		go func() {
			_, err := a.Read(make([]byte, 8))
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		end()
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
				t.Errorf("waiting Read ended with %v; want a deadline or net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiting Read did not end")
		}
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v; want net.ErrClosed", err)
	}
}

func TestNoAllocations(t *testing.T) {
	a, b := pair(t)
	msg := []byte("ping")
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := a.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(b, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(a, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per exchange; want 0", allocs)
	}
}
