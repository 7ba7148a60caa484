package capture

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// event is one thing that happened on a recorded connection.
type event struct {
	side  Side
	data  []byte
	close bool
}

// recorder logs what each side of a connection writes, in an order consistent with
// causality: a write is logged before the peer can read it.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) log(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

type tapConn struct {
	net.Conn
	side Side
	r    *recorder
	once sync.Once
}

func (t *tapConn) Write(b []byte) (int, error) {
	t.r.log(event{side: t.side, data: bytes.Clone(b)})
	return t.Conn.Write(b)
}

func (t *tapConn) Close() error {
	t.once.Do(func() { t.r.log(event{side: t.side, close: true}) })
	return t.Conn.Close()
}

// pki is the test PKI: a root, an intermediate, a server leaf for backend.test, and a
// client CA with a leaf.
type testPKI struct {
	root, inter, leaf, clientCA, clientLeaf *pkitest.Cert
}

var testCerts = sync.OnceValue(func() *testPKI {
	p := &testPKI{root: pkitest.NewRoot("Test Root CA")}
	p.inter = p.root.Issue(pkitest.Options{CommonName: "Test Intermediate CA", IsCA: true})
	p.leaf = p.inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	p.clientCA = pkitest.NewRoot("Test Client CA")
	p.clientLeaf = p.clientCA.Issue(pkitest.Options{CommonName: "test client",
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return p
})

func serverCert(p *testPKI) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.leaf.Cert.Raw, p.inter.Cert.Raw}, PrivateKey: p.leaf.Key}
}

// play runs a handshake between a crypto/tls client and server over a pipe, then one
// HTTP-like exchange when it succeeds, and returns what each side wrote and the client's
// key log.
func play(t testing.TB, server, client *tls.Config) ([]event, []byte) {
	t.Helper()
	r := &recorder{}
	a, b := tcpPair(t)
	cc := &tapConn{Conn: a, side: Client, r: r}
	sc := &tapConn{Conn: b, side: Server, r: r}
	var keys bytes.Buffer
	client = client.Clone()
	client.KeyLogWriter = &keys
	client.Time = func() time.Time { return pkitest.Epoch }
	server = server.Clone()
	server.Time = client.Time
	var wg sync.WaitGroup
	wg.Go(func() {
		s := tls.Server(sc, server)
		defer s.Close()
		if err := s.Handshake(); err != nil {
			return
		}
		buf := make([]byte, 100)
		n, err := s.Read(buf)
		if err != nil {
			return
		}
		s.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"))
		_ = n
	})
	c := tls.Client(cc, client)
	if err := c.Handshake(); err == nil {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: backend.test\r\n\r\n"))
		io.Copy(io.Discard, c)
	}
	c.Close()
	wg.Wait()
	return r.events, keys.Bytes()
}

// feed replays events into a new conn, cutting each write into chunks of at most chunk
// bytes (0: whole), one millisecond apart, and finishes it.
func feed(events []event, keys *KeyLog, chunk int) *Connection {
	t0 := pkitest.Epoch
	c := newConn(t0, keys)
	now := t0
	for _, e := range events {
		now = now.Add(time.Millisecond)
		if e.close {
			c.closed(now, e.side, false)
			continue
		}
		d := e.data
		for len(d) > 0 {
			n := len(d)
			if chunk > 0 {
				n = min(n, chunk)
			}
			c.data(now, e.side, d[:n])
			d = d[n:]
		}
	}
	return c.finish("127.0.0.1:50000", "127.0.0.1:8443")
}

func mustKeyLog(t *testing.T, b []byte) *KeyLog {
	t.Helper()
	k, err := ParseKeyLog(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// judge runs the catalog's engine on conn with the test root as truststore.
func judge(t *testing.T, conn *Connection, cc ClientConfig) *tlsdiag.Report {
	t.Helper()
	if cc.Roots == nil {
		cc.Roots = []*x509.Certificate{testCerts().root.Cert}
		cc.RootsFrom = []string{"root.pem"}
	}
	j := &Judge{Engine: catalog.Engine(), Client: cc}
	r := j.Report(conn)
	if r == nil {
		t.Fatalf("connection not judged: %s", conn.Outcome)
	}
	return r
}

func findingIDs(r *tlsdiag.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.ID)
	}
	return out
}

func messages(conn *Connection) []string {
	var out []string
	for _, e := range conn.Transcript {
		out = append(out, e.From+" "+e.Message)
	}
	return out
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b.err != nil {
		t.Fatal(b.err)
	}
	return a, b.c
}
