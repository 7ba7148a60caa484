package tlswire

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a child's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// opensslPath returns the openssl binary, or skips the test where the
// machine lacks one (CI installs it, so there the test fails instead).
func opensslPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("openssl is needed: %v", err)
		}
		t.Skipf("openssl not installed: %v", err)
	}
	return p
}

// opensslServer is an `openssl s_server` on a loopback port.
type opensslServer struct {
	addr string
	cert *x509.Certificate
}

// startOpenSSL generates a throwaway P-256 key and certificate, starts
// `openssl s_server` with them and the extra arguments, waits until it
// listens, and stops it when the test ends.
func startOpenSSL(t *testing.T, args ...string) *opensslServer {
	t.Helper()
	bin := opensslPath(t)
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "k"), filepath.Join(dir, "c")
	gen := exec.Command(bin, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", crt)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	pemBytes, err := os.ReadFile(crt)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}

	// A free port: taken, noted, released for s_server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)

	var output lockedBuffer
	cmd := exec.Command(bin, append([]string{"s_server", "-accept", "127.0.0.1:" + port, "-cert", crt, "-key", key, "-www"}, args...)...)
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting openssl s_server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("openssl s_server output:\n%s", output.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("openssl s_server exited:\n%s", output.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("openssl s_server does not listen on %s:\n%s", addr, output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &opensslServer{addr: addr, cert: cert}
}

func TestExchangeOpenSSL(t *testing.T) {
	srv := startOpenSSL(t)
	share, err := NewX25519KeyShare(testRand(11))
	if err != nil {
		t.Fatal(err)
	}
	tls13 := SuiteIDs(SuitesFor(VersionTLS13))
	tls12 := SuiteIDs(SuitesFor(VersionTLS12))

	t.Run("TLS 1.3", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS13, Suites: tls13, KeyShares: []KeyShare{share}, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if resp.Kind != ResponseServerHello || resp.Version != VersionTLS13 || !slices.Contains(tls13, resp.Suite) {
			t.Errorf("Exchange = %v, %s, %s; want ServerHello, TLSv1.3, an offered suite", resp.Kind, VersionName(resp.Version), SuiteName(resp.Suite))
		}
	})
	t.Run("TLS 1.3 without key share", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS13, Suites: tls13})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if group, _ := keyShare(resp); resp.Kind != ResponseHelloRetry || resp.Version != VersionTLS13 || group == 0 {
			t.Errorf("Exchange = %v, %s, group %s; want a HelloRetryRequest naming a group", resp.Kind, VersionName(resp.Version), GroupName(group))
		}
	})
	t.Run("TLS 1.3 and 1.2 offered", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS13, SupportedVersions: []uint16{VersionTLS13, VersionTLS12},
			Suites: append(slices.Clone(tls13), tls12...), KeyShares: []KeyShare{share}})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if resp.Kind != ResponseServerHello || resp.Version != VersionTLS13 {
			t.Errorf("Exchange = %v, %s; want ServerHello, TLSv1.3", resp.Kind, VersionName(resp.Version))
		}
	})
	t.Run("TLS 1.2", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: tls12, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if resp.Kind != ResponseServerHello || resp.Version != VersionTLS12 || !resp.HelloDone || !slices.Contains(tls12, resp.Suite) {
			t.Fatalf("Exchange = %v, %s, %s, done %v; want ServerHello, TLSv1.2, an offered suite, done",
				resp.Kind, VersionName(resp.Version), SuiteName(resp.Suite), resp.HelloDone)
		}
		if len(resp.Certificates) != 1 || !bytes.Equal(resp.Certificates[0], srv.cert.Raw) {
			t.Errorf("Certificates = %d certificates; want the server's", len(resp.Certificates))
		}
		suite, _ := SuiteByID(resp.Suite)
		ske, err := ParseServerKeyExchange(resp.ServerKeyExchange, suite.KeyExchange, suite.Auth, resp.Version)
		if err != nil {
			t.Fatalf("ParseServerKeyExchange(%s): %v", suite.Name, err)
		}
		if ske.Group == 0 && ske.DHBits() == 0 {
			t.Errorf("ServerKeyExchange names no group")
		}
	})
	t.Run("TLS 1.2, one suite at a time", func(t *testing.T) {
		for _, id := range []uint16{0xC02B, 0xC02C, 0xCCA9, 0xC009} {
			resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{id}})
			if err != nil {
				t.Fatalf("Exchange(%s): %v", SuiteName(id), err)
			}
			if resp.Kind != ResponseServerHello || resp.Suite != id {
				t.Errorf("Exchange(%s) = %v %v; want a ServerHello selecting it", SuiteName(id), resp.Kind, resp.Alert)
			}
		}
	})
	t.Run("no common suite", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: []uint16{0x000A, 0x0005}})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if resp.Kind != ResponseAlert || resp.Alert.Description != AlertHandshakeFailure {
			t.Errorf("Exchange = %v %v; want alert handshake_failure", resp.Kind, resp.Alert)
		}
	})
	t.Run("TLS 1.0 at security level 2", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS10, Suites: SuiteIDs(SuitesFor(VersionTLS10))})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		// OpenSSL 3 at its default security level refuses, by version
		// (protocol_version) or for want of a signature algorithm other
		// than SHA-1 (internal_error).
		if resp.Kind != ResponseAlert {
			t.Errorf("Exchange = %v %s; want an alert", resp.Kind, VersionName(resp.Version))
		}
	})
	t.Run("SSL 3.0 refused", func(t *testing.T) {
		resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionSSL30, Suites: SuiteIDs(SuitesFor(VersionSSL30))})
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if resp.Kind != ResponseAlert && resp.Kind != ResponseClosed {
			t.Errorf("Exchange = %v; want an alert or a close", resp.Kind)
		}
	})
}

func TestExchangeOpenSSLLegacyVersions(t *testing.T) {
	for _, tt := range []struct {
		flag    string
		version uint16
	}{{"-tls1", VersionTLS10}, {"-tls1_1", VersionTLS11}} {
		t.Run(VersionName(tt.version), func(t *testing.T) {
			srv := startOpenSSL(t, "-cipher", "ALL:@SECLEVEL=0", tt.flag)
			// Certificate-authenticated suites only, so that the
			// ServerKeyExchange is signed.
			var offered []uint16
			for _, s := range SuitesFor(tt.version) {
				if s.Auth == AuthRSA || s.Auth == AuthECDSA {
					offered = append(offered, s.ID)
				}
			}
			resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: append(offered, 0xC02B)})
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if resp.Kind != ResponseServerHello || resp.Version != tt.version || !resp.HelloDone || !slices.Contains(offered, resp.Suite) {
				t.Fatalf("Exchange = %v %v, %s, %s, done %v; want ServerHello, %s, an offered suite, done",
					resp.Kind, resp.Alert, VersionName(resp.Version), SuiteName(resp.Suite), resp.HelloDone, VersionName(tt.version))
			}
			suite, _ := SuiteByID(resp.Suite)
			ske, err := ParseServerKeyExchange(resp.ServerKeyExchange, suite.KeyExchange, suite.Auth, resp.Version)
			if err != nil {
				t.Fatalf("ParseServerKeyExchange(%s): %v", suite.Name, err)
			}
			// Before TLS 1.2 the signature carries no algorithm.
			if ske.SignatureScheme != 0 || len(ske.Signature) == 0 {
				t.Errorf("ServerKeyExchange signature = scheme 0x%04x, %d bytes; want none, some", ske.SignatureScheme, len(ske.Signature))
			}
		})
	}
}

func TestExchangeOpenSSLClientAuth(t *testing.T) {
	// -Verify makes s_server require a client certificate; -CAfile names
	// the CAs it lists in its CertificateRequest.
	dir := t.TempDir()
	ca := pemCA(t, dir)
	srv := startOpenSSL(t, "-Verify", "1", "-CAfile", ca)
	resp, err := exchange(t, srv.addr, ClientHelloSpec{Version: VersionTLS12, Suites: SuiteIDs(SuitesFor(VersionTLS12))})
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	cr := resp.CertificateRequest
	if cr == nil {
		t.Fatalf("no CertificateRequest")
	}
	if len(cr.CertificateAuthorities) != 1 || len(cr.SignatureSchemes) == 0 || !slices.Contains(cr.CertificateTypes, 64) {
		t.Errorf("CertificateRequest = %d CAs, %d schemes, types %v; want 1 CA, some schemes, ecdsa_sign",
			len(cr.CertificateAuthorities), len(cr.SignatureSchemes), cr.CertificateTypes)
	}
}

// pemCA writes a CA certificate for -CAfile and returns its path.
func pemCA(t *testing.T, dir string) string {
	t.Helper()
	leaf, _ := testLeaf(t)
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Root().Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
