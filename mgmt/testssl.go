package mgmt

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/config"
	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/probe"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// testTLS is Edge's TestTLS body: a trial handshake from the gateway to a backend before
// deploying. SNI and CommonName are tlsgate's additions (the target SSLInfo has them).
type testTLS struct {
	Host                        string             `json:"host"`
	Port                        int                `json:"port"`
	ConnectionTimeout           int                `json:"connectionTimeout"` // milliseconds, default 3000
	TargetEndpointConfiguration targetTLSConf      `json:"targetEndpointConfiguration"`
	TargetServer                string             `json:"targetServer,omitempty"`
	CommonName                  *config.CommonName `json:"commonName,omitempty"`
}

type targetTLSConf struct {
	Ciphers           []string    `json:"ciphers"`
	ClientAuthEnabled config.Bool `json:"clientAuthEnabled"`
	KeyAlias          string      `json:"keyAlias"`
	KeyStore          string      `json:"keyStore"`
	Protocols         []string    `json:"protocols"`
	TrustStore        string      `json:"trustStore"`
	SNI               *bool       `json:"sni,omitempty"`
}

// maxTestSSLTimeout bounds one trial, whatever the body asks.
const maxTestSSLTimeout = 30 * time.Second

// testSSL serves POST .../testssl: it runs the doctor with the given target configuration
// (truststore and keystore resolved through references, as the gateway would) and returns
// its report: {"target","address","ok","findings":[...],"facts":{...}}. With
// "targetServer" instead of host and port, that target server's own SSLInfo is used.
func (s *Server) testSSL(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := s.needEnv(r, org, env); err != nil {
		return err
	}
	data, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return err
	}
	var t testTLS
	if err := decodeJSON(data, &t); err != nil {
		return err
	}
	e, _, err := config.LoadEnvironment(r.Context(), s.store, org, env)
	if err != nil {
		return err
	}
	if t.TargetServer != "" {
		if err := fromTargetServer(e, &t); err != nil {
			return err
		}
	}
	if t.Host == "" || t.Port < 1 || t.Port > 65535 {
		return badRequest("testssl: host and port (1-65535) are required, or targetServer naming a target server")
	}
	timeout := 3 * time.Second
	if t.ConnectionTimeout > 0 {
		timeout = min(time.Duration(t.ConnectionTimeout)*time.Millisecond, maxTestSSLTimeout)
	}
	x, err := s.expectations(e, org, env, &t)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	facts, err := probe.Run(r.Context(), probe.Config{Target: addr, Address: addr, Expect: x, Timeout: timeout, Now: s.now})
	if err != nil {
		return badRequest("testssl: %v", err)
	}
	rep := catalog.Engine().Report(facts, x)
	w.Header().Set("Content-Type", "application/json")
	return tlsdiag.WriteJSON(w, rep)
}

// fromTargetServer fills the trial from a target server of the environment.
func fromTargetServer(e *config.Environment, t *testTLS) error {
	for _, ts := range e.TargetServers {
		if ts.Name != t.TargetServer {
			continue
		}
		t.Host, t.Port = ts.Host, ts.Port
		if si := ts.SSLInfo; si != nil {
			t.TargetEndpointConfiguration = targetTLSConf{
				Ciphers: si.Ciphers, ClientAuthEnabled: si.ClientAuthEnabled, KeyAlias: si.KeyAlias,
				KeyStore: si.KeyStore, Protocols: si.Protocols, TrustStore: si.TrustStore, SNI: si.SNI,
			}
			if t.CommonName == nil {
				t.CommonName = si.CommonName
			}
		}
		return nil
	}
	return notFound(CodeTargetNotFound, "target server %s does not exist in environment %s", t.TargetServer, e.Name)
}

// expectations turns the target configuration into what the doctor's client does.
func (s *Server) expectations(e *config.Environment, org, env string, t *testTLS) (*tlsdiag.Expectations, error) {
	c := t.TargetEndpointConfiguration
	x := &tlsdiag.Expectations{ServerName: t.Host, NoSNI: c.SNI != nil && !*c.SNI}
	if cn := t.CommonName; cn != nil && cn.Value != "" && !strings.Contains(cn.Value, "*") {
		x.ServerName = cn.Value
	}
	if c.TrustStore == "" {
		x.SystemRoots = true
		x.RootsFrom = []string{"the system roots (no trustStore configured)"}
	} else {
		ks, err := config.ResolveStore(e, c.TrustStore)
		if err != nil {
			return nil, badRequest("testssl: trustStore: %v", err)
		}
		for _, a := range ks.Aliases {
			certs, err := pki.ParseCertificates([]byte(a.Cert))
			if err != nil {
				return nil, fmt.Errorf("truststore %s alias %s: %w", ks.Name, a.Name, err)
			}
			x.Roots = append(x.Roots, certs...)
		}
		x.RootsFrom = []string{describeStore(c.TrustStore, ks.Name, "truststore")}
	}
	if c.ClientAuthEnabled {
		if c.KeyStore == "" || c.KeyAlias == "" {
			return nil, badRequest("testssl: clientAuthEnabled needs keyStore and keyAlias")
		}
		ks, err := config.ResolveStore(e, c.KeyStore)
		if err != nil {
			return nil, badRequest("testssl: keyStore: %v", err)
		}
		x.ClientCertFrom = describeStore(c.KeyStore, ks.Name, "keystore") + " alias " + c.KeyAlias
		cert, err := s.openAlias(org, env, ks, c.KeyAlias)
		if errors.Is(err, errNoSuchAlias) {
			x.ClientCertProblem = err.Error()
		} else if err != nil {
			return nil, err
		} else {
			x.ClientCert = cert
		}
	}
	for _, p := range c.Protocols {
		v, err := tlswire.ParseVersion(p)
		if err != nil {
			return nil, badRequest("testssl: protocols: %v", err)
		}
		x.Protocols = append(x.Protocols, v)
	}
	for _, name := range c.Ciphers {
		suite, ok := tlswire.SuiteByName(name)
		if !ok {
			return nil, badRequest("testssl: ciphers: unknown cipher suite %q", name)
		}
		x.Ciphers = append(x.Ciphers, suite.ID)
	}
	return x, nil
}

func describeStore(given, name, what string) string {
	if strings.HasPrefix(given, config.RefPrefix) {
		return fmt.Sprintf("%s %s (through reference %s)", what, name, strings.TrimPrefix(given, config.RefPrefix))
	}
	return what + " " + name
}

var errNoSuchAlias = errors.New("alias not found or holds no key")

// openAlias returns the alias's chain and its private key, opened from the sealed form
// with config.OpenKey, as the gateway opens it.
func (s *Server) openAlias(org, env string, ks *config.Keystore, alias string) (*tls.Certificate, error) {
	a := ks.Alias(alias)
	if a == nil || len(a.SealedKey) == 0 {
		return nil, fmt.Errorf("keystore %s alias %s: %w", ks.Name, alias, errNoSuchAlias)
	}
	key, err := config.OpenKey(s.sealer, org, env, ks.Name, a)
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertificates([]byte(a.Cert))
	if err != nil {
		return nil, fmt.Errorf("keystore %s alias %s: %w", ks.Name, alias, err)
	}
	b := pki.Bundle{Chain: certs, Key: key}
	tc := b.TLSCertificate()
	return &tc, nil
}
