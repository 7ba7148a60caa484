// Command stdproxy is the reference point of bench/proxy.sh: the smallest HTTPS→HTTPS
// reverse proxy Go's standard library makes, net/http/httputil.ReverseProxy behind
// http.Server, with the keep-alive pool and verification tlsgate's transport uses (the
// backend verified against a CA file, 1024 idle connections kept, backend sessions
// resumed). It writes no log. What tlsgate costs beyond it is tlsgate's own code; what it
// costs beyond nginx is net/http's.
//
// Usage: stdproxy -listen 127.0.0.1:PORT -cert CERT -key KEY -ca CA -backend https://HOST:PORT
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "the `ADDR`ess to serve HTTPS on")
	cert := flag.String("cert", "", "the server certificate chain (PEM `FILE`)")
	key := flag.String("key", "", "its private key (PEM `FILE`)")
	ca := flag.String("ca", "", "the CA certificates the backend is verified against (PEM `FILE`)")
	backend := flag.String("backend", "", "the backend's `URL`, https://HOST:PORT")
	flag.Parse()
	if err := run(*listen, *cert, *key, *ca, *backend); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(listen, cert, key, ca, backend string) error {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no PEM certificate", ca)
	}
	u, err := url.Parse(backend)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(256)},
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	srv := &http.Server{Addr: listen, Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	return srv.ListenAndServeTLS(cert, key)
}
