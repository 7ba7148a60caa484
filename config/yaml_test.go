package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/pki/pkitest"
)

// writeExample copies testdata/example.yaml into a temporary directory, with the
// certificate and key files it names, and returns the copy's path.
func writeExample(t *testing.T, f *fixture) string {
	t.Helper()
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"tlsgate.yaml":          string(data),
		"certs/api-chain.pem":   chainPEM(f.server),
		"certs/api.key":         string(f.server.KeyPEM()),
		"certs/internal-ca.pem": string(f.root.CertPEM()),
	}
	for name, content := range files {
		if _, err := pkitest.WriteFile(dir, name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "tlsgate.yaml")
}

func TestParseYAMLExample(t *testing.T) {
	f := newFixture(t)
	path := writeExample(t, f)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseYAML(data, path)
	if err != nil {
		t.Fatalf("ParseYAML: %v", err)
	}
	if err := d.Validate(f.now); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	e := d.Organization("myorg").Environment("test")
	a := e.Keystore("gateway").Alias("api")
	if a.Cert != chainPEM(f.server) {
		t.Errorf("api cert: got %q; want the server chain", a.Cert)
	}
	if a.Key != string(f.server.KeyPEM()) {
		t.Errorf("api key: got %d bytes; want the server key", len(a.Key))
	}
	if a.CertFile != "certs/api-chain.pem" {
		t.Errorf("api certFile: got %q; want it kept", a.CertFile)
	}
	if got, want := len(e.References)+len(e.VirtualHosts)+len(e.TargetServers)+len(e.Proxies), 2+1+2+2; got != want {
		t.Errorf("got %d references, virtual hosts, target servers and proxies; want %d", got, want)
	}
	si := e.VirtualHost("secure").SSLInfo
	if !si.Enabled || !si.ClientAuthEnabled || si.KeyStore != "ref://gatewayRef" || si.TrustStore != "ref://internalCAsRef" {
		t.Errorf("secure sslInfo: got %+v; want two-way TLS through references", si)
	}
	if cn := e.TargetServer("backend-2").SSLInfo.CommonName; cn == nil || cn.Value != "*.internal" || !cn.WildcardMatch {
		t.Errorf("backend-2 commonName: got %+v; want *.internal with wildcardMatch", cn)
	}
	if lb := e.Proxy("orders").Target.LoadBalancer; lb == nil || len(lb.Servers) != 2 || lb.MaxFailures != 3 {
		t.Errorf("orders load balancer: got %+v; want two servers, maxFailures 3", lb)
	}
}

// stripKeys returns a copy of d without what export leaves out.
func stripKeys(d *Document) *Document {
	out := *d
	out.Organizations = append([]Organization(nil), d.Organizations...)
	for i := range out.Organizations {
		o := &out.Organizations[i]
		o.Environments = append([]Environment(nil), o.Environments...)
		for j := range o.Environments {
			e := &o.Environments[j]
			e.Keystores = append([]Keystore(nil), e.Keystores...)
			for k := range e.Keystores {
				ks := &e.Keystores[k]
				ks.Aliases = append([]Alias(nil), ks.Aliases...)
				for l := range ks.Aliases {
					a := &ks.Aliases[l]
					a.CertFile, a.Key, a.KeyFile, a.Password, a.SealedKey = "", "", "", "", nil
				}
			}
		}
	}
	return &out
}

func TestYAMLRoundTrip(t *testing.T) {
	f := newFixture(t)
	path := writeExample(t, f)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := ParseYAML(data, path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := MarshalYAML(d1)
	if err != nil {
		t.Fatalf("MarshalYAML: %v", err)
	}
	d2, err := ParseYAML(out, "export.yaml")
	if err != nil {
		t.Fatalf("ParseYAML of the export: %v\n%s", err, out)
	}
	if want := stripKeys(d1); !reflect.DeepEqual(d2, want) {
		t.Errorf("parse → marshal → parse: got\n%+v\nwant\n%+v\nexport:\n%s", d2, want, out)
	}
	if d1.Organizations[0].Environments[0].Keystores[0].Aliases[0].Key == "" {
		t.Errorf("MarshalYAML cleared the key of its argument")
	}
	text := string(out)
	if strings.Contains(text, "PRIVATE KEY") {
		t.Errorf("export holds a private key:\n%s", text)
	}
	if m := regexp.MustCompile(`(?m)^\s*-?\s*(key|keyFile|certFile|password|sealedKey):`).FindString(text); m != "" {
		t.Errorf("export holds %q:\n%s", m, text)
	}
	if !strings.Contains(text, "cert: |\n") {
		t.Errorf("export does not write cert as a literal block:\n%s", text)
	}
	// The export reads back again identically.
	out2, err := MarshalYAML(d2)
	if err != nil {
		t.Fatal(err)
	}
	if string(out2) != text {
		t.Errorf("second export differs from the first:\n%s\nfirst:\n%s", out2, text)
	}
}

func TestMarshalYAMLNeverWritesKeys(t *testing.T) {
	f := newFixture(t)
	e := f.env()
	a := &e.Keystores[0].Aliases[0]
	a.Password, a.KeyFile, a.SealedKey, a.CertFile = "hunter2-secret", "secret.key", []byte("SEALEDBYTES"), "c.pem"
	out, err := MarshalYAML(doc(e))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{string(f.server.KeyPEM()), string(f.client.KeyPEM()), "PRIVATE KEY", "hunter2-secret", "secret.key", "SEALEDBYTES", "c.pem"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("export holds %q", bad)
		}
	}
}

func TestParseYAMLErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := pkitest.WriteFile(dir, "root.pem", pkitest.NewRoot("R").CertPEM()); err != nil {
		t.Fatal(err)
	}
	const head = "organizations:\n  - name: o\n    environments:\n      - name: e\n"
	alias := func(fields string) string {
		return head + "        keystores:\n          - name: ks\n            aliases:\n              - name: a\n" + fields
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", head + "        virtualHosts:\n          - name: v\n            sslinfo: {}\n",
			`tlsgate.yaml:7: field "sslinfo" not found in type config.VirtualHost; did you mean "sslInfo"?`},
		{"JSON spelling", head + "        virtualHosts:\n          - name: v\n            sSLInfo: {}\n",
			`tlsgate.yaml:7: field "sSLInfo" not found in type config.VirtualHost; did you mean "sslInfo"?`},
		{"unrelated field", "organizations:\n  - name: o\n    color: red\n",
			`tlsgate.yaml:3: field "color" not found in type config.Organization; want one of name, environments`},
		{"sealed key", alias("                sealedKey: abc\n"),
			`tlsgate.yaml:9: field "sealedKey" not found in type config.Alias; a sealed key is kept in the store only; give key or keyFile`},
		{"two errors", "organizations:\n  - name: o\n    x: 1\n    y: 2\n",
			"tlsgate.yaml:3: field \"x\" not found in type config.Organization; want one of name, environments\ntlsgate.yaml:4: field \"y\""},
		{"wrong type", head + "        virtualHosts:\n          - name: v\n            port: https\n",
			"tlsgate.yaml:7: cannot unmarshal !!str `https` into int"},
		{"boolean", head + "        virtualHosts:\n          - name: v\n            sslInfo:\n              enabled: yes please\n",
			`tlsgate.yaml:8: want true or false, got "yes please"`},
		{"syntax", "organizations:\n  - name: o\n   bad\n", "tlsgate.yaml:1: did not find expected '-' indicator"},
		{"tab", "organizations:\n\t- name: o\n", "tlsgate.yaml:2: found character that cannot start any token"},
		{"empty", "", "tlsgate.yaml: empty"},
		{"comments only", "# nothing\n", "tlsgate.yaml: empty"},
		{"two documents", "organizations: []\n---\norganizations: []\n", "tlsgate.yaml:2: a second YAML document"},
		{"too large", "# " + strings.Repeat("x", MaxYAMLSize) + "\n", "tlsgate.yaml: 1048579 bytes; at most 1 MiB are read"},
		{"missing certificate file", alias("                certFile: missing.pem\n"),
			"tlsgate.yaml:9: organizations[o].environments[e].keystores[ks].aliases[a].certFile: open " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{"missing key file", alias("                certFile: root.pem\n                keyFile: /nonexistent/k.pem\n"),
			"tlsgate.yaml:10: organizations[o].environments[e].keystores[ks].aliases[a].keyFile: open /nonexistent/k.pem: no such file or directory"},
		{"cert and certFile", alias("                cert: x\n                certFile: root.pem\n"),
			"tlsgate.yaml:10: organizations[o].environments[e].keystores[ks].aliases[a]: give cert or certFile, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseYAML([]byte(tt.yaml), filepath.Join(dir, "tlsgate.yaml"))
			if err == nil {
				t.Fatalf("ParseYAML: got %+v; want error %q", d, tt.want)
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator)+"tlsgate.yaml", "tlsgate.yaml")
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("ParseYAML: got error\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseYAMLFiles(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	derPath, err := pkitest.WriteFile(dir, "root.der", f.root.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	y := "organizations:\n  - name: o\n    environments:\n      - name: e\n        keystores:\n          - name: ks\n            aliases:\n" +
		"              - name: a\n                certFile: " + derPath + "\n"
	d, err := ParseYAML([]byte(y), filepath.Join(t.TempDir(), "elsewhere.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Organizations[0].Environments[0].Keystores[0].Aliases[0].Cert, string(f.root.CertPEM()); got != want {
		t.Errorf("cert from a DER file given by absolute path: got %q; want %q", got, want)
	}
}

func TestParseYAMLQuotedBooleans(t *testing.T) {
	y := "organizations:\n  - name: o\n    environments:\n      - name: e\n        virtualHosts:\n          - name: v\n            hostAliases: [a.example]\n            port: 443\n" +
		"            sslInfo:\n              enabled: \"true\"\n              clientAuthEnabled: FALSE\n"
	d, err := ParseYAML([]byte(y), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	si := d.Organizations[0].Environments[0].VirtualHosts[0].SSLInfo
	if !si.Enabled || si.ClientAuthEnabled {
		t.Errorf("got enabled=%v clientAuthEnabled=%v; want true, false", si.Enabled, si.ClientAuthEnabled)
	}
}

func TestParseYAMLInline(t *testing.T) {
	f := newFixture(t)
	out, err := MarshalYAML(doc(f.env()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseYAMLInline(out, "request body"); err != nil {
		t.Errorf("ParseYAMLInline of an export: %v", err)
	}
	y := "organizations:\n  - name: o\n    environments:\n      - name: e\n        keystores:\n          - name: ks\n            aliases:\n" +
		"              - name: a\n                certFile: /etc/passwd\n"
	_, err = ParseYAMLInline([]byte(y), "request body")
	if want := "request body: organizations[o].environments[e].keystores[ks].aliases[a]: certFile and keyFile are not read here; give cert and key inline"; err == nil || err.Error() != want {
		t.Errorf("ParseYAMLInline with certFile: got %v; want %q", err, want)
	}
}
