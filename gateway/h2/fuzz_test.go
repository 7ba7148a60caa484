package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// errorLog records the messages a server logs at level Error (a panic of the reader or of
// a handler).
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	l.msgs = append(l.msgs, msg)
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

// fuzzSeed returns frames a client could send after the preface, written by fn.
func fuzzSeed(fn func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer)) []byte {
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	enc := hpack.NewEncoder(&hb)
	fn(fr, enc, &hb)
	return out.Bytes()
}

func fuzzBlock(enc *hpack.Encoder, hb *bytes.Buffer, kv ...string) []byte {
	hb.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), hb.Bytes()...)
}

// FuzzServeConn feeds arbitrary frames to a connection after the client preface: the
// server never panics, writes only well-formed frames (their header blocks decodable),
// and ends the connection within its timeouts once the input ends.
func FuzzServeConn(f *testing.F) {
	get := []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "x"}
	post := []string{":method", "POST", ":scheme", "https", ":path", "/echo", ":authority", "x", "content-length", "5"}
	for _, seed := range [][]byte{
		fuzzSeed(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
			fr.WriteSettings()
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: fuzzBlock(enc, hb, get...), EndStream: true, EndHeaders: true})
		}),
		fuzzSeed(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 3})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: fuzzBlock(enc, hb, post...), EndHeaders: true})
			fr.WriteData(1, true, []byte("hello"))
			fr.WriteWindowUpdate(1, 100)
			fr.WriteWindowUpdate(0, 100)
		}),
		fuzzSeed(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
			fr.WriteSettings()
			b := fuzzBlock(enc, hb, get...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: b[:3], EndStream: true})
			fr.WriteContinuation(3, true, b[3:])
			fr.WriteRSTStream(3, http2.ErrCodeCancel)
			fr.WritePing(false, [8]byte{1, 2, 3})
			fr.WritePriority(5, http2.PriorityParam{StreamDep: 5})
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}),
		fuzzSeed(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
			fr.WriteSettings()
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: fuzzBlock(enc, hb, post...), EndHeaders: true})
			fr.WriteData(1, false, []byte("he"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: fuzzBlock(enc, hb, "x-t", "1"), EndStream: true, EndHeaders: true})
		}),
		[]byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00garbage"),
	} {
		f.Add(seed)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/echo" {
			w.Header().Set("Trailer", "X-Sum")
			n, _ := io.Copy(w, io.LimitReader(r.Body, 1<<16))
			w.Header().Set("X-Sum", strings.Repeat("x", int(n%7)))
			return
		}
		w.Header().Set("X-Path", r.URL.Path)
		io.WriteString(w, r.Method)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	log := &errorLog{}
	s := NewServer(h, Options{PrefaceTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond,
		MaxHeaderBytes: 4096, MaxConcurrentStreams: 8, WriteTimeout: 2 * time.Second, Logger: slog.New(log)})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(server)
		}()
		go func() {
			client.SetWriteDeadline(time.Now().Add(2 * time.Second))
			client.Write([]byte(http2.ClientPreface))
			client.Write(in)
			client.(*net.TCPConn).CloseWrite() // the end of the input: the server sees EOF
		}()
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		fr := http2.NewFramer(nil, client)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		fr.MaxHeaderListSize = 1 << 20
		for {
			fm, err := fr.ReadFrame()
			if err != nil {
				var se http2.StreamError
				if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") {
					break
				}
				if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("the server wrote a malformed frame after the input %q: %v", in, err)
				}
				t.Fatalf("reading the server's frames after the input %q: %v", in, err)
			}
			if fm.Header().StreamID%2 == 0 && fm.Header().Type == http2.FrameHeaders {
				t.Fatalf("the server sent HEADERS on stream %d", fm.Header().StreamID)
			}
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("the connection still served 5 s after its input %q", in)
		}
		if msgs := log.take(); len(msgs) > 0 {
			t.Fatalf("the input %q made the server log: %q", in, msgs)
		}
	})
}
