package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// backendCanceled receives the query of an echoBackend /wait request whose context ended
// (the gateway gave up on it).
var backendCanceled = make(chan string, 10)

// backendArrivals receives the query of every echoBackend /arrival request when the
// backend starts serving it (before it reads the body).
var backendArrivals = make(chan string, 10)

// echoBackend is a TLS backend answering with what it received: method, path, the body's
// length and SHA-256; /big answers 1 MiB, /stream three chunks flushed apart. rawAddr is
// a rawBackend with the same certificate.
func echoBackend(t *testing.T) (addr, rawAddr string, root *pkitest.Cert) {
	t.Helper()
	root = pkitest.NewRoot("Echo Backend Root")
	leaf := root.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})
	rawAddr = rawBackend(t, leaf.TLS())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/arrival" {
			backendArrivals <- r.URL.RawQuery
		}
		switch r.URL.Path {
		case "/wait":
			select {
			case <-r.Context().Done():
				select {
				case backendCanceled <- r.URL.RawQuery:
				default:
				}
			case <-time.After(10 * time.Second):
			}
			return
		case "/headers":
			// The request as the backend saw it, and fields a proxy must not pass on.
			var keys []string
			for k := range r.Header {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			w.Header().Set("Connection", "X-Hop-Resp")
			w.Header().Set("X-Hop-Resp", "1")
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("X-Kept", "yes")
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			host, _, _ := net.SplitHostPort(r.Host)
			fmt.Fprintf(w, "%s %s host=%s\n", r.Method, r.URL.RequestURI(), host)
			for _, k := range keys {
				fmt.Fprintf(w, "%s: %q\n", k, r.Header[k])
			}
			return
		case "/trailers":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body with a trailer")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Sum", "42")
			return
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			return
		case "/big":
			w.Write(bytes.Repeat([]byte("b"), 1<<20))
			return
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "part %d;", i)
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
			return
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body := fmt.Sprintf("%s %s %d %x te=%v", r.Method, r.URL.RequestURI(), len(b), sha256.Sum256(b), r.TransferEncoding)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), rawAddr, root
}

// rawAnswer is what a rawBackend answers, as a backend other than Go's may write it: names
// in any case, a field its Connection names in another case, values with spaces around,
// a Date.
const rawAnswer = "HTTP/1.1 200 Fine\r\ncontent-type: text/plain\r\nx-lower:  v \r\nconnection: keep-alive, x-drop\r\n" +
	"X-DROP: 1\r\nx-multi: a\r\nX-Multi: b\r\nkeep-alive: timeout=5\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\ncontent-length: 5\r\n\r\nhello"

// rawBackend is a TLS backend that answers every request head with rawAnswer, keeping
// its connections alive.
func rawBackend(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				for {
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					if _, err := io.WriteString(c, rawAnswer); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestHTTP11WithCurl: the real curl, over HTTP/1.1 through the gateway to a backend:
// uploads with "Expect: 100-continue" and chunked, HEAD, HTTP/1.0, keep-alive across
// requests, a large and a streamed response.
// echoGW is a gateway with a TLS virtual host for api.test on 9443 and a proxy /echo to
// an echoBackend; it returns the gateway, the PKI and the gateway's port.
func echoGW(t *testing.T, opts ...func(*Options)) (*testGW, *inboundPKI, string) {
	t.Helper()
	p := newInboundPKI(t)
	addr, rawAddr, root := echoBackend(t)
	_, port, _ := net.SplitHostPort(addr)
	_, rawPort, _ := net.SplitHostPort(rawAddr)
	env := config.Environment{Name: "test",
		Keystores: []config.Keystore{
			{Name: "gwKS", Aliases: []config.Alias{{Name: "api", Cert: string(pkitest.PEM(p.gwLeaf.Cert, p.gwRoot.Cert)), Key: string(p.gwLeaf.KeyPEM())}}},
			{Name: "backendTS", Aliases: []config.Alias{{Name: "root", Cert: string(root.CertPEM())}}},
		},
		VirtualHosts: []config.VirtualHost{{Name: "secure", HostAliases: []string{"api.test"}, Port: 9443,
			SSLInfo: &config.SSLInfo{Enabled: true, KeyStore: "gwKS", KeyAlias: "api"}}},
		Proxies: []config.Proxy{{Name: "echo", BasePath: "/echo", VirtualHosts: []string{"secure"},
			Target: config.TargetEndpoint{URL: "https://backend.test:" + port + "/",
				SSLInfo: &config.SSLInfo{Enabled: true, TrustStore: "backendTS"}, ConnectTimeoutMillis: 2000, IOTimeoutMillis: 5000}},
			{Name: "raw", BasePath: "/raw", VirtualHosts: []string{"secure"},
				Target: config.TargetEndpoint{URL: "https://backend.test:" + rawPort + "/",
					SSLInfo: &config.SSLInfo{Enabled: true, TrustStore: "backendTS"}, ConnectTimeoutMillis: 2000, IOTimeoutMillis: 5000}}},
	}
	g := newTestGW(t, &config.Document{Organizations: []config.Organization{{Name: "org", Environments: []config.Environment{env}}}}, opts...)
	return g, p, strconv.Itoa(g.gw.Addr(9443).(*net.TCPAddr).Port)
}

func TestHTTP11WithCurl(t *testing.T) {
	g, p, gwPort := echoGW(t)
	_ = g
	base := "https://api.test:" + gwPort

	dir := t.TempDir()
	upload := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: curl sends Expect: 100-continue
	file := filepath.Join(dir, "upload.bin")
	if err := os.WriteFile(file, upload, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(upload))
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		all := append([]string{"-sS", "--http1.1", "--max-time", "20", "--cacert", p.file("gwroot.pem"),
			"--resolve", "api.test:" + gwPort + ":127.0.0.1"}, args...)
		cmd := exec.Command("curl", all...)
		cmd.Stdin = bytes.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}

	tests := []struct {
		name  string
		stdin []byte
		args  []string
		want  []string // substrings of curl's output
	}{
		{"upload with Expect: 100-continue", nil,
			[]string{"-v", "--data-binary", "@" + file, base + "/echo/up?x=1"},
			[]string{"POST /up?x=1 3145728 " + sum}},
		{"chunked upload", upload,
			[]string{"-T", "-", "-H", "Transfer-Encoding: chunked", base + "/echo/chunked"},
			[]string{"PUT /chunked 3145728 " + sum}},
		{"HEAD", nil,
			[]string{"-I", base + "/echo/head"},
			[]string{"HTTP/1.1 200 OK", "Content-Length: 83"}},
		{"HTTP/1.0", nil,
			[]string{"-0", "-i", base + "/echo/old"},
			[]string{"HTTP/1.0 200 OK", "GET /old 0 "}},
		{"large response", nil,
			[]string{"-w", "\n%{size_download}", base + "/echo/big"},
			[]string{"\n1048576"}},
		{"streamed response", nil,
			[]string{"-i", base + "/echo/stream"},
			[]string{"Transfer-Encoding: chunked", "part 0;part 1;part 2;"}},
		{"keep-alive across requests", nil,
			[]string{"-w", " connects=%{num_connects}\n", base + "/echo/one", base + "/echo/two"},
			[]string{"GET /one 0 ", "connects=1", "GET /two 0 ", "connects=0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(tc.stdin, tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("curl's output lacks %q:\n%.600s", w, out)
				}
			}
		})
	}
}
