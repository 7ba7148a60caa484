package capture

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

type handshakeCase struct {
	name           string
	server, client func(p *testPKI, s, c *tls.Config)
	keys           bool
	wantCompleted  bool
	wantFindings   []string // error findings, in order
	wantMessages   []string // must appear in the transcript, in this order
	wantOutcome    string   // a substring of Outcome
	wantClientSent int
}

func handshakeCases() []handshakeCase {
	tls12 := func(_ *testPKI, s, _ *tls.Config) { s.MaxVersion = tls.VersionTLS12 }
	requireCert := func(p *testPKI, s *tls.Config) {
		pool := x509.NewCertPool()
		pool.AddCert(p.clientCA.Cert)
		s.ClientAuth, s.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	return []handshakeCase{
		{
			name: "tls1.2 healthy", server: tls12, wantCompleted: true,
			wantMessages: []string{"client ClientHello", "server ServerHello", "server Certificate", "server ServerKeyExchange",
				"server ServerHelloDone", "client ClientKeyExchange", "client ChangeCipherSpec", "client Encrypted handshake message",
				"server ChangeCipherSpec", "server Encrypted handshake message", "client Application data", "server Application data"},
			wantOutcome: "completed", wantClientSent: -1,
		},
		{
			name: "tls1.2 healthy, decrypted", server: tls12, keys: true, wantCompleted: true, wantClientSent: -1,
			wantMessages: []string{"client ChangeCipherSpec", "client Finished", "server ChangeCipherSpec", "server Finished",
				"client Application data", "server Application data"},
			wantOutcome: "completed",
		},
		{
			name: "tls1.2 AES-256-GCM-SHA384, decrypted", keys: true, wantCompleted: true, wantClientSent: -1,
			server: func(p *testPKI, s, c *tls.Config) {
				tls12(p, s, c)
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
			},
			wantMessages: []string{"client Finished", "server Finished", "server Application data"},
			wantOutcome:  "completed",
		},
		{
			name: "tls1.2 ChaCha20-Poly1305, decrypted", keys: true, wantCompleted: true, wantClientSent: -1,
			server: func(p *testPKI, s, c *tls.Config) {
				tls12(p, s, c)
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
			},
			wantMessages: []string{"client Finished", "server Finished", "server Application data"},
			wantOutcome:  "completed",
		},
		{
			name: "tls1.2 client certificate missing",
			server: func(p *testPKI, s, c *tls.Config) {
				tls12(p, s, c)
				requireCert(p, s)
			},
			wantFindings: []string{catalog.ClientCertMissing},
			wantMessages: []string{"server CertificateRequest", "client Certificate", "server Alert (fatal)"},
			wantOutcome:  "failed: the server sent handshake_failure",
		},
		{
			name: "tls1.3 healthy, decrypted", keys: true, wantCompleted: true,
			wantMessages: []string{"client ClientHello", "server ServerHello", "server EncryptedExtensions", "server Certificate",
				"server CertificateVerify", "server Finished", "client Finished", "client Application data", "server Application data"},
			wantOutcome: "completed", wantClientSent: -1,
		},
		{
			name: "tls1.3 healthy, encrypted", wantCompleted: true,
			wantMessages: []string{"client ClientHello", "server ServerHello",
				"server Encrypted handshake (EncryptedExtensions, Certificate, CertificateVerify, Finished; perhaps a CertificateRequest)"},
			wantOutcome: "completed (inferred", wantClientSent: -1,
		},
		{
			name:   "tls1.3 client certificate missing, decrypted",
			server: func(p *testPKI, s, _ *tls.Config) { requireCert(p, s) }, keys: true,
			wantFindings: []string{catalog.ClientCertMissing},
			wantMessages: []string{"server CertificateRequest", "client Certificate", "client Finished", "server Alert (fatal)"},
			wantOutcome:  "failed: the server sent certificate_required",
		},
		{
			name:         "tls1.3 client certificate missing, encrypted",
			server:       func(p *testPKI, s, _ *tls.Config) { requireCert(p, s) },
			wantFindings: []string{catalog.AlertUnclassified},
			wantMessages: []string{"server Encrypted record"},
			wantOutcome:  "failed after the encrypted part", wantClientSent: -1,
		},
		{
			name:   "tls1.3 client certificate accepted, decrypted",
			server: func(p *testPKI, s, _ *tls.Config) { requireCert(p, s) },
			client: func(p *testPKI, _, c *tls.Config) {
				c.Certificates = []tls.Certificate{{Certificate: [][]byte{p.clientLeaf.Cert.Raw}, PrivateKey: p.clientLeaf.Key}}
			},
			keys: true, wantCompleted: true, wantClientSent: 1,
			wantMessages: []string{"server CertificateRequest", "client Certificate", "client CertificateVerify", "client Finished"},
			wantOutcome:  "completed",
		},
		{
			name: "tls1.3 hello retry, decrypted",
			server: func(_ *testPKI, s, c *tls.Config) {
				s.CurvePreferences = []tls.CurveID{tls.CurveP256}
				c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
			},
			keys: true, wantCompleted: true, wantClientSent: -1,
			wantMessages: []string{"client ClientHello", "server HelloRetryRequest", "client ClientHello (second, after the HelloRetryRequest)",
				"server ServerHello", "server Certificate", "client Finished"},
			wantOutcome: "completed",
		},
		{
			name:         "protocol mismatch",
			server:       func(_ *testPKI, s, _ *tls.Config) { s.MinVersion, s.MaxVersion = tls.VersionTLS10, tls.VersionTLS10 },
			wantFindings: []string{catalog.ProtocolMismatch},
			wantMessages: []string{"client ClientHello", "server Alert (fatal)"},
			wantOutcome:  "failed: the server sent protocol_version", wantClientSent: -1,
		},
		{
			name: "cipher mismatch",
			server: func(_ *testPKI, s, _ *tls.Config) {
				s.MaxVersion = tls.VersionTLS12
				s.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
			},
			client: func(_ *testPKI, _, c *tls.Config) {
				c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
				c.MaxVersion = tls.VersionTLS12
			},
			wantFindings: []string{catalog.CipherMismatch},
			wantOutcome:  "failed: the server sent handshake_failure", wantClientSent: -1,
		},
		{
			name: "sni required",
			server: func(p *testPKI, s, _ *tls.Config) {
				s.Certificates = nil
				s.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
					if h.ServerName == "" {
						return nil, errors.New("no name")
					}
					c := serverCert(p)
					return &c, nil
				}
			},
			client:       func(_ *testPKI, _, c *tls.Config) { c.ServerName = "" },
			wantFindings: []string{catalog.SNIRequired},
			wantOutcome:  "failed: the server sent internal_error", wantClientSent: -1,
		},
		{
			name: "truststore missing the root", keys: true,
			wantFindings: []string{catalog.TruststoreMissingRoot},
			wantOutcome:  "failed: the client sent", wantClientSent: -1,
		},
	}
}

func (tc handshakeCase) configs(p *testPKI) (*tls.Config, *tls.Config) {
	pool := x509.NewCertPool()
	pool.AddCert(p.root.Cert)
	s := &tls.Config{Certificates: []tls.Certificate{serverCert(p)}}
	c := &tls.Config{ServerName: "backend.test", RootCAs: pool}
	if tc.server != nil {
		tc.server(p, s, c)
	}
	if tc.client != nil {
		tc.client(p, s, c)
	}
	if c.ServerName == "" {
		c.InsecureSkipVerify = true
	}
	return s, c
}

func TestHandshakes(t *testing.T) {
	p := testCerts()
	for _, tc := range handshakeCases() {
		t.Run(tc.name, func(t *testing.T) {
			s, c := tc.configs(p)
			if strings.Contains(tc.name, "missing the root") {
				// The client trusts only another root.
				other := x509.NewCertPool()
				other.AddCert(p.clientCA.Cert)
				c.RootCAs = other
			}
			events, keylog := play(t, s, c)
			var keys *KeyLog
			if tc.keys {
				keys = mustKeyLog(t, keylog)
			}
			var cc ClientConfig
			if strings.Contains(tc.name, "missing the root") {
				cc = ClientConfig{Roots: []*x509.Certificate{p.clientCA.Cert}, RootsFrom: []string{"other.pem"}}
			}
			whole := feed(events, keys, 0)
			for _, chunk := range []int{1, 7, 1000} {
				split := feed(events, keys, chunk)
				if !reflect.DeepEqual(messages(split), messages(whole)) {
					t.Errorf("in chunks of %d: transcript %q; whole: %q", chunk, messages(split), messages(whole))
				}
			}
			conn := whole
			if !strings.Contains(conn.Outcome, tc.wantOutcome) {
				t.Errorf("outcome %q; want it to contain %q", conn.Outcome, tc.wantOutcome)
			}
			got := messages(conn)
			i := 0
			for _, m := range got {
				if i < len(tc.wantMessages) && m == tc.wantMessages[i] {
					i++
				}
			}
			if i < len(tc.wantMessages) {
				t.Errorf("transcript lacks %q (in order); got %q", tc.wantMessages[i], got)
			}
			r := judge(t, conn, cc)
			a := conn.Facts.Attempts[0]
			if a.Completed != tc.wantCompleted {
				t.Errorf("Completed = %v; want %v (step %s, error %q)", a.Completed, tc.wantCompleted, a.Step, a.Error)
			}
			if tc.wantClientSent != 0 || tc.wantFindings == nil {
				if a.ClientCertSent != tc.wantClientSent {
					t.Errorf("ClientCertSent = %d; want %d", a.ClientCertSent, tc.wantClientSent)
				}
			}
			var errs []string
			for _, f := range r.Findings {
				if f.Severity == "error" {
					errs = append(errs, f.ID)
				}
			}
			if !slices.Equal(errs, tc.wantFindings) {
				for _, f := range r.Findings {
					t.Logf("finding %s: %s", f.ID, f.Detail)
				}
				t.Errorf("error findings %q; want %q", errs, tc.wantFindings)
			}
			if t.Failed() {
				var b strings.Builder
				WriteTranscript(&b, "  ", conn.Transcript)
				t.Logf("transcript:\n%s\nnotes: %q", b.String(), conn.Notes)
			}
		})
	}
}

// TestPartialKeyLog reads a TLS 1.3 handshake with only the server's secrets, as clients
// that abort write them: the server's side is decrypted, the client's judged by sizes.
func TestPartialKeyLog(t *testing.T) {
	p := testCerts()
	s, c := handshakeCase{}.configs(p)
	events, keylog := play(t, s, c)
	var server []string
	for _, l := range strings.Split(string(keylog), "\n") {
		if strings.HasPrefix(l, "SERVER_") {
			server = append(server, l)
		}
	}
	conn := feed(events, mustKeyLog(t, []byte(strings.Join(server, "\n"))), 0)
	a := conn.Facts.Attempts[0]
	if !a.Completed || len(a.Chain) != 2 || !conn.Decrypted {
		t.Errorf("completed %v, %d certificates, decrypted %v; want a completed, decrypted handshake with the chain", a.Completed, len(a.Chain), conn.Decrypted)
	}
	if len(conn.Notes) == 0 || !strings.Contains(conn.Notes[0], "lacks CLIENT_HANDSHAKE_TRAFFIC_SECRET") {
		t.Errorf("notes %q", conn.Notes)
	}
	if r := judge(t, conn, ClientConfig{}); !r.OK {
		t.Errorf("findings %q", findingIDs(r))
	}
}
