// Command goclient fetches one HTTPS URL with net/http and crypto/tls, configured from
// files as a Go service usually is, and prints the error it gets; the recorder runs it.
//
// Usage:
//
//	goclient -cafile root.pem [-cert client.pem -key client.key] [-connect 127.0.0.1:PORT]
//	         [-min 1.0|1.2|1.3] [-max 1.0|1.2|1.3] [-ciphers NAME,...] [-timeout 3s] URL
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	caFile := flag.String("cafile", "", "PEM file of the trusted roots (the only ones)")
	certFile := flag.String("cert", "", "PEM file of the client certificate chain")
	keyFile := flag.String("key", "", "PEM file of the client key")
	connect := flag.String("connect", "", "address to dial instead of the URL's host")
	minV := flag.String("min", "", "lowest TLS version: 1.0, 1.2 or 1.3")
	maxV := flag.String("max", "", "highest TLS version: 1.0, 1.2 or 1.3")
	ciphers := flag.String("ciphers", "", "comma-separated TLS 1.2 cipher suite names")
	timeout := flag.Duration("timeout", 3*time.Second, "bound on the TLS handshake")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: goclient [flags] URL")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *caFile, *certFile, *keyFile, *connect, *minV, *maxV, *ciphers, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(url, caFile, certFile, keyFile, connect, minV, maxV, ciphers string, timeout time.Duration) error {
	conf := &tls.Config{RootCAs: x509.NewCertPool()}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	conf.RootCAs.AppendCertsFromPEM(pem)
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return err
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if conf.MinVersion, err = version(minV); err != nil {
		return err
	}
	if conf.MaxVersion, err = version(maxV); err != nil {
		return err
	}
	if ciphers != "" {
		for _, name := range strings.Split(ciphers, ",") {
			id, err := suite(name)
			if err != nil {
				return err
			}
			conf.CipherSuites = append(conf.CipherSuites, id)
		}
	}
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		TLSClientConfig:     conf,
		TLSHandshakeTimeout: timeout,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if connect != "" {
				addr = connect
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	client := &http.Client{Transport: tr, Timeout: 2 * timeout}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Printf("%s %s\n%s", resp.Proto, resp.Status, body)
	if resp.StatusCode >= 400 {
		os.Exit(2)
	}
	return nil
}

func version(s string) (uint16, error) {
	switch s {
	case "":
		return 0, nil
	case "1.0":
		return tls.VersionTLS10, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q", s)
}

func suite(name string) (uint16, error) {
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if s.Name == name {
			return s.ID, nil
		}
	}
	return 0, fmt.Errorf("unknown cipher suite %q", name)
}
