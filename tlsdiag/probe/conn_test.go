package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestTapConnReadLimit(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := server.Write(buf); err != nil {
				return
			}
		}
	}()
	tap := newTapConn(client)
	n, err := io.Copy(io.Discard, tap)
	if !errors.Is(err, errReadLimit) {
		t.Errorf("io.Copy error = %v; want errReadLimit", err)
	}
	if n != readLimit {
		t.Errorf("read %d bytes; want %d", n, readLimit)
	}
	if v := tap.view(); !v.limited || len(v.first) != firstBytesLen {
		t.Errorf("view: limited = %v, %d first bytes; want true, %d", v.limited, len(v.first), firstBytesLen)
	}
}

func TestClosedByServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reset bool
		want  string
	}{
		{"close", false, "eof"},
		{"reset", true, "reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := startServer(t, func(c net.Conn) {
				// Read the ClientHello, then leave without a word.
				c.Read(make([]byte, 4096))
				if tt.reset {
					c.(*net.TCPConn).SetLinger(0)
				}
			})
			a := Handshake(context.Background(), Config{Address: addr, Expect: expect(pkiOnce()), Timeout: 5 * time.Second}, Variant{})
			checkAttempt(t, a, want{step: "client-hello", closed: tt.want, clientCertSent: -1, serverName: "backend.test"})
		})
	}
}

func TestDialErrorKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "nowhere.test", IsNotFound: true}}, "dns"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "refused"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, "unreachable"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, "unreachable"},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), "timeout"},
		{&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, "timeout"},
	}
	for _, tt := range tests {
		if got := dialErrorKind(tt.err); got != tt.want {
			t.Errorf("dialErrorKind(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
}

func TestDialInjected(t *testing.T) {
	t.Parallel()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "backend.test", IsNotFound: true}}
	}
	f, err := Run(context.Background(), Config{Target: "backend.test:443", Address: "backend.test:443", Dial: dial})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(f.Attempts) != 1 {
		t.Fatalf("%d attempts; want 1", len(f.Attempts))
	}
	checkAttempt(t, f.Attempts[0], want{step: "connect", dialErrorKind: "dns", clientCertSent: -1, serverName: "backend.test"})
	if f.Server != nil {
		t.Errorf("Server = %+v; want nil after a dial failure", f.Server)
	}
}

func TestRecordStream(t *testing.T) {
	t.Parallel()
	var msgs [][]byte
	s := recordStream{onMessage: func(m []byte) { msgs = append(msgs, append([]byte(nil), m...)) }}
	// Two handshake messages split across records and byte-by-byte feeding, then a fatal
	// alert, a ChangeCipherSpec and an (encrypted) handshake record that must be ignored.
	stream := []byte{
		22, 3, 3, 0, 6, 1, 0, 0, 2, 0xaa, 0xbb,
		22, 3, 3, 0, 5, 2, 0, 0, 1, 0xcc,
		21, 3, 3, 0, 2, 2, 40,
		20, 3, 3, 0, 1, 1,
		22, 3, 3, 0, 4, 20, 0, 0, 0,
	}
	for _, b := range stream {
		s.feed([]byte{b})
	}
	if len(msgs) != 2 || msgs[0][0] != 1 || len(msgs[0]) != 6 || msgs[1][0] != 2 || len(msgs[1]) != 5 {
		t.Errorf("messages = %x; want a type 1 and a type 2 message", msgs)
	}
	if s.alert == nil || *s.alert != [2]byte{2, 40} {
		t.Errorf("alert = %v; want fatal handshake_failure", s.alert)
	}
	if !s.encrypted || s.broken {
		t.Errorf("encrypted, broken = %v, %v; want true, false", s.encrypted, s.broken)
	}
	s.feed([]byte("HTTP/1.1 200 OK"))
	if !s.broken {
		t.Errorf("broken = false after non-TLS bytes; want true")
	}
}
