package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// startNginx plays spec with nginx, as a child process with its own prefix, configuration,
// pid file and error log in dir.
func startNginx(ctx context.Context, spec ServerSpec, dir string) (server, error) {
	path, err := nginxTool.find()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return nil, fmt.Errorf("nginx prefix: %w", err)
	}
	var env []string
	if spec.legacy() {
		conf, err := legacyConf(dir)
		if err != nil {
			return nil, err
		}
		env = append(env, "OPENSSL_CONF="+conf)
	}
	return startListening(ctx, "nginx", func(addr string) (*process, error) {
		conf, err := nginxConf(spec, dir, addr)
		if err != nil {
			return nil, err
		}
		file, err := writeFile(dir, "nginx.conf", []byte(conf))
		if err != nil {
			return nil, err
		}
		args := []string{"-p", dir + "/", "-c", file, "-e", filepath.Join(dir, "logs", "error.log")}
		p, err := startProcess(path, args, dir, env, "")
		if err != nil {
			return nil, err
		}
		// nginx says nothing when it is ready: wait for the port, then call it ready.
		go func() {
			if waitPort(ctx, addr, p.exited, startBound) == nil {
				p.out.once.Do(func() { close(p.out.seen) })
			}
		}()
		return p, nil
	})
}

// nginxConf writes spec as an nginx configuration listening on addr.
func nginxConf(spec ServerSpec, dir, addr string) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("daemon off;")
	w("master_process off;")
	w("worker_processes 1;")
	w("pid %s;", filepath.Join(dir, "nginx.pid"))
	w("error_log %s info;", filepath.Join(dir, "logs", "error.log"))
	w("events { worker_connections 256; }")
	w("http {")
	w("  access_log off;")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		w("  %s_temp_path %s;", t, filepath.Join(dir, "tmp-"+t))
	}
	switch spec.Behaviour {
	case ServePlainHTTP:
		w("  server { listen %s; location / { return 400 \"tlsgate lab: plain HTTP\\n\"; } }", addr)
		w("}")
		return b.String(), nil
	case ServeTLS:
	default:
		return "", fmt.Errorf("nginx cannot play the %q behaviour", spec.Behaviour)
	}
	if spec.NoCANames {
		// nginx 1.22 wants ssl_client_certificate, whose CAs it always lists.
		return "", errors.New("nginx lists the CAs it verifies client certificates with; it cannot list none")
	}
	common, err := nginxTLS(spec, dir)
	if err != nil {
		return "", err
	}
	w("  server {")
	w("    listen %s ssl default_server;", addr)
	w("    server_name _;")
	if spec.RequireSNI {
		w("    ssl_reject_handshake on;")
	} else if err := nginxCert(&b, dir, "server", spec.Cert); err != nil {
		return "", err
	}
	b.WriteString(common)
	w("  }")
	for i, n := range spec.ByName {
		w("  server {")
		w("    listen %s ssl;", addr)
		w("    server_name %s;", n.Name)
		if err := nginxCert(&b, dir, fmt.Sprintf("named%d", i), n.Credential); err != nil {
			return "", err
		}
		b.WriteString(common)
		w("  }")
	}
	w("}")
	return b.String(), nil
}

// nginxTLS is the part of a server block every name shares: versions, suites, client
// authentication and the response.
func nginxTLS(spec ServerSpec, dir string) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, "    "+format+"\n", args...) }
	lo, hi := spec.versions()
	var vs []string
	for v := lo; v <= hi; v++ {
		vs = append(vs, opensslVersion(v))
	}
	w("ssl_protocols %s;", strings.Join(vs, " "))
	list, err := opensslCiphers(spec.Ciphers)
	if err != nil {
		return "", err
	}
	if list == "" && spec.legacy() {
		list = "DEFAULT"
	}
	if spec.legacy() {
		list += ":@SECLEVEL=0"
	}
	if list != "" {
		w("ssl_ciphers %s;", list)
	}
	w("ssl_session_tickets off;")
	if spec.ClientAuth != ClientAuthNone {
		cas, err := writePEM(dir, "client-cas.pem", spec.ClientCAs...)
		if err != nil {
			return "", err
		}
		w("ssl_client_certificate %s;", cas)
		w("ssl_verify_depth 4;")
		if spec.ClientAuth == ClientAuthRequest {
			w("ssl_verify_client optional;")
		} else {
			// As deployed: nginx completes the handshake whatever the client sent and
			// refuses each request with "400 No required SSL certificate was sent" or
			// "400 The SSL certificate error"; the doctor reads that answer.
			w("ssl_verify_client on;")
		}
	}
	w("location / { return 200 \"tlsgate lab\\n\"; }")
	return b.String(), nil
}

// nginxCert writes c as nginx loads it: the chain as sent in one file, then the key.
func nginxCert(b *strings.Builder, dir, name string, c Credential) error {
	if len(c.Chain) == 0 || c.Key == nil {
		return errors.New("a TLS server needs a certificate and its key")
	}
	cert, err := writePEM(dir, name+"-fullchain.pem", c.Chain...)
	if err != nil {
		return err
	}
	key, err := writeKey(dir, name+".key", c.Key)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "    ssl_certificate %s;\n    ssl_certificate_key %s;\n", cert, key)
	return nil
}
