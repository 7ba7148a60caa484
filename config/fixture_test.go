package config

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// fixture is a small PKI: a root, an intermediate, a server and a client certificate.
type fixture struct {
	root, inter, server, client *pkitest.Cert
	now                         time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := pkitest.NewRoot("Test Root CA")
	inter := root.Issue(pkitest.Options{CommonName: "Test Intermediate CA", IsCA: true})
	return &fixture{
		root:   root,
		inter:  inter,
		server: inter.Issue(pkitest.Options{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}}),
		client: inter.Issue(pkitest.Options{CommonName: "gateway client"}),
		now:    pkitest.Epoch,
	}
}

// chainPEM is c's chain (c, then its issuers below the root) in PEM.
func chainPEM(c *pkitest.Cert) string { return string(pkitest.PEM(c.Chain()...)) }

// env returns a valid environment using every kind of object: a keystore with two key
// aliases, a truststore, references to both, a two-way TLS virtual host and a plain one,
// two TLS target servers, a proxy over a load balancer and one with a URL.
func (f *fixture) env() Environment {
	no := false
	return Environment{
		Name: "test",
		Keystores: []Keystore{
			{Name: "ks1", Aliases: []Alias{
				{Name: "server", Cert: chainPEM(f.server), Key: string(f.server.KeyPEM())},
				{Name: "client", Cert: chainPEM(f.client), Key: string(f.client.KeyPEM())},
			}},
			{Name: "ts1", Aliases: []Alias{
				{Name: "root", Cert: string(f.root.CertPEM())},
			}},
		},
		References: []Reference{
			{Name: "ksref", Refers: "ks1", ResourceType: ResourceKeyStore},
			{Name: "tsref", Refers: "ts1", ResourceType: ResourceTrustStore},
		},
		VirtualHosts: []VirtualHost{
			{Name: "secure", HostAliases: []string{"api.example.com", "*.api.example.com"}, Port: 443,
				SSLInfo:    &SSLInfo{Enabled: true, ClientAuthEnabled: true, KeyStore: "ref://ksref", KeyAlias: "server", TrustStore: "ref://tsref"},
				Properties: map[string]string{"ssl_protocols": "TLSv1.2 TLSv1.3"}},
			{Name: "default", HostAliases: []string{"api.example.com", "10.0.0.1"}, Port: 80},
		},
		TargetServers: []TargetServer{
			{Name: "backend-a", Host: "backend-a.internal", Port: 8443,
				SSLInfo: &SSLInfo{Enabled: true, ClientAuthEnabled: true, KeyStore: "ks1", KeyAlias: "client", TrustStore: "ts1",
					Protocols: []string{"TLSv1.2", "TLSv1.3"}, Ciphers: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES256-GCM-SHA384"},
					CommonName: &CommonName{Value: "*.internal", WildcardMatch: true}}},
			{Name: "backend-b", Host: "10.1.2.3", Port: 8443, IsEnabled: &no,
				SSLInfo: &SSLInfo{Enabled: true, TrustStore: "ref://tsref"}},
		},
		Proxies: []Proxy{
			{Name: "orders", BasePath: "/orders", VirtualHosts: []string{"secure"},
				Target: TargetEndpoint{LoadBalancer: &LoadBalancer{Algorithm: "RoundRobin", Servers: []string{"backend-a", "backend-b"}, MaxFailures: 5}, Path: "/v1"}},
			{Name: "legacy", BasePath: "/legacy", VirtualHosts: []string{"secure", "default"},
				Target: TargetEndpoint{URL: "https://legacy.example.com:8443/api", SSLInfo: &SSLInfo{Enabled: true, TrustStore: "ts1"}, ConnectTimeoutMillis: 3000}},
		},
	}
}

// doc wraps environments in a document of organization "myorg".
func doc(envs ...Environment) *Document {
	return &Document{Organizations: []Organization{{Name: "myorg", Environments: envs}}}
}

// serverOptions mint a certificate like the fixture's server certificate.
func (f *fixture) serverOptions() pkitest.Options {
	return pkitest.Options{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}}
}

// keyForms returns the forms a private key given in PEM could leak in: the PEM, its
// DER, its PKCS#8 DER and every line of base64 of the PEM.
func keyForms(t *testing.T, keyPEM []byte) [][]byte {
	t.Helper()
	out := [][]byte{keyPEM}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		t.Fatal("not PEM")
	}
	out = append(out, b.Bytes)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, der)
	for _, line := range bytes.Split(keyPEM, []byte("\n")) {
		if len(line) > 16 && !bytes.HasPrefix(line, []byte("-----")) {
			out = append(out, line)
		}
	}
	return out
}
