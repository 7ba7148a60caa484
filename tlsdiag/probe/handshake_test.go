package probe

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// want is what an attempt must have recorded. Strings, booleans and ClientCertSent are
// compared exactly; version, verifyError (a substring), chainLen (when not zero) and
// acceptableCAs (when not nil) only when given.
type want struct {
	completed      bool
	step           string
	version        string
	alertReceived  string
	alertSent      string
	clientCertSent int
	verifyError    string
	chainLen       int
	leafCN         string
	acceptableCAs  []string
	timedOut       bool
	closed         string
	notTLS         string
	dialErrorKind  string
	serverName     string
	offeredSuites  []string
	maxDuration    time.Duration
}

func checkAttempt(t *testing.T, a *tlsdiag.Attempt, w want) {
	t.Helper()
	if a.Completed != w.completed {
		t.Errorf("Completed = %v; want %v (error %q)", a.Completed, w.completed, a.Error)
	}
	if a.Step != w.step {
		t.Errorf("Step = %q; want %q", a.Step, w.step)
	}
	if w.version != "" && a.Version != w.version {
		t.Errorf("Version = %q; want %q", a.Version, w.version)
	}
	if got := alertString(a.AlertReceived); got != w.alertReceived {
		t.Errorf("AlertReceived = %q; want %q", got, w.alertReceived)
	}
	if got := alertString(a.AlertSent); got != w.alertSent {
		t.Errorf("AlertSent = %q; want %q", got, w.alertSent)
	}
	if a.ClientCertSent != w.clientCertSent {
		t.Errorf("ClientCertSent = %d; want %d", a.ClientCertSent, w.clientCertSent)
	}
	switch {
	case w.verifyError == "" && a.VerifyError != "":
		t.Errorf("VerifyError = %q; want none", a.VerifyError)
	case !strings.Contains(a.VerifyError, w.verifyError):
		t.Errorf("VerifyError = %q; want it to contain %q", a.VerifyError, w.verifyError)
	}
	if w.chainLen != 0 && (len(a.Chain) != w.chainLen || len(a.ChainView) != w.chainLen) {
		t.Errorf("chain has %d certificates (%d in view); want %d", len(a.Chain), len(a.ChainView), w.chainLen)
	}
	if w.leafCN != "" && (len(a.Chain) == 0 || a.Chain[0].Subject.CommonName != w.leafCN) {
		t.Errorf("leaf is not %q", w.leafCN)
	}
	if w.acceptableCAs != nil {
		if a.CertRequest == nil {
			t.Errorf("CertRequest = nil; want acceptable CAs %q", w.acceptableCAs)
		} else if !slices.Equal(a.CertRequest.AcceptableCAs, w.acceptableCAs) {
			t.Errorf("AcceptableCAs = %q; want %q", a.CertRequest.AcceptableCAs, w.acceptableCAs)
		}
	}
	if a.TimedOut != w.timedOut {
		t.Errorf("TimedOut = %v; want %v (error %q)", a.TimedOut, w.timedOut, a.Error)
	}
	if a.Closed != w.closed {
		t.Errorf("Closed = %q; want %q", a.Closed, w.closed)
	}
	var guess string
	if a.NotTLS != nil {
		guess = a.NotTLS.Guess
	}
	if guess != w.notTLS {
		t.Errorf("NotTLS guess = %q; want %q", guess, w.notTLS)
	}
	if a.DialErrorKind != w.dialErrorKind {
		t.Errorf("DialErrorKind = %q; want %q (error %q)", a.DialErrorKind, w.dialErrorKind, a.DialError)
	}
	if a.ServerName != w.serverName {
		t.Errorf("ServerName = %q; want %q", a.ServerName, w.serverName)
	}
	if w.offeredSuites != nil && !slices.Equal(a.OfferedSuites, w.offeredSuites) {
		t.Errorf("OfferedSuites = %q; want %q", a.OfferedSuites, w.offeredSuites)
	}
	if w.maxDuration != 0 && a.Duration > w.maxDuration {
		t.Errorf("Duration = %v; want at most %v", a.Duration, w.maxDuration)
	}
	if !w.completed && a.Error == "" {
		t.Errorf("Error is empty for a failed attempt")
	}
}

func alertString(a *tlsdiag.Alert) string {
	if a == nil {
		return ""
	}
	return a.Name + "@" + a.Step
}

// expect returns the expectations of a client that trusts the test root and verifies
// backend.test.
func expect(p *testPKI) *tlsdiag.Expectations {
	return &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{p.root.Cert}}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	p := pkiOnce()
	leaf := serverCert(p.leaf)
	clientCert := p.clientLeaf.TLS()
	clientRootDN := p.clientRoot.Cert.Subject.String()
	requireClient := func(vers uint16, cas ...*pkitest.Cert) *tls.Config {
		return &tls.Config{
			Certificates: []tls.Certificate{leaf}, MaxVersion: vers,
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool(cas...),
		}
	}
	withClientCert := func(e *tlsdiag.Expectations) { e.ClientCert = &clientCert }

	tests := []struct {
		name   string
		server func(t *testing.T) string
		expect func(e *tlsdiag.Expectations)
		v      Variant
		want   want
	}{
		{
			name:   "healthy one-way",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}}),
			want:   want{completed: true, step: "finished", version: "TLSv1.3", chainLen: 2, clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "healthy two-way TLS 1.3",
			server: tlsServer(requireClient(tls.VersionTLS13, p.clientRoot)),
			expect: withClientCert,
			want: want{completed: true, step: "finished", version: "TLSv1.3", chainLen: 2, clientCertSent: 1,
				acceptableCAs: []string{clientRootDN}, serverName: "backend.test"},
		},
		{
			name:   "healthy two-way TLS 1.2",
			server: tlsServer(requireClient(tls.VersionTLS12, p.clientRoot)),
			expect: withClientCert,
			want: want{completed: true, step: "finished", version: "TLSv1.2", chainLen: 2, clientCertSent: 1,
				acceptableCAs: []string{clientRootDN}, serverName: "backend.test"},
		},
		{
			name:   "TLS 1.2-only server",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MaxVersion: tls.VersionTLS12}),
			want:   want{completed: true, step: "finished", version: "TLSv1.2", chainLen: 2, clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "TLS 1.3-only server",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS13}),
			want:   want{completed: true, step: "finished", version: "TLSv1.3", chainLen: 2, clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "TLS 1.0-only server, TLS 1.2+ client",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}),
			want:   want{step: "client-hello", alertReceived: "protocol_version@client-hello", clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "TLS 1.0-only server, TLS 1.0 client",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}),
			expect: func(e *tlsdiag.Expectations) { e.Protocols = []uint16{tls.VersionTLS10} },
			want:   want{completed: true, step: "finished", version: "TLSv1.0", chainLen: 2, clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name: "cipher mismatch",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}),
			expect: func(e *tlsdiag.Expectations) {
				e.Protocols = []uint16{tls.VersionTLS12}
				e.Ciphers = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
			},
			want: want{step: "client-hello", alertReceived: "handshake_failure@client-hello", clientCertSent: -1, serverName: "backend.test",
				offeredSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}},
		},
		{
			name:   "server requiring SNI, client sending none",
			server: sniRequiredServer(leaf),
			expect: func(e *tlsdiag.Expectations) { e.NoSNI = true },
			want:   want{step: "client-hello", alertReceived: "internal_error@client-hello", clientCertSent: -1},
		},
		{
			name:   "server requiring SNI, variant with SNI",
			server: sniRequiredServer(leaf),
			expect: func(e *tlsdiag.Expectations) { e.NoSNI = true },
			v:      Variant{Name: tlsdiag.AttemptWithSNI, SNI: ptrTo(true)},
			want:   want{completed: true, step: "finished", version: "TLSv1.3", clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "default certificate without SNI",
			server: defaultCertServer(leaf, serverCert(p.defaultLeaf)),
			expect: func(e *tlsdiag.Expectations) { e.NoSNI = true },
			want: want{step: "server-certificate", alertSent: "bad_certificate@server-certificate", clientCertSent: -1,
				verifyError: "not backend.test", leafCN: "default.test", chainLen: 2},
		},
		{
			name:   "default certificate, variant with SNI",
			server: defaultCertServer(leaf, serverCert(p.defaultLeaf)),
			expect: func(e *tlsdiag.Expectations) { e.NoSNI = true },
			v:      Variant{Name: tlsdiag.AttemptWithSNI, SNI: ptrTo(true)},
			want:   want{completed: true, step: "finished", clientCertSent: -1, leafCN: "backend.test", serverName: "backend.test"},
		},
		{
			name:   "intermediate omitted",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{p.leaf.TLS()}}),
			want: want{step: "server-certificate", alertSent: "bad_certificate@server-certificate", clientCertSent: -1,
				verifyError: "unknown authority", chainLen: 1, serverName: "backend.test"},
		},
		{
			name:   "intermediate omitted, TLS 1.2 (alert seen on the wire)",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{p.leaf.TLS()}, MaxVersion: tls.VersionTLS12}),
			want: want{step: "server-certificate", alertSent: "bad_certificate@server-certificate", clientCertSent: -1,
				verifyError: "unknown authority", chainLen: 1, serverName: "backend.test", version: "TLSv1.2"},
		},
		{
			name:   "expired leaf",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{serverCert(p.expiredLeaf)}}),
			want: want{step: "server-certificate", alertSent: "bad_certificate@server-certificate", clientCertSent: -1,
				verifyError: "expired", chainLen: 2, serverName: "backend.test"},
		},
		{
			name:   "short RSA key refused by policy",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{serverCert(p.shortRSALeaf)}}),
			want: want{step: "server-certificate", alertSent: "bad_certificate@server-certificate", clientCertSent: -1,
				verifyError: "RSA key of 1024 bits", chainLen: 2, serverName: "backend.test"},
		},
		{
			name:   "empty truststore",
			server: tlsServer(&tls.Config{Certificates: []tls.Certificate{leaf}}),
			expect: func(e *tlsdiag.Expectations) { e.Roots = nil },
			want: want{step: "server-certificate", alertSent: "bad_certificate@server-certificate", clientCertSent: -1,
				verifyError: "unknown authority", chainLen: 2, serverName: "backend.test"},
		},
		{
			name:   "client certificate required, none configured, TLS 1.3",
			server: tlsServer(requireClient(tls.VersionTLS13, p.clientRoot)),
			want: want{step: "post-handshake", alertReceived: "certificate_required@post-handshake", clientCertSent: 0,
				acceptableCAs: []string{clientRootDN}, version: "TLSv1.3", serverName: "backend.test"},
		},
		{
			name:   "client certificate required, none configured, TLS 1.2",
			server: tlsServer(requireClient(tls.VersionTLS12, p.clientRoot)),
			want: want{step: "client-certificate", alertReceived: "handshake_failure@client-certificate", clientCertSent: 0,
				acceptableCAs: []string{clientRootDN}, version: "TLSv1.2", serverName: "backend.test"},
		},
		{
			name:   "client certificate issuer not acceptable",
			server: tlsServer(requireClient(tls.VersionTLS13, p.otherCA)),
			expect: withClientCert,
			want: want{step: "post-handshake", alertReceived: "certificate_required@post-handshake", clientCertSent: 0,
				acceptableCAs: []string{p.otherCA.Cert.Subject.String()}, serverName: "backend.test"},
		},
		{
			name:   "client certificate required, variant without it",
			server: tlsServer(requireClient(tls.VersionTLS13, p.clientRoot)),
			expect: withClientCert,
			v:      Variant{Name: tlsdiag.AttemptWithoutClientCert, ClientCert: ptrTo(false)},
			want: want{step: "post-handshake", alertReceived: "certificate_required@post-handshake", clientCertSent: 0,
				acceptableCAs: []string{clientRootDN}, serverName: "backend.test"},
		},
		{
			name:   "client certificate rejected, TLS 1.3",
			server: tlsServer(requireClient(tls.VersionTLS13)),
			expect: withClientCert,
			want: want{step: "post-handshake", alertReceived: "unknown_ca@post-handshake", clientCertSent: 1,
				acceptableCAs: []string{}, serverName: "backend.test"},
		},
		{
			name:   "client certificate rejected, TLS 1.2",
			server: tlsServer(requireClient(tls.VersionTLS12)),
			expect: withClientCert,
			want: want{step: "client-certificate", alertReceived: "unknown_ca@client-certificate", clientCertSent: 1,
				acceptableCAs: []string{}, serverName: "backend.test"},
		},
		{
			name:   "plain HTTP server",
			server: httpServer,
			want:   want{step: "client-hello", notTLS: "HTTP", clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "SSH server",
			server: bannerServer("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"),
			want:   want{step: "client-hello", notTLS: "SSH", clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "closed port",
			server: closedPort,
			want:   want{step: "connect", dialErrorKind: "refused", clientCertSent: -1, serverName: "backend.test"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := expect(p)
			if tt.expect != nil {
				tt.expect(e)
			}
			cfg := Config{Address: tt.server(t), Expect: e, Timeout: 5 * time.Second}
			a := Handshake(context.Background(), cfg, tt.v)
			wantName := tt.v.Name
			if wantName == "" {
				wantName = tlsdiag.AttemptConfigured
			}
			if a.Name != wantName {
				t.Errorf("Name = %q; want %q", a.Name, wantName)
			}
			checkAttempt(t, a, tt.want)
		})
	}
}

// slack is how late a bounded attempt may end on a loaded machine: well below what the
// misbehaving servers would hold an unbounded one (tens of seconds).
const slack = 5 * time.Second

// TestHandshakeBounded checks that servers that never finish cannot hold an attempt past
// its timeout.
func TestHandshakeBounded(t *testing.T) {
	t.Parallel()
	const timeout = 800 * time.Millisecond
	tests := []struct {
		name   string
		server func(t *testing.T) string
		want   want
	}{
		{
			name:   "silent server",
			server: silentServer,
			want:   want{step: "client-hello", timedOut: true, clientCertSent: -1, serverName: "backend.test"},
		},
		{
			name:   "server dripping a byte a second",
			server: dripServer,
			want:   want{step: "client-hello", timedOut: true, clientCertSent: -1, serverName: "backend.test"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Address: tt.server(t), Expect: expect(pkiOnce()), Timeout: timeout}
			start := time.Now()
			a := Handshake(context.Background(), cfg, Variant{})
			if d := time.Since(start); d > timeout+slack {
				t.Errorf("attempt took %v; want at most %v", d, timeout)
			}
			tt.want.maxDuration = timeout + slack
			checkAttempt(t, a, tt.want)
		})
	}
	// These end in an error or a timeout, depending on how fast the machine is.
	for name, server := range map[string]func(*testing.T) string{
		"server streaming garbage":           garbageServer,
		"server streaming records endlessly": recordFloodServer,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Address: server(t), Expect: expect(pkiOnce()), Timeout: timeout}
			start := time.Now()
			a := Handshake(context.Background(), cfg, Variant{})
			if d := time.Since(start); d > timeout+slack {
				t.Errorf("attempt took %v; want at most %v", d, timeout)
			}
			if a.Completed || a.Error == "" {
				t.Errorf("Completed = %v, Error = %q; want a failure", a.Completed, a.Error)
			}
		})
	}
}

func tlsServer(conf *tls.Config) func(t *testing.T) string {
	return func(t *testing.T) string { return startTLS(t, conf) }
}

// sniRequiredServer refuses handshakes without server_name, as crypto/tls does when
// GetConfigForClient fails.
func sniRequiredServer(cert tls.Certificate) func(t *testing.T) string {
	return tlsServer(&tls.Config{
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			if hi.ServerName == "" {
				return nil, errors.New("no server_name")
			}
			return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
		},
	})
}

// defaultCertServer returns cert for server_name backend.test and def otherwise.
func defaultCertServer(cert, def tls.Certificate) func(t *testing.T) string {
	return tlsServer(&tls.Config{
		GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if hi.ServerName == "backend.test" {
				return &cert, nil
			}
			return &def, nil
		},
	})
}

// httpServer answers like a plain HTTP/1.1 server does to bytes it cannot parse.
func httpServer(t *testing.T) string {
	return startServer(t, func(c net.Conn) {
		_, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
		}
	})
}

func bannerServer(banner string) func(t *testing.T) string {
	return func(t *testing.T) string {
		return startServer(t, func(c net.Conn) {
			io.WriteString(c, banner)
			_, _ = io.Copy(io.Discard, c)
		})
	}
}

func silentServer(t *testing.T) string {
	return startServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// dripServer sends the start of a plausible ServerHello record, one byte a second.
func dripServer(t *testing.T) string {
	return startServer(t, func(c net.Conn) {
		go io.Copy(io.Discard, c)
		for _, b := range []byte{0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03} {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	})
}

// garbageServer streams random bytes until the client leaves.
func garbageServer(t *testing.T) string {
	return startServer(t, func(c net.Conn) {
		go io.Copy(io.Discard, c)
		buf := make([]byte, 32<<10)
		for {
			rand.Read(buf)
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
}

// recordFloodServer streams well-formed but endless handshake records holding a
// handshake message that never ends.
func recordFloodServer(t *testing.T) string {
	return startServer(t, func(c net.Conn) {
		go io.Copy(io.Discard, c)
		first := append([]byte{0x16, 0x03, 0x03, 0x40, 0x00, 0x02, 0x00, 0xff, 0xff}, make([]byte, 0x4000-4)...)
		if _, err := c.Write(first); err != nil {
			return
		}
		rec := append([]byte{0x16, 0x03, 0x03, 0x40, 0x00}, make([]byte, 0x4000)...)
		for {
			if _, err := c.Write(rec); err != nil {
				return
			}
		}
	})
}
