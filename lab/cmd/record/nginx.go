package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// nginxProxy runs nginx as a reverse proxy in front of the lab server (proxy_ssl_verify on,
// the scenario's truststore, name and client certificate), requests it with curl, and
// records the lines nginx wrote to its error log and the page curl received.
func (j *job) nginxProxy(ctx context.Context) []capture {
	dir, err := os.MkdirTemp(j.m.dir, "proxy-")
	if err != nil {
		return []capture{{argv: []string{"nginx"}, output: err.Error(), exit: -1, note: "could not run"}}
	}
	port, err := freePort()
	if err != nil {
		return []capture{{argv: []string{"nginx"}, output: err.Error(), exit: -1, note: "could not run"}}
	}
	conf := j.proxyConf(dir, port)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return []capture{{argv: []string{"nginx"}, output: err.Error(), exit: -1, note: "could not run"}}
	}
	logFile := filepath.Join(dir, "error.log")
	nargs := []string{"-p", dir + "/", "-c", confFile, "-e", logFile}
	shown := fmt.Sprintf("nginx -c nginx.conf (%s)", strings.Join(proxyDirectives(conf, j.m.dir), " "))

	ctx, cancel := context.WithTimeout(ctx, runBound)
	defer cancel()
	c := command(ctx, j.rec.paths["nginx"], nargs...)
	c.Dir = dir
	c.Env = cleanEnv()
	var startOut strings.Builder
	c.Stdout, c.Stderr = &startOut, &startOut
	if err := c.Start(); err != nil {
		return []capture{{argv: []string{"nginx"}, output: err.Error(), exit: -1, note: "could not run: " + err.Error()}}
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = c.Wait()
		close(done)
	}()
	defer func() {
		_ = c.Process.Kill()
		<-done
	}()
	if err := waitListening(ctx, "127.0.0.1:"+port, done); err != nil {
		// nginx refused its configuration: what it says is the message.
		exit := -1
		var ee interface{ ExitCode() int }
		if errors.As(waitErr, &ee) {
			exit = ee.ExitCode()
		}
		return []capture{{argv: []string{shown}, output: startOut.String(), exit: exit, failed: true, proxyPort: port,
			note: "nginx did not start with this configuration; this is what it printed"}}
	}
	// The readiness probe's connection is logged too: start after it.
	time.Sleep(100 * time.Millisecond)
	before, _ := os.ReadFile(logFile)
	cargs := []string{"-sS", "--max-time", "10", "http://127.0.0.1:" + port + "/"}
	page, exit, note := j.exec(ctx, "curl", cargs, nil, "")
	time.Sleep(200 * time.Millisecond) // let nginx finish the request's log lines
	after, _ := os.ReadFile(logFile)
	lines := logLines(string(after[min(len(before), len(after)):]))
	status := pageStatus(page)
	failed := exit != 0 || strings.HasPrefix(status, "5") || hasErrorLevel(lines)
	argv := []string{shown + " && curl " + strings.Join(cargs, " ")}
	caps := []capture{{argv: argv, output: lines, exit: exit, failed: failed, proxyPort: port,
		note: joinNote("the error log of nginx proxying to the lab server; curl received "+orUnknown(status), note)}}
	if failed && page != "" {
		caps = append(caps, capture{kind: "response", argv: []string{"curl " + strings.Join(cargs, " ")},
			output: page, exit: exit, failed: true, proxyPort: port,
			note: "the page nginx, the proxy, answered: " + orUnknown(status)})
	}
	return caps
}

// proxyConf is an nginx configuration: one server on 127.0.0.1:port proxying to the lab
// server with the scenario's client configuration.
func (j *job) proxyConf(dir, port string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("daemon off;")
	w("master_process off;")
	w("worker_processes 1;")
	w("pid %s;", filepath.Join(dir, "nginx.pid"))
	w("error_log %s info;", filepath.Join(dir, "error.log"))
	w("events { worker_connections 64; }")
	w("http {")
	w("  access_log off;")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		w("  %s_temp_path %s;", t, filepath.Join(dir, "tmp-"+t))
	}
	w("  server {")
	w("    listen 127.0.0.1:%s;", port)
	w("    location / {")
	w("      proxy_pass https://127.0.0.1:%s;", j.m.port)
	w("      proxy_ssl_verify on;")
	w("      proxy_ssl_verify_depth 4;")
	w("      proxy_ssl_trusted_certificate %s;", filepath.Join(j.m.dir, j.m.roots))
	w("      proxy_ssl_name %s;", j.m.serverName)
	if j.m.noSNI {
		w("      proxy_ssl_server_name off;")
	} else {
		w("      proxy_ssl_server_name on;")
	}
	switch {
	case j.v.maxTLS12:
		w("      proxy_ssl_protocols TLSv1.2;")
	case j.v.onlyTLS13:
		w("      proxy_ssl_protocols TLSv1.3;")
	case j.v.onlyTLS10:
		w("      proxy_ssl_protocols TLSv1;")
	default:
		w("      proxy_ssl_protocols TLSv1.2 TLSv1.3;")
	}
	if j.v.ciphers {
		w("      proxy_ssl_ciphers %s;", opensslGCM)
	}
	if j.m.cert != "" {
		w("      proxy_ssl_certificate %s;", filepath.Join(j.m.dir, j.m.cert))
		w("      proxy_ssl_certificate_key %s;", filepath.Join(j.m.dir, j.m.key))
	}
	w("      proxy_connect_timeout %ds;", int(clientTimeout.Seconds()))
	w("      proxy_read_timeout %ds;", int(clientTimeout.Seconds()))
	w("      proxy_send_timeout %ds;", int(clientTimeout.Seconds()))
	w("      proxy_next_upstream off;")
	w("    }")
	w("  }")
	w("}")
	return b.String()
}

// proxyDirectives are the lines of conf that say what the proxy does, for the manifest.
func proxyDirectives(conf, dir string) []string {
	var out []string
	for _, l := range strings.Split(conf, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "proxy_") && !strings.Contains(l, "_temp_path") && !strings.Contains(l, "_timeout") &&
			!strings.HasPrefix(l, "proxy_next_upstream") {
			out = append(out, strings.ReplaceAll(l, dir+string(filepath.Separator), ""))
		}
	}
	return out
}

// nginxServer records nginx's own view of a scenario it serves: the lines it wrote to its
// error log while a client ran against it, and (for client certificates) the page curl
// received. curl is the client; Java and Go are too, when their systems are recorded and
// the failure is in the handshake, since each aborts with its own alert.
func (j *job) nginxServer(ctx context.Context, cause string) []capture {
	type client struct {
		name string
		run  func(context.Context) []capture
	}
	clients := []client{{"", j.curl}}
	if !strings.HasPrefix(j.s.Expect, "clientcert.") {
		if j.rec.systems["java"] {
			clients = append(clients, client{"java", j.java})
		}
		if j.rec.systems["go"] {
			clients = append(clients, client{"go", j.goClient})
		}
	}
	logFile := filepath.Join(j.r.Dir, "logs", "error.log")
	var out []capture
	for _, c := range clients {
		time.Sleep(100 * time.Millisecond) // what came before (the lab's readiness probe) is logged first
		before, _ := os.ReadFile(logFile)
		cc := c.run(ctx)[0]
		time.Sleep(200 * time.Millisecond)
		after, _ := os.ReadFile(logFile)
		lines := logLines(string(after[min(len(before), len(after)):]))
		kind := "server-log"
		if c.name != "" {
			kind += "." + c.name
		}
		status := pageStatus(cc.output)
		out = append(out, capture{kind: kind, argv: cc.argv, output: lines, exit: cc.exit, cause: cause,
			failed: strings.TrimSpace(lines) != "" && (cc.exit != 0 || strings.HasPrefix(status, "4")),
			note:   "the lines nginx, the server (the gateway's inbound side), wrote to its error log while this client ran"})
		if c.name == "" && strings.HasPrefix(status, "4") {
			out = append(out, capture{kind: "server-page", argv: cc.argv, output: cc.output, exit: cc.exit, cause: cause,
				failed: true, note: "the page nginx, the server, answered: HTTP " + status})
		}
	}
	return out
}

var (
	logLevel = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\]`)
	title    = regexp.MustCompile(`<title>(\d{3})[^<]*</title>`)
)

// logLines keeps the lines of an nginx error log that tell what happened to a connection:
// all but the notices (start, signals) and the routine closing of kept-alive connections.
func logLines(log string) string {
	var b strings.Builder
	for _, l := range strings.Split(log, "\n") {
		m := logLevel.FindStringSubmatch(l)
		if m == nil || m[1] == "notice" || m[1] == "debug" || strings.Contains(l, "closed keepalive connection") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

func hasErrorLevel(lines string) bool {
	for _, l := range strings.Split(lines, "\n") {
		if m := logLevel.FindStringSubmatch(l); m != nil {
			switch m[1] {
			case "error", "crit", "alert", "emerg":
				return true
			}
		}
	}
	return false
}

// pageStatus returns the status of an nginx error page ("502"), or "".
func pageStatus(page string) string {
	if m := title.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

func orUnknown(status string) string {
	if status == "" {
		return "no error page"
	}
	return "HTTP " + status
}

func joinNote(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

// waitListening waits until addr accepts connections, the process exits (exited is closed)
// or ctx ends.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	bound := time.NewTimer(5 * time.Second)
	defer bound.Stop()
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited")
		case <-bound.C:
			return fmt.Errorf("nginx does not listen on %s after 5s", addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
