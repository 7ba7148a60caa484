package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/lab"
	"software.sslmate.com/src/go-pkcs12"
)

// storePass is the password of the Java stores the recorder writes.
const storePass = "changeit"

// material is the client side of one running scenario, as files in dir. File names are
// relative to dir, where every client runs.
type material struct {
	dir        string
	serverName string
	port       string // the lab server's
	noSNI      bool

	roots      string // PEM truststore (an empty file for an empty truststore)
	cert, key  string // PEM client chain and key; "" when the client has none
	trustStore string // JKS truststore, for Java
	keyStore   string // PKCS#12 keystore, for Java; "" when the client has none
	hosts      string // hosts file naming the server for Java (jdk.net.hosts.file)
	leaf       string // the server's leaf, for openssl verify
	untrusted  string // the rest of the server's chain, for openssl verify; "" when none
}

// writeMaterial writes what the clients of r need to dir. keytool is the path of keytool,
// "" when no Java store is needed.
func writeMaterial(ctx context.Context, dir string, r *lab.Running, keytool string) (*material, error) {
	_, port, err := net.SplitHostPort(r.Address)
	if err != nil {
		return nil, fmt.Errorf("lab address %q: %w", r.Address, err)
	}
	c := r.Scenario.Client
	m := &material{dir: dir, serverName: r.ServerName, port: port, noSNI: c.NoSNI, roots: "root.pem", hosts: "hosts"}
	if err := writeFile(dir, m.roots, pemCerts(c.Roots...)); err != nil {
		return nil, err
	}
	if err := writeFile(dir, m.hosts, []byte("127.0.0.1 "+r.ServerName+"\n")); err != nil {
		return nil, err
	}
	if c.Cert != nil {
		m.cert, m.key = "client.pem", "client.key"
		if err := writeFile(dir, m.cert, pemCerts(c.Cert.Chain...)); err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(c.Cert.Key)
		if err != nil {
			return nil, fmt.Errorf("encoding the client key: %w", err)
		}
		if err := writeFile(dir, m.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
	}
	if chain := r.Scenario.Server.Cert.Chain; len(chain) > 0 {
		m.leaf = "server.pem"
		if err := writeFile(dir, m.leaf, pemCerts(chain[0])); err != nil {
			return nil, err
		}
		if len(chain) > 1 {
			m.untrusted = "server-chain.pem"
			if err := writeFile(dir, m.untrusted, pemCerts(chain[1:]...)); err != nil {
				return nil, err
			}
		}
	}
	if keytool != "" {
		if err := m.writeJavaStores(ctx, keytool, c.Roots, c.Cert); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// writeJavaStores writes the JKS truststore with keytool, as an operator would, and the
// PKCS#12 keystore with go-pkcs12, which (unlike keytool and openssl pkcs12) also writes a
// key that does not belong to its certificate.
func (m *material) writeJavaStores(ctx context.Context, keytool string, roots []*x509.Certificate, cred *lab.Credential) error {
	m.trustStore = "truststore.jks"
	kt := func(args ...string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		full := append(args, "-keystore", m.trustStore, "-storepass", storePass, "-storetype", "JKS", "-noprompt")
		c := command(ctx, keytool, full...)
		c.Dir = m.dir
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("keytool %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if len(roots) == 0 {
		// keytool makes no empty store: make one with a key pair, then delete it.
		if err := kt("-genkeypair", "-alias", "placeholder", "-keyalg", "EC", "-dname", "CN=placeholder"); err != nil {
			return err
		}
		if err := kt("-delete", "-alias", "placeholder"); err != nil {
			return err
		}
	}
	for i, root := range roots {
		name := fmt.Sprintf("root%d.pem", i)
		if err := writeFile(m.dir, name, pemCerts(root)); err != nil {
			return err
		}
		if err := kt("-importcert", "-alias", fmt.Sprintf("root%d", i), "-file", name); err != nil {
			return err
		}
	}
	if cred == nil {
		return nil
	}
	m.keyStore = "client.p12"
	p12, err := pkcs12.Modern2023.WithRand(rand.Reader).Encode(cred.Key, cred.Chain[0], cred.Chain[1:], storePass)
	if err != nil {
		return fmt.Errorf("encoding the client keystore: %w", err)
	}
	return writeFile(m.dir, m.keyStore, p12)
}

func pemCerts(certs ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

func writeFile(dir, name string, data []byte) error {
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// normaliser makes a recorded text stable: it removes ANSI colour codes and replaces the
// ports and temporary directories that change from one recording to the next.
type normaliser struct {
	paths []string          // replaced with /tmp/DIR, longest first
	ports map[string]string // port → placeholder
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func newNormaliser(paths []string, ports map[string]string) *normaliser {
	n := &normaliser{ports: ports}
	for _, p := range paths {
		if p == "" {
			continue
		}
		n.paths = append(n.paths, p)
		// The same directory as the kernel names it (/tmp may be a link).
		if real, err := filepath.EvalSymlinks(p); err == nil && real != p {
			n.paths = append(n.paths, real)
		}
	}
	sort.Slice(n.paths, func(i, j int) bool { return len(n.paths[i]) > len(n.paths[j]) })
	return n
}

func (n *normaliser) apply(s string) string {
	s = ansi.ReplaceAllString(s, "")
	for _, p := range n.paths {
		s = strings.ReplaceAll(s, p, "/tmp/DIR")
	}
	for port, name := range n.ports {
		if port == "" {
			continue
		}
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(port)+`\b`).ReplaceAllString(s, name)
	}
	return s
}

// aiaPort returns the port of the lab's AIA server, as the scenario's certificates name it,
// or "".
func aiaPort(s lab.Scenario) string {
	for _, c := range s.Server.Cert.Chain {
		for _, u := range c.IssuingCertificateURL {
			if p, err := url.Parse(u); err == nil && p.Port() != "" {
				return p.Port()
			}
		}
	}
	return ""
}
