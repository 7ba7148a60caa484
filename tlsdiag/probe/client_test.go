package probe

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// echoTLS runs a crypto/tls server with conf that echoes what it reads.
func echoTLS(t *testing.T, conf *tls.Config) string {
	t.Helper()
	return startServer(t, func(c net.Conn) {
		tc := tls.Server(c, conf)
		if err := tc.Handshake(); err != nil {
			return
		}
		_, _ = io.Copy(tc, tc)
	})
}

func TestDialKeepsTheConnection(t *testing.T) {
	p := pkiOnce()
	addr := echoTLS(t, &tls.Config{Certificates: []tls.Certificate{serverCert(p.leaf)}})
	cfg := Config{Address: addr, Timeout: 300 * time.Millisecond, Expect: &tlsdiag.Expectations{
		ServerName: "backend.test", Roots: []*x509.Certificate{p.root.Cert},
	}}
	tc, a, err := Dial(t.Context(), cfg, Variant{}, ClientOptions{})
	if err != nil {
		t.Fatalf("Dial: %v (attempt %+v)", err, a)
	}
	defer tc.Close()
	checkAttempt(t, a, want{completed: true, step: tlsdiag.StepFinished, version: "TLSv1.3", clientCertSent: -1, chainLen: 2, leafCN: "backend.test", serverName: "backend.test"})
	// More than the tap's 1 MiB, after the handshake's timeout: neither bounds the connection.
	time.Sleep(400 * time.Millisecond)
	msg := bytes.Repeat([]byte("x"), 3<<20/2)
	go func() { _, _ = tc.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(tc, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Error("echo differs")
	}
}

func TestDialFailureRecorded(t *testing.T) {
	p := pkiOnce()
	addr := echoTLS(t, &tls.Config{Certificates: []tls.Certificate{serverCert(p.expiredLeaf)}})
	cfg := Config{Address: addr, Expect: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{p.root.Cert}}}
	tc, a, err := Dial(t.Context(), cfg, Variant{}, ClientOptions{})
	var cve *tls.CertificateVerificationError
	if tc != nil || !errors.As(err, &cve) {
		t.Fatalf("Dial = %v, %v; want a verification error", tc, err)
	}
	checkAttempt(t, a, want{step: tlsdiag.StepServerCertificate, version: "TLSv1.3", alertSent: "bad_certificate@server-certificate", clientCertSent: -1, verifyError: "expired", chainLen: 2, leafCN: "backend.test", serverName: "backend.test"})

	tc, a, err = Dial(t.Context(), cfg, Variant{}, ClientOptions{Insecure: true})
	if err != nil {
		t.Fatalf("Insecure: %v", err)
	}
	tc.Close()
	if !a.Completed || len(a.Chain) != 2 || a.VerifyError != "" {
		t.Errorf("Insecure: attempt %+v; want completed with the chain recorded", a)
	}

	_, a, err = Dial(t.Context(), Config{Address: closedPort(t)}, Variant{}, ClientOptions{})
	if err == nil || a.DialErrorKind != "refused" || DialErrorKind(err) != "refused" {
		t.Errorf("closed port: %v, kind %q", err, a.DialErrorKind)
	}
}

func TestDialVerifyName(t *testing.T) {
	p := pkiOnce()
	addr := echoTLS(t, &tls.Config{Certificates: []tls.Certificate{serverCert(p.defaultLeaf)}})
	cfg := Config{Address: addr, Expect: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{p.root.Cert}}}
	var checked string
	tc, a, err := Dial(t.Context(), cfg, Variant{}, ClientOptions{VerifyName: func(leaf *x509.Certificate) error {
		checked = leaf.Subject.CommonName
		return nil
	}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	tc.Close()
	if checked != "default.test" || a.ServerName != "backend.test" {
		t.Errorf("checked %q, sent %q; want the leaf default.test judged, backend.test sent", checked, a.ServerName)
	}
	_, a, err = Dial(t.Context(), cfg, Variant{}, ClientOptions{VerifyName: func(*x509.Certificate) error { return errors.New("no") }})
	if err == nil || a.VerifyError != "no" || a.AlertSent == nil {
		t.Errorf("refusing name: %v, attempt %+v", err, a)
	}
}

func TestAlertReceived(t *testing.T) {
	p := pkiOnce()
	conf := &tls.Config{Certificates: []tls.Certificate{serverCert(p.leaf)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool(p.clientRoot)}
	addr := echoTLS(t, conf)
	cfg := Config{Address: addr, Expect: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{p.root.Cert}}}
	tc, a, err := Dial(t.Context(), cfg, Variant{}, ClientOptions{})
	if err != nil {
		t.Fatalf("Dial: %v (TLS 1.3: the server refuses after the handshake)", err)
	}
	defer tc.Close()
	if a.CertRequest == nil || a.ClientCertSent != 0 {
		t.Errorf("attempt %+v; want the CertificateRequest answered with no certificate", a)
	}
	_, err = tc.Read(make([]byte, 1))
	al, ok := AlertReceived(err)
	if !ok || al.Name != "certificate_required" {
		t.Errorf("AlertReceived(%v) = %+v, %v; want certificate_required", err, al, ok)
	}
	if _, ok := AlertReceived(io.EOF); ok {
		t.Error("AlertReceived(io.EOF) found an alert")
	}
}
