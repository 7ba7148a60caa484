package tlswire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadRecord(t *testing.T) {
	rec, err := ReadRecord(bytes.NewReader([]byte{22, 3, 1, 0, 3, 'a', 'b', 'c', 'n', 'e', 'x', 't'}))
	if err != nil {
		t.Fatalf("ReadRecord: %v", err)
	}
	if rec.Type != RecordHandshake || rec.Version != VersionTLS10 || string(rec.Fragment) != "abc" {
		t.Errorf("ReadRecord = %+v; want handshake, 0x0301, \"abc\"", rec)
	}
	// One byte at a time, as a slow peer sends.
	rec, err = ReadRecord(iotest.OneByteReader(bytes.NewReader([]byte{21, 3, 3, 0, 2, 2, 40})))
	if err != nil || rec.Type != RecordAlert || !bytes.Equal(rec.Fragment, []byte{2, 40}) {
		t.Errorf("ReadRecord(one byte at a time) = %+v, %v", rec, err)
	}
}

func TestReadRecordNotTLS(t *testing.T) {
	tests := []struct {
		name, in, first string
	}{
		{"HTTP", "HTTP/1.1 400 Bad Request\r\n\r\n", "HTTP/"},
		{"SSH", "SSH-2.0-OpenSSH_9.6\r\n", "SSH-2"},
		{"SMTP", "220 mail.example ESMTP\r\n", "220 m"},
		{"short and closed", "OK", "OK"},
		{"one byte", "\x00", "\x00"},
		{"SSLv2 server hello", "\x80\x2e\x04\x00\x01\x00\x02", "\x80\x2e\x04\x00\x01"},
		{"content type without version", "\x16\x00\x01\x00\x00", "\x16\x00\x01\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRecord(strings.NewReader(tt.in))
			var nt *NotTLSError
			if !errors.As(err, &nt) {
				t.Fatalf("ReadRecord = %v; want *NotTLSError", err)
			}
			if got := string(nt.FirstBytes); got != tt.first {
				t.Errorf("FirstBytes = %q; want %q", got, tt.first)
			}
		})
	}
}

func TestReadRecordErrors(t *testing.T) {
	if _, err := ReadRecord(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("ReadRecord(empty) = %v; want io.EOF", err)
	}
	for _, in := range [][]byte{{22}, {22, 3}, {22, 3, 3, 0}, {22, 3, 3, 0, 5, 1, 2}} {
		if _, err := ReadRecord(bytes.NewReader(in)); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadRecord(%x) = %v; want io.ErrUnexpectedEOF", in, err)
		}
	}
	if _, err := ReadRecord(bytes.NewReader([]byte{23, 3, 3, 0x48, 0x01})); !errors.Is(err, ErrMalformed) {
		t.Errorf("ReadRecord(18433-byte record) = %v; want ErrMalformed", err)
	}
	boom := errors.New("boom")
	if _, err := ReadRecord(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("ReadRecord(failing reader) = %v; want it to wrap the reader's error", err)
	}
}

func TestMarshalRecord(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 2*MaxPlaintext+10)
	b := MarshalRecord(RecordHandshake, VersionTLS12, payload)
	r := bytes.NewReader(b)
	var got []byte
	for n := 0; ; n++ {
		rec, err := ReadRecord(r)
		if err == io.EOF {
			if n != 3 {
				t.Errorf("%d records; want 3", n)
			}
			break
		}
		if err != nil {
			t.Fatalf("ReadRecord: %v", err)
		}
		if len(rec.Fragment) > MaxPlaintext {
			t.Errorf("record of %d bytes", len(rec.Fragment))
		}
		got = append(got, rec.Fragment...)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("reassembled payload differs")
	}
	if got := MarshalRecord(RecordAlert, VersionTLS10, nil); !bytes.Equal(got, []byte{21, 3, 1, 0, 0}) {
		t.Errorf("MarshalRecord(empty) = %x", got)
	}
}

func TestHandshakeReader(t *testing.T) {
	sh := frame(TypeServerHello, bytes.Repeat([]byte{1}, 70))
	cert := frame(TypeCertificate, bytes.Repeat([]byte{2}, 40000))
	done := MarshalServerHelloDone()
	alert := []byte{21, 3, 3, 0, 2, 2, 40}
	tests := []struct {
		name   string
		stream []byte
		want   []string // message types or "record:N"
	}{
		{"coalesced in one record", MarshalRecord(RecordHandshake, VersionTLS12, bytes.Join([][]byte{sh, done}, nil)), []string{"ServerHello", "ServerHelloDone"}},
		{"fragmented over records", MarshalRecord(RecordHandshake, VersionTLS12, bytes.Join([][]byte{sh, cert, done}, nil)), []string{"ServerHello", "Certificate", "ServerHelloDone"}},
		{"one record per message, then an alert", bytes.Join([][]byte{
			MarshalRecord(RecordHandshake, VersionTLS12, sh), MarshalRecord(RecordHandshake, VersionTLS12, done), alert,
		}, nil), []string{"ServerHello", "ServerHelloDone", "record:21"}},
		{"tiny fragments", func() []byte {
			var b []byte
			for _, c := range sh {
				b = append(b, MarshalRecord(RecordHandshake, VersionTLS12, []byte{c})...)
			}
			return b
		}(), []string{"ServerHello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := NewHandshakeReader(iotest.HalfReader(bytes.NewReader(tt.stream)), 0)
			var got []string
			for {
				msg, rec, err := hr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if rec != nil {
					got = append(got, fmt.Sprintf("record:%d", rec.Type))
					continue
				}
				got = append(got, HandshakeTypeName(msg[0]))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("messages = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestHandshakeReaderErrors(t *testing.T) {
	sh := frame(TypeServerHello, bytes.Repeat([]byte{1}, 70))
	tests := []struct {
		name   string
		stream []byte
		max    int
		want   error
	}{
		{"message over the limit", MarshalRecord(RecordHandshake, VersionTLS12, frame(TypeCertificate, make([]byte, 2000))), 1000, ErrMalformed},
		{"header over the limit before the body", MarshalRecord(RecordHandshake, VersionTLS12, []byte{11, 0x10, 0, 0}), 0, ErrMalformed},
		{"alert inside a fragmented message", append(MarshalRecord(RecordHandshake, VersionTLS12, sh[:10]), 21, 3, 3, 0, 2, 2, 40), 0, ErrMalformed},
		{"end inside a message", MarshalRecord(RecordHandshake, VersionTLS12, sh[:10]), 0, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := NewHandshakeReader(bytes.NewReader(tt.stream), tt.max)
			_, _, err := hr.Next()
			if !errors.Is(err, tt.want) {
				t.Errorf("Next = %v; want %v", err, tt.want)
			}
		})
	}
}
