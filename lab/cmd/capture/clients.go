package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/lab"
)

// clientTimeout bounds one client run.
const clientTimeout = 5 * time.Second

// clientFiles are the client's configuration, as files for curl and openssl.
type clientFiles struct {
	truststore string
	cert, key  string // "" when the client has no certificate
	roots      []*x509.Certificate
	pair       *tls.Certificate
	// javaTrust and javaKeys are the JKS truststore and PKCS#12 keystore of the Java client
	// ("" for other clients, and javaKeys when it has no certificate).
	javaTrust, javaKeys string
}

// writeClientFiles writes the scenario's truststore, and its client credential when the
// recording gives the client one, into dir; for the Java client, as Java stores too.
func writeClientFiles(ctx context.Context, dir string, s lab.Scenario, r recording) (clientFiles, error) {
	f, err := writePEMFiles(dir, s, r)
	if err != nil || r.client != "java" {
		return f, err
	}
	return f, writeJavaStores(ctx, dir, s, &f)
}

// writePEMFiles writes the scenario's truststore, and its client credential when the
// recording gives the client one, into dir as PEM files.
func writePEMFiles(dir string, s lab.Scenario, r recording) (clientFiles, error) {
	f := clientFiles{truststore: filepath.Join(dir, "truststore.pem"), roots: s.Client.Roots}
	var blocks []*pem.Block
	for _, c := range s.Client.Roots {
		blocks = append(blocks, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if err := writePEM(f.truststore, blocks...); err != nil {
		return f, err
	}
	if !r.clientCert || s.Client.Cert == nil {
		return f, nil
	}
	f.cert, f.key = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	blocks = blocks[:0]
	pair := &tls.Certificate{PrivateKey: s.Client.Cert.Key}
	for _, c := range s.Client.Cert.Chain {
		blocks = append(blocks, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		pair.Certificate = append(pair.Certificate, c.Raw)
	}
	f.pair = pair
	if err := writePEM(f.cert, blocks...); err != nil {
		return f, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.Client.Cert.Key)
	if err != nil {
		return f, err
	}
	return f, writePEM(f.key, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// runClient makes one connection to srv as r's client does, writing its key log to keylog
// when not "". The client's failure is the point of most recordings: it is not an error.
func runClient(ctx context.Context, r recording, srv *lab.Running, f clientFiles, keylog string) {
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	_, port, _ := net.SplitHostPort(srv.Address)
	name := srv.ServerName
	switch r.client {
	case "curl":
		args := []string{"-sS", "-o", "/dev/null", "--max-time", "4", "--resolve", name + ":" + port + ":127.0.0.1",
			"--cacert", f.truststore, "https://" + name + ":" + port + "/"}
		switch r.tls {
		case "1.2":
			args = append(args, "--tlsv1.2", "--tls-max", "1.2")
		case "1.3":
			args = append(args, "--tlsv1.3")
		}
		if f.cert != "" {
			args = append(args, "--cert", f.cert, "--key", f.key)
		}
		cmd := exec.CommandContext(ctx, "curl", args...)
		if keylog != "" {
			cmd.Env = append(os.Environ(), "SSLKEYLOGFILE="+keylog)
		}
		cmd.Run()
	case "curl-http":
		exec.CommandContext(ctx, "curl", "-sS", "-o", "/dev/null", "--max-time", "4", "http://127.0.0.1:"+port+"/").Run()
	case "openssl":
		args := []string{"s_client", "-connect", "127.0.0.1:" + port, "-CAfile", f.truststore,
			"-verify_return_error", "-verify_hostname", name, "-ign_eof"}
		if r.noSNI {
			args = append(args, "-noservername")
		} else {
			args = append(args, "-servername", name)
		}
		switch r.tls {
		case "1.2":
			args = append(args, "-tls1_2")
		case "1.3":
			args = append(args, "-tls1_3")
		}
		if f.cert != "" {
			args = append(args, "-cert", f.cert, "-key", f.key)
		}
		if keylog != "" {
			args = append(args, "-keylogfile", keylog)
		}
		cmd := exec.CommandContext(ctx, "openssl", args...)
		cmd.Stdin = strings.NewReader("GET / HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")
		cmd.Run()
	case "go":
		goClient(ctx, r, name, srv.Address, f, keylog)
	case "java":
		javaClient(ctx, r, name, port, f)
	}
}

// goClient makes one HTTPS request with crypto/tls, as a Go service would.
func goClient(ctx context.Context, r recording, name, addr string, f clientFiles, keylog string) {
	pool := x509.NewCertPool()
	for _, c := range f.roots {
		pool.AddCert(c)
	}
	conf := &tls.Config{RootCAs: pool, ServerName: name}
	switch r.tls {
	case "1.2":
		conf.MaxVersion = tls.VersionTLS12
	case "1.3":
		conf.MinVersion = tls.VersionTLS13
	}
	if f.pair != nil {
		conf.Certificates = []tls.Certificate{*f.pair}
	}
	if keylog != "" {
		w, err := os.OpenFile(keylog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return
		}
		defer w.Close()
		conf.KeyLogWriter = w
	}
	tr := &http.Transport{
		TLSClientConfig:   conf,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://%s/", name), nil)
	if err != nil {
		return
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
