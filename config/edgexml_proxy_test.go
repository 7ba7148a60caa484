package config

import (
	"strings"
	"testing"
)

func TestParseProxyEndpointXML(t *testing.T) {
	p, err := ParseProxyEndpointXML([]byte(`<ProxyEndpoint name="default">
    <Description/>
    <PreFlow name="PreFlow"><Request/><Response/></PreFlow>
    <Flows/>
    <HTTPProxyConnection>
        <BasePath>/orders</BasePath>
        <Properties/>
        <VirtualHost>secure</VirtualHost>
        <VirtualHost>default</VirtualHost>
    </HTTPProxyConnection>
    <RouteRule name="default">
        <TargetEndpoint>backend</TargetEndpoint>
    </RouteRule>
</ProxyEndpoint>`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "default" || p.BasePath != "/orders" || strings.Join(p.VirtualHosts, ",") != "secure,default" || strings.Join(p.Targets, ",") != "backend" {
		t.Errorf("got %+v", p)
	}
	for _, bad := range []struct{ xml, want string }{
		{`<ProxyEndpoint name="x"/>`, "HTTPProxyConnection"},
		{`<ProxyEndpoint name="x"><HTTPProxyConnection><Basepath>/a</Basepath></HTTPProxyConnection></ProxyEndpoint>`, "did you mean <BasePath>"},
		{`<TargetServer name="x"/>`, "root element"},
	} {
		if _, err := ParseProxyEndpointXML([]byte(bad.xml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v; want an error with %q", bad.xml, err, bad.want)
		}
	}
}
