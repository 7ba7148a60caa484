package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// Bounds on the clients. clientTimeout is what each client is told (its own connect, read
// and handshake timeouts); runBound is when the recorder kills a client that is still
// running (openssl s_client has no timeout of its own).
const (
	clientTimeout = 3 * time.Second
	runBound      = 20 * time.Second
	// timedOut is the exit code recorded for a client killed at runBound, as timeout(1) does.
	timedOut = 124
)

// capture is what one client run printed.
type capture struct {
	// kind is added to the file name: "" for the system's main client, or verify, urllib,
	// response, server-log, server-page.
	kind   string
	argv   []string // the command as shown: the program's name, then its arguments
	output string   // stdout and stderr, interleaved as written
	exit   int
	note   string
	// failed reports whether the client failed; only failures are recorded.
	failed bool
	// cause, when set, is the true cause instead of the scenario's (nginx as the server).
	cause string
	// proxyPort is the port of the nginx proxy the run used, if any.
	proxyPort string
}

// job is one client variant against one running scenario.
type job struct {
	rec  *recorder
	s    lab.Scenario
	peer lab.Peer
	p    plan
	v    variant
	m    *material
	r    *lab.Running
}

// command is exec.CommandContext that kills the program when ctx ends and waits a little
// for its output.
func command(ctx context.Context, path string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, path, args...)
	c.WaitDelay = 2 * time.Second
	return c
}

// exec runs the named tool (or path, when it has a slash) with args in the material's
// directory, with stdin and extra environment, bounded by runBound.
func (j *job) exec(ctx context.Context, name string, args, env []string, stdin string) (out string, exit int, note string) {
	path := name
	if !strings.Contains(name, "/") {
		path = j.rec.paths[name]
	}
	ctx, cancel := context.WithTimeout(ctx, runBound)
	defer cancel()
	c := command(ctx, path, args...)
	c.Dir = j.m.dir
	c.Env = append(cleanEnv(), env...)
	c.Stdin = strings.NewReader(stdin)
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return b.String(), timedOut, fmt.Sprintf("still running after %s: killed", runBound)
	case errors.As(err, &ee):
		return b.String(), ee.ExitCode(), ""
	case err != nil:
		return b.String() + err.Error(), -1, "could not run: " + err.Error()
	}
	return b.String(), 0, ""
}

// cleanEnv is the recorder's environment without what would change a client's behaviour or
// output: colours, proxies, Java and Node.js options, SSL settings.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(strings.ToLower(k), "_proxy"),
			k == "JAVA_TOOL_OPTIONS", k == "_JAVA_OPTIONS", k == "JDK_JAVA_OPTIONS",
			k == "NODE_OPTIONS", k == "NODE_EXTRA_CA_CERTS", k == "NODE_TLS_REJECT_UNAUTHORIZED",
			strings.HasPrefix(k, "SSL_CERT_"), k == "OPENSSL_CONF", k == "CURL_CA_BUNDLE",
			k == "PYTHONWARNINGS", k == "FORCE_COLOR", k == "GODEBUG":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "NO_COLOR=1", "LC_ALL=C")
}

// url is the URL the HTTP clients fetch: the server's name, or 127.0.0.1 for a client
// that sends no server_name (no client sends one for an IP address).
func (j *job) url() string {
	host := j.m.serverName
	if j.m.noSNI {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, j.m.port) + "/"
}

func (j *job) ran(kind string, argv []string, out string, exit int, note string) capture {
	return capture{kind: kind, argv: argv, output: out, exit: exit, note: note, failed: exit != 0}
}

// The systems' runs.

func (j *job) curl(ctx context.Context) []capture {
	args := []string{"-sS", "--max-time", "5"}
	if !j.m.noSNI {
		args = append(args, "--resolve", fmt.Sprintf("%s:%s:127.0.0.1", j.m.serverName, j.m.port))
	}
	args = append(args, "--cacert", j.m.roots)
	if j.m.cert != "" {
		args = append(args, "--cert", j.m.cert, "--key", j.m.key)
	}
	switch {
	case j.v.maxTLS12:
		args = append(args, "--tls-max", "1.2")
	case j.v.onlyTLS13:
		args = append(args, "--tlsv1.3")
	case j.v.onlyTLS10:
		args = append(args, "--tlsv1.0", "--tls-max", "1.0")
	case j.v.ciphers:
		args = append(args, "--ciphers", opensslGCM)
	}
	args = append(args, j.url())
	out, exit, note := j.exec(ctx, "curl", args, nil, "")
	return []capture{j.ran("", append([]string{"curl"}, args...), out, exit, note)}
}

func (j *job) openssl(ctx context.Context) []capture {
	args := []string{"s_client", "-brief", "-connect", "127.0.0.1:" + j.m.port}
	if j.m.noSNI {
		args = append(args, "-noservername")
	} else {
		args = append(args, "-servername", j.m.serverName)
	}
	args = append(args, "-verify_hostname", j.m.serverName, "-CAfile", j.m.roots, "-verify_return_error")
	if j.m.cert != "" {
		args = append(args, "-cert", j.m.cert, "-key", j.m.key)
	}
	switch {
	case j.v.maxTLS12:
		args = append(args, "-tls1_2")
	case j.v.onlyTLS13:
		args = append(args, "-tls1_3")
	case j.v.onlyTLS10:
		args = append(args, "-tls1")
	case j.v.ciphers:
		args = append(args, "-cipher", opensslGCM)
	}
	args = append(args, "-ign_eof")
	req := fmt.Sprintf("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", j.m.serverName)
	out, exit, note := j.exec(ctx, "openssl", args, nil, req)
	caps := []capture{j.ran("", append([]string{"openssl"}, args...), out, exit, note)}
	if j.v.name == "" && j.peer == j.p.peers[0] && verifies(j.s) && j.m.leaf != "" {
		vargs := []string{"verify", "-CAfile", j.m.roots}
		if j.m.untrusted != "" {
			vargs = append(vargs, "-untrusted", j.m.untrusted)
		}
		vargs = append(vargs, "-verify_hostname", j.m.serverName, j.m.leaf)
		out, exit, note := j.exec(ctx, "openssl", vargs, nil, "")
		caps = append(caps, j.ran("verify", append([]string{"openssl"}, vargs...), out, exit, note))
	}
	return caps
}

// verifies reports whether openssl verify is recorded for s: its failure is in the server's
// certificates as a client validates them.
func verifies(s lab.Scenario) bool {
	switch s.Expect {
	case catalog.SNIDefaultCertificate, catalog.ChainIncomplete, catalog.ChainWrongIntermediate,
		catalog.ChainMisordered, catalog.TruststoreMissingRoot, catalog.TruststoreEmpty,
		catalog.HostnameMismatch, catalog.CertExpired, catalog.CertNotYetValid, catalog.CertInsecureSignature:
		return true
	}
	return false
}

func (j *job) java(ctx context.Context) []capture {
	args := []string{
		"-Djavax.net.ssl.trustStore=" + j.m.trustStore,
		"-Djavax.net.ssl.trustStorePassword=" + storePass,
		"-Djavax.net.ssl.trustStoreType=JKS",
	}
	if j.m.keyStore != "" {
		args = append(args,
			"-Djavax.net.ssl.keyStore="+j.m.keyStore,
			"-Djavax.net.ssl.keyStorePassword="+storePass,
			"-Djavax.net.ssl.keyStoreType=PKCS12")
	}
	switch {
	case j.v.maxTLS12:
		args = append(args, "-Djdk.tls.client.protocols=TLSv1.2")
	case j.v.onlyTLS13:
		args = append(args, "-Djdk.tls.client.protocols=TLSv1.3")
	case j.v.onlyTLS10:
		args = append(args, "-Djdk.tls.client.protocols=TLSv1")
	case j.v.ciphers:
		args = append(args, "-Dhttps.cipherSuites="+ianaGCM)
	}
	if j.m.noSNI {
		args = append(args, "-Djsse.enableSNIExtension=false")
	}
	url := "https://" + net.JoinHostPort(j.m.serverName, j.m.port) + "/"
	args = append(args, "-Djdk.net.hosts.file="+j.m.hosts, "-cp", j.rec.bin, "TLSClient", url,
		fmt.Sprint(clientTimeout.Milliseconds()))
	out, exit, note := j.exec(ctx, "java", args, nil, "")
	return []capture{j.ran("", append([]string{"java"}, args...), out, exit, note)}
}

func (j *job) goClient(ctx context.Context) []capture {
	args := []string{"-cafile", j.m.roots}
	if j.m.cert != "" {
		args = append(args, "-cert", j.m.cert, "-key", j.m.key)
	}
	if !j.m.noSNI {
		args = append(args, "-connect", "127.0.0.1:"+j.m.port)
	}
	switch {
	case j.v.maxTLS12:
		args = append(args, "-max", "1.2")
	case j.v.onlyTLS13:
		args = append(args, "-min", "1.3")
	case j.v.onlyTLS10:
		args = append(args, "-min", "1.0", "-max", "1.0")
	case j.v.ciphers:
		args = append(args, "-ciphers", ianaGCM)
	}
	args = append(args, "-timeout", clientTimeout.String(), j.url())
	out, exit, note := j.exec(ctx, filepath.Join(j.rec.bin, "goclient"), args, nil, "")
	return []capture{j.ran("", append([]string{"goclient"}, args...), out, exit, note)}
}

func (j *job) node(ctx context.Context) []capture {
	script := filepath.Join(j.rec.bin, "client.js")
	args := []string{script, j.url(), "--ca", j.m.roots}
	if j.m.cert != "" {
		args = append(args, "--cert", j.m.cert, "--key", j.m.key)
	}
	switch {
	case j.v.maxTLS12:
		args = append(args, "--max-version", "TLSv1.2")
	case j.v.onlyTLS13:
		args = append(args, "--min-version", "TLSv1.3")
	case j.v.onlyTLS10:
		args = append(args, "--min-version", "TLSv1", "--max-version", "TLSv1")
	case j.v.ciphers:
		args = append(args, "--ciphers", opensslGCM)
	}
	args = append(args, "--timeout", fmt.Sprint(clientTimeout.Milliseconds()))
	out, exit, note := j.exec(ctx, "node", args, nil, "")
	return []capture{j.ran("", append([]string{"node"}, args...), out, exit, note)}
}

func (j *job) python(ctx context.Context) []capture {
	host := j.m.serverName
	if j.m.noSNI {
		host = "127.0.0.1"
	}
	args := []string{filepath.Join(j.rec.bin, "client.py"), host, j.m.port, "--ca", j.m.roots}
	if j.m.cert != "" {
		args = append(args, "--cert", j.m.cert, "--key", j.m.key)
	}
	switch {
	case j.v.maxTLS12:
		args = append(args, "--max", "TLSv1_2")
	case j.v.onlyTLS13:
		args = append(args, "--min", "TLSv1_3")
	case j.v.onlyTLS10:
		args = append(args, "--min", "TLSv1", "--max", "TLSv1")
	case j.v.ciphers:
		args = append(args, "--ciphers", opensslGCM)
	}
	args = append(args, "--timeout", fmt.Sprint(clientTimeout.Seconds()))
	env := []string{"PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8"}
	out, exit, note := j.exec(ctx, "python3", args, env, "")
	caps := []capture{j.ran("", append([]string{"python3"}, args...), out, exit, note)}
	if j.v.name == "" {
		uargs := append(args[:len(args):len(args)], "--urllib")
		out, exit, note := j.exec(ctx, "python3", uargs, env, "")
		caps = append(caps, j.ran("urllib", append([]string{"python3"}, uargs...), out, exit, note))
	}
	return caps
}
