package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsgate/tlsgate/config"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportEdgeXML(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "vh.xml"), `<VirtualHost name="secure">
  <HostAliases><HostAlias>api.example.com</HostAlias></HostAliases>
  <Interfaces/>
  <Port>443</Port>
  <OCSPStapling>off</OCSPStapling>
  <SSLInfo>
    <Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled>
    <KeyStore>ref://gatewayRef</KeyStore><KeyAlias>api</KeyAlias><TrustStore>ref://clientsRef</TrustStore>
  </SSLInfo>
</VirtualHost>`)
	writeFile(t, filepath.Join(dir, "ts.xml"), `<TargetServer name="backend-1">
  <Host>backend.internal</Host><Port>8443</Port><IsEnabled>true</IsEnabled>
  <SSLInfo><Enabled>true</Enabled><TrustStore>ref://backendRef</TrustStore>
    <Protocols><Protocol>TLSv1.2</Protocol></Protocols></SSLInfo>
</TargetServer>`)
	bundle := filepath.Join(dir, "orders-v1", "apiproxy")
	writeFile(t, filepath.Join(bundle, "proxies", "default.xml"), `<ProxyEndpoint name="default">
  <HTTPProxyConnection><BasePath>/orders</BasePath><VirtualHost>secure</VirtualHost></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`)
	writeFile(t, filepath.Join(bundle, "targets", "default.xml"), `<TargetEndpoint name="default">
  <PreFlow/>
  <HTTPTargetConnection>
    <LoadBalancer><Server name="backend-1"/><MaxFailures>5</MaxFailures></LoadBalancer>
    <Path>/v1</Path>
    <SSLInfo><Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled>
      <KeyStore>ref://gatewayRef</KeyStore><KeyAlias>api</KeyAlias><TrustStore>ref://backendRef</TrustStore>
      <CommonName wildcardMatch="true">*.internal</CommonName></SSLInfo>
    <Properties><Property name="io.timeout.millis">30000</Property></Properties>
  </HTTPTargetConnection>
</TargetEndpoint>`)

	code, out, errOut := runMain(t, "import", "--org", "myorg", "--env", "prod",
		filepath.Join(dir, "vh.xml"), filepath.Join(dir, "ts.xml"), filepath.Join(dir, "orders-v1"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	doc, err := config.ParseYAMLInline([]byte(out), "import output")
	if err != nil {
		t.Fatalf("the output does not read back: %v\n%s", err, out)
	}
	env := doc.Organizations[0].Environments[0]
	if doc.Organizations[0].Name != "myorg" || env.Name != "prod" {
		t.Fatalf("got org %s env %s", doc.Organizations[0].Name, env.Name)
	}
	vh := env.VirtualHost("secure")
	if vh == nil || vh.Port != 443 || !bool(vh.SSLInfo.ClientAuthEnabled) || vh.SSLInfo.TrustStore != "ref://clientsRef" {
		t.Errorf("virtual host: %+v", vh)
	}
	ts := env.TargetServer("backend-1")
	if ts == nil || ts.SSLInfo == nil || ts.SSLInfo.TrustStore != "ref://backendRef" || len(ts.SSLInfo.Protocols) != 1 {
		t.Errorf("target server: %+v", ts)
	}
	p := env.Proxy("orders-v1")
	if p == nil || p.BasePath != "/orders" || p.Target.LoadBalancer == nil || p.Target.LoadBalancer.MaxFailures != 5 ||
		p.Target.SSLInfo == nil || p.Target.SSLInfo.CommonName == nil || !p.Target.SSLInfo.CommonName.WildcardMatch ||
		p.Target.IOTimeoutMillis != 30000 || p.Target.Path != "/v1" {
		t.Errorf("proxy: %+v", p)
	}
	if !strings.Contains(errOut, "1 virtual host(s), 1 target server(s), 1 proxy(ies)") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestImportBadInput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "typo.xml"), "<TargetServer name=\"x\">\n  <Host>h</Host>\n  <SSLinfo/>\n</TargetServer>")
	writeFile(t, filepath.Join(dir, "other.xml"), "<APIProxy name=\"x\"/>")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"import", "x.xml"}, []string{"--org and --env"}},
		{[]string{"import", "--org", "o", "--env", "e"}, []string{"no PATH"}},
		{[]string{"import", "--org", "o", "--env", "e", filepath.Join(dir, "typo.xml")}, []string{"typo.xml", "line 3", "SSLInfo"}},
		{[]string{"import", "--org", "o", "--env", "e", filepath.Join(dir, "other.xml")}, []string{"APIProxy"}},
		{[]string{"import", "--org", "o", "--env", "e", dir}, []string{"not a proxy bundle"}},
	}
	for _, tt := range tests {
		code, _, errOut := runMain(t, tt.args...)
		if code != ExitUsage {
			t.Errorf("%q: exit %d; want 2", tt.args, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%q: stderr %q lacks %q", tt.args, errOut, w)
			}
		}
	}
}
