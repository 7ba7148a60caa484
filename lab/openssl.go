package lab

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// procServer is a lab server played by a child process.
type procServer struct {
	p    *process
	addr string
}

func (s *procServer) address() string { return s.addr }
func (s *procServer) close() error    { return s.p.close() }

// startOpenSSL plays spec with openssl s_server, writing its files to dir.
func startOpenSSL(ctx context.Context, spec ServerSpec, dir string) (server, error) {
	path, err := opensslTool.find()
	if err != nil {
		return nil, err
	}
	args, env, err := opensslArgs(spec, dir)
	if err != nil {
		return nil, err
	}
	return startListening(ctx, "openssl s_server", func(addr string) (*process, error) {
		full := append([]string{"s_server", "-accept", addr}, args...)
		return startProcess(path, full, dir, env, "ACCEPT")
	})
}

// startListening starts a child server on a free port with start, retrying on another port
// when the one chosen was taken in between.
func startListening(ctx context.Context, what string, start func(addr string) (*process, error)) (server, error) {
	var last error
	for range 3 {
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := start(addr)
		if err != nil {
			return nil, err
		}
		if err = p.waitReady(ctx); err == nil {
			return &procServer{p: p, addr: addr}, nil
		}
		p.close()
		last = fmt.Errorf("%s on %s: %w", what, addr, err)
		if !strings.Contains(err.Error(), "in use") {
			return nil, last
		}
	}
	return nil, last
}

// opensslArgs translates spec into s_server's arguments (all but -accept) and environment.
func opensslArgs(spec ServerSpec, dir string) (args, env []string, err error) {
	if spec.Behaviour != ServeTLS {
		return nil, nil, fmt.Errorf("openssl s_server cannot play the %q behaviour", spec.Behaviour)
	}
	if spec.RequireSNI {
		return nil, nil, errors.New("openssl s_server cannot refuse handshakes without server_name")
	}
	if len(spec.ByName) > 1 {
		return nil, nil, errors.New("openssl s_server serves at most one name besides its default")
	}
	cert, key, chain, err := writeCredential(dir, "server", spec.Cert)
	if err != nil {
		return nil, nil, err
	}
	args = []string{"-cert", cert, "-key", key, "-no-CAfile", "-no-CApath", "-no-CAstore", "-www"}
	if chain != "" {
		args = append(args, "-cert_chain", chain)
	}
	for _, n := range spec.ByName {
		if len(n.Chain) > 1 {
			return nil, nil, fmt.Errorf("openssl s_server sends no chain for %q, only its leaf", n.Name)
		}
		c2, k2, _, err := writeCredential(dir, "named", n.Credential)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, "-servername", n.Name, "-cert2", c2, "-key2", k2)
	}
	lo, hi := spec.versions()
	args = append(args, "-min_protocol", opensslVersion(lo), "-max_protocol", opensslVersion(hi))
	if list, err := opensslCiphers(spec.Ciphers); err != nil {
		return nil, nil, err
	} else if list != "" || spec.legacy() {
		if list == "" {
			list = "DEFAULT"
		}
		if spec.legacy() {
			list += ":@SECLEVEL=0"
		}
		args = append(args, "-cipher", list)
	}
	if spec.legacy() {
		conf, err := legacyConf(dir)
		if err != nil {
			return nil, nil, err
		}
		env = append(env, "OPENSSL_CONF="+conf)
	}
	if spec.ClientAuth != ClientAuthNone {
		cas, err := writePEM(dir, "client-cas.pem", spec.ClientCAs...)
		if err != nil {
			return nil, nil, err
		}
		verify := "-verify"
		if spec.ClientAuth == ClientAuthRequire {
			verify = "-Verify"
		}
		args = append(args, verify, "4", "-verify_return_error")
		if spec.NoCANames {
			args = append(args, "-verifyCAfile", cas) // trusted, but not listed
		} else {
			args = append(args, "-CAfile", cas) // trusted and listed in the CertificateRequest
		}
	}
	return args, env, nil
}

// opensslVersion is OpenSSL's name for v.
func opensslVersion(v uint16) string {
	if v == tlswire.VersionTLS10 {
		return "TLSv1"
	}
	return tlswire.VersionName(v)
}

// opensslCiphers is OpenSSL's cipher list for the suites ids.
func opensslCiphers(ids []uint16) (string, error) {
	var names []string
	for _, id := range ids {
		s, ok := tlswire.SuiteByID(id)
		if !ok || s.OpenSSLName == "" {
			return "", fmt.Errorf("cipher suite 0x%04x has no OpenSSL name", id)
		}
		names = append(names, s.OpenSSLName)
	}
	return strings.Join(names, ":"), nil
}

// legacyConf writes an OpenSSL configuration that lowers the security level of every
// context to 0, so that a server loads SHA-1 certificates and speaks TLS 1.0.
func legacyConf(dir string) (string, error) {
	const conf = `openssl_conf = lab_init
[lab_init]
ssl_conf = lab_ssl
[lab_ssl]
system_default = lab_default
[lab_default]
CipherString = DEFAULT:@SECLEVEL=0
`
	return writeFile(dir, "openssl-legacy.cnf", []byte(conf))
}

// writeCredential writes c's leaf, key and the rest of its chain (if any) to dir as PEM.
func writeCredential(dir, name string, c Credential) (cert, key, chain string, err error) {
	if len(c.Chain) == 0 || c.Key == nil {
		return "", "", "", errors.New("a TLS server needs a certificate and its key")
	}
	if cert, err = writePEM(dir, name+".pem", c.Chain[0]); err != nil {
		return "", "", "", err
	}
	if key, err = writeKey(dir, name+".key", c.Key); err != nil {
		return "", "", "", err
	}
	if len(c.Chain) > 1 {
		if chain, err = writePEM(dir, name+"-chain.pem", c.Chain[1:]...); err != nil {
			return "", "", "", err
		}
	}
	return cert, key, chain, nil
}

func writePEM(dir, name string, certs ...*x509.Certificate) (string, error) {
	return writeFile(dir, name, pkitest.PEM(certs...))
}

func writeKey(dir, name string, key any) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("encoding a key: %w", err)
	}
	return writeFile(dir, name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func writeFile(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", p, err)
	}
	return p, nil
}
