package probe

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// testPKI holds the certificates the tests' servers and clients use.
type testPKI struct {
	root, inter    *pkitest.Cert
	leaf           *pkitest.Cert // backend.test and 127.0.0.1
	defaultLeaf    *pkitest.Cert // default.test: what an SNI-less client gets
	expiredLeaf    *pkitest.Cert
	shortRSALeaf   *pkitest.Cert
	rsaLeaf        *pkitest.Cert
	clientRoot     *pkitest.Cert
	clientLeaf     *pkitest.Cert
	otherCA        *pkitest.Cert // a CA the client's certificate does not come from
	clientInter    *pkitest.Cert // an intermediate under clientRoot
	clientViaInter *pkitest.Cert // a client leaf issued by clientInter
}

var pkiOnce = sync.OnceValue(func() *testPKI {
	p := &testPKI{}
	p.root = pkitest.NewRoot("Probe Test Root")
	p.inter = p.root.Issue(pkitest.Options{CommonName: "Probe Test Intermediate", IsCA: true})
	ip := []net.IP{net.IPv4(127, 0, 0, 1)}
	p.leaf = p.inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, IPAddresses: ip})
	p.defaultLeaf = p.inter.Issue(pkitest.Options{CommonName: "default.test", DNSNames: []string{"default.test"}})
	p.expiredLeaf = p.inter.Issue(pkitest.Options{
		CommonName: "backend.test", DNSNames: []string{"backend.test"},
		NotBefore: pkitest.Epoch.Add(-48 * time.Hour), NotAfter: pkitest.Epoch.Add(-24 * time.Hour),
	})
	p.shortRSALeaf = p.inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, Key: pkitest.RSA1024})
	p.rsaLeaf = p.inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, IPAddresses: ip, Key: pkitest.RSA2048})
	p.clientRoot = pkitest.NewRoot("Probe Client Root")
	p.clientLeaf = p.clientRoot.Issue(pkitest.Options{CommonName: "gateway-client"})
	p.otherCA = pkitest.NewRoot("Probe Other Client CA")
	p.clientInter = p.clientRoot.Issue(pkitest.Options{CommonName: "Probe Client Intermediate", IsCA: true})
	p.clientViaInter = p.clientInter.Issue(pkitest.Options{CommonName: "gateway-client-2"})
	return p
})

// serverCert returns c with its chain up to (not including) the root, as a server sends it.
func serverCert(c *pkitest.Cert) tls.Certificate {
	return c.TLS(c.Chain()[1:]...)
}

func pool(certs ...*pkitest.Cert) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c.Cert)
	}
	return p
}

// startServer listens on a free loopback port and runs handle on each connection until the
// test ends; it returns the address.
func startServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// startTLS runs a crypto/tls server with conf: it completes the handshake, then reads until
// the client leaves.
func startTLS(t *testing.T, conf *tls.Config) string {
	t.Helper()
	return startServer(t, func(c net.Conn) {
		tc := tls.Server(c, conf)
		if err := tc.Handshake(); err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, tc)
	})
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
