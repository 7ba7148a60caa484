package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
)

const certHelp = `Usage: tlsgate cert COMMAND [flags] FILE...

Inspect certificates and keystores, and verify a chain against a truststore with an
explained verdict.

Commands:
  inspect   show what PEM, DER, PKCS#12 and JKS files hold
  verify    verify a leaf (and the chain a server sends) against a truststore

Examples:
  tlsgate cert inspect --password changeit keystore.jks server.pem
  tlsgate cert verify --truststore root.pem --intermediates inter.pem --host api.example.com leaf.pem

Run 'tlsgate cert COMMAND --help' for a command's flags.`

const inspectHelp = `
Show each file's format and contents: for every certificate its subject, issuer, serial,
validity, subjectAltNames, key, signature algorithm, SHA-256 fingerprint and whether it
is a CA; for keystores, their aliases and which hold a private key. JSON gives each
certificate as Edge's certInfo object and as tlsgate's summary.

Example:
  tlsgate cert inspect --password changeit --format json truststore.p12

Exit status: 0 every file read; 2 bad usage or a file that cannot be read.`

const verifyHelp = `
Verify LEAF against a truststore, as 'openssl verify -CAfile root -untrusted intermediate
leaf' does, and explain the verdict: which issuer is missing and whether the server or
the truststore should supply it, which link does not verify, which certificate expired,
which algorithm is refused, whether the host name matches. LEAF may hold the leaf
followed by the chain the server sends; truststores may be PEM, DER, PKCS#12 or JKS.

Example:
  tlsgate cert verify --truststore truststore.jks --truststore-password changeit --host api.example.com chain.pem

Exit status: 0 the chain (and host) verify; 1 they do not; 2 bad usage or unreadable input.`

func runCert(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, certHelp)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(e.stdout, certHelp)
		return ExitOK
	case "inspect":
		return runCertInspect(ctx, e, args[1:])
	case "verify":
		return runCertVerify(ctx, e, args[1:])
	}
	return fail(e, ExitUsage, fmt.Errorf("cert: unknown command %q", args[0]), "the commands are 'tlsgate cert inspect' and 'tlsgate cert verify'")
}

// loadFail reports a file that cannot be read, with a hint matched to the cause.
func certLoadFail(e *env, err error, passwordFlag string) int {
	hint := ""
	switch {
	case errors.Is(err, pki.ErrWrongPassword):
		hint = "check " + passwordFlag + "; a PKCS#12 or JKS file is opened with its store password"
	case errors.Is(err, fs.ErrNotExist):
		hint = "check the path"
	case errors.Is(err, pki.ErrEmpty):
		hint = "the file holds nothing: export the certificate again"
	case errors.Is(err, pki.ErrUnknownFormat):
		hint = "certificates are read from PEM (-----BEGIN CERTIFICATE-----), DER, PKCS#12 (.p12, .pfx) or JKS files"
	case errors.Is(err, pki.ErrNoCertificate):
		hint = "the file holds no certificate (a key alone, or another kind of PEM block)"
	case errors.Is(err, pki.ErrTooLarge):
		hint = "certificate files are small; check that this is the right file"
	}
	return fail(e, ExitUsage, err, hint)
}

func certCheckFormat(e *env, cmd, format string) (int, bool) {
	if format != "text" && format != "json" {
		return fail(e, ExitUsage, fmt.Errorf("cert %s: --format %q: want text or json", cmd, format), ""), false
	}
	return 0, true
}

// parseAt parses --at, defaulting to now.
func certParseAt(e *env, cmd, at string) (time.Time, int, bool) {
	if at == "" {
		return time.Now(), 0, true
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, fail(e, ExitUsage, fmt.Errorf("cert %s: --at %q: %w", cmd, at, err), "write the time as RFC 3339, e.g. 2025-06-01T12:00:00Z"), false
	}
	return t, 0, true
}

// inspectedCert is one certificate in inspect's JSON.
type inspectedCert struct {
	CertInfo pki.CertInfo `json:"certInfo"`
	Summary  pki.Summary  `json:"summary"`
}

type inspectedEntry struct {
	Alias        string   `json:"alias"`
	HasKey       bool     `json:"hasKey"`
	Certificates []string `json:"certificates"` // SHA-256 fingerprints, leaf first
}

type inspectedFile struct {
	Path         string           `json:"path"`
	Format       string           `json:"format"`
	HasKey       bool             `json:"hasKey"`
	Entries      []inspectedEntry `json:"entries,omitempty"`
	Certificates []inspectedCert  `json:"certificates"`
}

func runCertInspect(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "cert inspect", "cert inspect [--password P] [--format text|json] [--at TIME] FILE...", inspectHelp)
	password := fs.String("password", "", "password of PKCS#12 and JKS files")
	format := fs.String("format", "text", "output `format`: text or json")
	at := fs.String("at", "", "judge validity at this RFC 3339 `TIME` (default: now)")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if fs.NArg() == 0 {
		return fail(e, ExitUsage, errors.New("cert inspect: expected at least one FILE"), "tlsgate cert inspect [--password P] FILE...")
	}
	if code, ok := certCheckFormat(e, "inspect", *format); !ok {
		return code
	}
	now, code, ok := certParseAt(e, "inspect", *at)
	if !ok {
		return code
	}
	var files []inspectedFile
	for _, path := range fs.Args() {
		ct, err := pki.Inspect(path, *password)
		if err != nil {
			return certLoadFail(e, err, "--password")
		}
		f := inspectedFile{Path: path, Format: ct.Format, HasKey: ct.HasKey, Certificates: []inspectedCert{}}
		for _, en := range ct.Entries {
			ie := inspectedEntry{Alias: en.Alias, HasKey: en.HasKey, Certificates: []string{}}
			for _, c := range en.Chain {
				ie.Certificates = append(ie.Certificates, pki.Fingerprint(c))
			}
			f.Entries = append(f.Entries, ie)
		}
		for _, c := range ct.Certs {
			f.Certificates = append(f.Certificates, inspectedCert{pki.EdgeCertInfo(c, now), pki.Summarize(c)})
		}
		if *format == "text" {
			printCertContents(e.stdout, ct, now)
		}
		files = append(files, f)
	}
	if *format == "json" {
		return certJSON(e, map[string]any{"files": files})
	}
	return ExitOK
}

func certJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(e, ExitUsage, fmt.Errorf("writing JSON: %w", err), "")
	}
	return ExitOK
}

// printCertContents writes one file's contents as text.
func printCertContents(w io.Writer, ct *pki.Contents, now time.Time) {
	fmt.Fprintf(w, "%s: %s, %s", ct.Path, strings.ToUpper(ct.Format), certPlural(len(ct.Certs), "certificate"))
	if ct.HasKey {
		fmt.Fprint(w, ", with a private key")
	}
	fmt.Fprintln(w)
	for _, en := range ct.Entries {
		kind := "trusted certificate"
		if en.HasKey {
			kind = "private key with a chain of " + certPlural(len(en.Chain), "certificate")
		}
		fmt.Fprintf(w, "  alias %q: %s\n", en.Alias, kind)
	}
	for i, c := range ct.Certs {
		fmt.Fprintf(w, "\n  Certificate %d of %d\n", i+1, len(ct.Certs))
		printCertificate(w, c, now, "    ")
	}
	fmt.Fprintln(w)
}

func printCertificate(w io.Writer, c *x509.Certificate, now time.Time, in string) {
	info := pki.EdgeCertInfo(c, now)
	row := func(k, v string) { fmt.Fprintf(w, "%s%-12s %s\n", in, k+":", v) }
	row("Subject", c.Subject.String())
	row("Issuer", c.Issuer.String())
	row("Serial", pki.SerialHex(c))
	row("Valid", fmt.Sprintf("%s to %s (%s)", certStamp(c.NotBefore), certStamp(c.NotAfter), certValidity(c, now)))
	if sans := certSANs(c); sans != "" {
		row("SANs", sans)
	}
	row("Key", pki.KeyDescription(c))
	row("Signature", info.SigAlgName)
	row("SHA-256", certColons(pki.Fingerprint(c)))
	ca := "no"
	if c.IsCA {
		ca = "yes"
	}
	if pki.IsSelfSigned(c) {
		ca += ", self-signed"
	}
	row("CA", ca)
}

func certStamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// validity says where now stands: "valid for 200 more days", "expired 3 days ago".
func certValidity(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "expired " + certSpan(now.Sub(c.NotAfter), "") + " ago"
	case now.Before(c.NotBefore):
		return "not valid yet: starts in " + certSpan(c.NotBefore.Sub(now), "")
	}
	return "valid for " + certSpan(c.NotAfter.Sub(now), "more ")
}

// certSpan renders a duration in days, hours or minutes, with an adjective before the
// unit: "200 more days".
func certSpan(d time.Duration, adj string) string {
	switch {
	case d >= 48*time.Hour:
		return certPlural(int(d/(24*time.Hour)), adj+"day")
	case d >= 2*time.Hour:
		return certPlural(int(d/time.Hour), adj+"hour")
	}
	return certPlural(int(d/time.Minute), adj+"minute")
}

func certPlural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func certSANs(c *x509.Certificate) string {
	var out []string
	for _, d := range c.DNSNames {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP:"+ip.String())
	}
	for _, m := range c.EmailAddresses {
		out = append(out, "email:"+m)
	}
	for _, u := range c.URIs {
		out = append(out, "URI:"+u.String())
	}
	return strings.Join(out, ", ")
}

// colons renders hex as upper-case colon-separated bytes, as keytool prints fingerprints.
func certColons(h string) string {
	var b strings.Builder
	for i := 0; i+1 < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(h[i : i+2]))
	}
	return b.String()
}

// certVerifyOptions are verify's flags.
type certVerifyOptions struct {
	truststores        listFlag
	truststorePassword string
	systemRoots        bool
	intermediates      listFlag
	host, at, format   string
	purpose            string
}

func runCertVerify(_ context.Context, e *env, args []string) int {
	var o certVerifyOptions
	fs := newFlags(e, "cert verify", "cert verify --truststore FILE [flags] LEAF", verifyHelp)
	fs.Var(&o.truststores, "truststore", "trusted roots: PEM bundle, DER, PKCS#12 or JKS `FILE`; repeatable")
	fs.StringVar(&o.truststorePassword, "truststore-password", "", "password of PKCS#12 or JKS truststores (and intermediates)")
	fs.BoolVar(&o.systemRoots, "system-roots", false, "also trust the system's roots")
	fs.Var(&o.intermediates, "intermediates", "intermediate certificates the client knows but the server does not send, `FILE`; repeatable")
	fs.StringVar(&o.host, "host", "", "also check that the leaf is valid for this host `NAME` or IP address")
	fs.StringVar(&o.at, "at", "", "verify at this RFC 3339 `TIME` (default: now)")
	fs.StringVar(&o.purpose, "purpose", "server", "what the leaf is used for: server or client")
	fs.StringVar(&o.format, "format", "text", "output `format`: text or json")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if fs.NArg() != 1 {
		return fail(e, ExitUsage, errors.New("cert verify: expected exactly one LEAF file"), "tlsgate cert verify --truststore root.pem leaf.pem")
	}
	if len(o.truststores) == 0 && !o.systemRoots {
		return fail(e, ExitUsage, errors.New("cert verify: no truststore"), "give --truststore FILE (repeatable) or --system-roots")
	}
	if code, ok := certCheckFormat(e, "verify", o.format); !ok {
		return code
	}
	now, code, ok := certParseAt(e, "verify", o.at)
	if !ok {
		return code
	}
	in := pki.PathInput{SystemRoots: o.systemRoots, Now: now}
	switch o.purpose {
	case "server":
		in.KeyUsage = x509.ExtKeyUsageServerAuth
	case "client":
		in.KeyUsage = x509.ExtKeyUsageClientAuth
	default:
		return fail(e, ExitUsage, fmt.Errorf("cert verify: --purpose %q: want server or client", o.purpose), "")
	}
	rootFile := map[string]string{} // fingerprint -> truststore file
	for _, path := range o.truststores {
		certs, err := pki.LoadCertificates(path, o.truststorePassword)
		if err != nil {
			return certLoadFail(e, err, "--truststore-password")
		}
		for _, c := range certs {
			if _, seen := rootFile[pki.Fingerprint(c)]; !seen {
				rootFile[pki.Fingerprint(c)] = path
			}
		}
		in.Roots = append(in.Roots, certs...)
	}
	for _, path := range o.intermediates {
		certs, err := pki.LoadCertificates(path, o.truststorePassword)
		if err != nil {
			return certLoadFail(e, err, "--truststore-password")
		}
		in.Intermediates = append(in.Intermediates, certs...)
	}
	leafPath := fs.Arg(0)
	sent, err := pki.LoadCertificates(leafPath, "")
	if err != nil {
		return certLoadFail(e, err, "the LEAF file (it is read without a password)")
	}
	in.Sent = sent
	res := pki.VerifyPath(in)
	var host *pki.HostResult
	if o.host != "" {
		h := pki.MatchHost(sent[0], o.host)
		host = &h
	}
	ok = res.OK && (host == nil || host.OK)
	v := certVerdict{res: res, host: host, rootFile: rootFile, leafPath: leafPath}
	if o.format == "json" {
		if code := certJSON(e, v.json()); code != ExitOK {
			return code
		}
	} else {
		v.text(e.stdout)
	}
	if !ok {
		return ExitFindings
	}
	return ExitOK
}

// certVerdict renders verify's result.
type certVerdict struct {
	res      pki.PathResult
	host     *pki.HostResult
	rootFile map[string]string
	leafPath string
}

// anchorSource says where the anchor was found.
func (v certVerdict) anchorSource() string {
	if v.res.Anchor == nil {
		return ""
	}
	if f, ok := v.rootFile[pki.Fingerprint(v.res.Anchor)]; ok {
		return "truststore " + f
	}
	return "system roots"
}

func (v certVerdict) text(w io.Writer) {
	var names []string
	for _, c := range v.res.Path {
		names = append(names, certSubject(c))
	}
	hostOK := v.host == nil || v.host.OK
	switch {
	case v.res.OK && hostOK:
		fmt.Fprintf(w, "OK: path %s (anchor in %s)\n", strings.Join(names, " → "), v.anchorSource())
	case v.res.OK:
		fmt.Fprintf(w, "FAIL: the chain verifies (path %s, anchor in %s) but not for host %s\n", strings.Join(names, " → "), v.anchorSource(), v.host.Host)
	default:
		fmt.Fprintf(w, "FAIL: no acceptable path from %s to a trust anchor (best path: %s)\n", certSubject(v.res.Path[0]), strings.Join(names, " → "))
	}
	for _, p := range v.res.Problems {
		label := "problem"
		if !p.Fatal() {
			label = "warning"
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", label, p.Kind, p.Detail)
		if h := v.hint(p); h != "" {
			fmt.Fprintf(w, "    hint: %s\n", h)
		}
	}
	if v.host != nil {
		if v.host.OK {
			fmt.Fprintf(w, "  host %s: matches\n", v.host.Host)
		} else {
			fmt.Fprintf(w, "  problem (hostname): no name of %s matches host %s\n", certSubject(v.res.Path[0]), v.host.Host)
			for _, c := range v.host.Checks {
				fmt.Fprintf(w, "    %s %s: %s\n", strings.ToUpper(c.Kind), c.Name, c.Reason)
			}
			fmt.Fprintf(w, "    hint: connect with a name the certificate lists, or reissue it with %s in its subjectAltName\n", v.host.Host)
		}
	}
}

// hint says what to change for one problem.
func (v certVerdict) hint(p pki.Problem) string {
	who := func() string {
		if p.Cert == nil {
			return ""
		}
		return certQuoted(certSubject(p.Cert))
	}
	fetch := ""
	if len(p.AIA) > 0 {
		fetch = " (it can be downloaded from " + strings.Join(p.AIA, ", ") + ")"
	}
	switch p.Kind {
	case pki.ProblemEmptyTruststore:
		return "add the root CA that issued the chain to the truststore"
	case pki.ProblemMissingIssuer:
		switch p.FoundIn {
		case "intermediates":
			return fmt.Sprintf("have the server send %s after %s; clients without your --intermediates will fail", certQuoted(p.MissingIssuer), who())
		case "system":
			return fmt.Sprintf("add the root %s to the truststore, or trust the system roots (--system-roots)", certQuoted(p.MissingIssuer))
		}
		if p.Index >= 0 {
			return fmt.Sprintf("if %s is an intermediate CA, the server must send it after %s (append it to %s to try, or pass it with --intermediates); if it is a root CA, add it to the truststore%s",
				certQuoted(p.MissingIssuer), who(), v.leafPath, fetch)
		}
		return fmt.Sprintf("add %s to the truststore or to --intermediates%s", certQuoted(p.MissingIssuer), fetch)
	case pki.ProblemUntrustedRoot:
		return fmt.Sprintf("if you trust it, add %s (SHA-256 %s) to the truststore", who(), certColons(pki.Fingerprint(p.Cert)))
	case pki.ProblemNameLink:
		return fmt.Sprintf("the certificate after %s belongs to another chain: replace it with its issuer, %s%s", who(), certQuoted(p.MissingIssuer), fetch)
	case pki.ProblemSignatureLink:
		return fmt.Sprintf("the %s at hand is another CA with the same name (reissued or re-keyed): use the one whose key identifier is %s%s", certQuoted(p.MissingIssuer), p.AKI, fetch)
	case pki.ProblemNotCA:
		return fmt.Sprintf("%s cannot issue certificates: have a CA issue the certificate below it", who())
	case pki.ProblemExpired:
		return fmt.Sprintf("renew %s and deploy the new certificate", who())
	case pki.ProblemNotYetValid:
		return "check the clock of the client (or of the CA that issued it), or wait until " + certStamp(p.Since)
	case pki.ProblemWeakSignature:
		return fmt.Sprintf("reissue %s with a SHA-256 signature", who())
	case pki.ProblemWeakKey:
		return fmt.Sprintf("reissue %s with an RSA key of at least 2048 bits, or an ECDSA key", who())
	case pki.ProblemKeyUsage:
		return fmt.Sprintf("reissue %s with the extended key usage for this purpose (serverAuth or clientAuth)", who())
	case pki.ProblemMisordered:
		return "send the leaf first, then each issuer in turn"
	case pki.ProblemExtraCerts:
		return fmt.Sprintf("remove %s from the chain the server sends", who())
	}
	return ""
}

// subject names a certificate by its subject for text output.
func certSubject(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return s
	}
	return "(empty subject, serial " + pki.SerialHex(c) + ")"
}

func certQuoted(s string) string { return `"` + s + `"` }

type certProblem struct {
	Kind          pki.ProblemKind `json:"kind"`
	Fatal         bool            `json:"fatal"`
	Index         int             `json:"index"`
	Subject       string          `json:"subject,omitempty"`
	Detail        string          `json:"detail"`
	Hint          string          `json:"hint,omitempty"`
	MissingIssuer string          `json:"missingIssuer,omitempty"`
	AKI           string          `json:"aki,omitempty"`
	AIA           []string        `json:"aia,omitempty"`
	FoundIn       string          `json:"foundIn,omitempty"`
	Since         *time.Time      `json:"since,omitempty"`
}

func (v certVerdict) json() any {
	out := struct {
		OK           bool            `json:"ok"`
		ChainOK      bool            `json:"chainOK"`
		Path         []pki.Summary   `json:"path"`
		Anchor       *pki.Summary    `json:"anchor"`
		AnchorSource string          `json:"anchorSource,omitempty"`
		SentOrderOK  bool            `json:"sentOrderOK"`
		Problems     []certProblem   `json:"problems"`
		Host         *pki.HostResult `json:"host,omitempty"`
	}{
		OK:           v.res.OK && (v.host == nil || v.host.OK),
		ChainOK:      v.res.OK,
		Path:         pki.SummarizeAll(v.res.Path),
		AnchorSource: v.anchorSource(),
		SentOrderOK:  v.res.SentOrderOK,
		Problems:     []certProblem{},
		Host:         v.host,
	}
	if v.res.Anchor != nil {
		s := pki.Summarize(v.res.Anchor)
		out.Anchor = &s
	}
	for _, p := range v.res.Problems {
		jp := certProblem{Kind: p.Kind, Fatal: p.Fatal(), Index: p.Index, Detail: p.Detail, Hint: v.hint(p),
			MissingIssuer: p.MissingIssuer, AKI: p.AKI, AIA: p.AIA, FoundIn: p.FoundIn}
		if p.Cert != nil {
			jp.Subject = p.Cert.Subject.String()
		}
		if !p.Since.IsZero() {
			s := p.Since.UTC()
			jp.Since = &s
		}
		out.Problems = append(out.Problems, jp)
	}
	return out
}
