package inbound_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/gateway/inbound"
	"github.com/tlsgate/tlsgate/internal/tooltest"
)

// nginxPage is nginx's 400 page for msg, as captured from nginx 1.22 with server_tokens
// off; TestPagesMatchNginx checks it against the nginx on this machine.
func nginxPage(msg string) string {
	return "<html>\r\n<head><title>400 " + msg + "</title></head>\r\n<body>\r\n" +
		"<center><h1>400 Bad Request</h1></center>\r\n<center>" + msg + "</center>\r\n" +
		"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
}

func TestTwoWayFaults(t *testing.T) {
	p := newPKI(t)
	vhs := p.vhosts()
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{})
	base := []string{"--cacert", p.file("rootB.pem")}
	withCert := func(name string, extra ...string) []string {
		return append(append(append([]string{}, base...), "--cert", p.file(name+".pem"), "--key", p.file(name+".key")), extra...)
	}

	tests := []struct {
		name  string
		args  []string
		cause string
		page  string // "" for JSON
		code  string
	}{
		{"no certificate", append(base, "--http1.1"), "inbound.clientcert.missing", "No required SSL certificate was sent", ""},
		{"no certificate, HTTP/2", append(base, "--http2"), "inbound.clientcert.missing", "No required SSL certificate was sent", ""},
		{"no certificate, JSON", append(base, "--http1.1", "-H", "Accept: application/json"), "inbound.clientcert.missing", "", "router.ssl.CertificateRequired"},
		{"expired certificate", withCert("expired", "--http1.1"), "inbound.clientcert.expired", "The SSL certificate error", ""},
		{"expired certificate, JSON", withCert("expired", "-H", "Accept: text/html;q=0.5, application/json"), "inbound.clientcert.expired", "", "router.ssl.CertificateError"},
		{"certificate of another CA", withCert("other", "--http1.1"), "inbound.clientcert.untrusted", "The SSL certificate error", ""},
		{"certificate of another CA, browser Accept", withCert("other", "-H", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), "inbound.clientcert.untrusted", "The SSL certificate error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.curl(t, "pay.mtls.example.com", tt.args...)
			if r.err != nil {
				t.Fatalf("curl: %v: %s", r.err, r.stderr)
			}
			if r.status != "400" {
				t.Errorf("got status %s; want 400", r.status)
			}
			if got := r.header.Get("X-Tlsgate-Cause"); got != tt.cause {
				t.Errorf("got X-Tlsgate-Cause %q; want %q", got, tt.cause)
			}
			if got := r.header.Get("X-Tlsgate-Message-Id"); got != "msg-1" {
				t.Errorf("got X-Tlsgate-Message-Id %q; want msg-1", got)
			}
			if r.version == "1.1" && r.header.Get("Connection") != "close" {
				t.Errorf("got Connection %q over HTTP/1.1; want close", r.header.Get("Connection"))
			}
			if tt.page != "" {
				if got, want := string(r.body), nginxPage(tt.page); got != want {
					t.Errorf("got body %q; want nginx's %q", got, want)
				}
				if ct := r.header.Get("Content-Type"); ct != "text/html" {
					t.Errorf("got Content-Type %q; want text/html", ct)
				}
				return
			}
			var fault struct {
				Fault struct {
					FaultString string                                       `json:"faultstring"`
					Detail      struct{ ErrorCode, Cause, MessageID string } `json:"detail"`
				} `json:"fault"`
			}
			if err := json.Unmarshal(r.body, &fault); err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			d := fault.Fault.Detail
			if d.ErrorCode != tt.code || d.Cause != tt.cause || d.MessageID != "msg-1" || fault.Fault.FaultString == "" {
				t.Errorf("got fault %s; want errorcode %s, cause %s, messageid msg-1 and a faultstring", r.body, tt.code, tt.cause)
			}
		})
	}

	t.Run("CertificateRequest lists the truststore", func(t *testing.T) {
		out := ts.sClient(t, "-servername", "pay.mtls.example.com", "-CAfile", p.file("rootB.pem"))
		if !strings.Contains(out, "Acceptable client certificate CA names") || !strings.Contains(out, "CN = Client CA") {
			t.Errorf("s_client shows no acceptable CA \"Client CA\":\n%s", out)
		}
	})
}

func TestCheckClientDetail(t *testing.T) {
	p := newPKI(t)
	vh := p.vhosts()[1]
	check := func(t *testing.T, certs []*x509.Certificate, cause string, want ...string) {
		t.Helper()
		v := inbound.CheckClient(connState(certs...), vh, time.Now())
		if v == nil {
			t.Fatalf("got no verdict; want %s", cause)
		}
		if v.Cause != cause {
			t.Errorf("got cause %s (%s); want %s", v.Cause, v.Detail, cause)
		}
		for _, w := range want {
			if !strings.Contains(v.Detail, w) {
				t.Errorf("detail %q lacks %q", v.Detail, w)
			}
		}
	}
	t.Run("healthy", func(t *testing.T) {
		if v := inbound.CheckClient(connState(p.client.Cert), vh, time.Now()); v != nil {
			t.Errorf("got %+v; want nil", v)
		}
	})
	t.Run("client auth off", func(t *testing.T) {
		if v := inbound.CheckClient(connState(), p.vhosts()[0], time.Now()); v != nil {
			t.Errorf("got %+v; want nil", v)
		}
	})
	t.Run("missing names the CAs asked for", func(t *testing.T) {
		check(t, nil, "inbound.clientcert.missing", "CN=Client CA", "truststore clientCAs (through reference clientRef)")
	})
	t.Run("expired says when", func(t *testing.T) {
		check(t, []*x509.Certificate{p.clientExpired.Cert}, "inbound.clientcert.expired", "CN=old-app", "expired")
	})
	t.Run("not yet valid is expired too", func(t *testing.T) {
		later := time.Now().Add(-2 * 366 * 24 * time.Hour) // before the certificate's notBefore
		v := inbound.CheckClient(connState(p.client.Cert), vh, later)
		if v == nil || v.Cause != "inbound.clientcert.expired" {
			t.Errorf("got %+v; want inbound.clientcert.expired", v)
		}
	})
	t.Run("untrusted names the missing issuer and the truststore", func(t *testing.T) {
		check(t, []*x509.Certificate{p.other.Cert}, "inbound.clientcert.untrusted", "CN=Other CA", "truststore clientCAs", "CN=Client CA")
	})
}

// TestPagesMatchNginx runs nginx with ssl_verify_client on and compares its 400 pages,
// byte for byte, with the gateway's.
func TestPagesMatchNginx(t *testing.T) {
	tooltest.Need(t, "nginx", "")
	tooltest.Need(t, "curl", "")
	p := newPKI(t)
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  access_log off;
  server_tokens off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server {
    listen 127.0.0.1:%[2]d ssl;
    ssl_certificate %[3]s; ssl_certificate_key %[4]s;
    ssl_client_certificate %[5]s; ssl_verify_client on;
    location / { return 200 "ok"; }
  }
}
`, dir, port, p.file("leafA.pem"), p.file("leafA.key"), p.file("clientRoot.pem"))
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// nginx's output goes to a file: its workers inherit it, and a pipe would keep Wait
	// waiting for them. SIGTERM makes the master stop its workers before it exits.
	out, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("nginx", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("nginx did not stop on SIGTERM")
		}
	})
	waitPort(t, port)
	nginxSaid := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return string(b)
	}

	ng := &testServer{port: port}
	vhs := p.vhosts()
	ts := startServer(t, func() []*inbound.VirtualHost { return vhs }, inbound.Options{})
	for _, tt := range []struct{ name, page string }{
		{"", "No required SSL certificate was sent"},
		{"other", "The SSL certificate error"},
	} {
		args := []string{"--http1.1", "--cacert", p.file("rootA.pem")}
		mine := []string{"--http1.1", "--cacert", p.file("rootB.pem")}
		if tt.name != "" {
			cert := []string{"--cert", p.file(tt.name + ".pem"), "--key", p.file(tt.name + ".key")}
			args, mine = append(args, cert...), append(mine, cert...)
		}
		want := ng.curl(t, "api.example.com", args...)
		if want.err != nil || want.status != "400" {
			t.Fatalf("nginx: got %s %v %s; nginx said %s", want.status, want.err, want.stderr, nginxSaid())
		}
		got := ts.curl(t, "pay.mtls.example.com", mine...)
		if string(got.body) != string(want.body) {
			t.Errorf("got page %q; nginx's is %q", got.body, want.body)
		}
		if string(want.body) != nginxPage(tt.page) {
			t.Errorf("nginx's page is %q; the tests expect %q", want.body, nginxPage(tt.page))
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Connection"} {
			if got.header.Get(h) != want.header.Get(h) {
				t.Errorf("got %s %q; nginx sends %q", h, got.header.Get(h), want.header.Get(h))
			}
		}
	}
	t.Run("plain HTTP to the TLS port", func(t *testing.T) {
		want := plainHTTP(t, port)
		got := plainHTTP(t, ts.port)
		_, wantBody, _ := strings.Cut(want, "\r\n\r\n")
		_, gotBody, _ := strings.Cut(got, "\r\n\r\n")
		if gotBody != wantBody || !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") {
			t.Errorf("got %q; nginx answers %q", got, want)
		}
	})
}

// connState is the state of a connection whose client sent certs.
func connState(certs ...*x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
}

// plainHTTP sends a plain HTTP request to port and returns the raw answer.
func plainHTTP(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: test\r\n\r\n")
	var b bytes.Buffer
	_, _ = b.ReadFrom(c)
	return b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on port %d", port)
}
