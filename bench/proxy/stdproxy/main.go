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
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/tlsgate/tlsgate/bench/proxy/proxyflags"
)

func main() { proxyflags.Main("https://HOST:PORT", run) }

func run(c proxyflags.Config) error {
	roots, listen, cert, key, backend := c.Roots, c.Listen, c.Cert, c.Key, c.Backend
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
