package lab

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// pkiSet is every certificate the scenarios use, minted once per process.
type pkiSet struct {
	root, inter  *pkitest.Cert // Lab Root CA → Lab Intermediate CA
	leaf         *pkitest.Cert // backend.test, issued by inter
	rsaLeaf      *pkitest.Cert // backend.test with an RSA key (for RSA key exchange)
	impostor     *pkitest.Cert // "Lab Intermediate CA" again, with another key
	otherRoot    *pkitest.Cert // a root the server's chain does not lead to
	wrongName    *pkitest.Cert // other.test
	expired      *pkitest.Cert
	notYetValid  *pkitest.Cert
	legacyRoot   *pkitest.Cert // RSA root that signs with SHA-1
	sha1Leaf     *pkitest.Cert
	defaultLeaf  *pkitest.Cert // default.test, served without SNI
	directLeaf   *pkitest.Cert // backend.test, issued by the root itself
	clientA      *pkitest.Cert // Lab Client CA A
	clientB      *pkitest.Cert // Lab Client CA B
	clientLeafA  *pkitest.Cert
	clientLeafB  *pkitest.Cert
	clientOldA   *pkitest.Cert // expired, issued by A
	clientOtherA *pkitest.Cert // its key is used with clientLeafA's certificate
	clientForged *pkitest.Cert // issued by another CA also named "Lab Client CA A"

	// aia serves the issuers named by the AIA caIssuers URLs of the leaves below.
	aia         *aiaServer
	aiaLeaf     *pkitest.Cert // backend.test, issued by inter, naming interURL
	interURL    string        // serves inter
	privateRoot *pkitest.Cert // a root no lab truststore holds
	privateLeaf *pkitest.Cert // backend.test, issued by privateRoot directly, naming privateURL
	privateURL  string        // serves privateRoot
}

// aiaServer serves the DER of lab certificates over HTTP on 127.0.0.1, for the caIssuers
// URLs of the AIA scenarios. It starts with the lab's PKI, before the certificates naming
// it are minted, and runs until the process ends.
type aiaServer struct {
	base  string // http://127.0.0.1:PORT
	err   error  // why it does not listen
	mu    sync.Mutex
	files map[string][]byte
}

func startAIAServer() *aiaServer {
	s := &aiaServer{files: map[string][]byte{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.err = fmt.Errorf("the AIA server: %w", err)
		s.base = "http://127.0.0.1:0" // a URL that leads nowhere; Start refuses the scenarios
		return s
	}
	s.base = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: connLimit}
	go srv.Serve(ln)
	return s
}

// publish serves c's DER at /name and returns its URL.
func (s *aiaServer) publish(name string, c *pkitest.Cert) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files["/"+name] = c.Cert.Raw
	return s.base + "/" + name
}

func (s *aiaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	der, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Write(der)
}

// usesAIA reports whether a certificate s's server sends names a caIssuers URL of the lab.
func usesAIA(s ServerSpec, base string) bool {
	for _, c := range s.Cert.Chain {
		for _, u := range c.IssuingCertificateURL {
			if strings.HasPrefix(u, base+"/") {
				return true
			}
		}
	}
	return false
}

var labPKI = sync.OnceValue(func() *pkiSet {
	e := pkitest.Epoch
	server := func(issuer *pkitest.Cert, o pkitest.Options) *pkitest.Cert {
		if o.CommonName == "" {
			o.CommonName = DefaultServerName
		}
		if o.DNSNames == nil {
			o.DNSNames = []string{o.CommonName}
		}
		o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		return issuer.Issue(o)
	}
	client := func(issuer *pkitest.Cert, cn string, o pkitest.Options) *pkitest.Cert {
		o.CommonName = cn
		o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		return issuer.Issue(o)
	}
	p := &pkiSet{root: pkitest.NewRoot("Lab Root CA")}
	p.inter = p.root.Issue(pkitest.Options{CommonName: "Lab Intermediate CA", IsCA: true})
	p.leaf = server(p.inter, pkitest.Options{})
	p.rsaLeaf = server(p.inter, pkitest.Options{Key: pkitest.RSA2048})
	p.impostor = p.root.Issue(pkitest.Options{CommonName: "Lab Intermediate CA", IsCA: true})
	p.otherRoot = pkitest.NewRoot("Lab Other Root CA")
	p.wrongName = server(p.inter, pkitest.Options{CommonName: "other.test"})
	p.expired = server(p.inter, pkitest.Options{NotBefore: e.Add(-60 * 24 * time.Hour), NotAfter: e.Add(-30 * 24 * time.Hour)})
	p.notYetValid = server(p.inter, pkitest.Options{NotBefore: e.Add(30 * 24 * time.Hour), NotAfter: e.Add(400 * 24 * time.Hour)})
	p.legacyRoot = pkitest.NewSelfSigned(pkitest.Options{CommonName: "Lab Legacy Root CA", IsCA: true, Key: pkitest.RSA2048})
	p.sha1Leaf = server(p.legacyRoot, pkitest.Options{SignatureAlgorithm: x509.SHA1WithRSA})
	p.defaultLeaf = server(p.root, pkitest.Options{CommonName: "default.test"})
	p.directLeaf = server(p.root, pkitest.Options{})
	p.clientA = pkitest.NewRoot("Lab Client CA A")
	p.clientB = pkitest.NewRoot("Lab Client CA B")
	p.clientLeafA = client(p.clientA, "lab client A", pkitest.Options{})
	p.clientLeafB = client(p.clientB, "lab client B", pkitest.Options{})
	p.clientOldA = client(p.clientA, "lab client A (expired)", pkitest.Options{NotBefore: e.Add(-60 * 24 * time.Hour), NotAfter: e.Add(-30 * 24 * time.Hour)})
	p.clientOtherA = client(p.clientA, "lab client A (other key)", pkitest.Options{})
	p.clientForged = client(pkitest.NewRoot("Lab Client CA A"), "lab client A (other CA key)", pkitest.Options{})
	p.aia = startAIAServer()
	p.interURL = p.aia.publish("lab-intermediate-ca.cer", p.inter)
	p.aiaLeaf = server(p.inter, pkitest.Options{IssuingCertificateURL: []string{p.interURL}})
	p.privateRoot = pkitest.NewRoot("Lab Private Root CA")
	p.privateURL = p.aia.publish("lab-private-root-ca.cer", p.privateRoot)
	p.privateLeaf = server(p.privateRoot, pkitest.Options{IssuingCertificateURL: []string{p.privateURL}})
	return p
})

// cred returns c's credential, sending c then the given chain certificates.
func cred(c *pkitest.Cert, chain ...*x509.Certificate) Credential {
	return Credential{Chain: append([]*x509.Certificate{c.Cert}, chain...), Key: c.Key}
}

func certs(cs ...*pkitest.Cert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.Cert
	}
	return out
}

var (
	allPeers    = []Peer{PeerGo, PeerOpenSSL, PeerNginx}
	goOnly      = []Peer{PeerGo}
	notOpenSSL  = []Peer{PeerGo, PeerNginx}
	notNginx    = []Peer{PeerGo, PeerOpenSSL}
	errorResult = tlsdiag.SeverityError
)

// Scenarios returns every scenario: the healthy setups first, then one per outbound cause
// in the catalog's order. The certificates are minted once per process; every call returns
// the same ones.
func Scenarios() []Scenario {
	p := labPKI()
	full := cred(p.leaf, p.inter.Cert)
	trustRoot := ClientSpec{Roots: certs(p.root)}
	twoWay := ServerSpec{Cert: full, ClientAuth: ClientAuthRequire, ClientCAs: certs(p.clientA)}
	withClient := func(c Credential) ClientSpec {
		s := trustRoot
		s.Cert = &c
		return s
	}
	chainCase := func(name, why string, cert Credential, client ClientSpec, ev map[string]any) Scenario {
		return Scenario{Name: name, Expect: name, Severity: errorResult, Description: why,
			Server: ServerSpec{Cert: cert}, Client: client, Peers: allPeers, Evidence: ev}
	}
	return []Scenario{
		{
			Name: "healthy.one-way", Description: "full chain, trusted root, TLS 1.2 and 1.3",
			Server: ServerSpec{Cert: full}, Client: trustRoot, Peers: allPeers,
		},
		{
			Name: "healthy.two-way", Description: "the server requires a client certificate from CA A; the client has one",
			Server: twoWay, Client: withClient(cred(p.clientLeafA)), Peers: allPeers,
		},
		{
			Name: "healthy.client-cert-optional", Description: "the server asks for a client certificate from CA A but accepts none; the client has none",
			Server: ServerSpec{Cert: full, ClientAuth: ClientAuthRequest, ClientCAs: certs(p.clientA)}, Client: trustRoot, Peers: allPeers,
		},
		{
			Name: "healthy.tls1.2-only", Description: "the server speaks only TLS 1.2",
			Server: ServerSpec{Cert: full, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}, Client: trustRoot, Peers: allPeers,
		},
		{
			Name: "healthy.tls1.3-only", Description: "the server speaks only TLS 1.3",
			Server: ServerSpec{Cert: full, MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13}, Client: trustRoot, Peers: allPeers,
		},
		{
			Name: catalog.NetworkUnreachable, Expect: catalog.NetworkUnreachable, Severity: errorResult,
			Description: "nothing listens on the port",
			Server:      ServerSpec{Behaviour: ServeClosed}, Client: trustRoot, Peers: goOnly,
			Evidence: map[string]any{"kind": "refused"},
		},
		{
			Name: catalog.NetworkTimeout, Expect: catalog.NetworkTimeout, Severity: errorResult,
			Description: "the server accepts the connection and never answers",
			Server:      ServerSpec{Behaviour: ServeSilent}, Client: withTimeout(trustRoot, time.Second), Peers: goOnly,
			Evidence: map[string]any{"step": tlsdiag.StepClientHello},
		},
		{
			Name: catalog.NotTLS, Expect: catalog.NotTLS, Severity: errorResult,
			Description: "the port serves plain HTTP",
			Server:      ServerSpec{Behaviour: ServePlainHTTP}, Client: trustRoot, Peers: notOpenSSL,
			Evidence: map[string]any{"protocol": "HTTP"},
		},
		{
			Name: catalog.ProtocolMismatch, Expect: catalog.ProtocolMismatch, Severity: errorResult,
			Description: "the server speaks only TLS 1.0; the client TLS 1.2 and 1.3",
			Server:      ServerSpec{Cert: full, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10},
			Client:      trustRoot, Peers: allPeers,
			Evidence: map[string]any{"serverVersions": []string{"TLSv1.0"}, "clientVersions": []string{"TLSv1.2", "TLSv1.3"}},
		},
		{
			Name: catalog.CipherMismatch, Expect: catalog.CipherMismatch, Severity: errorResult,
			Description: "the server speaks TLS 1.2 with only TLS_RSA_WITH_AES_128_CBC_SHA; the client offers Go's defaults",
			Server: ServerSpec{Cert: cred(p.rsaLeaf, p.inter.Cert), MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
				Ciphers: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}},
			Client: trustRoot, Peers: allPeers,
			Evidence: map[string]any{"versions": []string{"TLSv1.2"},
				"serverSuites": map[string]any{"TLSv1.2": []string{"TLS_RSA_WITH_AES_128_CBC_SHA"}}},
		},
		{
			Name: catalog.SNIRequired, Expect: catalog.SNIRequired, Severity: errorResult,
			Description: "the server aborts handshakes without server_name; the client sends none",
			Server: ServerSpec{Cert: full, ByName: []NamedCredential{{Name: DefaultServerName, Credential: full}},
				RequireSNI: true},
			Client: noSNI(trustRoot), Peers: notOpenSSL,
			Evidence: map[string]any{"withSNI": map[string]any{"serverName": DefaultServerName}},
		},
		{
			Name: catalog.SNIDefaultCertificate, Expect: catalog.SNIDefaultCertificate, Severity: errorResult,
			Description: "without server_name the server sends its default certificate, for default.test",
			Server: ServerSpec{Cert: cred(p.defaultLeaf),
				ByName: []NamedCredential{{Name: DefaultServerName, Credential: cred(p.directLeaf)}}},
			Client: noSNI(trustRoot), Peers: allPeers,
			Evidence: map[string]any{"serverName": DefaultServerName,
				"withoutSNI": map[string]any{"subject": "CN=default.test"},
				"withSNI":    map[string]any{"subject": "CN=" + DefaultServerName}},
		},
		chainCase(catalog.ChainIncomplete, "the server sends only its leaf, issued by an intermediate the client lacks",
			cred(p.leaf), trustRoot,
			map[string]any{"missingIssuer": "CN=Lab Intermediate CA", "issuedTo": "CN=" + DefaultServerName}),
		{
			Name: catalog.ChainIncomplete + ".aia", Expect: catalog.ChainIncomplete, Severity: errorResult,
			Description: "the server sends only its leaf; the leaf's AIA URL serves the intermediate, which the client lacks",
			Server:      ServerSpec{Cert: cred(p.aiaLeaf)}, Client: trustRoot, Peers: allPeers,
			Evidence: map[string]any{"missingIssuer": "CN=Lab Intermediate CA", "aiaFetched": p.interURL},
		},
		chainCase(catalog.ChainWrongIntermediate, "the server sends an intermediate of the right name but another key",
			cred(p.leaf, p.impostor.Cert), trustRoot,
			map[string]any{"problems": []any{map[string]any{"kind": "signature-link", "subject": "CN=" + DefaultServerName}}}),
		{
			Name: catalog.ChainMisordered, Expect: catalog.ChainMisordered, Severity: tlsdiag.SeverityWarning,
			Description: "the server sends leaf, root, intermediate",
			Server:      ServerSpec{Cert: cred(p.leaf, p.root.Cert, p.inter.Cert)}, Client: trustRoot, Peers: allPeers,
		},
		chainCase(catalog.TruststoreMissingRoot, "the chain is complete; the truststore holds another root",
			full, ClientSpec{Roots: certs(p.otherRoot)},
			map[string]any{"root": map[string]any{"subject": "CN=Lab Root CA"}, "truststore": []string{"CN=Lab Other Root CA"}}),
		{
			Name: catalog.TruststoreMissingRoot + ".leaf-only", Expect: catalog.TruststoreMissingRoot, Severity: errorResult,
			Description: "the server sends only its leaf, issued directly by a private root its AIA URL serves; the truststore holds another root",
			Server:      ServerSpec{Cert: cred(p.privateLeaf)}, Client: ClientSpec{Roots: certs(p.otherRoot)}, Peers: allPeers,
			Evidence: map[string]any{"root": map[string]any{"subject": "CN=Lab Private Root CA"}, "aiaFetched": p.privateURL},
		},
		chainCase(catalog.TruststoreEmpty, "the client's truststore holds no certificate",
			full, ClientSpec{},
			map[string]any{"serverChain": []any{map[string]any{"subject": "CN=" + DefaultServerName}, map[string]any{"subject": "CN=Lab Intermediate CA"}}}),
		chainCase(catalog.HostnameMismatch, "the certificate is for other.test",
			cred(p.wrongName, p.inter.Cert), trustRoot,
			map[string]any{"host": DefaultServerName}),
		chainCase(catalog.CertExpired, "the server's certificate expired 30 days ago",
			cred(p.expired, p.inter.Cert), trustRoot,
			map[string]any{"certificate": map[string]any{"subject": "CN=" + DefaultServerName}, "position": 0}),
		chainCase(catalog.CertNotYetValid, "the server's certificate becomes valid in 30 days",
			cred(p.notYetValid, p.inter.Cert), trustRoot,
			map[string]any{"certificate": map[string]any{"subject": "CN=" + DefaultServerName}, "position": 0}),
		chainCase(catalog.CertInsecureSignature, "the server's certificate is signed with SHA-1 by an RSA root",
			cred(p.sha1Leaf), ClientSpec{Roots: certs(p.legacyRoot)},
			map[string]any{"problems": []any{map[string]any{"kind": "weak-signature", "subject": "CN=" + DefaultServerName}}}),
		{
			Name: catalog.ClientCertMissing, Expect: catalog.ClientCertMissing, Severity: errorResult,
			Description: "the server requires a client certificate from CA A; the client has none",
			Server:      twoWay, Client: trustRoot, Peers: allPeers,
			Evidence: map[string]any{"acceptableCAs": []string{"CN=Lab Client CA A"}, "clientCertSent": 0},
		},
		{
			Name: catalog.ClientCertIssuer, Expect: catalog.ClientCertIssuer, Severity: errorResult,
			Description: "the server lists CA A; the client's certificate is from CA B",
			Server:      twoWay, Client: withClient(cred(p.clientLeafB)), Peers: allPeers,
			Evidence: map[string]any{"acceptableCAs": []string{"CN=Lab Client CA A"}, "clientCertIssuer": "CN=Lab Client CA B"},
		},
		{
			Name: catalog.ClientCertRejected, Expect: catalog.ClientCertRejected, Severity: errorResult,
			Description: "the server asks for any certificate without naming CAs, and refuses the one from CA B",
			Server:      ServerSpec{Cert: full, ClientAuth: ClientAuthRequire, ClientCAs: certs(p.clientA), NoCANames: true},
			Client:      withClient(cred(p.clientLeafB)), Peers: notNginx,
			Evidence: map[string]any{"clientCertIssuer": "CN=Lab Client CA B", "clientCert": "CN=lab client B", "clientCertSent": 1},
		},
		{
			Name: catalog.ClientCertRejected + ".same-name-ca", Expect: catalog.ClientCertRejected, Severity: errorResult,
			Description: "the server lists CA A; the client's certificate names CA A as issuer but another key signed it",
			Server:      twoWay, Client: withClient(cred(p.clientForged)), Peers: allPeers,
			Evidence: map[string]any{"clientCertIssuer": "CN=Lab Client CA A", "clientCert": "CN=lab client A (other CA key)", "clientCertSent": 1},
		},
		{
			Name: catalog.ClientCertExpired, Expect: catalog.ClientCertExpired, Severity: errorResult,
			Description: "the client's certificate from CA A expired 30 days ago",
			Server:      twoWay, Client: withClient(cred(p.clientOldA)), Peers: allPeers,
			Evidence: map[string]any{"subject": "CN=lab client A (expired)"},
		},
		{
			Name: catalog.ClientCertKeyMismatch, Expect: catalog.ClientCertKeyMismatch, Severity: errorResult,
			Description: "the client's key belongs to another certificate",
			Server:      twoWay, Client: withClient(Credential{Chain: certs(p.clientLeafA), Key: p.clientOtherA.Key}), Peers: allPeers,
		},
		{
			Name: catalog.AlertUnclassified, Expect: catalog.AlertUnclassified, Severity: errorResult,
			Description: "the server aborts every handshake with internal_error",
			Server:      ServerSpec{Behaviour: ServeAbort}, Client: trustRoot, Peers: goOnly,
			Evidence: map[string]any{"alert": map[string]any{"name": "internal_error"}, "sender": "server"},
		},
	}
}

func withTimeout(c ClientSpec, d time.Duration) ClientSpec {
	c.Timeout = d
	return c
}

func noSNI(c ClientSpec) ClientSpec {
	c.NoSNI = true
	return c
}
