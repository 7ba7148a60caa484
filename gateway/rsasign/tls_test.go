//go:build cgo && linux

package rsasign

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// serverCert mints a self-signed certificate for 127.0.0.1 with an RSA-2048 key and
// returns it with its key wrapped by Wrap.
func serverCert(t *testing.T) (*x509.Certificate, *Key) {
	t.Helper()
	c := pkitest.NewSelfSigned(pkitest.Options{CommonName: "rsasign test", Key: pkitest.RSA2048,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	return c.Cert, wrap(t, c.Key)
}

// serveOne accepts one connection on 127.0.0.1 with config, completes its
// handshake, reads until the client closes, and sends the handshake's
// outcome on the returned channel.
func serveOne(t *testing.T, config *tls.Config) (addr string, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			ch <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(conn, config)
		err = tc.Handshake()
		ch <- err
		if err == nil {
			io.Copy(io.Discard, tc)
		}
	}()
	return ln.Addr().String(), ch
}

func TestTLSHandshake(t *testing.T) {
	cert, serverKey := serverCert(t)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	caFile := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(caFile, pkitest.PEM(cert), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		ecdheGCM  = tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
		ecdheGCM2 = tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
		ecdheCBC  = tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
		rsaKex    = tls.TLS_RSA_WITH_AES_128_GCM_SHA256
	)
	tests := []struct {
		name    string
		version uint16
		suites  []uint16 // the server's and the Go client's; nil for the default
		openssl []string // s_client's arguments; nil for a crypto/tls client
		sigType string   // the signature type s_client must report, if any
		signs   uint64   // signatures the server makes
	}{
		{"go tls1.3", tls.VersionTLS13, nil, nil, "", 1},
		{"go tls1.2 ecdhe-rsa", tls.VersionTLS12, []uint16{ecdheGCM}, nil, "", 1},
		{"go tls1.0 ecdhe-rsa md5sha1", tls.VersionTLS10, []uint16{ecdheCBC}, nil, "", 1},
		{"go tls1.2 rsa key exchange", tls.VersionTLS12, []uint16{rsaKex}, nil, "", 0},
		{"openssl tls1.3", tls.VersionTLS13, nil, []string{"-tls1_3"}, "RSA-PSS", 1},
		{"openssl tls1.2 pss", tls.VersionTLS12, []uint16{ecdheGCM},
			[]string{"-tls1_2", "-sigalgs", "rsa_pss_rsae_sha256"}, "RSA-PSS", 1},
		{"openssl tls1.2 pkcs1", tls.VersionTLS12, []uint16{ecdheGCM2},
			[]string{"-tls1_2", "-sigalgs", "RSA+SHA384"}, "RSA", 1},
		{"openssl tls1.2 rsa key exchange", tls.VersionTLS12, []uint16{rsaKex},
			[]string{"-tls1_2", "-cipher", "AES128-GCM-SHA256"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.openssl != nil {
				if _, err := exec.LookPath("openssl"); err != nil {
					t.Skip("no openssl command:", err)
				}
			}
			config := &tls.Config{
				Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: serverKey, Leaf: cert}},
				MinVersion:   tt.version,
				MaxVersion:   tt.version,
				CipherSuites: tt.suites,
			}
			before := libcryptoSigns.Load()
			addr, done := serveOne(t, config)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tt.openssl == nil {
				goClient(ctx, t, addr, &tls.Config{
					RootCAs:      roots,
					ServerName:   "127.0.0.1",
					MinVersion:   tt.version,
					MaxVersion:   tt.version,
					CipherSuites: tt.suites,
				})
			} else {
				opensslClient(ctx, t, addr, caFile, tt.openssl, tt.sigType)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("server handshake: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("server handshake: timed out")
			}
			if got := libcryptoSigns.Load() - before; got != tt.signs {
				t.Errorf("libcrypto made %d signatures; want %d", got, tt.signs)
			}
		})
	}
}

// goClient completes a handshake with addr with crypto/tls.
func goClient(ctx context.Context, t *testing.T, addr string, config *tls.Config) {
	t.Helper()
	d := tls.Dialer{Config: config}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	if state.Version != config.MaxVersion {
		t.Errorf("version = %s; want %s", tls.VersionName(state.Version), tls.VersionName(config.MaxVersion))
	}
	if len(config.CipherSuites) > 0 && state.CipherSuite != config.CipherSuites[0] {
		t.Errorf("cipher suite = %s; want %s", tls.CipherSuiteName(state.CipherSuite), tls.CipherSuiteName(config.CipherSuites[0]))
	}
}

// opensslClient completes a handshake with addr with openssl s_client,
// which must verify the server's certificate and signature; sigType is the "Signature type" it must report, if not "".
func opensslClient(ctx context.Context, t *testing.T, addr, caFile string, args []string, sigType string) {
	t.Helper()
	args = append([]string{"s_client", "-connect", addr, "-brief",
		"-CAfile", caFile, "-verify_return_error", "-verify_ip", "127.0.0.1"}, args...)
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CONNECTION ESTABLISHED") {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if want := "Signature type: " + sigType + "\n"; sigType != "" && !strings.Contains(string(out), want) {
		t.Errorf("openssl s_client reported\n%s\nwant %q", out, want)
	}
}
