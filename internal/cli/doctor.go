package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/probe"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

const doctorHelp = `
Connect to TARGET as a TLS client configured like the gateway (truststore, client
certificate, protocols, ciphers, SNI), experiment, and name the cause of any failure with
its evidence and the fix. TARGET is host:port or https://host[:port][/path].

Examples:
  tlsgate doctor --truststore root.pem backend.example.com:8443
  tlsgate doctor --connect 10.0.0.9:443 --no-sni --keystore client.p12 --keystore-password pw https://api.example.com
  tlsgate doctor --scan --format json localhost:8443

Exit status: 0 no error finding; 1 at least one error finding; 2 bad usage or unreadable input.`

// doctorOptions are doctor's flags.
type doctorOptions struct {
	connect, servername          string
	noSNI, scan, noAIA           bool
	truststores                  listFlag
	truststorePassword           string
	clientCert, clientKey        string
	keystore, keystorePassword   string
	keyAlias, protocols, ciphers string
	format                       string
	timeout                      time.Duration
}

func runDoctor(ctx context.Context, e *env, args []string) int {
	var o doctorOptions
	fs := newFlags(e, "doctor", "doctor [flags] TARGET", doctorHelp)
	fs.StringVar(&o.connect, "connect", "", "dial `HOST:PORT` instead of resolving TARGET's host (TARGET's host stays the name sent and verified)")
	fs.StringVar(&o.servername, "servername", "", "the `NAME` to send in SNI and to verify (default: TARGET's host)")
	fs.BoolVar(&o.noSNI, "no-sni", false, "send no server_name (like a Java client with SNI disabled)")
	fs.Var(&o.truststores, "truststore", "trusted roots: PEM bundle, DER, PKCS#12 or JKS `FILE`; repeatable (default: the system roots)")
	fs.StringVar(&o.truststorePassword, "truststore-password", "", "password of PKCS#12 or JKS truststores")
	fs.StringVar(&o.clientCert, "client-cert", "", "client certificate `FILE` (PEM or DER, leaf first), with --client-key")
	fs.StringVar(&o.clientKey, "client-key", "", "client private key `FILE` (PEM or DER)")
	fs.StringVar(&o.keystore, "keystore", "", "client keystore `FILE` (PKCS#12 or JKS) holding a key and its certificate")
	fs.StringVar(&o.keystorePassword, "keystore-password", "", "password of --keystore (and of an encrypted --client-key)")
	fs.StringVar(&o.keyAlias, "key-alias", "", "the alias to use in --keystore (default: its only key entry)")
	fs.StringVar(&o.protocols, "protocols", "TLSv1.2,TLSv1.3", "versions the client may use, comma-separated (SSLv3 is probed, never offered)")
	fs.StringVar(&o.ciphers, "ciphers", "", "suites the client may offer, IANA or OpenSSL names, comma-separated (default: Go's defaults)")
	fs.BoolVar(&o.scan, "scan", false, "also enumerate every version (SSLv3..TLSv1.3) and every IANA cipher suite the server accepts")
	fs.BoolVar(&o.noAIA, "no-aia", false, "do not fetch missing issuers from the certificate's AIA URL")
	fs.StringVar(&o.format, "format", "text", "output `format`: text or json")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "bound on the whole diagnosis and on every connection")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if fs.NArg() != 1 {
		return fail(e, ExitUsage, errors.New("doctor: expected exactly one TARGET"), "tlsgate doctor [flags] host:port (see tlsgate doctor --help)")
	}
	if o.format != "text" && o.format != "json" {
		return fail(e, ExitUsage, fmt.Errorf("doctor: --format %q: want text or json", o.format), "")
	}
	if o.timeout <= 0 {
		return fail(e, ExitUsage, fmt.Errorf("doctor: --timeout %s: must be positive", o.timeout), "")
	}
	host, addr, err := parseTarget(fs.Arg(0))
	if err != nil {
		return fail(e, ExitUsage, err, "TARGET is host:port, [ipv6]:port or https://host[:port][/path]")
	}
	if o.connect != "" {
		if _, _, err := net.SplitHostPort(o.connect); err != nil {
			return fail(e, ExitUsage, fmt.Errorf("doctor: --connect %q: %w", o.connect, err), "give HOST:PORT")
		}
		addr = o.connect
	}
	x, code, err := o.expectations(host)
	if err != nil {
		return fail(e, code, err, hintFor(err))
	}
	clearProgress := func() {}
	if isTerminal(e.stderr) {
		what := "diagnosing"
		if o.scan {
			what = "diagnosing and enumerating versions and suites of"
		}
		fmt.Fprintf(e.stderr, "%s %s ...", what, addr)
		clearProgress = func() { fmt.Fprint(e.stderr, "\r\033[K") }
	}
	facts, err := probe.Run(ctx, probe.Config{
		Target:  fs.Arg(0),
		Address: addr,
		Expect:  x,
		Timeout: o.timeout,
		Scan:    o.scan,
		NoAIA:   o.noAIA,
	})
	clearProgress()
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("doctor: %w", err), "")
	}
	r := catalog.Engine().Report(facts, x)
	if o.format == "json" {
		err = tlsdiag.WriteJSON(e.stdout, r)
	} else {
		err = tlsdiag.WriteText(e.stdout, r)
	}
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("doctor: writing the report: %w", err), "")
	}
	if !r.OK {
		return ExitFindings
	}
	return ExitOK
}

// parseTarget splits TARGET into the host to verify and the address to dial.
func parseTarget(t string) (host, addr string, err error) {
	if t == "" {
		return "", "", errors.New("doctor: empty TARGET")
	}
	if strings.Contains(t, "://") {
		u, err := url.Parse(t)
		if err != nil {
			return "", "", fmt.Errorf("doctor: TARGET %q: %w", t, err)
		}
		if u.Scheme != "https" && u.Scheme != "tls" {
			return "", "", fmt.Errorf("doctor: TARGET %q: scheme %q is not TLS (want https://)", t, u.Scheme)
		}
		host = u.Hostname()
		port := u.Port()
		if port == "" {
			port = "443"
		}
		if host == "" {
			return "", "", fmt.Errorf("doctor: TARGET %q: no host", t)
		}
		return host, net.JoinHostPort(host, port), nil
	}
	h, p, err := net.SplitHostPort(t)
	if err != nil {
		if strings.Count(t, ":") == 0 {
			return t, net.JoinHostPort(t, "443"), nil
		}
		return "", "", fmt.Errorf("doctor: TARGET %q: %w", t, err)
	}
	if h == "" {
		return "", "", fmt.Errorf("doctor: TARGET %q: no host", t)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("doctor: TARGET %q: port %q is not a number from 1 to 65535", t, p)
	}
	return h, net.JoinHostPort(h, p), nil
}

// expectations reads the flags' files into what the client is configured to do. Problems
// that are findings (a key that does not match its certificate, a missing alias) are kept
// in the expectations; unreadable input is an error with exit status 2.
func (o *doctorOptions) expectations(host string) (*tlsdiag.Expectations, int, error) {
	x := &tlsdiag.Expectations{ServerName: host, NoSNI: o.noSNI}
	if o.servername != "" {
		x.ServerName = o.servername
	}
	if len(o.truststores) == 0 {
		x.SystemRoots = true
		x.RootsFrom = []string{"the system roots"}
	}
	for _, f := range o.truststores {
		certs, err := pki.LoadCertificates(f, o.truststorePassword)
		if err != nil {
			return nil, ExitUsage, err
		}
		x.Roots = append(x.Roots, certs...)
		x.RootsFrom = append(x.RootsFrom, f)
	}
	switch {
	case o.keystore != "" && (o.clientCert != "" || o.clientKey != ""):
		return nil, ExitUsage, errors.New("doctor: give either --keystore or --client-cert/--client-key, not both")
	case (o.clientCert == "") != (o.clientKey == ""):
		return nil, ExitUsage, errors.New("doctor: --client-cert and --client-key go together")
	case o.keystore != "":
		b, err := pki.LoadKeystore(o.keystore, o.keystorePassword, o.keyAlias)
		if err := o.clientCredential(x, b, err, o.keystore); err != nil {
			return nil, ExitUsage, err
		}
	case o.clientCert != "":
		b, err := pki.LoadKeyPair(o.clientCert, o.clientKey, o.keystorePassword)
		if err := o.clientCredential(x, b, err, o.clientCert); err != nil {
			return nil, ExitUsage, err
		}
	}
	for _, v := range splitList(o.protocols) {
		n, err := tlswire.ParseVersion(v)
		if err != nil {
			return nil, ExitUsage, fmt.Errorf("doctor: --protocols: %w", err)
		}
		x.Protocols = append(x.Protocols, n)
	}
	if len(x.Protocols) == 0 {
		return nil, ExitUsage, errors.New("doctor: --protocols is empty")
	}
	for _, c := range splitList(o.ciphers) {
		s, ok := tlswire.SuiteByName(c)
		if !ok {
			return nil, ExitUsage, fmt.Errorf("doctor: --ciphers: unknown cipher suite %q", c)
		}
		x.Ciphers = append(x.Ciphers, s.ID)
	}
	return x, ExitOK, nil
}

// clientCredential records a loaded client credential, or the problem that makes it
// unusable when that problem is a diagnosis rather than bad input.
func (o *doctorOptions) clientCredential(x *tlsdiag.Expectations, b *pki.Bundle, err error, from string) error {
	x.ClientCertFrom = from
	if o.keyAlias != "" {
		x.ClientCertFrom += " (alias " + o.keyAlias + ")"
	}
	switch {
	case errors.Is(err, pki.ErrKeyMismatch), errors.Is(err, pki.ErrAliasNotFound):
		x.ClientCertProblem = err.Error()
		return nil
	case err != nil:
		return err
	}
	c := b.TLSCertificate()
	x.ClientCert = &c
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// hintFor returns the hint printed under an input error.
func hintFor(err error) string {
	switch {
	case errors.Is(err, pki.ErrWrongPassword):
		return "give the store's password with --truststore-password or --keystore-password"
	case errors.Is(err, pki.ErrUnknownFormat), errors.Is(err, pki.ErrEmpty), errors.Is(err, pki.ErrNoCertificate):
		return "truststores are PEM bundles, DER certificates, PKCS#12 or JKS files; check the path (tlsgate cert inspect FILE)"
	}
	return "see tlsgate doctor --help"
}
