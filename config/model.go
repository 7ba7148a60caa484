// Package config holds tlsgate's model: organizations, environments, keystores and
// truststores, references, virtual hosts, target servers and API proxies; it validates
// them, reads and writes the declarative YAML file, imports Edge's XML, and lays them out
// in a store.
package config

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Document is the declarative file: everything tlsgate serves.
type Document struct {
	Organizations []Organization `json:"organizations" yaml:"organizations"`
}

// Organization is Edge's organization: a name and its environments.
type Organization struct {
	Name         string        `json:"name" yaml:"name"`
	Environments []Environment `json:"environments,omitempty" yaml:"environments,omitempty"`
}

// Environment holds the TLS objects and proxies of one environment of an organization.
type Environment struct {
	Name          string         `json:"name" yaml:"name"`
	Keystores     []Keystore     `json:"keystores,omitempty" yaml:"keystores,omitempty"`
	References    []Reference    `json:"references,omitempty" yaml:"references,omitempty"`
	VirtualHosts  []VirtualHost  `json:"virtualHosts,omitempty" yaml:"virtualHosts,omitempty"`
	TargetServers []TargetServer `json:"targetServers,omitempty" yaml:"targetServers,omitempty"`
	Proxies       []Proxy        `json:"proxies,omitempty" yaml:"proxies,omitempty"`
}

// Keystore is Edge's keystore entity. A keystore's aliases hold a certificate chain and a
// private key; a truststore is a keystore whose aliases hold certificates only.
type Keystore struct {
	Name    string  `json:"name" yaml:"name"`
	Aliases []Alias `json:"aliases,omitempty" yaml:"aliases,omitempty"`
}

// Alias is one entry of a keystore: a certificate chain, leaf first, and optionally the
// private key of the leaf.
//
// In the store the key is kept sealed (SealedKey, AES-256-GCM under the master key); the
// YAML file gives it in clear (Key or KeyFile, with Password when encrypted), and export
// never writes it.
type Alias struct {
	Name string `json:"name" yaml:"name"`
	// CertName is the name Edge lists under certs: "<alias>-cert" for an alias uploaded
	// with a key, the alias itself for a certificate uploaded to a truststore.
	CertName string `json:"certName" yaml:"certName,omitempty"`
	// Cert is the chain in PEM, leaf first.
	Cert string `json:"cert" yaml:"cert,omitempty"`
	// IgnoreExpiryValidation accepts an expired certificate, as Edge's query flag does.
	IgnoreExpiryValidation bool `json:"ignoreExpiryValidation,omitempty" yaml:"ignoreExpiryValidation,omitempty"`
	// SealedKey is the private key (PKCS#8 DER) sealed under the master key; store only.
	SealedKey []byte `json:"sealedKey,omitempty" yaml:"-"`

	// File-only fields: where the YAML file gives the certificate and key.
	CertFile string `json:"-" yaml:"certFile,omitempty"`
	Key      string `json:"-" yaml:"key,omitempty"` // PEM, clear; never exported
	KeyFile  string `json:"-" yaml:"keyFile,omitempty"`
	Password string `json:"-" yaml:"password,omitempty"` // opens an encrypted Key/KeyFile
}

// HasKey reports whether the alias holds a private key (sealed or given in clear).
func (a *Alias) HasKey() bool { return len(a.SealedKey) > 0 || a.Key != "" || a.KeyFile != "" }

// Resource types of a reference.
const (
	ResourceKeyStore   = "KeyStore"
	ResourceTrustStore = "TrustStore"
)

// RefPrefix starts a reference where a keystore or truststore name is expected.
const RefPrefix = "ref://"

// Reference is Edge's reference: a name that points at a keystore, so a virtual host or
// target can switch keystores without being changed.
type Reference struct {
	Name         string `json:"name" yaml:"name"`
	Refers       string `json:"refers" yaml:"refers"`
	ResourceType string `json:"resourceType" yaml:"resourceType"`
}

// SSLInfo is Edge's SSLInfo of a virtual host (inbound) or a target (outbound).
// KeyStore and TrustStore hold a keystore name or "ref://<reference>"; KeyAlias is always
// a literal alias.
type SSLInfo struct {
	Enabled                Bool        `json:"enabled" yaml:"enabled"`
	ClientAuthEnabled      Bool        `json:"clientAuthEnabled" yaml:"clientAuthEnabled,omitempty"`
	KeyStore               string      `json:"keyStore,omitempty" yaml:"keyStore,omitempty"`
	KeyAlias               string      `json:"keyAlias,omitempty" yaml:"keyAlias,omitempty"`
	TrustStore             string      `json:"trustStore,omitempty" yaml:"trustStore,omitempty"`
	IgnoreValidationErrors bool        `json:"ignoreValidationErrors" yaml:"ignoreValidationErrors,omitempty"`
	Protocols              []string    `json:"protocols" yaml:"protocols,omitempty"`
	Ciphers                []string    `json:"ciphers" yaml:"ciphers,omitempty"`
	CommonName             *CommonName `json:"commonName,omitempty" yaml:"commonName,omitempty"`
	// Enforce (Apigee X) refuses invalid certificates whatever IgnoreValidationErrors says.
	Enforce bool `json:"enforce,omitempty" yaml:"enforce,omitempty"`
	// SNI sends server_name towards the target; nil means on (Java's default).
	SNI *bool `json:"sni,omitempty" yaml:"sni,omitempty"`
}

// SNIEnabled reports whether server_name is sent (the default).
func (s *SSLInfo) SNIEnabled() bool { return s == nil || s.SNI == nil || *s.SNI }

// CommonName is the name a target's certificate is validated against instead of the host,
// with or without wildcard matching.
type CommonName struct {
	Value         string `json:"value" yaml:"value"`
	WildcardMatch bool   `json:"wildcardMatch" yaml:"wildcardMatch,omitempty"`
}

// VirtualHost is where the gateway accepts API clients: host aliases (a leading "*."
// wildcard allowed), a port and the inbound SSLInfo.
type VirtualHost struct {
	Name        string   `json:"name" yaml:"name"`
	HostAliases []string `json:"hostAliases" yaml:"hostAliases"`
	Port        int      `json:"port" yaml:"port"`
	BaseURL     string   `json:"baseUrl,omitempty" yaml:"baseUrl,omitempty"`
	SSLInfo     *SSLInfo `json:"sSLInfo,omitempty" yaml:"sslInfo,omitempty"`
	// Properties are Edge's virtual host properties (ssl_protocols, ssl_ciphers,
	// keepalive_timeout, proxy_read_timeout, ...).
	Properties map[string]string `json:"properties,omitempty" yaml:"properties,omitempty"`
}

// TargetServer is a backend a proxy's load balancer sends to.
type TargetServer struct {
	Name        string   `json:"name" yaml:"name"`
	Host        string   `json:"host" yaml:"host"`
	Port        int      `json:"port" yaml:"port"`
	IsEnabled   *bool    `json:"isEnabled,omitempty" yaml:"isEnabled,omitempty"` // nil means enabled
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	SSLInfo     *SSLInfo `json:"sSLInfo,omitempty" yaml:"sslInfo,omitempty"`
}

// Enabled reports whether the target server takes traffic (the default).
func (t *TargetServer) Enabled() bool { return t.IsEnabled == nil || *t.IsEnabled }

// Proxy is an API proxy in a simplified form: a base path on some virtual hosts, and one
// target endpoint.
type Proxy struct {
	Name         string         `json:"name" yaml:"name"`
	BasePath     string         `json:"basePath" yaml:"basePath"`
	VirtualHosts []string       `json:"virtualHosts" yaml:"virtualHosts"`
	Target       TargetEndpoint `json:"target" yaml:"target"`
}

// TargetEndpoint is where a proxy sends requests: a URL, or a load balancer over target
// servers; with its SSLInfo and timeouts (Edge's connect.timeout.millis and
// io.timeout.millis; 0 means the defaults, 3 s and 55 s).
type TargetEndpoint struct {
	URL                  string        `json:"url,omitempty" yaml:"url,omitempty"`
	LoadBalancer         *LoadBalancer `json:"loadBalancer,omitempty" yaml:"loadBalancer,omitempty"`
	Path                 string        `json:"path,omitempty" yaml:"path,omitempty"` // with a load balancer
	SSLInfo              *SSLInfo      `json:"sSLInfo,omitempty" yaml:"sslInfo,omitempty"`
	ConnectTimeoutMillis int           `json:"connectTimeoutMillis,omitempty" yaml:"connectTimeoutMillis,omitempty"`
	IOTimeoutMillis      int           `json:"ioTimeoutMillis,omitempty" yaml:"ioTimeoutMillis,omitempty"`
}

// LoadBalancer spreads requests over target servers (Edge's RoundRobin, Weighted,
// LeastConnections); a server that fails MaxFailures times in a row leaves the rotation.
type LoadBalancer struct {
	Algorithm   string   `json:"algorithm,omitempty" yaml:"algorithm,omitempty"`
	Servers     []string `json:"servers" yaml:"servers"`
	MaxFailures int      `json:"maxFailures,omitempty" yaml:"maxFailures,omitempty"`
}

// Bool is a boolean that Edge writes as the string "true" or "false" (SSLInfo's enabled
// and clientAuthEnabled); it reads either a JSON boolean or such a string.
type Bool bool

// MarshalJSON writes "true" or "false" as Edge does.
func (b Bool) MarshalJSON() ([]byte, error) {
	if b {
		return []byte(`"true"`), nil
	}
	return []byte(`"false"`), nil
}

// UnmarshalJSON reads true, false, "true" or "false" (any case).
func (b *Bool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	switch strings.ToLower(s) {
	case "true":
		*b = true
	case "false", "", "null":
		*b = false
	default:
		return fmt.Errorf("want true or false, got %s", data)
	}
	return nil
}

var _ json.Marshaler = Bool(false)

// UnmarshalYAML reads true or false, bare or quoted ("true", any case), as a YAML file
// written from Edge's JSON may hold either.
func (b *Bool) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want true or false", n.Line)
	}
	switch strings.ToLower(strings.TrimSpace(n.Value)) {
	case "true":
		*b = true
	case "false", "":
		*b = false
	default:
		return fmt.Errorf("line %d: want true or false, got %q", n.Line, n.Value)
	}
	return nil
}

// Organization returns the organization named name, or nil.
func (d *Document) Organization(name string) *Organization {
	return find(d.Organizations, func(o *Organization) bool { return o.Name == name })
}

// Environment returns the environment named name, or nil.
func (o *Organization) Environment(name string) *Environment {
	return find(o.Environments, func(e *Environment) bool { return e.Name == name })
}

// Keystore returns the keystore named name (not a reference), or nil.
func (e *Environment) Keystore(name string) *Keystore {
	return find(e.Keystores, func(k *Keystore) bool { return k.Name == name })
}

// Reference returns the reference named name (without "ref://"), or nil.
func (e *Environment) Reference(name string) *Reference {
	return find(e.References, func(r *Reference) bool { return r.Name == name })
}

// VirtualHost returns the virtual host named name, or nil.
func (e *Environment) VirtualHost(name string) *VirtualHost {
	return find(e.VirtualHosts, func(v *VirtualHost) bool { return v.Name == name })
}

// TargetServer returns the target server named name, or nil.
func (e *Environment) TargetServer(name string) *TargetServer {
	return find(e.TargetServers, func(t *TargetServer) bool { return t.Name == name })
}

// Proxy returns the proxy named name, or nil.
func (e *Environment) Proxy(name string) *Proxy {
	return find(e.Proxies, func(p *Proxy) bool { return p.Name == name })
}

// Alias returns the alias named name, or nil.
func (k *Keystore) Alias(name string) *Alias {
	return find(k.Aliases, func(a *Alias) bool { return a.Name == name })
}

// DefaultCertName is the certificate name Edge gives an alias: "<alias>-cert" when the
// alias holds a key, the alias name for a certificate only.
func DefaultCertName(a *Alias) string {
	if a.HasKey() {
		return a.Name + "-cert"
	}
	return a.Name
}

// EffectiveCertName is CertName, or DefaultCertName when CertName is empty.
func (a *Alias) EffectiveCertName() string {
	if a.CertName != "" {
		return a.CertName
	}
	return DefaultCertName(a)
}

// find returns a pointer to the first element of s that match accepts, or nil.
func find[T any](s []T, match func(*T) bool) *T {
	for i := range s {
		if match(&s[i]) {
			return &s[i]
		}
	}
	return nil
}
