package config

import (
	"reflect"
	"strings"
	"testing"
)

// A virtual host as Edge Cloud documents it, with the elements tlsgate ignores.
const edgeVirtualHost = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<VirtualHost name="secure">
    <HostAliases>
        <HostAlias>api.example.com</HostAlias>
        <HostAlias>
            *.api.example.com
        </HostAlias>
    </HostAliases>
    <Interfaces>
        <Interface>eth0</Interface>
    </Interfaces>
    <Port>443</Port>
    <BaseUrl>https://api.example.com</BaseUrl>
    <OCSPStapling>off</OCSPStapling>
    <RetryOptions>
        <RetryOption>http_599</RetryOption>
        <RetryOption>timeout</RetryOption>
    </RetryOptions>
    <ListenOptions>
        <ListenOption>proxy_protocol</ListenOption>
    </ListenOptions>
    <SSLInfo>
        <Enabled> true </Enabled>
        <ClientAuthEnabled>
            true
        </ClientAuthEnabled>
        <KeyStore>ref://gatewayRef</KeyStore>
        <KeyAlias>api</KeyAlias>
        <TrustStore>ref://clientCAsRef</TrustStore>
        <IgnoreValidationErrors>false</IgnoreValidationErrors>
    </SSLInfo>
    <UseBuiltInFreeTrialCert>false</UseBuiltInFreeTrialCert>
    <PropagateTLSInformation>
        <ConnectionProperties>true</ConnectionProperties>
        <ClientProperties>true</ClientProperties>
    </PropagateTLSInformation>
    <Properties>
        <Property name="proxy_read_timeout">50</Property>
        <Property name="keepalive_timeout">300</Property>
        <Property name="ssl_protocols">TLSv1.2 TLSv1.3</Property>
        <Property name="ssl_ciphers">HIGH:!aNULL:!MD5</Property>
    </Properties>
</VirtualHost>
`

const edgeTargetServer = `<TargetServer name="backend-1">
  <Host>backend-1.internal</Host>
  <Port>8443</Port>
  <IsEnabled>false</IsEnabled>
  <SSLInfo>
    <Enabled>TRUE</Enabled>
    <ClientAuthEnabled>true</ClientAuthEnabled>
    <KeyStore>gateway</KeyStore>
    <KeyAlias>client</KeyAlias>
    <TrustStore>ref://backendCAs</TrustStore>
    <IgnoreValidationErrors>true</IgnoreValidationErrors>
    <Protocols>
      <Protocol>TLSv1.2</Protocol>
      <Protocol>TLSv1.3</Protocol>
    </Protocols>
    <Ciphers>
      <Cipher>TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256</Cipher>
    </Ciphers>
    <CommonName wildcardMatch="true">*.internal</CommonName>
    <Enforce>true</Enforce>
  </SSLInfo>
</TargetServer>`

// A TargetEndpoint of a proxy bundle (apiproxy/targets/default.xml).
const edgeTargetEndpointLB = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<TargetEndpoint name="default">
    <Description>orders backends</Description>
    <FaultRules/>
    <PreFlow name="PreFlow">
        <Request>
            <Step><Name>Assign-Headers</Name></Step>
        </Request>
        <Response/>
    </PreFlow>
    <PostFlow name="PostFlow">
        <Request/>
        <Response/>
    </PostFlow>
    <Flows/>
    <HTTPTargetConnection>
        <LoadBalancer>
            <Algorithm>RoundRobin</Algorithm>
            <Server name="backend-1"/>
            <Server name="backend-2">
                <Weight>2</Weight>
                <IsFallback>false</IsFallback>
            </Server>
            <MaxFailures>5</MaxFailures>
            <RetryEnabled>true</RetryEnabled>
            <ServerUnhealthyResponse>
                <ResponseCode>503</ResponseCode>
            </ServerUnhealthyResponse>
        </LoadBalancer>
        <Path>/v1/orders</Path>
        <HealthMonitor>
            <IsEnabled>true</IsEnabled>
            <IntervalInSec>5</IntervalInSec>
        </HealthMonitor>
        <SSLInfo>
            <Enabled>true</Enabled>
            <TrustStore>ref://backendCAs</TrustStore>
        </SSLInfo>
        <Properties>
            <Property name="connect.timeout.millis">4000</Property>
            <Property name="io.timeout.millis"> 30000 </Property>
            <Property name="supports.http10">true</Property>
        </Properties>
    </HTTPTargetConnection>
</TargetEndpoint>`

const edgeTargetEndpointURL = `<TargetEndpoint name="legacy">
  <HTTPTargetConnection>
    <URL>https://legacy.example.com:8443/api</URL>
    <SSLInfo>
      <Enabled>true</Enabled>
      <Protocols/>
      <Ciphers/>
    </SSLInfo>
  </HTTPTargetConnection>
</TargetEndpoint>`

func TestParseVirtualHostXML(t *testing.T) {
	got, err := ParseVirtualHostXML([]byte(edgeVirtualHost))
	if err != nil {
		t.Fatal(err)
	}
	want := &VirtualHost{
		Name: "secure", HostAliases: []string{"api.example.com", "*.api.example.com"}, Port: 443, BaseURL: "https://api.example.com",
		SSLInfo: &SSLInfo{Enabled: true, ClientAuthEnabled: true, KeyStore: "ref://gatewayRef", KeyAlias: "api", TrustStore: "ref://clientCAsRef"},
		Properties: map[string]string{"proxy_read_timeout": "50", "keepalive_timeout": "300", "ssl_protocols": "TLSv1.2 TLSv1.3",
			"ssl_ciphers": "HIGH:!aNULL:!MD5"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v %+v\nwant\n%+v %+v", got, got.SSLInfo, want, want.SSLInfo)
	}
}

func TestParseTargetServerXML(t *testing.T) {
	got, err := ParseTargetServerXML([]byte(edgeTargetServer))
	if err != nil {
		t.Fatal(err)
	}
	off := false
	want := &TargetServer{Name: "backend-1", Host: "backend-1.internal", Port: 8443, IsEnabled: &off,
		SSLInfo: &SSLInfo{Enabled: true, ClientAuthEnabled: true, KeyStore: "gateway", KeyAlias: "client", TrustStore: "ref://backendCAs",
			IgnoreValidationErrors: true, Protocols: []string{"TLSv1.2", "TLSv1.3"}, Ciphers: []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
			CommonName: &CommonName{Value: "*.internal", WildcardMatch: true}, Enforce: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v %+v\nwant\n%+v %+v", got, got.SSLInfo, want, want.SSLInfo)
	}
}

func TestParseTargetEndpointXML(t *testing.T) {
	tests := []struct {
		name, xml string
		want      *NamedTargetEndpoint
	}{
		{"load balancer", edgeTargetEndpointLB, &NamedTargetEndpoint{Name: "default", Endpoint: TargetEndpoint{
			LoadBalancer: &LoadBalancer{Algorithm: "RoundRobin", Servers: []string{"backend-1", "backend-2"}, MaxFailures: 5},
			Path:         "/v1/orders", SSLInfo: &SSLInfo{Enabled: true, TrustStore: "ref://backendCAs"},
			ConnectTimeoutMillis: 4000, IOTimeoutMillis: 30000,
		}}},
		{"URL", edgeTargetEndpointURL, &NamedTargetEndpoint{Name: "legacy", Endpoint: TargetEndpoint{
			URL: "https://legacy.example.com:8443/api", SSLInfo: &SSLInfo{Enabled: true},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTargetEndpointXML([]byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestImportXML(t *testing.T) {
	tests := []struct {
		xml  string
		want string // the type returned
	}{
		{edgeVirtualHost, "*config.VirtualHost"},
		{edgeTargetServer, "*config.TargetServer"},
		{edgeTargetEndpointLB, "*config.NamedTargetEndpoint"},
	}
	for _, tt := range tests {
		v, err := ImportXML([]byte(tt.xml))
		if err != nil {
			t.Errorf("ImportXML: %v", err)
			continue
		}
		if got := reflect.TypeOf(v).String(); got != tt.want {
			t.Errorf("ImportXML: got %s; want %s", got, tt.want)
		}
	}
	_, err := ImportXML([]byte("<ProxyEndpoint name=\"default\"/>"))
	if want := "reading Edge XML: line 1: root element <ProxyEndpoint> is not supported; want <VirtualHost>, <TargetServer> or <TargetEndpoint>"; err == nil || err.Error() != want {
		t.Errorf("ImportXML(ProxyEndpoint): got %v; want %q", err, want)
	}
}

func TestEdgeXMLErrors(t *testing.T) {
	vh := func(inner string) string { return "<VirtualHost name=\"v\">\n" + inner + "\n</VirtualHost>" }
	tests := []struct {
		name  string
		parse func([]byte) (any, error)
		xml   string
		want  string
	}{
		{"syntax", vhost, "<VirtualHost name=\"v\">\n  <Port>443</Prt>\n</VirtualHost>",
			"reading VirtualHost XML: line 2: element <Port> closed by </Prt>"},
		{"unclosed", vhost, "<VirtualHost name=\"v\">\n  <Port>443</Port>\n",
			"reading VirtualHost XML: line 3: unexpected EOF"},
		{"misspelt element", vhost, vh("  <Port>443</Port>\n  <SSLinfo><Enabled>true</Enabled></SSLinfo>"),
			"reading VirtualHost XML: line 3: unknown element <SSLinfo> in <VirtualHost> (did you mean <SSLInfo>?)"},
		{"unknown element in SSLInfo", vhost, vh("  <SSLInfo>\n    <Enabled>true</Enabled>\n    <KeyStorePassword>x</KeyStorePassword>\n  </SSLInfo>"),
			"reading VirtualHost XML: line 4: unknown element <KeyStorePassword> in <SSLInfo>"},
		{"boolean", vhost, vh("  <SSLInfo>\n    <Enabled>yes</Enabled>\n  </SSLInfo>"),
			`reading VirtualHost XML: line 3: <Enabled>: want true or false, got "yes"`},
		{"port", vhost, vh("  <Port>https</Port>"),
			`reading VirtualHost XML: line 2: <Port>: want a number, got "https"`},
		{"twice", vhost, vh("  <Port>443</Port>\n  <Port>8443</Port>"),
			"reading VirtualHost XML: line 3: <Port> given twice in <VirtualHost>"},
		{"property without name", vhost, vh("  <Properties><Property>1</Property></Properties>"),
			"reading VirtualHost XML: line 2: <Property>: no name attribute"},
		{"wildcardMatch", tserver, "<TargetServer name=\"t\"><SSLInfo><CommonName wildcardMatch=\"maybe\">x</CommonName></SSLInfo></TargetServer>",
			`reading TargetServer XML: line 1: <CommonName>: attribute wildcardMatch: want true or false, got "maybe"`},
		{"wrong root", tserver, edgeVirtualHost,
			"reading TargetServer XML: line 2: root element is <VirtualHost>; want <TargetServer>"},
		{"empty", tserver, "", "reading TargetServer XML: no XML element"},
		{"text outside", tserver, "hello <TargetServer/>", "reading TargetServer XML: line 1: text outside the root element"},
		{"second root", tserver, "<TargetServer/>\n<TargetServer/>", "reading TargetServer XML: line 2: a second root element <TargetServer>"},
		{"too large", tserver, "<TargetServer>" + strings.Repeat(" ", MaxXMLSize) + "</TargetServer>", "reading TargetServer XML: 1048605 bytes; at most 1 MiB are read"},
		{"too deep", tserver, strings.Repeat("<a>", 100), "reading TargetServer XML: line 1: elements nested deeper than 64"},
		{"no connection", tendpoint, "<TargetEndpoint name=\"t\">\n  <PreFlow/>\n</TargetEndpoint>",
			"reading TargetEndpoint XML: line 1: <TargetEndpoint>: no <HTTPTargetConnection>"},
		{"script target", tendpoint, "<TargetEndpoint name=\"t\">\n  <ScriptTarget><ResourceURL>node://a.js</ResourceURL></ScriptTarget>\n</TargetEndpoint>",
			"reading TargetEndpoint XML: line 2: <ScriptTarget>: not supported: tlsgate's targets are HTTP"},
		{"server without name", tendpoint, "<TargetEndpoint>\n<HTTPTargetConnection>\n<LoadBalancer>\n<Server/>\n</LoadBalancer>\n</HTTPTargetConnection>\n</TargetEndpoint>",
			"reading TargetEndpoint XML: line 4: <Server>: no name attribute: name the target server"},
		{"timeout", tendpoint, "<TargetEndpoint>\n<HTTPTargetConnection>\n<Properties>\n<Property name=\"io.timeout.millis\">55s</Property>\n</Properties>\n</HTTPTargetConnection>\n</TargetEndpoint>",
			`reading TargetEndpoint XML: line 4: <Property>: want a number, got "55s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.parse([]byte(tt.xml))
			if err == nil {
				t.Fatalf("got %+v; want error %q", v, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got error\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

func vhost(b []byte) (any, error)     { return ParseVirtualHostXML(b) }
func tserver(b []byte) (any, error)   { return ParseTargetServerXML(b) }
func tendpoint(b []byte) (any, error) { return ParseTargetEndpointXML(b) }

func TestMarshalVirtualHostXML(t *testing.T) {
	v := &VirtualHost{Name: "secure", HostAliases: []string{"api.example.com"}, Port: 443,
		SSLInfo:    &SSLInfo{Enabled: true, KeyStore: "ref://ks", KeyAlias: "api"},
		Properties: map[string]string{"ssl_protocols": "TLSv1.2", "keepalive_timeout": "60"}}
	got, err := MarshalVirtualHostXML(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<VirtualHost name="secure">
    <HostAliases>
        <HostAlias>api.example.com</HostAlias>
    </HostAliases>
    <Port>443</Port>
    <SSLInfo>
        <Ciphers></Ciphers>
        <ClientAuthEnabled>false</ClientAuthEnabled>
        <Enabled>true</Enabled>
        <IgnoreValidationErrors>false</IgnoreValidationErrors>
        <KeyAlias>api</KeyAlias>
        <KeyStore>ref://ks</KeyStore>
        <Protocols></Protocols>
    </SSLInfo>
    <Properties>
        <Property name="keepalive_timeout">60</Property>
        <Property name="ssl_protocols">TLSv1.2</Property>
    </Properties>
</VirtualHost>
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEdgeXMLRoundTrip(t *testing.T) {
	f := newFixture(t)
	e := f.env()
	for i := range e.VirtualHosts {
		v := &e.VirtualHosts[i]
		out, err := MarshalVirtualHostXML(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseVirtualHostXML(out)
		if err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("virtual host %s: got\n%+v\nwant\n%+v\nXML:\n%s", v.Name, got, v, out)
		}
	}
	for i := range e.TargetServers {
		ts := &e.TargetServers[i]
		if ts.IsEnabled == nil {
			on := true
			ts.IsEnabled = &on // written as <IsEnabled>true</IsEnabled>
		}
		out, err := MarshalTargetServerXML(ts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseTargetServerXML(out)
		if err != nil {
			t.Fatalf("reading back %s: %v", out, err)
		}
		if !reflect.DeepEqual(got, ts) {
			t.Errorf("target server %s: got\n%+v\nwant\n%+v\nXML:\n%s", ts.Name, got, ts, out)
		}
	}
}
