package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// MaxXMLSize bounds the Edge XML that the Parse functions read.
const MaxXMLSize = 1 << 20

// maxXMLDepth bounds the nesting of elements.
const maxXMLDepth = 64

// NamedTargetEndpoint is the TargetEndpoint of an Edge proxy bundle with its name.
type NamedTargetEndpoint struct {
	Name     string
	Endpoint TargetEndpoint
}

// ImportXML reads an Edge object written in XML and returns a *VirtualHost, a
// *TargetServer or a *NamedTargetEndpoint, as the root element says.
func ImportXML(data []byte) (any, error) {
	root, err := parseXMLTree(data)
	if err != nil {
		return nil, fmt.Errorf("reading Edge XML: %w", err)
	}
	switch root.name {
	case "VirtualHost":
		return root.virtualHost("importing a VirtualHost")
	case "TargetServer":
		return root.targetServer("importing a TargetServer")
	case "TargetEndpoint":
		return root.targetEndpoint("importing a TargetEndpoint")
	}
	return nil, fmt.Errorf("reading Edge XML: line %d: root element <%s> is not supported; want <VirtualHost>, <TargetServer> or <TargetEndpoint>", root.line, root.name)
}

// ParseVirtualHostXML reads Edge's <VirtualHost name="..."> (Port, BaseUrl,
// HostAliases/HostAlias, SSLInfo, Properties/Property[name]). Edge elements tlsgate does
// not use (Interfaces, RetryOptions, ListenOptions, OCSPStapling, PropagateTLSInformation,
// UseBuiltInFreeTrialCert) are ignored; any other element is an error, so a misspelt
// SSLInfo does not silently turn TLS off.
func ParseVirtualHostXML(data []byte) (*VirtualHost, error) {
	root, err := parseRoot(data, "VirtualHost")
	if err != nil {
		return nil, err
	}
	return root.virtualHost("reading VirtualHost XML")
}

// ParseTargetServerXML reads Edge's <TargetServer name="..."> (Host, Port, IsEnabled,
// SSLInfo, and Apigee X's Description).
func ParseTargetServerXML(data []byte) (*TargetServer, error) {
	root, err := parseRoot(data, "TargetServer")
	if err != nil {
		return nil, err
	}
	return root.targetServer("reading TargetServer XML")
}

// ParseTargetEndpointXML reads the <TargetEndpoint name="..."> of an Edge proxy bundle:
// its HTTPTargetConnection (URL, or LoadBalancer with Algorithm, Server[name] and
// MaxFailures; Path; SSLInfo; the connect.timeout.millis and io.timeout.millis
// properties). Flows, fault rules and the other properties are ignored, as are a
// Server's IsEnabled, Weight and IsFallback.
func ParseTargetEndpointXML(data []byte) (*NamedTargetEndpoint, error) {
	root, err := parseRoot(data, "TargetEndpoint")
	if err != nil {
		return nil, err
	}
	return root.targetEndpoint("reading TargetEndpoint XML")
}

func parseRoot(data []byte, want string) (*xnode, error) {
	root, err := parseXMLTree(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s XML: %w", want, err)
	}
	if root.name != want {
		return nil, fmt.Errorf("reading %s XML: line %d: root element is <%s>; want <%s>", want, root.line, root.name, want)
	}
	return root, nil
}

// xnode is an XML element: its attributes, its text and its child elements.
type xnode struct {
	name     string
	line     int
	attrs    []xml.Attr
	text     []byte
	children []*xnode
}

// parseXMLTree reads one XML document into a tree, with the line of every element.
func parseXMLTree(data []byte) (*xnode, error) {
	if len(data) > MaxXMLSize {
		return nil, fmt.Errorf("%d bytes; at most %d MiB are read", len(data), MaxXMLSize>>20)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var root *xnode
	var stack []*xnode
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("line %d: %s", se.Line, se.Msg)
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local, line: line, attrs: slices.Clone(t.Attr)}
			switch {
			case len(stack) >= maxXMLDepth:
				return nil, fmt.Errorf("line %d: elements nested deeper than %d", line, maxXMLDepth)
			case len(stack) > 0:
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			case root != nil:
				return nil, fmt.Errorf("line %d: a second root element <%s>", line, n.name)
			default:
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text = append(top.text, t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("line %d: text outside the root element", line)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no XML element")
	}
	return root, nil
}

// attr returns the value of an attribute.
func (n *xnode) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// value returns the element's text without surrounding space.
func (n *xnode) value() string { return strings.TrimSpace(string(n.text)) }

// errorf returns an error about n: "line L: <Name>: MESSAGE".
func (n *xnode) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: <%s>: %s", n.line, n.name, fmt.Sprintf(format, args...))
}

// How an element treats a child element.
const (
	once   = iota // at most once
	many          // repeated
	ignore        // legal in Edge, not used
)

// elements sorts n's children by name after checking them against spec: an element
// spec does not list is an error, as is an element given twice that may appear once.
func (n *xnode) elements(spec map[string]int) (map[string][]*xnode, error) {
	out := map[string][]*xnode{}
	for _, c := range n.children {
		how, ok := spec[c.name]
		if !ok {
			hint := ""
			for _, k := range slices.Sorted(maps.Keys(spec)) {
				if strings.EqualFold(k, c.name) {
					hint = fmt.Sprintf(" (did you mean <%s>?)", k)
				}
			}
			return nil, fmt.Errorf("line %d: unknown element <%s> in <%s>%s", c.line, c.name, n.name, hint)
		}
		if how == once && len(out[c.name]) > 0 {
			return nil, fmt.Errorf("line %d: <%s> given twice in <%s>", c.line, c.name, n.name)
		}
		if how != ignore {
			out[c.name] = append(out[c.name], c)
		}
	}
	return out, nil
}

// boolean reads true or false (any case, surrounding space allowed; empty is false).
func (n *xnode) boolean() (bool, error) {
	switch strings.ToLower(n.value()) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, n.errorf("want true or false, got %q", n.value())
}

// integer reads a decimal number.
func (n *xnode) integer() (int, error) {
	v, err := strconv.Atoi(n.value())
	if err != nil {
		return 0, n.errorf("want a number, got %q", n.value())
	}
	return v, nil
}

// first returns the only element of a list, or nil.
func first(ns []*xnode) *xnode {
	if len(ns) == 0 {
		return nil
	}
	return ns[0]
}

// list reads the text of n's children named item (Protocols/Protocol), skipping empty ones.
func (n *xnode) list(item string) ([]string, error) {
	els, err := n.elements(map[string]int{item: many})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range els[item] {
		if v := c.value(); v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

// sslInfo reads an <SSLInfo>.
func (n *xnode) sslInfo() (*SSLInfo, error) {
	els, err := n.elements(map[string]int{
		"Enabled": once, "ClientAuthEnabled": once, "KeyStore": once, "KeyAlias": once, "TrustStore": once,
		"IgnoreValidationErrors": once, "Protocols": once, "Ciphers": once, "CommonName": once, "Enforce": once,
	})
	if err != nil {
		return nil, err
	}
	s := &SSLInfo{}
	for name, dst := range map[string]*bool{"Enabled": (*bool)(&s.Enabled), "ClientAuthEnabled": (*bool)(&s.ClientAuthEnabled),
		"IgnoreValidationErrors": &s.IgnoreValidationErrors, "Enforce": &s.Enforce} {
		if e := first(els[name]); e != nil {
			if *dst, err = e.boolean(); err != nil {
				return nil, err
			}
		}
	}
	for name, dst := range map[string]*string{"KeyStore": &s.KeyStore, "KeyAlias": &s.KeyAlias, "TrustStore": &s.TrustStore} {
		if e := first(els[name]); e != nil {
			*dst = e.value()
		}
	}
	if e := first(els["Protocols"]); e != nil {
		if s.Protocols, err = e.list("Protocol"); err != nil {
			return nil, err
		}
	}
	if e := first(els["Ciphers"]); e != nil {
		if s.Ciphers, err = e.list("Cipher"); err != nil {
			return nil, err
		}
	}
	if e := first(els["CommonName"]); e != nil {
		cn := &CommonName{Value: e.value()}
		if w := e.attr("wildcardMatch"); w != "" {
			wn := &xnode{name: e.name, line: e.line, text: []byte(w)}
			if cn.WildcardMatch, err = wn.boolean(); err != nil {
				return nil, e.errorf("attribute wildcardMatch: want true or false, got %q", w)
			}
		}
		s.CommonName = cn
	}
	return s, nil
}

// properties reads <Properties><Property name="...">value</Property>...</Properties>.
func (n *xnode) properties() (map[string]string, error) {
	els, err := n.elements(map[string]int{"Property": many})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range els["Property"] {
		name := p.attr("name")
		if name == "" {
			return nil, p.errorf("no name attribute")
		}
		out[name] = p.value()
	}
	return out, nil
}

// virtualHost reads a <VirtualHost>.
func (n *xnode) virtualHost(op string) (*VirtualHost, error) {
	v, err := n.readVirtualHost()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return v, nil
}

func (n *xnode) readVirtualHost() (*VirtualHost, error) {
	els, err := n.elements(map[string]int{
		"HostAliases": once, "Port": once, "BaseUrl": once, "SSLInfo": once, "Properties": once,
		"Interfaces": ignore, "RetryOptions": ignore, "ListenOptions": ignore, "OCSPStapling": ignore,
		"PropagateTLSInformation": ignore, "UseBuiltInFreeTrialCert": ignore,
	})
	if err != nil {
		return nil, err
	}
	v := &VirtualHost{Name: n.attr("name"), HostAliases: []string{}}
	if e := first(els["HostAliases"]); e != nil {
		if v.HostAliases, err = e.list("HostAlias"); err != nil {
			return nil, err
		}
	}
	if e := first(els["Port"]); e != nil {
		if v.Port, err = e.integer(); err != nil {
			return nil, err
		}
	}
	if e := first(els["BaseUrl"]); e != nil {
		v.BaseURL = e.value()
	}
	if e := first(els["SSLInfo"]); e != nil {
		if v.SSLInfo, err = e.sslInfo(); err != nil {
			return nil, err
		}
	}
	if e := first(els["Properties"]); e != nil {
		if v.Properties, err = e.properties(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// targetServer reads a <TargetServer>.
func (n *xnode) targetServer(op string) (*TargetServer, error) {
	t, err := n.readTargetServer()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

func (n *xnode) readTargetServer() (*TargetServer, error) {
	els, err := n.elements(map[string]int{"Host": once, "Port": once, "IsEnabled": once, "SSLInfo": once, "Description": once})
	if err != nil {
		return nil, err
	}
	t := &TargetServer{Name: n.attr("name")}
	if e := first(els["Host"]); e != nil {
		t.Host = e.value()
	}
	if e := first(els["Description"]); e != nil {
		t.Description = e.value()
	}
	if e := first(els["Port"]); e != nil {
		if t.Port, err = e.integer(); err != nil {
			return nil, err
		}
	}
	if e := first(els["IsEnabled"]); e != nil {
		on, err := e.boolean()
		if err != nil {
			return nil, err
		}
		t.IsEnabled = &on
	}
	if e := first(els["SSLInfo"]); e != nil {
		if t.SSLInfo, err = e.sslInfo(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// targetEndpoint reads a <TargetEndpoint>.
func (n *xnode) targetEndpoint(op string) (*NamedTargetEndpoint, error) {
	t, err := n.readTargetEndpoint()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

func (n *xnode) readTargetEndpoint() (*NamedTargetEndpoint, error) {
	els, err := n.elements(map[string]int{
		"HTTPTargetConnection": once, "LocalTargetConnection": once, "ScriptTarget": once,
		"Description": ignore, "FaultRules": ignore, "DefaultFaultRule": ignore, "PreFlow": ignore,
		"PostFlow": ignore, "Flows": ignore, "EventFlow": ignore,
	})
	if err != nil {
		return nil, err
	}
	for _, other := range []string{"LocalTargetConnection", "ScriptTarget"} {
		if e := first(els[other]); e != nil {
			return nil, e.errorf("not supported: tlsgate's targets are HTTP (HTTPTargetConnection)")
		}
	}
	conn := first(els["HTTPTargetConnection"])
	if conn == nil {
		return nil, n.errorf("no <HTTPTargetConnection>")
	}
	ce, err := conn.elements(map[string]int{
		"URL": once, "LoadBalancer": once, "Path": once, "SSLInfo": once, "Properties": once,
		"HealthMonitor": ignore, "Authentication": ignore,
	})
	if err != nil {
		return nil, err
	}
	out := &NamedTargetEndpoint{Name: n.attr("name")}
	t := &out.Endpoint
	if e := first(ce["URL"]); e != nil {
		t.URL = e.value()
	}
	if e := first(ce["Path"]); e != nil {
		t.Path = e.value()
	}
	if e := first(ce["LoadBalancer"]); e != nil {
		if t.LoadBalancer, err = e.loadBalancer(); err != nil {
			return nil, err
		}
	}
	if e := first(ce["SSLInfo"]); e != nil {
		if t.SSLInfo, err = e.sslInfo(); err != nil {
			return nil, err
		}
	}
	if e := first(ce["Properties"]); e != nil {
		pe, err := e.elements(map[string]int{"Property": many})
		if err != nil {
			return nil, err
		}
		for _, p := range pe["Property"] {
			var dst *int
			switch p.attr("name") {
			case "connect.timeout.millis":
				dst = &t.ConnectTimeoutMillis
			case "io.timeout.millis":
				dst = &t.IOTimeoutMillis
			default:
				continue
			}
			if *dst, err = p.integer(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// loadBalancer reads a <LoadBalancer>.
func (n *xnode) loadBalancer() (*LoadBalancer, error) {
	els, err := n.elements(map[string]int{
		"Algorithm": once, "Server": many, "MaxFailures": once,
		"RetryEnabled": ignore, "ServerUnhealthyResponse": ignore, "TargetDisableOnCode": ignore,
	})
	if err != nil {
		return nil, err
	}
	lb := &LoadBalancer{Servers: []string{}}
	if e := first(els["Algorithm"]); e != nil {
		lb.Algorithm = e.value()
	}
	if e := first(els["MaxFailures"]); e != nil {
		if lb.MaxFailures, err = e.integer(); err != nil {
			return nil, err
		}
	}
	for _, s := range els["Server"] {
		name := s.attr("name")
		if name == "" {
			return nil, s.errorf("no name attribute: name the target server")
		}
		lb.Servers = append(lb.Servers, name)
	}
	return lb, nil
}
