package probe

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// p7c encodes certs as a certs-only SignedData message, written here independently of
// the parser (RFC 5652, sections 3 and 5.1).
func p7c(certs ...*x509.Certificate) []byte {
	return p7cWithType(oidSignedData, certs...)
}

func p7cWithType(contentType asn1.ObjectIdentifier, certs ...*x509.Certificate) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(contentType)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)                                        // version
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})      // digestAlgorithms
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // encapContentInfo
					b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1})
				})
				if len(certs) > 0 {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						for _, c := range certs {
							b.AddBytes(c.Raw)
						}
					})
				}
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {}) // signerInfos
			})
		})
	})
	return b.BytesOrPanic()
}

func TestParseAIABody(t *testing.T) {
	p := pkiOnce()
	inter, root := p.inter.Cert, p.root.Cert
	tests := []struct {
		name    string
		body    []byte
		want    []*x509.Certificate
		wantErr string
	}{
		{name: "DER", body: inter.Raw, want: []*x509.Certificate{inter}},
		{name: "PEM", body: pkitest.PEM(inter), want: []*x509.Certificate{inter}},
		{name: "PEM bundle with leading space", body: append([]byte("\r\n "), pkitest.PEM(inter, root)...), want: []*x509.Certificate{inter, root}},
		{name: "p7c", body: p7c(inter), want: []*x509.Certificate{inter}},
		{name: "p7c of two", body: p7c(inter, root), want: []*x509.Certificate{inter, root}},
		{name: "p7c in PEM", body: pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: p7c(inter)}), want: []*x509.Certificate{inter}},
		{name: "p7c without certificates", body: p7c(), wantErr: "not a certificate"},
		{name: "PKCS#7 data, not signedData", body: p7cWithType(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}, inter), wantErr: "not a certificate"},
		{name: "truncated DER", body: inter.Raw[:len(inter.Raw)-10], wantErr: "not a certificate"},
		{name: "truncated p7c", body: p7c(inter)[:40], wantErr: "not a certificate"},
		{name: "p7c with trailing data", body: append(p7c(inter), 0, 0), wantErr: "not a certificate"},
		{name: "garbage", body: []byte("<html>not found</html>"), wantErr: `starting "<html>not found<"`},
		{name: "empty", body: nil, wantErr: "not a certificate"},
		{name: "PEM of a key", body: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), wantErr: "without a CERTIFICATE or PKCS7 block"},
		{name: "PEM certificate that does not parse", body: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), wantErr: "PEM CERTIFICATE block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAIABody(tt.body)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %d certificates, error %v; want an error containing %q", len(got), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want %d certificates", err, len(tt.want))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d certificates; want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("certificate %d is %s; want %s", i, got[i].Subject, tt.want[i].Subject)
				}
			}
		})
	}
}

// TestParseAIABodyOpenSSL parses what `openssl crl2pkcs7 -nocrl` writes, as CAs serve .p7c
// files.
func TestParseAIABodyOpenSSL(t *testing.T) {
	needOpenSSL(t)
	p := pkiOnce()
	dir := t.TempDir()
	in := writeFile(t, dir, "certs.pem", pkitest.PEM(p.inter.Cert, p.root.Cert))
	out := filepath.Join(dir, "certs.p7c")
	if b, err := exec.Command(opensslPath, "crl2pkcs7", "-nocrl", "-certfile", in, "-outform", "DER", "-out", out).CombinedOutput(); err != nil {
		t.Fatalf("openssl crl2pkcs7: %v\n%s", err, b)
	}
	der, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAIABody(der)
	if err != nil {
		t.Fatalf("parseAIABody: %v", err)
	}
	if len(got) != 2 || !got[0].Equal(p.inter.Cert) || !got[1].Equal(p.root.Cert) {
		t.Errorf("got %d certificates; want the intermediate and the root, in order", len(got))
	}
}

func FuzzParseAIABody(f *testing.F) {
	p := pkiOnce()
	f.Add(p.inter.Cert.Raw)
	f.Add(pkitest.PEM(p.inter.Cert))
	f.Add(p7c(p.inter.Cert, p.root.Cert))
	f.Add(p7c())
	f.Add([]byte("-----BEGIN PKCS7-----\n-----END PKCS7-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := parseAIABody(b)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		if err != nil && certs != nil {
			t.Fatal("certificates with an error")
		}
	})
}

// aiaServer is a loopback HTTP server for caIssuers URLs; it counts the requests it gets.
type aiaServer struct {
	srv      *httptest.Server
	mux      *http.ServeMux
	requests atomic.Int64
	done     chan struct{}
}

// newAIAServer returns a server that listens already, so that its URLs can be written
// into certificates, and serves once start is called.
func newAIAServer(t *testing.T) *aiaServer {
	t.Helper()
	s := &aiaServer{mux: http.NewServeMux(), done: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.done) }) // runs first: releases the slow handlers
	return s
}

func (s *aiaServer) url(path string) string { return "http://" + s.srv.Listener.Addr().String() + path }

func (s *aiaServer) serve(path string, body []byte) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(body)
	})
}

// stall answers with the start of a body announced as longer, or with nothing when
// headers is false, and never finishes.
func (s *aiaServer) stall(path string, headers bool) {
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if headers {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte{0x30, 0x82})
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	})
}

func (s *aiaServer) start() { s.srv.Start() }

// aiaWant is one expected record: its URL, and the subject fetched or a part of the error.
type aiaWant struct {
	url, subject, err string
}

func checkAIA(t *testing.T, got []*tlsdiag.AIAFetch, want []aiaWant) {
	t.Helper()
	if len(got) != len(want) {
		var urls []string
		for _, g := range got {
			urls = append(urls, g.URL+" ("+g.Error+")")
		}
		t.Fatalf("%d fetches %q; want %d", len(got), urls, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.URL != w.url {
			t.Errorf("fetch %d: URL %s; want %s", i, g.URL, w.url)
		}
		if w.err != "" {
			if !strings.Contains(g.Error, w.err) {
				t.Errorf("fetch %d (%s): error %q; want it to contain %q", i, g.URL, g.Error, w.err)
			}
			if g.Issuer() != nil {
				t.Errorf("fetch %d (%s): Issuer() = %s; want nil with an error", i, g.URL, g.Issuer().Subject)
			}
			continue
		}
		if g.Error != "" || g.Certificate == nil || g.View == nil {
			t.Errorf("fetch %d (%s): error %q, certificate %v; want %s", i, g.URL, g.Error, g.Certificate != nil, w.subject)
			continue
		}
		if s := g.Certificate.Subject.String(); s != w.subject || g.View.Subject != s {
			t.Errorf("fetch %d (%s): got %s (view %s); want %s", i, g.URL, s, g.View.Subject, w.subject)
		}
	}
}

func TestFetchMissingIssuers(t *testing.T) {
	t.Parallel()
	s := newAIAServer(t)
	u := s.url
	root := pkitest.NewRoot("AIA Root")
	inter := root.Issue(pkitest.Options{CommonName: "AIA Intermediate", IsCA: true, IssuingCertificateURL: []string{u("/root.cer")}})
	leafOf := func(issuer *pkitest.Cert, urls ...string) *x509.Certificate {
		return issuer.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}, IssuingCertificateURL: urls}).Cert
	}
	// A chain of four intermediates, each naming its issuer's URL.
	deep := []*pkitest.Cert{root}
	for i := 1; i <= 4; i++ {
		deep = append(deep, deep[i-1].Issue(pkitest.Options{CommonName: fmt.Sprintf("AIA Level %d", i), IsCA: true,
			IssuingCertificateURL: []string{u(fmt.Sprintf("/level%d.cer", i-1))}}))
	}
	private := pkitest.NewRoot("AIA Private Root")
	stranger := pkitest.NewRoot("AIA Stranger CA")

	s.serve("/inter.cer", inter.Cert.Raw)
	s.serve("/inter.pem", pkitest.PEM(inter.Cert))
	s.serve("/inter.p7c", p7c(stranger.Cert, inter.Cert))
	s.serve("/private.cer", private.Cert.Raw)
	s.serve("/stranger.cer", stranger.Cert.Raw)
	s.serve("/garbage", []byte("this is not a certificate"))
	for i := 1; i <= 4; i++ {
		s.serve(fmt.Sprintf("/level%d.cer", i), deep[i].Cert.Raw)
	}
	s.mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte{'x'}, 100<<10)) // Content-Length set: refused before reading
	})
	s.mux.HandleFunc("/huge-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 100 {
			w.Write(bytes.Repeat([]byte{'x'}, 1<<10))
			w.(http.Flusher).Flush()
		}
	})
	s.mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inter.cer", http.StatusFound)
	})
	s.mux.HandleFunc("/moved-to-https", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://ca.test/inter.cer", http.StatusFound)
	})
	s.stall("/slow-body", true)
	s.stall("/slow-headers", false)
	s.start()

	interCN, privateCN := inter.Cert.Subject.String(), private.Cert.Subject.String()
	nowhere := "http://" + closedPort(t) + "/inter.cer"
	tests := []struct {
		name    string
		chain   []*x509.Certificate
		roots   []*x509.Certificate
		timeout time.Duration // of the run; 10 s when zero
		want    []aiaWant
		maxTook time.Duration
	}{
		{name: "chain builds: nothing fetched", chain: []*x509.Certificate{leafOf(inter, u("/inter.cer")), inter.Cert}, roots: []*x509.Certificate{root.Cert}},
		{name: "no URL", chain: []*x509.Certificate{leafOf(inter)}, roots: []*x509.Certificate{root.Cert}},
		{name: "DER", chain: []*x509.Certificate{leafOf(inter, u("/inter.cer"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/inter.cer"), subject: interCN}}},
		{name: "PEM", chain: []*x509.Certificate{leafOf(inter, u("/inter.pem"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/inter.pem"), subject: interCN}}},
		{name: "p7c: the issuer among others", chain: []*x509.Certificate{leafOf(inter, u("/inter.p7c"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/inter.p7c"), subject: interCN}}},
		{name: "redirect", chain: []*x509.Certificate{leafOf(inter, u("/moved"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/moved"), subject: interCN}}},
		{name: "redirect to https", chain: []*x509.Certificate{leafOf(inter, u("/moved-to-https"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/moved-to-https"), err: "not an http URL"}}},
		{name: "root of the leaf, untrusted", chain: []*x509.Certificate{leafOf(private, u("/private.cer"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/private.cer"), subject: privateCN}}},
		{name: "up the chain, then the root", chain: []*x509.Certificate{leafOf(inter, u("/inter.cer"))}, roots: []*x509.Certificate{private.Cert},
			want: []aiaWant{{url: u("/inter.cer"), subject: interCN}, {url: u("/root.cer"), err: "HTTP 404"}}},
		{name: "at most three fetches", chain: []*x509.Certificate{leafOf(deep[4], u("/level4.cer"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{
				{url: u("/level4.cer"), subject: "CN=AIA Level 4"},
				{url: u("/level3.cer"), subject: "CN=AIA Level 3"},
				{url: u("/level2.cer"), subject: "CN=AIA Level 2"},
			}},
		{name: "not http, then 404, then the issuer",
			chain: []*x509.Certificate{leafOf(inter, "ldap://ldap.ca.test/cn=inter?cACertificate", "https://ca.test/inter.cer", "ftp://ca.test/inter.cer", u("/missing.cer"), u("/inter.cer"))},
			roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{
				{url: "ldap://ldap.ca.test/cn=inter?cACertificate", err: "LDAP directories are not queried"},
				{url: "https://ca.test/inter.cer", err: "only http URLs are fetched; an https URL needs a TLS handshake"},
				{url: "ftp://ca.test/inter.cer", err: "only http URLs are fetched"},
				{url: u("/missing.cer"), err: "HTTP 404 Not Found"},
				{url: u("/inter.cer"), subject: interCN},
			}},
		{name: "garbage", chain: []*x509.Certificate{leafOf(inter, u("/garbage"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/garbage"), err: "not a certificate"}}},
		{name: "another CA's certificate", chain: []*x509.Certificate{leafOf(inter, u("/stranger.cer"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/stranger.cer"), err: `"CN=AIA Stranger CA", did not issue "CN=backend.test"`}}},
		{name: "oversize, announced", chain: []*x509.Certificate{leafOf(inter, u("/huge"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/huge"), err: "more than the 64 KiB allowed"}}},
		{name: "oversize, chunked", chain: []*x509.Certificate{leafOf(inter, u("/huge-chunked"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/huge-chunked"), err: "more than the 64 KiB allowed"}}},
		{name: "slow body, bounded by the fetch", chain: []*x509.Certificate{leafOf(inter, u("/slow-body"))}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: u("/slow-body"), err: "no complete answer within 2s"}}, maxTook: aiaFetchWait},
		{name: "slow headers, bounded by the run", chain: []*x509.Certificate{leafOf(inter, u("/slow-headers"), u("/inter.cer"))}, roots: []*x509.Certificate{root.Cert},
			timeout: 300 * time.Millisecond,
			want:    []aiaWant{{url: u("/slow-headers"), err: "no complete answer within"}}, maxTook: 300 * time.Millisecond},
		{name: "nothing listens", chain: []*x509.Certificate{leafOf(inter, nowhere)}, roots: []*x509.Certificate{root.Cert},
			want: []aiaWant{{url: nowhere, err: "refused"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			timeout := cmp.Or(tt.timeout, 10*time.Second)
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()
			cfg := Config{Address: "127.0.0.1:1", Expect: &tlsdiag.Expectations{ServerName: "backend.test", Roots: tt.roots}}.withDefaults()
			start := time.Now()
			got := fetchMissingIssuers(ctx, cfg, tt.chain, pkitest.Epoch)
			if took := time.Since(start); tt.maxTook > 0 && took > tt.maxTook+slack {
				t.Errorf("took %s; want at most %s", took, tt.maxTook)
			}
			checkAIA(t, got, tt.want)
		})
	}
}

// TestRunAIA checks when Run fetches missing issuers: only for a chain that does not build,
// not with NoAIA, and only through the configured dialer.
func TestRunAIA(t *testing.T) {
	t.Parallel()
	s := newAIAServer(t)
	root := pkitest.NewRoot("Run AIA Root")
	inter := root.Issue(pkitest.Options{CommonName: "Run AIA Intermediate", IsCA: true})
	// The URL names a host that does not resolve: only the injected dialer reaches it.
	leaf := inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"},
		IssuingCertificateURL: []string{"http://ca.invalid/inter.cer"}})
	stalled := inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"},
		IssuingCertificateURL: []string{"http://ca.invalid/stall.cer"}})
	s.serve("/inter.cer", inter.Cert.Raw)
	s.stall("/stall.cer", true)
	s.start()
	httpAddr := s.srv.Listener.Addr().String()

	tests := []struct {
		name     string
		sent     tls.Certificate
		noAIA    bool
		timeout  time.Duration
		want     []aiaWant
		requests int64
	}{
		{name: "leaf only, the AIA server stalls: bounded by the run", sent: stalled.TLS(), timeout: 800 * time.Millisecond, requests: 1,
			want: []aiaWant{{url: "http://ca.invalid/stall.cer", err: "no complete answer within"}}},
		{name: "full chain", sent: leaf.TLS(inter.Cert)},
		{name: "leaf only", sent: leaf.TLS(), requests: 1,
			want: []aiaWant{{url: "http://ca.invalid/inter.cer", subject: inter.Cert.Subject.String()}}},
		{name: "leaf only, NoAIA", sent: leaf.TLS(), noAIA: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startTLS(t, &tls.Config{Certificates: []tls.Certificate{tt.sent}})
			var (
				mu     sync.Mutex
				dialed []string
			)
			dial := func(ctx context.Context, network, a string) (net.Conn, error) {
				mu.Lock()
				dialed = append(dialed, a)
				mu.Unlock()
				if a == "ca.invalid:80" {
					a = httpAddr
				}
				var d net.Dialer
				return d.DialContext(ctx, network, a)
			}
			before := s.requests.Load()
			timeout := cmp.Or(tt.timeout, 5*time.Second)
			start := time.Now()
			f, err := Run(t.Context(), Config{Address: addr, Dial: dial, NoAIA: tt.noAIA, Timeout: timeout,
				Expect: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{root.Cert}}})
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > timeout+slack {
				t.Errorf("Run took %s; want at most %s", took, timeout)
			}
			checkAIA(t, f.AIA, tt.want)
			if got := s.requests.Load() - before; got != tt.requests {
				t.Errorf("%d requests to the AIA server; want %d (dialled %q)", got, tt.requests, dialed)
			}
		})
	}
}
