package config

import (
	"os"
	"testing"
	"time"
)

// FuzzImportXML checks that no input makes the Edge XML import or the validation of what
// it read panic, and that a virtual host or target server read is written back readably.
func FuzzImportXML(f *testing.F) {
	for _, s := range []string{edgeVirtualHost, edgeTargetServer, edgeTargetEndpointLB, edgeTargetEndpointURL,
		`<VirtualHost name="v"><SSLInfo><CommonName wildcardMatch="true">x</CommonName></SSLInfo></VirtualHost>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ImportXML(data)
		if err != nil {
			return
		}
		e := &Environment{Name: "e"}
		switch v := v.(type) {
		case *VirtualHost:
			out, err := MarshalVirtualHostXML(v)
			if err != nil {
				t.Fatalf("MarshalVirtualHostXML: %v", err)
			}
			if _, err := ParseVirtualHostXML(out); err != nil {
				t.Fatalf("reading back %q: %v", out, err)
			}
			e.VirtualHosts = append(e.VirtualHosts, *v)
		case *TargetServer:
			out, err := MarshalTargetServerXML(v)
			if err != nil {
				t.Fatalf("MarshalTargetServerXML: %v", err)
			}
			if _, err := ParseTargetServerXML(out); err != nil {
				t.Fatalf("reading back %q: %v", out, err)
			}
			e.TargetServers = append(e.TargetServers, *v)
		case *NamedTargetEndpoint:
			e.Proxies = append(e.Proxies, Proxy{Name: v.Name, BasePath: "/", Target: v.Endpoint})
		}
		e.Problems(time.Unix(0, 0))
	})
}

// FuzzParseYAML checks that no input makes the YAML parser, the validation or the export
// panic.
func FuzzParseYAML(f *testing.F) {
	if data, err := os.ReadFile("testdata/example.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("organizations:\n  - name: o\n    environments:\n      - name: e\n        virtualHosts:\n          - name: v\n            sslInfo: {enabled: \"true\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseYAMLInline(data, "fuzz.yaml")
		if err != nil {
			return
		}
		_ = d.Validate(time.Unix(0, 0))
		if _, err := MarshalYAML(d); err != nil {
			t.Fatalf("MarshalYAML: %v", err)
		}
	})
}
