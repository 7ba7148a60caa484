package config

import "fmt"

// ProxyEndpoint is what tlsgate takes from the ProxyEndpoint of an Edge proxy bundle: where
// the proxy listens (base path and virtual hosts) and which target endpoints its route
// rules name.
type ProxyEndpoint struct {
	Name         string
	BasePath     string
	VirtualHosts []string
	Targets      []string // RouteRule/TargetEndpoint names, in order
}

// ParseProxyEndpointXML reads <ProxyEndpoint name="..."> (HTTPProxyConnection with
// BasePath and VirtualHost, and the TargetEndpoint of each RouteRule). Flows, policies and
// fault rules are ignored: tlsgate's proxies are routes.
func ParseProxyEndpointXML(data []byte) (*ProxyEndpoint, error) {
	root, err := parseRoot(data, "ProxyEndpoint")
	if err != nil {
		return nil, err
	}
	p, err := root.readProxyEndpoint()
	if err != nil {
		return nil, fmt.Errorf("reading ProxyEndpoint XML: %w", err)
	}
	return p, nil
}

func (n *xnode) readProxyEndpoint() (*ProxyEndpoint, error) {
	els, err := n.elements(map[string]int{
		"HTTPProxyConnection": once, "RouteRule": many,
		"Description": ignore, "FaultRules": ignore, "DefaultFaultRule": ignore, "PreFlow": ignore,
		"PostFlow": ignore, "PostClientFlow": ignore, "Flows": ignore, "EventFlow": ignore,
	})
	if err != nil {
		return nil, err
	}
	conn := first(els["HTTPProxyConnection"])
	if conn == nil {
		return nil, n.errorf("no <HTTPProxyConnection>")
	}
	ce, err := conn.elements(map[string]int{"BasePath": once, "VirtualHost": many, "Properties": ignore})
	if err != nil {
		return nil, err
	}
	p := &ProxyEndpoint{Name: n.attr("name")}
	if e := first(ce["BasePath"]); e != nil {
		p.BasePath = e.value()
	}
	for _, v := range ce["VirtualHost"] {
		if s := v.value(); s != "" {
			p.VirtualHosts = append(p.VirtualHosts, s)
		}
	}
	for _, rr := range els["RouteRule"] {
		re, err := rr.elements(map[string]int{"TargetEndpoint": once, "Condition": ignore, "URL": ignore})
		if err != nil {
			return nil, err
		}
		if e := first(re["TargetEndpoint"]); e != nil && e.value() != "" {
			p.Targets = append(p.Targets, e.value())
		}
	}
	return p, nil
}
