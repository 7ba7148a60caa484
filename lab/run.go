package lab

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/probe"
)

// server is a running lab server.
type server interface {
	address() string
	close() error
}

// Running is a scenario's server, up on loopback, and the client configuration to probe it
// with.
type Running struct {
	Scenario Scenario
	Peer     Peer
	// Address is where the server listens (or, for a closed port, does not).
	Address string
	// ServerName is the name the client expects.
	ServerName string
	// Target is what a user gives the doctor for this server: ServerName and the port
	// (with --connect Address).
	Target string
	// Expectations is the client's configuration for probe.Run and the engine.
	Expectations *tlsdiag.Expectations
	// Timeout bounds the doctor's run.
	Timeout time.Duration
	// Dir holds the scenario's files (certificates, keys, configurations); Close removes it.
	Dir string

	srv   server
	close sync.Once
}

// Close stops the server, waits for it, and removes its files. It is safe to call more
// than once.
func (r *Running) Close() error {
	var err error
	r.close.Do(func() {
		if r.srv != nil {
			err = r.srv.close()
		}
		if rerr := os.RemoveAll(r.Dir); err == nil {
			err = rerr
		}
	})
	return err
}

// Start brings s up with peer on 127.0.0.1, its files in a new directory under dir (the
// system's temporary directory when dir is ""). The server runs until Close, which must be
// called even when the scenario is not probed; on error nothing is left running. A peer
// whose program is missing is an error wrapping ErrMissingTool.
func Start(ctx context.Context, s Scenario, peer Peer, dir string) (_ *Running, err error) {
	if !s.PlayedBy(peer) {
		return nil, fmt.Errorf("lab: scenario %s cannot be played by %s", s.Name, peer)
	}
	if aia := labPKI().aia; aia.err != nil && usesAIA(s.Server, aia.base) {
		return nil, fmt.Errorf("lab: %s: %w", s.Name, aia.err)
	}
	tmp, err := os.MkdirTemp(dir, "tlsgate-lab-")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	r := &Running{Scenario: s, Peer: peer, Dir: tmp, ServerName: s.Client.serverName(), Timeout: s.Client.Timeout}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	if r.Expectations, err = s.Client.expectations(tmp); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", s.Name, err)
	}
	switch peer {
	case PeerGo:
		r.srv, err = startGo(s.Server)
	case PeerOpenSSL:
		r.srv, err = startOpenSSL(ctx, s.Server, tmp)
	case PeerNginx:
		r.srv, err = startNginx(ctx, s.Server, tmp)
	default:
		err = fmt.Errorf("unknown peer %q", peer)
	}
	if err != nil {
		return nil, fmt.Errorf("lab: starting %s with %s: %w", s.Name, peer, err)
	}
	r.Address = r.srv.address()
	_, port, _ := net.SplitHostPort(r.Address)
	r.Target = net.JoinHostPort(r.ServerName, port)
	return r, nil
}

func (c ClientSpec) serverName() string {
	if c.ServerName == "" {
		return DefaultServerName
	}
	return c.ServerName
}

// expectations builds the client's configuration. The client credential is written to dir
// and loaded with pki.LoadKeyPair, as the doctor loads --client-cert and --client-key, so
// that a key of another certificate is the same finding it is for the doctor.
func (c ClientSpec) expectations(dir string) (*tlsdiag.Expectations, error) {
	x := &tlsdiag.Expectations{
		ServerName: c.serverName(),
		NoSNI:      c.NoSNI,
		Roots:      c.Roots,
		RootsFrom:  []string{"the scenario's truststore"},
		Protocols:  c.Protocols,
		Ciphers:    c.Ciphers,
	}
	if len(x.Protocols) == 0 {
		x.Protocols = []uint16{tls.VersionTLS12, tls.VersionTLS13}
	}
	if c.Cert == nil {
		return x, nil
	}
	certFile, err := writePEM(dir, "client.pem", c.Cert.Chain...)
	if err != nil {
		return nil, err
	}
	keyFile, err := writeKey(dir, "client.key", c.Cert.Key)
	if err != nil {
		return nil, err
	}
	x.ClientCertFrom = "client.pem"
	b, err := pki.LoadKeyPair(certFile, keyFile, "")
	switch {
	case errors.Is(err, pki.ErrKeyMismatch):
		x.ClientCertProblem = strings.ReplaceAll(err.Error(), dir+string(os.PathSeparator), "")
	case err != nil:
		return nil, fmt.Errorf("loading the client credential: %w", err)
	default:
		cert := b.TLSCertificate()
		x.ClientCert = &cert
	}
	return x, nil
}

// Result is the doctor's verdict on one scenario played by one peer.
type Result struct {
	Scenario Scenario
	Peer     Peer
	Report   *tlsdiag.Report
	// AsExpected is true when the expected cause was found with the expected severity and
	// its key evidence (for a healthy scenario: no error finding), and nothing else is wrong.
	AsExpected bool
	// Problems say why the verdict is not as expected.
	Problems []string
	Duration time.Duration
}

// Found returns the IDs of the report's findings, in report order.
func (r *Result) Found() []string {
	if r.Report == nil {
		return nil
	}
	var out []string
	for _, f := range r.Report.Findings {
		out = append(out, f.ID)
	}
	return out
}

// Run starts s with peer, probes it as the doctor does, and judges the verdict.
func Run(ctx context.Context, s Scenario, peer Peer) (*Result, error) {
	start := time.Now()
	r, err := Start(ctx, s, peer, "")
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res, err := r.Diagnose(ctx)
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// Diagnose probes the running scenario as the doctor does and judges the verdict.
func (r *Running) Diagnose(ctx context.Context) (*Result, error) {
	start := time.Now()
	facts, err := probe.Run(ctx, probe.Config{
		Target:  r.Target,
		Address: r.Address,
		Expect:  r.Expectations,
		Timeout: r.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("lab: probing %s with %s: %w", r.Scenario.Name, r.Peer, err)
	}
	rep := catalog.Engine().Report(facts, r.Expectations)
	res := &Result{Scenario: r.Scenario, Peer: r.Peer, Report: rep, Duration: time.Since(start)}
	res.Problems = Check(r.Scenario, rep)
	res.AsExpected = len(res.Problems) == 0
	return res, nil
}

// Check says how report differs from what s expects: for a healthy scenario, any error
// finding; otherwise a missing expected finding, another severity, or missing evidence.
func Check(s Scenario, report *tlsdiag.Report) []string {
	var out []string
	if s.Healthy() {
		for _, f := range report.Findings {
			if f.Severity == tlsdiag.SeverityError {
				out = append(out, fmt.Sprintf("unexpected error finding %s: %s", f.ID, f.Detail))
			}
		}
		if !report.OK {
			out = append(out, "report is not OK")
		}
		return out
	}
	var got *tlsdiag.Finding
	for i := range report.Findings {
		if report.Findings[i].ID == s.Expect {
			got = &report.Findings[i]
		}
	}
	if got == nil {
		return []string{fmt.Sprintf("no %s finding", s.Expect)}
	}
	if got.Severity != s.Severity {
		out = append(out, fmt.Sprintf("%s has severity %s; want %s", s.Expect, got.Severity, s.Severity))
	}
	keys := make([]string, 0, len(s.Evidence))
	for k := range s.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if why := matchJSON(got.Evidence[k], s.Evidence[k]); why != "" {
			out = append(out, fmt.Sprintf("evidence %s: %s", k, why))
		}
	}
	return out
}

// matchJSON compares got with want as JSON values: a map matches when each of want's keys
// matches, a list when it has want's length and each element matches, anything else when
// equal. It returns "" on a match, or why not.
func matchJSON(got, want any) string {
	g, w := asJSON(got), asJSON(want)
	if why := match(g, w, ""); why != "" {
		gb, _ := json.Marshal(g)
		return fmt.Sprintf("%s (got %s)", why, gb)
	}
	return ""
}

func match(g, w any, at string) string {
	switch w := w.(type) {
	case map[string]any:
		gm, ok := g.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is not an object", orRoot(at))
		}
		for k, wv := range w {
			if why := match(gm[k], wv, at+"."+k); why != "" {
				return why
			}
		}
		return ""
	case []any:
		gl, ok := g.([]any)
		if !ok || len(gl) != len(w) {
			return fmt.Sprintf("%s is not a list of %d", orRoot(at), len(w))
		}
		for i := range w {
			if why := match(gl[i], w[i], fmt.Sprintf("%s[%d]", at, i)); why != "" {
				return why
			}
		}
		return ""
	}
	if !reflect.DeepEqual(g, w) {
		wb, _ := json.Marshal(w)
		return fmt.Sprintf("%s is not %s", orRoot(at), wb)
	}
	return ""
}

func orRoot(at string) string {
	if at == "" {
		return "value"
	}
	return strings.TrimPrefix(at, ".")
}

func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unencodable: %v", err)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
