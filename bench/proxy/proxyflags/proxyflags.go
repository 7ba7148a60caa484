// Package proxyflags reads the command line the reference proxies of bench/proxy.sh
// share: where to listen, the server certificate and key, the CA the backend is verified
// against, and the backend.
package proxyflags

import (
	"crypto/x509"
	"flag"
	"fmt"
	"os"
)

// Config is a reference proxy's command line, the CA file read.
type Config struct {
	Listen, Cert, Key, Backend string
	Roots                      *x509.CertPool // the backend's CA
}

// Main parses the flags (backendForm says what -backend holds, "https://HOST:PORT" or
// "HOST:PORT") and runs run; an error is printed and exits with status 1.
func Main(backendForm string, run func(Config) error) {
	listen := flag.String("listen", "127.0.0.1:8443", "the `ADDR`ess to serve HTTPS on")
	cert := flag.String("cert", "", "the server certificate chain (PEM `FILE`)")
	key := flag.String("key", "", "its private key (PEM `FILE`)")
	ca := flag.String("ca", "", "the CA certificates the backend is verified against (PEM `FILE`)")
	backend := flag.String("backend", "", "the backend, "+backendForm)
	flag.Parse()
	c := Config{Listen: *listen, Cert: *cert, Key: *key, Backend: *backend}
	err := c.loadRoots(*ca)
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func (c *Config) loadRoots(ca string) error {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return err
	}
	c.Roots = x509.NewCertPool()
	if !c.Roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no PEM certificate", ca)
	}
	return nil
}
