package tlswire

import (
	"bytes"
	"crypto/tls"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "record testdata/*.bin again from openssl and crypto/tls")

// A transcript is the raw bytes one side of a real handshake sent: a server's
// answer to a ClientHello built here, or a real client's ClientHello.
// `go test -run TestTranscripts -update` records them again.
type transcript struct {
	file string
	// record captures the bytes; check verifies what the parsers read.
	record func(t *testing.T) []byte
	check  func(t *testing.T, stream []byte)
}

var transcripts = []transcript{{
	file: "openssl-tls12-flight.bin",
	record: func(t *testing.T) []byte {
		srv := startOpenSSL(t)
		return recordServer(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: SuiteIDs(SuitesFor(VersionTLS12)), ServerName: "localhost"})
	},
	check: func(t *testing.T, stream []byte) {
		msgs := handshakeMessages(t, stream)
		want := []uint8{TypeServerHello, TypeCertificate, TypeServerKeyExchange, TypeServerHelloDone}
		checkTypes(t, msgs, want)
		sh := parseOrFail(t, ParseServerHello, msgs[0])
		c, err := ParseCertificate(msgs[1], sh.NegotiatedVersion())
		if err != nil || len(c.Entries) != 1 {
			t.Errorf("ParseCertificate = %v, %v; want one certificate", c, err)
		}
		suite, _ := SuiteByID(sh.Suite)
		if _, err := ParseServerKeyExchange(msgs[2], suite.KeyExchange, suite.Auth, sh.NegotiatedVersion()); err != nil {
			t.Errorf("ParseServerKeyExchange: %v", err)
		}
	},
}, {
	file: "openssl-tls12-clientauth-flight.bin",
	record: func(t *testing.T) []byte {
		srv := startOpenSSL(t, "-Verify", "1", "-CAfile", pemCA(t, t.TempDir()))
		return recordServer(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0xC02B, 0xC02C}})
	},
	check: func(t *testing.T, stream []byte) {
		msgs := handshakeMessages(t, stream)
		checkTypes(t, msgs, []uint8{TypeServerHello, TypeCertificate, TypeServerKeyExchange, TypeCertificateRequest, TypeServerHelloDone})
		cr, err := ParseCertificateRequest(msgs[3], VersionTLS12)
		if err != nil || len(cr.CertificateAuthorities) != 1 {
			t.Errorf("ParseCertificateRequest = %+v, %v; want one CA", cr, err)
		}
	},
}, {
	file: "openssl-tls13-answer.bin",
	record: func(t *testing.T) []byte {
		srv := startOpenSSL(t)
		share, err := NewX25519KeyShare(testRand(1))
		if err != nil {
			t.Fatal(err)
		}
		return recordServer(t, srv.addr, ClientHelloSpec{Version: VersionTLS13, Suites: SuiteIDs(SuitesFor(VersionTLS13)), KeyShares: []KeyShare{share}})
	},
	check: func(t *testing.T, stream []byte) {
		msgs := handshakeMessages(t, stream)
		sh := parseOrFail(t, ParseServerHello, msgs[0])
		if sh.NegotiatedVersion() != VersionTLS13 || sh.KeyShareGroup != GroupX25519 {
			t.Errorf("ServerHello = %s, group %s; want TLSv1.3, x25519", VersionName(sh.NegotiatedVersion()), GroupName(sh.KeyShareGroup))
		}
	},
}, {
	file:   "openssl-client-hello.bin",
	record: func(t *testing.T) []byte { return recordClient(t, opensslClient(t)) },
	check: func(t *testing.T, stream []byte) {
		msgs := handshakeMessages(t, stream)
		ch := parseOrFail(t, ParseClientHello, msgs[0])
		if ch.MaxVersion() != VersionTLS13 || ch.ServerName != "backend.test" || len(ch.KeyShares) == 0 {
			t.Errorf("ClientHello = %s, %q, %d key shares; want TLSv1.3, backend.test, some", VersionName(ch.MaxVersion()), ch.ServerName, len(ch.KeyShares))
		}
	},
}, {
	file: "go-client-hello.bin",
	record: func(t *testing.T) []byte {
		return recordClient(t, func(addr string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			tls.Client(c, &tls.Config{ServerName: "backend.test", NextProtos: []string{"h2", "http/1.1"}}).Handshake()
		})
	},
	check: func(t *testing.T, stream []byte) {
		msgs := handshakeMessages(t, stream)
		ch := parseOrFail(t, ParseClientHello, msgs[0])
		if ch.MaxVersion() != VersionTLS13 || ch.ServerName != "backend.test" || len(ch.ALPN) != 2 {
			t.Errorf("ClientHello = %s, %q, ALPN %v; want TLSv1.3, backend.test, h2 and http/1.1", VersionName(ch.MaxVersion()), ch.ServerName, ch.ALPN)
		}
	},
}}

func TestTranscripts(t *testing.T) {
	for _, tr := range transcripts {
		t.Run(tr.file, func(t *testing.T) {
			path := filepath.Join("testdata", tr.file)
			if *update {
				if err := os.WriteFile(path, tr.record(t), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stream, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (record it with -update)", err)
			}
			tr.check(t, stream)
		})
	}
}

// transcriptMessages returns the handshake messages of every transcript, to
// seed the fuzz targets.
func transcriptMessages(f *testing.F) [][]byte {
	var out [][]byte
	for _, tr := range transcripts {
		stream, err := os.ReadFile(filepath.Join("testdata", tr.file))
		if err != nil {
			f.Fatal(err)
		}
		hr := NewHandshakeReader(bytes.NewReader(stream), 0)
		for {
			msg, rec, err := hr.Next()
			if err != nil || rec != nil {
				break
			}
			out = append(out, msg)
		}
	}
	return out
}

// handshakeMessages returns the plaintext handshake messages at the start of
// stream.
func handshakeMessages(t *testing.T, stream []byte) [][]byte {
	t.Helper()
	hr := NewHandshakeReader(bytes.NewReader(stream), 0)
	var msgs [][]byte
	for {
		msg, rec, err := hr.Next()
		if err == io.EOF || rec != nil {
			break
		}
		if err != nil {
			t.Fatalf("reading the transcript: %v", err)
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		t.Fatalf("no handshake message in the transcript")
	}
	return msgs
}

func checkTypes(t *testing.T, msgs [][]byte, want []uint8) {
	t.Helper()
	var got []uint8
	for _, m := range msgs {
		got = append(got, m[0])
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("message types = %v; want %v", got, want)
	}
}

func parseOrFail[T any](t *testing.T, parse func([]byte) (T, error), msg []byte) T {
	t.Helper()
	v, err := parse(msg)
	if err != nil {
		t.Fatalf("parsing %s: %v", HandshakeTypeName(msg[0]), err)
	}
	return v
}

// recordServer sends the hello that spec describes to addr and returns all
// the server sent until it fell silent.
func recordServer(t *testing.T, addr string, spec ClientHelloSpec) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(must(t)(spec.Marshal())); err != nil {
		t.Fatal(err)
	}
	return readUntilSilent(c)
}

// recordClient starts a listener, runs the client against it and returns the
// first bytes the client sent.
func recordClient(t *testing.T, client func(addr string)) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go client(ln.Addr().String())
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return readUntilSilent(c)
}

// opensslClient returns a function that runs `openssl s_client` against an
// address.
func opensslClient(t *testing.T) func(addr string) {
	bin := opensslPath(t)
	return func(addr string) {
		cmd := exec.Command(bin, "s_client", "-connect", addr, "-servername", "backend.test", "-alpn", "h2")
		cmd.Stdin = bytes.NewReader(nil)
		done := make(chan struct{})
		go func() { cmd.Run(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			if cmd.Process != nil {
				cmd.Process.Kill()
			}
			<-done
		}
	}
}

// readUntilSilent reads from c until it has been silent for half a second.
func readUntilSilent(c net.Conn) []byte {
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil { // silence, the end, or a reset: all that came is there
			return out
		}
	}
}
