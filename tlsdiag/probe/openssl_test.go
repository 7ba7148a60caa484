package probe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

const opensslPath = "/usr/bin/openssl"

// needOpenSSL skips the test where the machine has no openssl (CI installs it).
func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(opensslPath); err != nil {
		t.Skipf("%s not found", opensslPath)
	}
}

// startOpenSSL runs `openssl s_server -www` on a free loopback port with cert (and its chain
// up to, not including, the root) and the given arguments, and returns the address. The server is killed
// when the test ends.
func startOpenSSL(t *testing.T, cert *pkitest.Cert, args ...string) string {
	t.Helper()
	needOpenSSL(t)
	dir := t.TempDir()
	certFile := writeFile(t, dir, "cert.pem", cert.CertPEM())
	keyFile := writeFile(t, dir, "key.pem", cert.KeyPEM())
	chainFile := writeFile(t, dir, "chain.pem", pkitest.PEM(cert.Chain()[1:]...))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()

	argv := append([]string{"s_server", "-accept", addr, "-cert", certFile, "-key", keyFile, "-cert_chain", chainFile, "-www", "-quiet", "-no_cache"}, args...)
	cmd := exec.Command(opensslPath, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting openssl s_server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			t.Fatalf("openssl s_server %s exited: %s", strings.Join(args, " "), out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("openssl s_server did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path, err := pkitest.WriteFile(dir, name, data)
	if err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
	return path
}

var cipherLine = regexp.MustCompile(`0x([0-9A-F]{2}),0x([0-9A-F]{2}) - \S+\s+(\S+)`)

// opensslSuites asks `openssl ciphers` which suites the given cipher strings select, in
// order, and returns their IANA names: TLS 1.3 suites and the others apart.
func opensslSuites(t *testing.T, ciphersuites, cipher string) (tls13, tls12 []string) {
	t.Helper()
	needOpenSSL(t)
	out, err := exec.Command(opensslPath, "ciphers", "-V", "-s", "-ciphersuites", ciphersuites, cipher).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl ciphers: %v: %s", err, out)
	}
	for _, m := range cipherLine.FindAllStringSubmatch(string(out), -1) {
		hi, _ := strconv.ParseUint(m[1], 16, 8)
		lo, _ := strconv.ParseUint(m[2], 16, 8)
		name := tlswire.SuiteName(uint16(hi<<8 | lo))
		if m[3] == "TLSv1.3" {
			tls13 = append(tls13, name)
		} else {
			tls12 = append(tls12, name)
		}
	}
	return tls13, tls12
}

func TestScanOpenSSL(t *testing.T) {
	t.Parallel()
	p := pkiOnce()
	const (
		ciphersuites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"
		cipher       = "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:" +
			"ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:" +
			"DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305:" +
			"DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:" +
			"AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256:AES256-SHA:AES128-SHA:" +
			"CAMELLIA256-SHA:CAMELLIA128-SHA:DHE-RSA-CAMELLIA256-SHA:DHE-RSA-CAMELLIA128-SHA:" +
			"ARIA256-GCM-SHA384:ARIA128-GCM-SHA256:@SECLEVEL=0"
	)
	want13, want12 := opensslSuites(t, ciphersuites, cipher)
	if n := len(want13) + len(want12); n < 25 {
		t.Fatalf("openssl selects only %d suites; the test wants about 30", n)
	}
	addr := startOpenSSL(t, p.rsaLeaf, "-serverpref", "-no_ssl3", "-no_tls1", "-no_tls1_1",
		"-ciphersuites", ciphersuites, "-cipher", cipher)

	cfg := Config{Address: addr, Expect: expect(p), Timeout: 20 * time.Second, Scan: true}
	start := time.Now()
	facts, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("scan of %d suites took %v", len(want13)+len(want12), time.Since(start))

	s := facts.Server
	if s == nil {
		t.Fatal("Server = nil; want the scan's results")
	}
	if got, want := strings.Join(s.Versions, ","), "TLSv1.2,TLSv1.3"; got != want {
		t.Errorf("Versions = %s; want %s", got, want)
	}
	if got, want := strings.Join(s.VersionsProbed, ","), "SSLv3,TLSv1.0,TLSv1.1,TLSv1.2,TLSv1.3"; got != want {
		t.Errorf("VersionsProbed = %s; want %s", got, want)
	}
	if !s.SuitesComplete {
		t.Errorf("SuitesComplete = false; want true (errors %q)", s.Errors)
	}
	for v, want := range map[string][]string{"TLSv1.3": want13, "TLSv1.2": want12} {
		if got := s.Suites[v]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Suites[%s] =\n%q\nwant (server order)\n%q", v, got, want)
		}
	}
	if len(s.Errors) > 0 {
		t.Errorf("Errors = %q; want none", s.Errors)
	}
}

// TestRunOpenSSL checks the facts recorded against openssl s_server set up with the
// defects of the catalog.
func TestRunOpenSSL(t *testing.T) {
	t.Parallel()
	p := pkiOnce()
	all := "SSLv3,TLSv1.0,TLSv1.1,TLSv1.2,TLSv1.3"
	tests := []struct {
		name     string
		cert     *pkitest.Cert
		args     func(dir string) []string
		expect   func(e *tlsdiag.Expectations)
		attempts string
		want     *serverWant
		check    func(t *testing.T, a *tlsdiag.Attempt)
	}{
		{
			name:     "TLS 1.0-only server",
			cert:     p.rsaLeaf,
			args:     func(string) []string { return []string{"-tls1", "-cipher", "DEFAULT@SECLEVEL=0"} },
			attempts: "configured",
			want:     &serverWant{versions: "TLSv1.0", probed: all},
			check: func(t *testing.T, a *tlsdiag.Attempt) {
				if a.AlertReceived == nil && a.Closed == "" {
					t.Errorf("configured: no alert and no close; want the server to refuse the hello (error %q)", a.Error)
				}
			},
		},
		{
			name:     "cipher mismatch",
			cert:     p.rsaLeaf,
			args:     func(string) []string { return []string{"-tls1_2", "-cipher", "AES128-SHA"} },
			attempts: "configured",
			want: &serverWant{versions: "TLSv1.2", probed: all, complete: true,
				suites: map[string][]string{"TLSv1.2": {"TLS_RSA_WITH_AES_128_CBC_SHA"}}},
			check: func(t *testing.T, a *tlsdiag.Attempt) {
				if got := alertString(a.AlertReceived); got != "handshake_failure@client-hello" {
					t.Errorf("configured: AlertReceived = %q; want handshake_failure@client-hello", got)
				}
			},
		},
	}
	for _, vers := range []string{"-tls1_3", "-tls1_2"} {
		clientRootDN := p.clientRoot.Cert.Subject.String()
		tests = append(tests,
			struct {
				name     string
				cert     *pkitest.Cert
				args     func(dir string) []string
				expect   func(e *tlsdiag.Expectations)
				attempts string
				want     *serverWant
				check    func(t *testing.T, a *tlsdiag.Attempt)
			}{
				name: "client certificate accepted " + vers,
				cert: p.leaf,
				args: func(dir string) []string {
					return []string{vers, "-Verify", "1", "-verify_return_error", "-CAfile", writeFile(t, dir, "ca.pem", p.clientRoot.CertPEM())}
				},
				expect: func(e *tlsdiag.Expectations) {
					c := p.clientLeaf.TLS()
					e.ClientCert = &c
				},
				attempts: "configured",
				check: func(t *testing.T, a *tlsdiag.Attempt) {
					if !a.Completed || a.ClientCertSent != 1 {
						t.Errorf("configured: Completed = %v, ClientCertSent = %d; want true, 1 (error %q)", a.Completed, a.ClientCertSent, a.Error)
					}
					checkCAs(t, a, clientRootDN)
				},
			},
			struct {
				name     string
				cert     *pkitest.Cert
				args     func(dir string) []string
				expect   func(e *tlsdiag.Expectations)
				attempts string
				want     *serverWant
				check    func(t *testing.T, a *tlsdiag.Attempt)
			}{
				name: "client certificate missing " + vers,
				cert: p.leaf,
				args: func(dir string) []string {
					return []string{vers, "-Verify", "1", "-verify_return_error", "-CAfile", writeFile(t, dir, "ca.pem", p.clientRoot.CertPEM())}
				},
				attempts: "configured",
				check: func(t *testing.T, a *tlsdiag.Attempt) {
					want := "certificate_required@post-handshake"
					if vers == "-tls1_2" {
						want = "handshake_failure@client-certificate"
					}
					if a.Completed || a.ClientCertSent != 0 || alertString(a.AlertReceived) != want {
						t.Errorf("configured: Completed = %v, ClientCertSent = %d, AlertReceived = %q; want false, 0, %q",
							a.Completed, a.ClientCertSent, alertString(a.AlertReceived), want)
					}
					checkCAs(t, a, clientRootDN)
				},
			},
			struct {
				name     string
				cert     *pkitest.Cert
				args     func(dir string) []string
				expect   func(e *tlsdiag.Expectations)
				attempts string
				want     *serverWant
				check    func(t *testing.T, a *tlsdiag.Attempt)
			}{
				name: "client certificate rejected " + vers,
				cert: p.leaf,
				args: func(dir string) []string {
					// The server names the intermediate but cannot reach a root: it lists the
					// CA, the client sends its certificate, the server refuses it.
					return []string{vers, "-Verify", "1", "-verify_return_error", "-CAfile", writeFile(t, dir, "ca.pem", p.clientInter.CertPEM())}
				},
				expect: func(e *tlsdiag.Expectations) {
					c := p.clientViaInter.TLS(p.clientInter.Cert)
					e.ClientCert = &c
				},
				attempts: "configured,without-client-cert",
				check: func(t *testing.T, a *tlsdiag.Attempt) {
					step := "post-handshake"
					if vers == "-tls1_2" {
						step = "client-certificate"
					}
					if a.Completed || a.ClientCertSent != 2 || alertString(a.AlertReceived) != "unknown_ca@"+step {
						t.Errorf("configured: Completed = %v, ClientCertSent = %d, AlertReceived = %q; want false, 2, unknown_ca@%s",
							a.Completed, a.ClientCertSent, alertString(a.AlertReceived), step)
					}
					checkCAs(t, a, p.clientInter.Cert.Subject.String())
				},
			},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := startOpenSSL(t, tt.cert, tt.args(t.TempDir())...)
			e := expect(p)
			if tt.expect != nil {
				tt.expect(e)
			}
			f, err := Run(context.Background(), Config{Address: addr, Expect: e, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := attemptNames(f); got != tt.attempts {
				t.Errorf("attempts = %s; want %s", got, tt.attempts)
			}
			checkServer(t, f.Server, tt.want)
			if tt.check != nil {
				tt.check(t, f.Attempts[0])
			}
		})
	}
}

func checkCAs(t *testing.T, a *tlsdiag.Attempt, want ...string) {
	t.Helper()
	if a.CertRequest == nil {
		t.Errorf("CertRequest = nil; want acceptable CAs %q", want)
		return
	}
	if fmt.Sprint(a.CertRequest.AcceptableCAs) != fmt.Sprint(want) {
		t.Errorf("AcceptableCAs = %q; want %q", a.CertRequest.AcceptableCAs, want)
	}
	if len(a.CertRequest.RawAcceptableCAs) != len(want) {
		t.Errorf("%d raw acceptable CAs; want %d", len(a.CertRequest.RawAcceptableCAs), len(want))
	}
}
