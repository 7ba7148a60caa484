package inbound_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/inbound"
)

func TestHandshakeFailuresAreClassified(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	// api.example.com's virtual host also answers to a name its certificate lacks.
	vhs[0].HostAliases = append(vhs[0].HostAliases, "legacy.example.com")
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{})

	tests := []struct {
		name   string
		client func(t *testing.T) string // runs the client, returns what it printed
		cause  string
		check  func(t *testing.T, f inbound.Failure, out string)
	}{{
		name: "TLS 1.0 only against TLS 1.2+",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "api.example.com", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
		},
		cause: "inbound.protocol.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantList(t, "offered versions", f.Offered.Versions, []string{"TLSv1.0"})
			wantList(t, "accepted versions", f.Accepted.Versions, []string{"TLSv1.2", "TLSv1.3"})
			wantContains(t, "alert", f.Alert, "sent protocol_version")
			wantContains(t, "detail", f.Detail, "ssl_protocols")
			wantContains(t, "openssl's output", out, "alert number 70")
		},
	}, {
		name: "TLS 1.1 only against TLS 1.2+",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "pay.mtls.example.com", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
		},
		cause: "inbound.protocol.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantList(t, "offered versions", f.Offered.Versions, []string{"TLSv1.1", "TLSv1.0"})
			if f.VirtualHost != "partners" {
				t.Errorf("got virtual host %q; want partners", f.VirtualHost)
			}
		},
	}, {
		name: "TLS 1.2 with a suite the virtual host does not accept",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "pay.mtls.example.com", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")
		},
		cause: "inbound.cipher.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantList(t, "offered suites", f.Offered.Suites, []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"})
			wantList(t, "accepted suites", f.Accepted.Suites, []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"})
			wantContains(t, "detail", f.Detail, "In TLSv1.2")
			wantContains(t, "alert", f.Alert, "sent handshake_failure")
		},
	}, {
		name: "TLS 1.2 with RSA suites against an ECDSA certificate",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "api.example.com", "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
		},
		cause: "inbound.cipher.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			if slices.Contains(f.Accepted.Suites, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") || len(f.Accepted.Suites) == 0 {
				t.Errorf("got accepted suites %v; want the ECDSA ones only", f.Accepted.Suites)
			}
			wantContains(t, "detail", f.Detail, "another key type")
			wantContains(t, "detail", f.Detail, "keystore gatewayKS (through reference gatewayRef) alias api")
		},
	}, {
		name: "TLS 1.3 with key exchange groups the gateway does not accept",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "api.example.com", "-tls1_3", "-groups", "ffdhe2048:ffdhe3072")
		},
		cause: "inbound.cipher.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "detail", f.Detail, "key exchange groups ffdhe2048, ffdhe3072")
			wantContains(t, "detail", f.Detail, "X25519")
			wantContains(t, "alert", f.Alert, "sent handshake_failure")
		},
	}, {
		name: "TLS 1.2 with key exchange groups the gateway does not accept",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "api.example.com", "-tls1_2", "-groups", "ffdhe2048")
		},
		cause: "inbound.cipher.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			// OpenSSL sends no supported_groups in TLS 1.2 without an elliptic curve.
			wantContains(t, "detail", f.Detail, "In TLSv1.2 the client offered no elliptic curve")
		},
	}, {
		name: "unknown server name",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "nosuch.example.org")
		},
		cause: "inbound.sni.unknown",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "openssl's output", out, "alert number 112")
			wantContains(t, "alert", f.Alert, "sent unrecognized_name")
			wantContains(t, "detail", f.Detail, "api.example.com")
			wantContains(t, "detail", f.Detail, "*.mtls.example.com")
			if f.ServerName != "nosuch.example.org" || f.VirtualHost != "" {
				t.Errorf("got server name %q, virtual host %q; want nosuch.example.org and none", f.ServerName, f.VirtualHost)
			}
		},
	}, {
		name: "curl without the CA refuses the certificate",
		client: func(t *testing.T) string {
			r := ts.curl(t, "api.example.com")
			if r.err == nil {
				t.Errorf("curl succeeded without the CA")
			}
			return r.stderr
		},
		cause: "inbound.cert.rejected-by-client",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "alert", f.Alert, "received unknown_ca")
			wantContains(t, "detail", f.Detail, `"api.example.com", matches the certificate`)
			wantContains(t, "detail", f.Detail, "CN=api.example.com (issued by CN=Test Intermediate A) <- CN=Test Intermediate A (issued by CN=Test Root A)")
		},
	}, {
		name: "a client asking for a name the certificate lacks",
		client: func(t *testing.T) string {
			return ts.sClient(t, "-servername", "legacy.example.com", "-CAfile", p.file("rootA.pem"),
				"-verify_hostname", "legacy.example.com", "-verify_return_error")
		},
		cause: "inbound.cert.rejected-by-client",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "detail", f.Detail, `"legacy.example.com", does not match the certificate`)
			wantContains(t, "detail", f.Detail, "dns api.example.com")
		},
	}, {
		name: "curl refusing the name after a TLS 1.3 handshake",
		client: func(t *testing.T) string {
			r := ts.curl(t, "legacy.example.com", "--cacert", p.file("rootA.pem"))
			if r.err == nil {
				t.Errorf("curl accepted a certificate without the name")
			}
			return r.stderr
		},
		cause: "inbound.cert.rejected-by-client",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "curl's error", out, "no alternative certificate subject name")
			wantContains(t, "detail", f.Detail, "then closed the connection without a request")
			wantContains(t, "detail", f.Detail, `"legacy.example.com", does not match the certificate`)
			wantContains(t, "detail", f.Detail, "Fix: have the client call a name the certificate holds")
		},
	}, {
		name: "curl refusing the name after a TLS 1.2 handshake, HTTP/1.1",
		client: func(t *testing.T) string {
			return ts.curl(t, "legacy.example.com", "--cacert", p.file("rootA.pem"), "--tls-max", "1.2", "--http1.1").stderr
		},
		cause: "inbound.cert.rejected-by-client",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "detail", f.Detail, "close_notify")
			wantList(t, "offered versions", f.Offered.Versions[:1], []string{"TLSv1.2"})
		},
	}, {
		name: "plain HTTP to the TLS port",
		client: func(t *testing.T) string {
			return plainHTTP(t, ts.port)
		},
		cause: "tls.not-tls",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "answer", out, "HTTP/1.1 400 Bad Request\r\n")
			wantContains(t, "answer", out, nginxPage("The plain HTTP request was sent to HTTPS port"))
			wantContains(t, "detail", f.Detail, "HTTP")
			wantContains(t, "detail", f.Detail, `GET / HTTP/1.1`)
		},
	}, {
		name: "an SSH client",
		client: func(t *testing.T) string {
			return rawExchange(t, ts.port, "SSH-2.0-OpenSSH_9.2\r\n")
		},
		cause: "tls.not-tls",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "detail", f.Detail, "SSH")
			if out != "" {
				t.Errorf("an SSH client got %q; want nothing", out)
			}
		},
	}, {
		name: "an SSL 2.0 ClientHello",
		client: func(t *testing.T) string {
			// RFC 6101 appendix E.2: length 0x801c, CLIENT-HELLO, version 0x0002, 3 bytes of
			// suites, no session ID, 16 bytes of challenge.
			hello := "\x80\x1c\x01\x00\x02\x00\x03\x00\x00\x00\x10\x07\x00\xc0" + strings.Repeat("\x01", 16)
			return rawExchange(t, ts.port, hello)
		},
		cause: "inbound.protocol.mismatch",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantList(t, "offered versions", f.Offered.Versions, []string{"SSLv2"})
			wantList(t, "accepted versions", f.Accepted.Versions, []string{"TLSv1.2", "TLSv1.3"})
		},
	}, {
		name:   "a TCP health check",
		client: func(t *testing.T) string { return rawExchange(t, ts.port, "") },
		cause:  "",
		check: func(t *testing.T, f inbound.Failure, out string) {
			wantContains(t, "detail", f.Detail, "without sending anything")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drain(ts)
			out := tt.client(t)
			f := ts.waitFailure(t, tt.cause)
			if f.Title == "" || f.Err == "" || f.Time.IsZero() || f.Client == "" || f.Local != fmt.Sprintf("127.0.0.1:%d", ts.port) {
				t.Errorf("got failure %+v; want a title, an error, a time and both addresses", f)
			}
			t.Logf("%s: %s [%s]", f.Cause, f.Detail, f.Alert)
			tt.check(t, f, out)
		})
	}
	if got := ts.ln.Stats(); got["inbound.protocol.mismatch"] != 3 || got["inbound.cipher.mismatch"] != 4 || got["tls.not-tls"] != 2 {
		t.Errorf("got stats %v; want 3 protocol mismatches, 4 cipher mismatches, 2 not-TLS", got)
	}
}

// TestNameMismatchAccepted: a client that goes on despite a certificate without its name
// (curl -k) is served, and nothing is reported; neither for a name the certificate holds.
func TestNameMismatchAccepted(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	vhs[0].HostAliases = append(vhs[0].HostAliases, "legacy.example.com")
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{})
	for _, args := range [][]string{{"legacy.example.com", "-k"}, {"legacy.example.com", "-k", "--http1.1"}, {"api.example.com", "--cacert", p.file("rootA.pem")}} {
		r := ts.curl(t, args[0], args[1:]...)
		if r.err != nil || r.status != "200" || string(r.body) != "ok" {
			t.Errorf("curl %v: %v, status %q, body %q; want 200 ok (%s)", args, r.err, r.status, r.body, r.stderr)
		}
	}
	if n := ts.ln.Stats()["inbound.cert.rejected-by-client"]; n != 0 {
		t.Errorf("%d refusals reported; want none", n)
	}
}

// rawExchange sends data over TCP, half-closes, and returns what came back.
func rawExchange(t *testing.T, port int, data string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if data != "" {
		if _, err := c.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// drain forgets the failures reported so far.
func drain(ts *testServer) {
	for {
		select {
		case <-ts.failures:
		default:
			return
		}
	}
}

func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got %s %q; want %q", what, got, want)
	}
}

func wantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s %q lacks %q", what, got, want)
	}
}
