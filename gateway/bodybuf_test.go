package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBodyBufferedBeforeTheBackend: over HTTP/1.1 and HTTP/2, a request body that comes
// slowly reaches the backend only once whole, sent with its length (not chunked); a body
// longer than MaxBufferedBody streams: the backend sees the request before its end.
func TestBodyBufferedBeforeTheBackend(t *testing.T) {
	_, p, port := echoGW(t)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		pool := x509.NewCertPool()
		pool.AddCert(p.gwRoot.Cert)
		tr := apiTransport(pool, port)
		if proto == "HTTP/1.1" {
			tr.ForceAttemptHTTP2 = false
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		t.Run(proto+"/small, slow", func(t *testing.T) {
			drain(backendArrivals)
			chunk := bytes.Repeat([]byte("s"), 1024)
			done := post(t, c, proto, "small", func(pw *io.PipeWriter) {
				for range 3 {
					pw.Write(chunk)
					time.Sleep(100 * time.Millisecond)
				}
				select {
				case q := <-backendArrivals:
					t.Errorf("the backend got the request (%s) before its body was whole", q)
				default:
				}
				pw.Write(chunk)
			})
			want := fmt.Sprintf("POST /arrival?small %d %x te=[]", 4096, sha256.Sum256(bytes.Repeat(chunk, 4)))
			if got := <-done; got != want {
				t.Errorf("backend saw %q; want %q", got, want)
			}
		})
		t.Run(proto+"/over the limit, streamed", func(t *testing.T) {
			drain(backendArrivals)
			first := bytes.Repeat([]byte("l"), MaxBufferedBody+1)
			done := post(t, c, proto, "large", func(pw *io.PipeWriter) {
				pw.Write(first)
				select {
				case <-backendArrivals:
				case <-time.After(10 * time.Second):
					t.Errorf("the backend did not get a request whose body is over the limit before its end")
				}
				pw.Write([]byte("end"))
			})
			if got := <-done; !strings.HasPrefix(got, fmt.Sprintf("POST /arrival?large %d ", MaxBufferedBody+4)) {
				t.Errorf("backend saw %q", got)
			}
		})
	}
}

// post sends a POST to /echo/arrival?query whose body write writes (then closes), and
// returns what the backend answered, once it did.
func post(t *testing.T, c *http.Client, proto, query string, write func(*io.PipeWriter)) <-chan string {
	t.Helper()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "https://api.test/echo/arrival?"+query, pr)
	done := make(chan string, 1)
	go func() {
		resp, err := c.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Proto != proto {
			done <- "answered over " + resp.Proto
			return
		}
		done <- string(b)
	}()
	write(pw)
	pw.Close()
	return done
}

func drain(ch chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestBodyBufferBudget: with the budget spent, a small body streams (the backend sees the
// request before its end) and the gateway counts it; a chunked body the client breaks is
// answered 400 client.body.unreadable, not sent to the backend.
func TestBodyBufferBudget(t *testing.T) {
	g, p, port := echoGW(t)
	pool := x509.NewCertPool()
	pool.AddCert(p.gwRoot.Cert)
	tr := apiTransport(pool, port)
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	g.gw.bodies.max.Store(10) // less than any body
	drain(backendArrivals)
	done := post(t, c, "HTTP/2.0", "budget", func(pw *io.PipeWriter) {
		pw.Write([]byte("first"))
		select {
		case <-backendArrivals:
		case <-time.After(10 * time.Second):
			t.Errorf("with the budget spent, the backend did not get the request before its body's end")
		}
		pw.Write([]byte("last"))
	})
	if got := <-done; !strings.HasPrefix(got, "POST /arrival?budget 9 ") {
		t.Errorf("backend saw %q", got)
	}
	if n := g.gw.Counters()["bodies.streamed-over-budget"]; n != 1 {
		t.Errorf("counter bodies.streamed-over-budget = %d; want 1", n)
	}
	g.gw.bodies.max.Store(BodyBufferBudget)

	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: pool, ServerName: "api.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /echo/arrival?broken HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "client.body.unreadable") {
		t.Errorf("broken chunked body: %d %s", resp.StatusCode, body)
	}
	select {
	case q := <-backendArrivals:
		t.Errorf("the backend got the request with the broken body (%s)", q)
	default:
	}
}

// TestBodyBudgetHoldsWhatWasRead: a body of unknown length reserves the most a buffered
// body may be while it is read, then holds only its own length until the request ends,
// and nothing after.
func TestBodyBudgetHoldsWhatWasRead(t *testing.T) {
	g := &Gateway{}
	g.bodies.max.Store(BodyBufferBudget)
	r, _ := http.NewRequest("POST", "http://x/", io.NopCloser(strings.NewReader("twelve bytes")))
	r.ContentLength = -1
	release, err := g.bufferBody(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.bodies.used.Load(); got != 12 || r.ContentLength != 12 {
		t.Fatalf("held %d bytes for a body of %d; want 12", got, r.ContentLength)
	}
	release()
	if got := g.bodies.used.Load(); got != 0 {
		t.Fatalf("held %d bytes after the request; want 0", got)
	}
}
