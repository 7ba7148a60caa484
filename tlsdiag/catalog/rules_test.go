package catalog

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// pkiFixture is one test PKI shared by the rule tests.
type pkiFixture struct {
	root, other, inter, leaf *pkitest.Cert
}

func newFixture() *pkiFixture {
	f := &pkiFixture{root: pkitest.NewRoot("Rule Root"), other: pkitest.NewRoot("Other Root")}
	f.inter = f.root.Issue(pkitest.Options{CommonName: "Rule Intermediate", IsCA: true})
	f.leaf = f.inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"}})
	return f
}

func completed(chain ...*x509.Certificate) *tlsdiag.Attempt {
	return &tlsdiag.Attempt{Name: tlsdiag.AttemptConfigured, ServerName: "backend.test", Step: tlsdiag.StepFinished,
		Completed: true, Version: "TLSv1.3", Suite: "TLS_AES_128_GCM_SHA256", Chain: chain, ClientCertSent: -1,
		OfferedVersions: []string{"TLSv1.2", "TLSv1.3"}}
}

func refusedByVerify(chain ...*x509.Certificate) *tlsdiag.Attempt {
	a := completed(chain...)
	a.Completed = false
	a.Step = tlsdiag.StepServerCertificate
	a.AlertSent = &tlsdiag.Alert{Code: 42, Name: "bad_certificate"}
	a.VerifyError = "x509: certificate signed by unknown authority"
	return a
}

func withSNI(a *tlsdiag.Attempt) *tlsdiag.Attempt {
	a.Name = tlsdiag.AttemptWithSNI
	return a
}

func ids(fs []tlsdiag.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestRules(t *testing.T) {
	f := newFixture()
	now := time.Now()
	expect := func(roots ...*x509.Certificate) *tlsdiag.Expectations {
		return &tlsdiag.Expectations{ServerName: "backend.test", Roots: roots, RootsFrom: []string{"trust.pem"}}
	}
	wrongName := f.inter.Issue(pkitest.Options{CommonName: "other.test", DNSNames: []string{"other.test"}})
	impostor := pkitest.NewRoot("Rule Root").Issue(pkitest.Options{CommonName: "Rule Intermediate", IsCA: true})
	expired := f.inter.Issue(pkitest.Options{CommonName: "backend.test", DNSNames: []string{"backend.test"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	clientCA := pkitest.NewRoot("Client CA")
	client := clientCA.Issue(pkitest.Options{CommonName: "gateway-client"})
	clientTLS := client.TLS()

	tests := []struct {
		name     string
		attempts []*tlsdiag.Attempt
		server   *tlsdiag.ServerFacts
		x        *tlsdiag.Expectations
		want     []string
		evidence func(t *testing.T, fs []tlsdiag.Finding)
	}{
		{name: "healthy", attempts: []*tlsdiag.Attempt{completed(f.leaf.Cert, f.inter.Cert)}, x: expect(f.root.Cert), want: nil},
		{name: "refused", x: expect(f.root.Cert), want: []string{NetworkUnreachable},
			attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, Step: tlsdiag.StepConnect, DialError: "connection refused", DialErrorKind: "refused", ClientCertSent: -1}}},
		{name: "dial timeout", x: expect(f.root.Cert), want: []string{NetworkTimeout},
			attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, Step: tlsdiag.StepConnect, DialError: "i/o timeout", DialErrorKind: "timeout", ClientCertSent: -1}}},
		{name: "not tls", x: expect(f.root.Cert), want: []string{NotTLS},
			attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, Step: tlsdiag.StepClientHello, NotTLS: &tlsdiag.NotTLS{FirstBytes: "HTTP/1.1 400", Guess: "HTTP"}, ClientCertSent: -1}}},
		{name: "incomplete chain", attempts: []*tlsdiag.Attempt{refusedByVerify(f.leaf.Cert)}, x: expect(f.root.Cert), want: []string{ChainIncomplete},
			evidence: func(t *testing.T, fs []tlsdiag.Finding) {
				if got := fs[0].Evidence["missingIssuer"]; got != f.inter.Cert.Subject.String() {
					t.Errorf("missingIssuer = %v; want %s", got, f.inter.Cert.Subject)
				}
			}},
		{name: "missing anchor", attempts: []*tlsdiag.Attempt{refusedByVerify(f.leaf.Cert, f.inter.Cert)}, x: expect(f.other.Cert), want: []string{TruststoreMissingRoot}},
		{name: "self-signed root sent", attempts: []*tlsdiag.Attempt{refusedByVerify(f.leaf.Cert, f.inter.Cert, f.root.Cert)}, x: expect(f.other.Cert), want: []string{TruststoreMissingRoot}},
		{name: "wrong intermediate", attempts: []*tlsdiag.Attempt{refusedByVerify(f.leaf.Cert, impostor.Cert)}, x: expect(f.root.Cert), want: []string{ChainWrongIntermediate}},
		{name: "empty truststore", attempts: []*tlsdiag.Attempt{refusedByVerify(f.leaf.Cert, f.inter.Cert)}, x: expect(), want: []string{TruststoreEmpty}},
		{name: "hostname", attempts: []*tlsdiag.Attempt{refusedByVerify(wrongName.Cert, f.inter.Cert)}, x: expect(f.root.Cert), want: []string{HostnameMismatch},
			evidence: func(t *testing.T, fs []tlsdiag.Finding) {
				if got := fs[0].Evidence["host"]; got != "backend.test" {
					t.Errorf("host = %v; want backend.test", got)
				}
			}},
		{name: "expired", attempts: []*tlsdiag.Attempt{refusedByVerify(expired.Cert, f.inter.Cert)}, x: expect(f.root.Cert), want: []string{CertExpired}},
		{name: "protocol", x: expect(f.root.Cert), want: []string{ProtocolMismatch},
			attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, ServerName: "backend.test", Step: tlsdiag.StepClientHello, ClientCertSent: -1,
				AlertReceived: &tlsdiag.Alert{Code: 70, Name: "protocol_version"}, OfferedVersions: []string{"TLSv1.2", "TLSv1.3"}}},
			server: &tlsdiag.ServerFacts{Versions: []string{"TLSv1.0"}, VersionsProbed: []string{"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}}},
		{name: "cipher", x: expect(f.root.Cert), want: []string{CipherMismatch},
			attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, ServerName: "backend.test", Step: tlsdiag.StepClientHello, ClientCertSent: -1,
				AlertReceived: &tlsdiag.Alert{Code: 40, Name: "handshake_failure"}, OfferedVersions: []string{"TLSv1.2"},
				OfferedSuites: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}},
			server: &tlsdiag.ServerFacts{Versions: []string{"TLSv1.2"}, Suites: map[string][]string{"TLSv1.2": {"TLS_RSA_WITH_AES_128_CBC_SHA"}}}},
		{name: "sni required", x: &tlsdiag.Expectations{ServerName: "backend.test", NoSNI: true, Roots: []*x509.Certificate{f.root.Cert}}, want: []string{SNIRequired},
			attempts: []*tlsdiag.Attempt{
				{Name: tlsdiag.AttemptConfigured, Step: tlsdiag.StepClientHello, ClientCertSent: -1, AlertReceived: &tlsdiag.Alert{Code: 112, Name: "unrecognized_name"}, OfferedVersions: []string{"TLSv1.2", "TLSv1.3"}},
				withSNI(completed(f.leaf.Cert, f.inter.Cert)),
			}},
		{name: "sni default certificate hides hostname", x: &tlsdiag.Expectations{ServerName: "backend.test", NoSNI: true, Roots: []*x509.Certificate{f.root.Cert}},
			want: []string{SNIDefaultCertificate},
			attempts: []*tlsdiag.Attempt{
				func() *tlsdiag.Attempt {
					a := refusedByVerify(wrongName.Cert, f.inter.Cert)
					a.ServerName = ""
					return a
				}(),
				withSNI(completed(f.leaf.Cert, f.inter.Cert)),
			}},
		{name: "client cert missing", x: expect(f.root.Cert), want: []string{ClientCertMissing},
			attempts: []*tlsdiag.Attempt{func() *tlsdiag.Attempt {
				a := completed(f.leaf.Cert, f.inter.Cert)
				a.Completed, a.Step, a.ClientCertSent = false, tlsdiag.StepPostHandshake, 0
				a.CertRequest = &tlsdiag.CertRequest{AcceptableCAs: []string{"CN=Client CA"}}
				a.AlertReceived = &tlsdiag.Alert{Code: 116, Name: "certificate_required"}
				return a
			}()}},
		{name: "client issuer not accepted", want: []string{ClientCertIssuer},
			x: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{f.root.Cert}, ClientCert: &clientTLS},
			attempts: []*tlsdiag.Attempt{func() *tlsdiag.Attempt {
				a := completed(f.leaf.Cert, f.inter.Cert)
				a.Completed, a.Step, a.ClientCertSent = false, tlsdiag.StepClientCertificate, 0
				a.CertRequest = &tlsdiag.CertRequest{AcceptableCAs: []string{(&pkix.Name{CommonName: "Some Other CA"}).String()}}
				a.AlertReceived = &tlsdiag.Alert{Code: 40, Name: "handshake_failure"}
				return a
			}()},
			evidence: func(t *testing.T, fs []tlsdiag.Finding) {
				if got := fs[0].Evidence["clientCertIssuer"]; got != "CN=Client CA" {
					t.Errorf("clientCertIssuer = %v; want CN=Client CA", got)
				}
			}},
		{name: "client cert rejected", want: []string{ClientCertRejected},
			x: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{f.root.Cert}, ClientCert: &clientTLS},
			attempts: []*tlsdiag.Attempt{func() *tlsdiag.Attempt {
				a := completed(f.leaf.Cert, f.inter.Cert)
				a.Completed, a.Step, a.ClientCertSent = false, tlsdiag.StepClientCertificate, 1
				a.CertRequest = &tlsdiag.CertRequest{}
				a.AlertReceived = &tlsdiag.Alert{Code: 48, Name: "unknown_ca"}
				return a
			}()}},
		{name: "client cert missing, refused over HTTP (nginx)", x: expect(f.root.Cert), want: []string{ClientCertMissing},
			attempts: []*tlsdiag.Attempt{func() *tlsdiag.Attempt {
				a := completed(f.leaf.Cert, f.inter.Cert)
				a.ClientCertSent = 0
				a.CertRequest = &tlsdiag.CertRequest{AcceptableCAs: []string{"CN=Client CA"}}
				a.HTTP = &tlsdiag.HTTPAnswer{Status: 400, Line: "HTTP/1.1 400 Bad Request", Title: "400 No required SSL certificate was sent"}
				return a
			}()}},
		{name: "client cert rejected over HTTP (nginx)", want: []string{ClientCertRejected},
			x: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{f.root.Cert}, ClientCert: &clientTLS},
			attempts: []*tlsdiag.Attempt{func() *tlsdiag.Attempt {
				a := completed(f.leaf.Cert, f.inter.Cert)
				a.ClientCertSent = 1
				a.CertRequest = &tlsdiag.CertRequest{AcceptableCAs: []string{"CN=Client CA"}}
				a.HTTP = &tlsdiag.HTTPAnswer{Status: 400, Line: "HTTP/1.1 400 Bad Request", Title: "400 The SSL certificate error"}
				return a
			}()}},
		{name: "client cert accepted, HTTP 404 is not a TLS matter", x: &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{f.root.Cert}, ClientCert: &clientTLS},
			want: nil,
			attempts: []*tlsdiag.Attempt{func() *tlsdiag.Attempt {
				a := completed(f.leaf.Cert, f.inter.Cert)
				a.ClientCertSent = 1
				a.CertRequest = &tlsdiag.CertRequest{AcceptableCAs: []string{"CN=Client CA"}}
				a.HTTP = &tlsdiag.HTTPAnswer{Status: 404, Line: "HTTP/1.1 404 Not Found", Title: "404 Not Found"}
				return a
			}()}},
		{name: "key mismatch", want: []string{ClientCertKeyMismatch},
			x:        &tlsdiag.Expectations{ServerName: "backend.test", Roots: []*x509.Certificate{f.root.Cert}, ClientCertProblem: "private key does not match the certificate"},
			attempts: []*tlsdiag.Attempt{completed(f.leaf.Cert, f.inter.Cert)}},
		{name: "unclassified", x: expect(f.root.Cert), want: []string{AlertUnclassified},
			attempts: []*tlsdiag.Attempt{{Name: tlsdiag.AttemptConfigured, ServerName: "backend.test", Step: tlsdiag.StepClientHello, ClientCertSent: -1,
				AlertReceived: &tlsdiag.Alert{Code: 80, Name: "internal_error"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			facts := &tlsdiag.Facts{Target: "backend.test:443", Address: "127.0.0.1:443", Time: now, Attempts: tt.attempts, Server: tt.server}
			fs := Diagnose(facts, tt.x)
			var errs []string
			for _, f := range fs {
				if f.Severity == tlsdiag.SeverityError {
					errs = append(errs, f.ID)
				}
				if f.Detail == "" || (f.Severity == tlsdiag.SeverityError && len(f.Fix) == 0) {
					t.Errorf("%s: empty detail or fix", f.ID)
				}
			}
			if !slices.Equal(errs, tt.want) {
				t.Fatalf("error findings %v (all %v); want %v", errs, ids(fs), tt.want)
			}
			if tt.evidence != nil {
				tt.evidence(t, fs)
			}
		})
	}
}
