package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// want is one expected problem: its path and a part of its message.
type want struct{ path, msg string }

// checkProblems fails unless got holds exactly the wanted problems, in any order.
func checkProblems(t *testing.T, got []Problem, wants ...want) {
	t.Helper()
	used := make([]bool, len(got))
	ok := len(got) == len(wants)
	for _, w := range wants {
		found := false
		for i, p := range got {
			if !used[i] && p.Path == w.path && strings.Contains(p.Message, w.msg) {
				used[i], found = true, true
				break
			}
		}
		ok = ok && found
	}
	if !ok {
		var b strings.Builder
		for _, p := range got {
			b.WriteString("\n\t" + p.String())
		}
		var w strings.Builder
		for _, x := range wants {
			w.WriteString("\n\t" + x.path + ": ..." + x.msg + "...")
		}
		t.Errorf("got problems:%s\nwant:%s", b.String(), w.String())
	}
}

func TestEnvironmentValid(t *testing.T) {
	f := newFixture(t)
	e := f.env()
	checkProblems(t, e.Problems(f.now))
	if err := doc(e).Validate(f.now); err != nil {
		t.Errorf("Validate: got %v; want nil", err)
	}
}

func TestProblems(t *testing.T) {
	f := newFixture(t)
	other := pkitest.NewRoot("Other CA")
	expired := f.inter.Issue(pkitest.Options{CommonName: "old", NotBefore: f.now.Add(-48 * time.Hour), NotAfter: f.now.Add(-time.Hour)})
	future := f.inter.Issue(pkitest.Options{CommonName: "early", NotBefore: f.now.Add(time.Hour)})
	forged := f.inter.Issue(pkitest.Options{CommonName: "forged", SignWith: other.Key})
	const garbagePEM = "-----BEGIN CERTIFICATE-----\nMIIBxx==\n-----END CERTIFICATE-----\n"

	tests := []struct {
		name   string
		mutate func(e *Environment)
		wants  []want
	}{
		// Names.
		{"keystore name with a dot", func(e *Environment) { e.Keystores = append(e.Keystores, Keystore{Name: "my.ks"}) },
			[]want{{"keystores[my.ks].name", "only letters, digits, '_' and '-'"}}},
		{"keystore name with _ and -", func(e *Environment) { e.Keystores = append(e.Keystores, Keystore{Name: "my_ks-2"}) }, nil},
		{"empty proxy name", func(e *Environment) { e.Proxies[0].Name = "" },
			[]want{{"proxies[#0].name", "proxy name is empty"}}},
		{"name with a slash", func(e *Environment) {
			e.TargetServers[1].Name = "a/b"
			e.Proxies[0].Target.LoadBalancer.Servers[1] = "a/b"
		},
			[]want{{"targetServers[a/b].name", "only letters, digits, '.', '_' and '-'"}}},
		{"name too long", func(e *Environment) {
			e.References = append(e.References, Reference{Name: strings.Repeat("r", 256), Refers: "ks1", ResourceType: "KeyStore"})
		},
			[]want{{"references[" + strings.Repeat("r", 256) + "].name", "at most 255"}}},
		{"dot name", func(e *Environment) { e.VirtualHosts[1].Name = ".."; e.Proxies[1].VirtualHosts[1] = ".." },
			[]want{{"virtualHosts[..].name", `virtual host name ".." is not allowed`}}},
		{"duplicate keystore", func(e *Environment) { e.Keystores = append(e.Keystores, Keystore{Name: "ts1"}) },
			[]want{{"keystores[ts1]", `keystore "ts1" is defined more than once (entries #1 and #2)`}}},
		{"duplicate alias", func(e *Environment) {
			e.Keystores[1].Aliases = append(e.Keystores[1].Aliases, e.Keystores[1].Aliases[0])
		},
			[]want{{"keystores[ts1].aliases[root]", `alias "root" is defined more than once`}}},
		{"cert names collide", func(e *Environment) {
			e.Keystores[1].Aliases = append(e.Keystores[1].Aliases, Alias{Name: "root2", CertName: "root", Cert: string(f.root.CertPEM())})
		}, []want{{"keystores[ts1].aliases[root2].certName", `certificate name "root" is also the certificate name of alias "root"`}}},

		// Aliases.
		{"no certificate", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = "" },
			[]want{{"keystores[ts1].aliases[root].cert", "no certificate"}}},
		{"certificate file not read", func(e *Environment) {
			e.Keystores[1].Aliases[0].Cert = ""
			e.Keystores[1].Aliases[0].CertFile = "root.pem"
		},
			[]want{{"keystores[ts1].aliases[root].certFile", `"root.pem" was not read`}}},
		{"not PEM", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = "hello" },
			[]want{{"keystores[ts1].aliases[root].cert", "not a PEM certificate chain"}}},
		{"bad PEM", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = garbagePEM },
			[]want{{"keystores[ts1].aliases[root].cert", "reading the certificate chain"}}},
		{"chain out of order", func(e *Environment) {
			e.Keystores[1].Aliases[0].Cert = string(pkitest.PEM(f.server.Cert, f.root.Cert, f.inter.Cert))
		}, []want{
			{"keystores[ts1].aliases[root].cert", "chain out of order at position 2: certificate 1 (leaf, CN=api.example.com) was issued by CN=Test Intermediate CA, which is certificate 3, not by certificate 2 (CN=Test Root CA)"},
			{"keystores[ts1].aliases[root].cert", "chain out of order at position 3: certificate 2 (CN=Test Root CA) is self-signed"},
		}},
		{"issuer missing", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = string(pkitest.PEM(f.server.Cert, other.Cert)) },
			[]want{{"keystores[ts1].aliases[root].cert", "which is not in the chain, not by certificate 2 (CN=Other CA)"}}},
		{"signature does not verify", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = chainPEM(forged) },
			[]want{{"keystores[ts1].aliases[root].cert", "chain broken at position 2: certificate 1 (leaf, CN=forged) names certificate 2 (CN=Test Intermediate CA) as its issuer, but its signature does not verify"}}},
		{"expired", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = chainPEM(expired) },
			[]want{{"keystores[ts1].aliases[root].cert", "certificate 1 (leaf, CN=old) expired on " + expired.Cert.NotAfter.UTC().Format(time.DateOnly) + "; renew it, or set ignoreExpiryValidation"}}},
		{"expired accepted", func(e *Environment) {
			e.Keystores[1].Aliases[0].Cert = chainPEM(expired)
			e.Keystores[1].Aliases[0].IgnoreExpiryValidation = true
		}, nil},
		{"not yet valid", func(e *Environment) { e.Keystores[1].Aliases[0].Cert = string(future.CertPEM()) },
			[]want{{"keystores[ts1].aliases[root].cert", "certificate 1 (CN=early) is not valid before"}}},
		{"key of another certificate", func(e *Environment) { e.Keystores[0].Aliases[0].Key = string(f.client.KeyPEM()) },
			[]want{{"keystores[ks1].aliases[server].key", "the private key does not belong to the leaf certificate (CN=api.example.com)"}}},
		{"key unreadable", func(e *Environment) { e.Keystores[0].Aliases[0].Key = "not a key" },
			[]want{{"keystores[ks1].aliases[server].key", "reading the private key"}}},
		{"key file not read", func(e *Environment) { e.Keystores[0].Aliases[0].Key = ""; e.Keystores[0].Aliases[0].KeyFile = "k.pem" },
			[]want{{"keystores[ks1].aliases[server].keyFile", `key file "k.pem" was not read`}}},

		// References.
		{"reference to a missing keystore", func(e *Environment) { e.References[0].Refers = "gone" }, []want{
			{"references[ksref].refers", `keystore "gone" does not exist`},
			{"virtualHosts[secure].sslInfo.keyStore", `reference "ksref" refers to keystore "gone", which does not exist`},
		}},
		{"reference to a reference", func(e *Environment) { e.References[1].Refers = "ref://ksref" }, []want{
			{"references[tsref].refers", `refers "ref://ksref" is a reference`},
			{"virtualHosts[secure].sslInfo.trustStore", `reference "tsref" refers to keystore "ref://ksref", which does not exist`},
			{"targetServers[backend-b].sslInfo.trustStore", `reference "tsref" refers to keystore "ref://ksref"`},
		}},
		{"resource type", func(e *Environment) { e.References[0].ResourceType = "Keystore" },
			[]want{{"references[ksref].resourceType", `resource type "Keystore": want KeyStore or TrustStore`}}},

		// SSLInfo.
		{"missing reference", func(e *Environment) { e.VirtualHosts[0].SSLInfo.KeyStore = "ref://nope" },
			[]want{{"virtualHosts[secure].sslInfo.keyStore", `reference "nope" does not exist`}}},
		{"missing keystore", func(e *Environment) { e.TargetServers[0].SSLInfo.TrustStore = "nope" },
			[]want{{"targetServers[backend-a].sslInfo.trustStore", `keystore "nope" does not exist`}}},
		{"key alias as a reference", func(e *Environment) { e.VirtualHosts[0].SSLInfo.KeyAlias = "ref://server" },
			[]want{{"virtualHosts[secure].sslInfo.keyAlias", "cannot be a reference"}}},
		{"missing alias", func(e *Environment) { e.VirtualHosts[0].SSLInfo.KeyAlias = "nope" },
			[]want{{"virtualHosts[secure].sslInfo.keyAlias", `alias "nope" does not exist in keystore "ks1" (ref://ksref)`}}},
		{"alias without key", func(e *Environment) {
			e.TargetServers[0].SSLInfo.KeyStore = "ts1"
			e.TargetServers[0].SSLInfo.KeyAlias = "root"
		},
			[]want{{"targetServers[backend-a].sslInfo.keyAlias", `alias "root" of keystore "ts1" holds a certificate only`}}},
		{"key alias without keystore", func(e *Environment) { e.Proxies[1].Target.SSLInfo.KeyAlias = "client" },
			[]want{{"proxies[legacy].target.sslInfo.keyAlias", `keyAlias "client" needs keyStore`}}},
		{"TLS virtual host without keystore", func(e *Environment) { e.VirtualHosts[0].SSLInfo.KeyStore = ""; e.VirtualHosts[0].SSLInfo.KeyAlias = "" },
			[]want{{"virtualHosts[secure].sslInfo.keyStore", "TLS is enabled: give keyStore and keyAlias"}}},
		{"TLS virtual host without alias", func(e *Environment) { e.VirtualHosts[0].SSLInfo.KeyAlias = "" },
			[]want{{"virtualHosts[secure].sslInfo.keyAlias", "TLS is enabled: give keyStore and keyAlias"}}},
		{"two-way TLS without truststore", func(e *Environment) { e.VirtualHosts[0].SSLInfo.TrustStore = "" },
			[]want{{"virtualHosts[secure].sslInfo.trustStore", "clientAuthEnabled needs trustStore"}}},
		{"two-way TLS without TLS", func(e *Environment) {
			e.VirtualHosts[0].SSLInfo.Enabled = false
			e.VirtualHosts[0].Port = 8443
		}, []want{{"virtualHosts[secure].sslInfo.clientAuthEnabled", "two-way TLS needs enabled: true"}}},
		{"client auth without key alias", func(e *Environment) { e.TargetServers[0].SSLInfo.KeyAlias = "" },
			[]want{{"targetServers[backend-a].sslInfo.keyAlias", "clientAuthEnabled needs keyStore and keyAlias"}}},
		{"client auth without keystore on a proxy", func(e *Environment) { e.Proxies[1].Target.SSLInfo.ClientAuthEnabled = true },
			[]want{{"proxies[legacy].target.sslInfo.keyStore", "clientAuthEnabled needs keyStore and keyAlias"}}},
		{"client auth on a target without TLS", func(e *Environment) { e.TargetServers[0].SSLInfo.Enabled = false },
			[]want{{"targetServers[backend-a].sslInfo.clientAuthEnabled", "two-way TLS needs enabled: true"}}},
		{"protocols", func(e *Environment) {
			e.TargetServers[0].SSLInfo.Protocols = []string{"TLSv1.0", "tls1.2", "SSLv3", "TLSv1.4"}
		}, []want{
			{"targetServers[backend-a].sslInfo.protocols[1]", `unknown protocol "tls1.2"; want one of SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3`},
			{"targetServers[backend-a].sslInfo.protocols[3]", `unknown protocol "TLSv1.4"`},
		}},
		{"ciphers", func(e *Environment) {
			e.TargetServers[0].SSLInfo.Ciphers = []string{"TLS_AES_128_GCM_SHA256", "SSL_RSA_WITH_3DES_EDE_CBC_SHA", "AES-BOGUS"}
		},
			[]want{{"targetServers[backend-a].sslInfo.ciphers[2]", `unknown cipher suite "AES-BOGUS"`}}},
		{"common name empty", func(e *Environment) { e.TargetServers[0].SSLInfo.CommonName.Value = " " },
			[]want{{"targetServers[backend-a].sslInfo.commonName.value", "commonName has no value"}}},

		// Virtual hosts.
		{"port zero", func(e *Environment) { e.VirtualHosts[1].Port = 0 },
			[]want{{"virtualHosts[default].port", "port 0 is out of range 1..65535"}}},
		{"port too large", func(e *Environment) { e.TargetServers[1].Port = 70000 },
			[]want{{"targetServers[backend-b].port", "port 70000 is out of range"}}},
		{"no host alias", func(e *Environment) { e.VirtualHosts[1].HostAliases = nil },
			[]want{{"virtualHosts[default].hostAliases", "no host alias"}}},
		{"host aliases", func(e *Environment) {
			e.VirtualHosts[1].HostAliases = []string{"api..example.com", "*.*.example.com", "::1", "-bad.com", "under_score.com", "*.ok.example", "API.example.com", "api.example.com", "fe80::1%eth0"}
		}, []want{
			{"virtualHosts[default].hostAliases[0]", `host alias "api..example.com" is not a DNS name or IP address`},
			{"virtualHosts[default].hostAliases[1]", `"*.*.example.com" is not`},
			{"virtualHosts[default].hostAliases[3]", `"-bad.com" is not`},
			{"virtualHosts[default].hostAliases[4]", `"under_score.com" is not`},
			{"virtualHosts[default].hostAliases[7]", `host alias "api.example.com" is listed twice`},
			{"virtualHosts[default].hostAliases[8]", `"fe80::1%eth0" is not`},
		}},
		{"host alias claimed twice", func(e *Environment) {
			e.VirtualHosts = append(e.VirtualHosts, VirtualHost{Name: "other", HostAliases: []string{"API.example.com"}, Port: 443,
				SSLInfo: &SSLInfo{Enabled: true, KeyStore: "ks1", KeyAlias: "server"}})
		}, []want{{"virtualHosts[other].hostAliases[0]", `host alias "api.example.com" on port 443 is also claimed by virtualHosts[secure]`}}},
		{"TLS and plain on one port", func(e *Environment) { e.VirtualHosts[1].Port = 443 }, []want{
			{"virtualHosts[default].port", "port 443 serves plain HTTP here and TLS on virtualHosts[secure]: one port cannot be both"},
			{"virtualHosts[default].hostAliases[0]", `host alias "api.example.com" on port 443 is also claimed by virtualHosts[secure]`},
		}},
		{"base URL", func(e *Environment) { e.VirtualHosts[0].BaseURL = "api.example.com" },
			[]want{{"virtualHosts[secure].baseUrl", "not an http:// or https:// URL"}}},
		{"ssl_protocols property", func(e *Environment) { e.VirtualHosts[0].Properties["ssl_protocols"] = "TLSv1.2,TLSv1.3" },
			[]want{{"virtualHosts[secure].properties.ssl_protocols", `unknown protocol "TLSv1.2,TLSv1.3"`}}},

		// Target servers.
		{"empty host", func(e *Environment) { e.TargetServers[0].Host = "" },
			[]want{{"targetServers[backend-a].host", "host is empty"}}},
		{"URL as host", func(e *Environment) { e.TargetServers[0].Host = "https://backend" },
			[]want{{"targetServers[backend-a].host", `host "https://backend" is a URL`}}},
		{"bad host", func(e *Environment) { e.TargetServers[0].Host = "back end" },
			[]want{{"targetServers[backend-a].host", `host "back end" is not a host name or IP address`}}},
		{"hosts accepted", func(e *Environment) { e.TargetServers[0].Host = "my_service"; e.TargetServers[1].Host = "[::1]" }, nil},

		// Proxies.
		{"base path without slash", func(e *Environment) { e.Proxies[0].BasePath = "orders" },
			[]want{{"proxies[orders].basePath", `base path "orders" does not start with "/"`}}},
		{"base path with a query", func(e *Environment) { e.Proxies[0].BasePath = "/orders?x=1" },
			[]want{{"proxies[orders].basePath", "holds a query"}}},
		{"base path taken", func(e *Environment) { e.Proxies[1].BasePath = "/orders/" },
			[]want{{"proxies[legacy].basePath", `base path "/orders/" on virtual host "secure" is also the base path of proxy "orders"`}}},
		{"same base path on other virtual hosts", func(e *Environment) {
			e.Proxies[1].BasePath = "/orders"
			e.Proxies[1].VirtualHosts = []string{"default"}
		}, nil},
		{"no virtual host", func(e *Environment) { e.Proxies[0].VirtualHosts = nil },
			[]want{{"proxies[orders].virtualHosts", "no virtual host"}}},
		{"missing virtual host", func(e *Environment) { e.Proxies[0].VirtualHosts = []string{"secure", "nope", "secure"} }, []want{
			{"proxies[orders].virtualHosts[1]", `virtual host "nope" does not exist`},
			{"proxies[orders].virtualHosts[2]", `virtual host "secure" is listed twice`},
		}},
		{"URL and load balancer", func(e *Environment) { e.Proxies[0].Target.URL = "https://x.example" },
			[]want{{"proxies[orders].target", "give url or loadBalancer, not both"}}},
		{"no target", func(e *Environment) { e.Proxies[0].Target = TargetEndpoint{} },
			[]want{{"proxies[orders].target", "no url or loadBalancer"}}},
		{"URL scheme", func(e *Environment) { e.Proxies[1].Target.URL = "ftp://legacy.example.com/" },
			[]want{{"proxies[legacy].target.url", `url "ftp://legacy.example.com/": want an http:// or https:// URL`}}},
		{"URL unparseable", func(e *Environment) { e.Proxies[1].Target.URL = "https://legacy.example.com:port/" },
			[]want{{"proxies[legacy].target.url", "invalid port"}}},
		{"URL port", func(e *Environment) { e.Proxies[1].Target.URL = "https://legacy.example.com:0/" },
			[]want{{"proxies[legacy].target.url", "port 0 is out of range"}}},
		{"URL without host", func(e *Environment) { e.Proxies[1].Target.URL = "https:///api" },
			[]want{{"proxies[legacy].target.url", "has no host"}}},
		{"http URL with SSLInfo", func(e *Environment) { e.Proxies[1].Target.URL = "http://legacy.example.com/api" },
			[]want{{"proxies[legacy].target.sslInfo", "an http:// target does not use TLS"}}},
		{"path with URL", func(e *Environment) { e.Proxies[1].Target.Path = "/x" },
			[]want{{"proxies[legacy].target.path", "path goes with a load balancer"}}},
		{"load balancer", func(e *Environment) {
			e.Proxies[0].Target.LoadBalancer = &LoadBalancer{Algorithm: "Random", Servers: []string{"backend-a", "nope", "backend-a"}, MaxFailures: -1}
			e.Proxies[0].Target.Path = "v1"
			e.Proxies[0].Target.IOTimeoutMillis = -1
		}, []want{
			{"proxies[orders].target.loadBalancer.servers[1]", `target server "nope" does not exist`},
			{"proxies[orders].target.loadBalancer.servers[2]", `target server "backend-a" is listed twice`},
			{"proxies[orders].target.loadBalancer.algorithm", `algorithm "Random": want RoundRobin, Weighted, LeastConnections`},
			{"proxies[orders].target.loadBalancer.maxFailures", "maxFailures -1 is negative"},
			{"proxies[orders].target.path", `path "v1" does not start with "/"`},
			{"proxies[orders].target.ioTimeoutMillis", "timeout -1 is negative"},
		}},
		{"load balancer without servers", func(e *Environment) { e.Proxies[0].Target.LoadBalancer.Servers = nil },
			[]want{{"proxies[orders].target.loadBalancer.servers", "no server"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := f.env()
			tt.mutate(&e)
			checkProblems(t, e.Problems(f.now), tt.wants...)
		})
	}
}

func TestProblemObjects(t *testing.T) {
	f := newFixture(t)
	e := f.env()
	e.Keystores[0].Aliases[0].Key = string(f.client.KeyPEM())
	e.Proxies[1].Target.SSLInfo.TrustStore = "nope"
	got := e.Problems(f.now)
	wantObjs := []ObjectRef{{KindKeystore, "ks1"}, {KindProxy, "legacy"}}
	if len(got) != len(wantObjs) {
		t.Fatalf("got %d problems (%v); want %d", len(got), got, len(wantObjs))
	}
	for i, p := range got {
		if p.Object != wantObjs[i] {
			t.Errorf("problem %d (%s): got object %v; want %v", i, p, p.Object, wantObjs[i])
		}
	}
}

func TestValidateDocument(t *testing.T) {
	f := newFixture(t)
	test, prod := f.env(), f.env()
	prod.Name = "prod"
	prod.VirtualHosts[0].HostAliases = []string{"prod.example.com"}
	prod.VirtualHosts[1].HostAliases = []string{"prod.example.com"}
	if err := doc(test, prod).Validate(f.now); err != nil {
		t.Fatalf("Validate: got %v; want nil", err)
	}

	tests := []struct {
		name  string
		d     *Document
		wants []want
	}{
		{"problems carry the environment's path", doc(func() Environment { e := f.env(); e.VirtualHosts[0].Port = -1; return e }()),
			[]want{{"organizations[myorg].environments[test].virtualHosts[secure].port", "port -1 is out of range"}}},
		{"duplicate environment", doc(test, test),
			[]want{{"organizations[myorg].environments[test]", `environment "test" is defined more than once (entries #0 and #1)`}}},
		{"bad organization name", &Document{Organizations: []Organization{{Name: "my org"}}},
			[]want{{"organizations[my org].name", `organization name "my org": only letters`}}},
		{"empty environment name", &Document{Organizations: []Organization{{Name: "o", Environments: []Environment{{}}}}},
			[]want{{"organizations[o].environments[#0].name", "environment name is empty"}}},
		{"duplicate organization", &Document{Organizations: []Organization{{Name: "o"}, {Name: "o"}}},
			[]want{{"organizations[o]", `organization "o" is defined more than once`}}},
		{"host alias claimed by two environments", doc(test, func() Environment { e := prod; e.Name = "dev"; e.VirtualHosts = test.VirtualHosts; return e }()), []want{
			{"organizations[myorg].environments[dev].virtualHosts[secure].hostAliases[0]", `host alias "api.example.com" on port 443 is also claimed by organizations[myorg].environments[test].virtualHosts[secure]`},
			{"organizations[myorg].environments[dev].virtualHosts[secure].hostAliases[1]", `host alias "*.api.example.com" on port 443 is also claimed by`},
			{"organizations[myorg].environments[dev].virtualHosts[default].hostAliases[0]", `on port 80 is also claimed by organizations[myorg].environments[test].virtualHosts[default]`},
			{"organizations[myorg].environments[dev].virtualHosts[default].hostAliases[1]", `"10.0.0.1" on port 80`},
		}},
		{"port TLS in one environment and plain in another", doc(test, func() Environment {
			e := prod
			e.VirtualHosts = []VirtualHost{{Name: "plain", HostAliases: []string{"other.example.com"}, Port: 443}}
			e.Proxies = nil
			return e
		}()), []want{{"organizations[myorg].environments[prod].virtualHosts[plain].port", "port 443 serves plain HTTP here and TLS on organizations[myorg].environments[test].virtualHosts[secure]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate(f.now)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate: got %v; want a *ValidationError", err)
			}
			checkProblems(t, ve.Problems, tt.wants...)
			if got, want := strings.Count(err.Error(), "\n")+1, len(ve.Problems); got != want {
				t.Errorf("error has %d lines; want %d (one per problem):\n%v", got, want, err)
			}
		})
	}
}

func TestValidationErrorAbout(t *testing.T) {
	e := &ValidationError{Problems: []Problem{
		{"keystores[a].name", ObjectRef{KindKeystore, "a"}, "x"},
		{"proxies[a].basePath", ObjectRef{KindProxy, "a"}, "y"},
		{"keystores[a].aliases[b].cert", ObjectRef{KindKeystore, "a"}, "z"},
	}}
	got := e.About(ObjectRef{KindKeystore, "a"})
	if len(got) != 2 || got[0].Message != "x" || got[1].Message != "z" {
		t.Errorf("About: got %v; want the problems x and z", got)
	}
	if got, want := e.Error(), "keystores[a].name: x\nproxies[a].basePath: y\nkeystores[a].aliases[b].cert: z"; got != want {
		t.Errorf("Error: got %q; want %q", got, want)
	}
}

func TestResolveStore(t *testing.T) {
	e := &Environment{
		Keystores:  []Keystore{{Name: "ks1"}},
		References: []Reference{{Name: "good", Refers: "ks1"}, {Name: "dangling", Refers: "gone"}},
	}
	tests := []struct {
		in, want, err string
	}{
		{"ks1", "ks1", ""},
		{"ref://good", "ks1", ""},
		{"", "", "no keystore named"},
		{"ks2", "", `keystore "ks2" does not exist`},
		{"ref://nope", "", `reference "nope" does not exist`},
		{"ref://dangling", "", `reference "dangling" refers to keystore "gone", which does not exist`},
	}
	for _, tt := range tests {
		ks, err := ResolveStore(e, tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ResolveStore(%q): got error %v; want %q matching fs.ErrNotExist", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || ks == nil || ks.Name != tt.want {
			t.Errorf("ResolveStore(%q): got %v, %v; want keystore %q", tt.in, ks, err, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		kind Kind
		name string
		ok   bool
	}{
		{KindKeystore, "myKeystore", true},
		{KindKeystore, "my_ks-1", true},
		{KindKeystore, "my.ks", false},
		{KindProxy, "my.proxy_v-1", true},
		{KindAlias, "a b", false},
		{KindReference, "", false},
		{KindVirtualHost, ".", false},
		{KindTargetServer, "é", false},
		{KindProxy, strings.Repeat("p", 255), true},
	}
	for _, tt := range tests {
		err := CheckName(tt.kind, tt.name)
		if got := err == nil; got != tt.ok {
			t.Errorf("CheckName(%s, %q): got %v; want ok=%v", tt.kind, tt.name, err, tt.ok)
		}
	}
}

func TestProtocolVersion(t *testing.T) {
	for name, want := range map[string]uint16{"TLSv1": 0x0301, "TLSv1.0": 0x0301, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304, "SSLv3": 0x0300} {
		if got, ok := ProtocolVersion(name); !ok || got != want {
			t.Errorf("ProtocolVersion(%q): got %#x, %v; want %#x", name, got, ok, want)
		}
	}
	if _, ok := ProtocolVersion("TLS1.2"); ok {
		t.Errorf("ProtocolVersion(%q): got ok; want not ok", "TLS1.2")
	}
}
