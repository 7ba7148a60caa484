package tlswire

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// serve starts a loopback server that runs handle on each connection until
// the test ends, and returns its address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// serveTLS starts a crypto/tls server with cfg.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	return serve(t, func(c net.Conn) {
		tls.Server(c, cfg).Handshake() // fails when the probe hangs up
	})
}

// exchange dials addr, sends the hello that spec describes and returns what
// the server answered.
func exchange(t *testing.T, addr string, spec ClientHelloSpec) (*ServerResponse, error) {
	t.Helper()
	hello, err := spec.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return Exchange(c, hello, time.Now().Add(5*time.Second))
}

// readHello consumes the client's hello record.
func readHello(c net.Conn) {
	ReadRecord(c)
}

// keyShare returns the group and size of the server's key share, if it sent
// a ServerHello.
func keyShare(resp *ServerResponse) (group uint16, size int) {
	if resp.ServerHello == nil {
		return 0, 0
	}
	return resp.ServerHello.KeyShareGroup, len(resp.ServerHello.KeyShareData)
}

func testLeaf(t *testing.T) (*pkitest.Cert, tls.Certificate) {
	t.Helper()
	root := pkitest.NewRoot("tlswire Test Root")
	leaf := root.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})
	return leaf, leaf.TLS()
}

func TestExchangeGoTLS12(t *testing.T) {
	leaf, cert := testLeaf(t)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12})
	offered := SuiteIDs(SuitesFor(VersionTLS12))
	resp, err := exchange(t, addr, ClientHelloSpec{Version: VersionTLS12, Suites: offered, ServerName: "backend.test", Random: random(9)})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if resp.Kind != ResponseServerHello || resp.Version != VersionTLS12 || !resp.HelloDone {
		t.Fatalf("Exchange = %v, %s, done %v; want ServerHello, TLSv1.2, done", resp.Kind, VersionName(resp.Version), resp.HelloDone)
	}
	if !slices.Contains(offered, resp.Suite) {
		t.Errorf("server selected %s, which was not offered", SuiteName(resp.Suite))
	}
	suite, _ := SuiteByID(resp.Suite)
	if suite.Auth != AuthECDSA {
		t.Errorf("server selected %s; want an ECDSA suite for its ECDSA certificate", suite.Name)
	}
	if len(resp.Certificates) != 1 || !bytes.Equal(resp.Certificates[0], leaf.Cert.Raw) {
		t.Errorf("Certificates = %d certificates; want the leaf", len(resp.Certificates))
	}
	if !resp.ServerHello.SecureRenegotiation || !resp.ServerHello.ExtendedMasterSecret {
		t.Errorf("ServerHello lacks renegotiation_info or extended_master_secret")
	}
	ske, err := ParseServerKeyExchange(resp.ServerKeyExchange, suite.KeyExchange, suite.Auth, resp.Version)
	if err != nil {
		t.Fatalf("ParseServerKeyExchange: %v", err)
	}
	if ske.Group != GroupX25519 || ske.SignatureScheme == 0 {
		t.Errorf("ServerKeyExchange = group %s, scheme %s; want x25519 and a signature", GroupName(ske.Group), SignatureSchemeName(ske.SignatureScheme))
	}
	if resp.CertificateRequest != nil {
		t.Errorf("CertificateRequest from a server that does not ask for one")
	}
}

func TestExchangeGoTLS12ClientAuth(t *testing.T) {
	leaf, cert := testLeaf(t)
	pool := x509.NewCertPool()
	pool.AddCert(leaf.Root().Cert)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	resp, err := exchange(t, addr, ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0xC02B, 0xC02F}})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	cr := resp.CertificateRequest
	if cr == nil {
		t.Fatalf("no CertificateRequest")
	}
	if len(cr.CertificateAuthorities) != 1 || !bytes.Equal(cr.CertificateAuthorities[0], leaf.Root().Cert.RawSubject) {
		t.Errorf("CertificateAuthorities = %d names; want the root's subject", len(cr.CertificateAuthorities))
	}
	if !slices.Contains(cr.CertificateTypes, 64) || len(cr.SignatureSchemes) == 0 {
		t.Errorf("CertificateRequest = types %v, schemes %v; want ecdsa_sign and some schemes", cr.CertificateTypes, cr.SignatureSchemes)
	}
}

func TestExchangeGoTLS13(t *testing.T) {
	_, cert := testLeaf(t)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	share, err := NewX25519KeyShare(testRand(3))
	if err != nil {
		t.Fatal(err)
	}
	offered := []uint16{0x1302, 0x1303}
	resp, err := exchange(t, addr, ClientHelloSpec{Version: VersionTLS13, Suites: offered, KeyShares: []KeyShare{share}, ServerName: "backend.test"})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if resp.Kind != ResponseServerHello || resp.Version != VersionTLS13 {
		t.Fatalf("Exchange = %v, %s; want ServerHello, TLSv1.3", resp.Kind, VersionName(resp.Version))
	}
	if !slices.Contains(offered, resp.Suite) {
		t.Errorf("server selected %s, which was not offered", SuiteName(resp.Suite))
	}
	if resp.ServerHello.KeyShareGroup != GroupX25519 || len(resp.ServerHello.KeyShareData) != 32 {
		t.Errorf("server key share = %s, %d bytes; want x25519, 32", GroupName(resp.ServerHello.KeyShareGroup), len(resp.ServerHello.KeyShareData))
	}
	if resp.Certificates != nil {
		t.Errorf("Certificates read from a TLS 1.3 server; they are encrypted")
	}
	// A post-quantum hybrid share is accepted: its format is right.
	pq, err := NewKeyShare(GroupX25519MLKEM768, testRand(4))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = exchange(t, addr, ClientHelloSpec{Version: VersionTLS13, Suites: offered, KeyShares: []KeyShare{pq}})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if group, n := keyShare(resp); resp.Kind != ResponseServerHello || group != GroupX25519MLKEM768 || n != 1088+32 {
		t.Errorf("Exchange(X25519MLKEM768 share) = %v %v, group %s, %d bytes; want ServerHello, X25519MLKEM768, 1120 bytes",
			resp.Kind, resp.Alert, GroupName(group), n)
	}
	// Without a key share the server asks for one.
	resp, err = exchange(t, addr, ClientHelloSpec{Version: VersionTLS13, Suites: offered})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if group, _ := keyShare(resp); resp.Kind != ResponseHelloRetry || resp.Version != VersionTLS13 || group != GroupX25519 {
		t.Errorf("Exchange = %v, %s, group %s; want HelloRetryRequest, TLSv1.3, x25519",
			resp.Kind, VersionName(resp.Version), GroupName(group))
	}
	// A TLS 1.2 hello is refused.
	resp, err = exchange(t, addr, ClientHelloSpec{Version: VersionTLS12, Suites: SuiteIDs(SuitesFor(VersionTLS12))})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if resp.Kind != ResponseAlert || resp.Alert.Description != AlertProtocolVersion {
		t.Errorf("Exchange(TLS 1.2 hello) = %v %v; want alert protocol_version", resp.Kind, resp.Alert)
	}
}

func TestExchangeNoCommonSuite(t *testing.T) {
	_, cert := testLeaf(t)
	addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12})
	// An ECDSA certificate cannot serve an RSA key exchange.
	resp, err := exchange(t, addr, ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0x002F, 0x009C}})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if resp.Kind != ResponseAlert || resp.Alert.Level != AlertLevelFatal || resp.Alert.Description != AlertHandshakeFailure {
		t.Errorf("Exchange = %v %v; want fatal handshake_failure", resp.Kind, resp.Alert)
	}
}

func TestExchangeFakeServers(t *testing.T) {
	sh12 := must(t)((&ServerHello{Version: VersionTLS12, Random: random(1), Suite: 0xC02F}).Marshal())
	tests := []struct {
		name   string
		handle func(net.Conn)
		check  func(t *testing.T, r *ServerResponse)
	}{{
		name: "HTTP server",
		handle: func(c net.Conn) {
			readHello(c)
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
		},
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseNotTLS || !strings.HasPrefix(string(r.FirstBytes), "HTTP/1.1 400 Bad Request") || len(r.FirstBytes) > 64 {
				t.Errorf("Exchange = %v, %q; want not TLS, \"HTTP/1.1 400 Bad Request...\"", r.Kind, r.FirstBytes)
			}
		},
	}, {
		name:   "SSH banner",
		handle: func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")); readHello(c) },
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseNotTLS || string(r.FirstBytes) != "SSH-2.0-OpenSSH_9.6\r\n" {
				t.Errorf("Exchange = %v, %q; want not TLS, the SSH banner", r.Kind, r.FirstBytes)
			}
		},
	}, {
		name:   "close",
		handle: readHello,
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseClosed || r.Reset {
				t.Errorf("Exchange = %v, reset %v; want closed without reset", r.Kind, r.Reset)
			}
		},
	}, {
		name: "reset",
		handle: func(c net.Conn) {
			readHello(c)
			c.(*net.TCPConn).SetLinger(0)
		},
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseClosed || !r.Reset {
				t.Errorf("Exchange = %v, reset %v; want closed by reset", r.Kind, r.Reset)
			}
		},
	}, {
		name: "alert",
		handle: func(c net.Conn) {
			readHello(c)
			c.Write(MarshalRecord(RecordAlert, VersionTLS10, Alert{AlertLevelFatal, AlertHandshakeFailure}.Marshal()))
		},
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseAlert || *r.Alert != (Alert{AlertLevelFatal, AlertHandshakeFailure}) {
				t.Errorf("Exchange = %v %v; want fatal handshake_failure", r.Kind, r.Alert)
			}
		},
	}, {
		name: "ServerHello, then close",
		handle: func(c net.Conn) {
			readHello(c)
			c.Write(MarshalRecord(RecordHandshake, VersionTLS12, sh12))
		},
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseServerHello || r.Suite != 0xC02F || r.HelloDone {
				t.Errorf("Exchange = %v, %s, done %v; want ServerHello, ECDHE-RSA-AES128-GCM-SHA256, not done", r.Kind, SuiteName(r.Suite), r.HelloDone)
			}
		},
	}, {
		name: "ServerHello, then an alert",
		handle: func(c net.Conn) {
			readHello(c)
			c.Write(MarshalRecord(RecordHandshake, VersionTLS12, sh12))
			c.Write(MarshalRecord(RecordAlert, VersionTLS12, Alert{AlertLevelFatal, AlertInternalError}.Marshal()))
		},
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseServerHello || r.Alert == nil || r.Alert.Description != AlertInternalError {
				t.Errorf("Exchange = %v %v; want ServerHello and internal_error", r.Kind, r.Alert)
			}
		},
	}, {
		name: "a 120 KB chain",
		handle: func(c net.Conn) {
			readHello(c)
			chain := &Certificate{Version: VersionTLS12}
			for i := range 3 {
				chain.Entries = append(chain.Entries, CertificateEntry{Data: bytes.Repeat([]byte{byte(i + 1)}, 40000)})
			}
			flight := bytes.Join([][]byte{sh12, must(t)(chain.Marshal()), MarshalServerHelloDone()}, nil)
			c.Write(MarshalRecord(RecordHandshake, VersionTLS12, flight))
		},
		check: func(t *testing.T, r *ServerResponse) {
			if r.Kind != ResponseServerHello || len(r.Certificates) != 3 || !r.HelloDone {
				t.Errorf("Exchange = %v, %d certificates, done %v; want ServerHello, 3, done", r.Kind, len(r.Certificates), r.HelloDone)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.handle)
			r, err := exchange(t, addr, ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0xC02F}})
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			tt.check(t, r)
		})
	}
}

func TestExchangeErrors(t *testing.T) {
	sh12 := must(t)((&ServerHello{Version: VersionTLS12, Random: random(1), Suite: 0xC02F}).Marshal())
	tests := []struct {
		name   string
		handle func(net.Conn)
		want   error
	}{{
		name: "silence",
		handle: func(c net.Conn) {
			io.Copy(io.Discard, c) // until the client gives up
		},
		want: os.ErrDeadlineExceeded,
	}, {
		name: "certificate before ServerHello",
		handle: func(c net.Conn) {
			readHello(c)
			c.Write(MarshalRecord(RecordHandshake, VersionTLS12, must(t)((&Certificate{Version: VersionTLS12}).Marshal())))
		},
		want: ErrMalformed,
	}, {
		name: "malformed certificate after the ServerHello",
		handle: func(c net.Conn) {
			readHello(c)
			bad := frame(TypeCertificate, []byte{0, 0, 5, 0, 0, 9, 1})
			c.Write(MarshalRecord(RecordHandshake, VersionTLS12, append(slices.Clone(sh12), bad...)))
		},
		want: ErrMalformed,
	}, {
		name: "endless flight",
		handle: func(c net.Conn) {
			readHello(c)
			c.Write(MarshalRecord(RecordHandshake, VersionTLS12, sh12))
			status := frame(TypeCertificateStatus, make([]byte, 16000))
			for range 20 {
				if _, err := c.Write(MarshalRecord(RecordHandshake, VersionTLS12, status)); err != nil {
					return
				}
			}
		},
		want: errExchangeLimit,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.handle)
			hello := must(t)((&ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0xC02F}}).Marshal())
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r, err := Exchange(c, hello, time.Now().Add(300*time.Millisecond))
			if !errors.Is(err, tt.want) {
				t.Errorf("Exchange = %+v, %v; want an error wrapping %v", r, err, tt.want)
			}
		})
	}
}
