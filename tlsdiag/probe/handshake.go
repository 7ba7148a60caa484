package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"reflect"
	"slices"
	"syscall"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Variant changes the as-configured handshake for an experiment.
type Variant struct {
	// Name becomes Attempt.Name; empty means tlsdiag.AttemptConfigured.
	Name string
	// SNI, when set, sends Expect.ServerName in server_name (true) or nothing (false)
	// instead of what Expect.NoSNI says. The chain is verified against Expect.ServerName
	// either way.
	SNI *bool
	// ClientCert, when set to false, answers a CertificateRequest with no certificate even
	// when one is configured.
	ClientCert *bool
}

// postHandshakeWait is how long the probe waits at least, after a TLS 1.3 handshake in which
// the server asked for a client certificate, for the server's verdict on it; on a slow path
// it waits twice as long as the handshake took, within the timeout.
const postHandshakeWait = 500 * time.Millisecond

// Step ranks: Attempt.Step is the furthest step reached.
var stepRank = map[string]int{
	tlsdiag.StepConnect:           0,
	tlsdiag.StepClientHello:       1,
	tlsdiag.StepServerHello:       2,
	tlsdiag.StepServerCertificate: 3,
	tlsdiag.StepCertRequest:       4,
	tlsdiag.StepClientCertificate: 5,
	tlsdiag.StepFinished:          6,
	tlsdiag.StepPostHandshake:     7,
}

// handshaker runs one attempt and records it.
type handshaker struct {
	cfg          Config
	exp          *tlsdiag.Expectations
	a            *tlsdiag.Attempt
	clientCert   *tls.Certificate
	roots        *x509.CertPool
	verifyFailed bool
	// onTicket, when set, is called when the server sends a session ticket.
	onTicket func()
}

// ticketWatch is a session cache that stores nothing and tells the handshaker when a TLS 1.3
// server sends a session ticket: servers send tickets after they have accepted the client's
// certificate and Finished, so a ticket ends the wait for their verdict early.
type ticketWatch struct{ h *handshaker }

// Get implements tls.ClientSessionCache; it never resumes.
func (ticketWatch) Get(string) (*tls.ClientSessionState, bool) { return nil, false }

// Put implements tls.ClientSessionCache.
func (w ticketWatch) Put(string, *tls.ClientSessionState) {
	if w.h.onTicket != nil {
		w.h.onTicket()
	}
}

// Handshake performs one handshake with crypto/tls exactly as the configured client would,
// changed as v says, and records what happened. It is bounded by ctx and cfg.Timeout and
// never fails: a dial error, a timeout or an alert is part of the Attempt.
func Handshake(ctx context.Context, cfg Config, v Variant) *tlsdiag.Attempt {
	a, _ := handshake(ctx, cfg, v)
	return a
}

// newHandshaker prepares one attempt of variant v (defaults applied) and says whether it
// sends SNI; Handshake and Dial share it.
func newHandshaker(cfg Config, v Variant) (*handshaker, bool) {
	cfg = cfg.withDefaults()
	if v.Name == "" {
		v.Name = tlsdiag.AttemptConfigured
	}
	h := &handshaker{
		cfg:   cfg,
		exp:   cfg.Expect,
		a:     &tlsdiag.Attempt{Name: v.Name, Step: tlsdiag.StepConnect, ClientCertSent: -1},
		roots: rootPool(cfg.Expect),
	}
	if v.ClientCert == nil || *v.ClientCert {
		h.clientCert = cfg.Expect.ClientCert
	}
	sni := !cfg.Expect.NoSNI
	if v.SNI != nil {
		sni = *v.SNI
	}
	return h, sni
}

// handshake is Handshake that also returns the error that ended the attempt, if any.
func handshake(ctx context.Context, cfg Config, v Variant) (*tlsdiag.Attempt, error) {
	h, sni := newHandshaker(cfg, v)
	cfg = h.cfg
	start := time.Now()
	err := h.run(ctx, sni)
	h.a.Duration = time.Since(start)
	cfg.Logger.Debug("probe: handshake", "target", cfg.Target, "address", cfg.Address,
		"attempt", h.a.Name, "step", h.a.Step, "completed", h.a.Completed, "error", h.a.Error)
	return h.a, err
}

func (h *handshaker) setStep(step string) {
	if stepRank[step] > stepRank[h.a.Step] {
		h.a.Step = step
	}
}

func (h *handshaker) tlsConfig(sni bool) *tls.Config {
	c := &tls.Config{
		// The chain is verified in verifyConnection, against the truststore and the
		// expected name, whether or not the name is sent.
		InsecureSkipVerify:   true,
		VerifyConnection:     h.verifyConnection,
		GetClientCertificate: h.getClientCertificate,
		Time:                 h.cfg.Now,
		CipherSuites:         h.exp.Ciphers,
		Renegotiation:        tls.RenegotiateNever,
		ClientSessionCache:   ticketWatch{h},
	}
	if sni {
		c.ServerName = h.exp.ServerName
	}
	c.MinVersion, c.MaxVersion = versionRange(h.exp.Protocols)
	return c
}

// versionRange returns the versions crypto/tls can be limited to for the given list: Go's
// client takes a range, and knows nothing older than TLS 1.0.
func versionRange(protocols []uint16) (lo, hi uint16) {
	if len(protocols) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13
	}
	lo, hi = slices.Min(protocols), slices.Max(protocols)
	return max(lo, tls.VersionTLS10), max(hi, tls.VersionTLS10)
}

// offeredVersions names the versions a client limited to protocols accepts.
func offeredVersions(protocols []uint16) []string {
	lo, hi := versionRange(protocols)
	var out []string
	for _, v := range allVersions {
		if v >= lo && v <= hi {
			out = append(out, versionName(v))
		}
	}
	return out
}

func (h *handshaker) run(ctx context.Context, sni bool) error {
	a := h.a
	deadline := time.Now().Add(h.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	conf := h.tlsConfig(sni)
	a.ServerName = conf.ServerName
	if net.ParseIP(a.ServerName) != nil {
		a.ServerName = "" // crypto/tls never sends an IP address as server_name
	}
	a.OfferedVersions = offeredVersions(h.exp.Protocols)
	for _, id := range h.exp.Ciphers {
		a.OfferedSuites = append(a.OfferedSuites, suiteName(id))
	}

	raw, err := h.cfg.Dial(ctx, "tcp", h.cfg.Address)
	if err != nil {
		a.Error = err.Error()
		a.DialError = err.Error()
		a.DialErrorKind = dialErrorKind(err)
		a.TimedOut = a.DialErrorKind == "timeout"
		return err
	}
	defer raw.Close()
	_ = raw.SetDeadline(deadline)
	tap := newTapConn(raw)
	tc := tls.Client(tap, conf)

	start := time.Now()
	err = tc.HandshakeContext(ctx)
	if err == nil {
		h.setStep(tlsdiag.StepFinished)
		a.Completed = true
		cs := tc.ConnectionState()
		a.Version, a.Suite = versionName(cs.Version), suiteName(cs.CipherSuite)
		if a.CertRequest != nil && cs.Version == tls.VersionTLS13 {
			err = h.awaitVerdict(tc, max(postHandshakeWait, 2*time.Since(start)), deadline)
		}
		if err == nil && a.CertRequest != nil {
			a.HTTP = askHTTP(tc, h.exp.ServerName, min(h.cfg.Timeout, httpWait), deadline)
		}
	}
	h.record(tap, err, deadline)
	return err
}

// awaitVerdict reads once, for at most wait, after a TLS 1.3 handshake in which the server
// asked for a client certificate: the server judges it only after the client's Finished, so
// its alert comes after Handshake returned. Silence or data means the server accepted the
// connection.
func (h *handshaker) awaitVerdict(tc *tls.Conn, wait time.Duration, deadline time.Time) error {
	until := time.Now().Add(min(h.cfg.Timeout, wait))
	if until.After(deadline) {
		until = deadline
	}
	_ = tc.SetReadDeadline(until)
	ticket := false
	h.onTicket = func() {
		ticket = true
		_ = tc.NetConn().SetReadDeadline(time.Now()) // the verdict is in: stop reading
	}
	defer func() { h.onTicket = nil }()
	var b [1]byte
	_, err := tc.Read(b[:])
	if err == nil || isTimeout(err) || ticket {
		return nil
	}
	h.setStep(tlsdiag.StepPostHandshake)
	h.a.Completed = false
	return err
}

// record fills the attempt from the tap and the handshake's error.
func (h *handshaker) record(tap *tapConn, err error, deadline time.Time) {
	a := h.a
	tv := tap.view()
	if tv.wrote {
		h.setStep(tlsdiag.StepClientHello)
	}
	if ch := tv.clientHello; ch != nil {
		// What crypto/tls actually offered: the configured suites it knows, and the TLS 1.3
		// suites it always adds (they cannot be configured).
		a.ServerName = ch.ServerName
		a.OfferedSuites = nil
		for _, id := range ch.Suites {
			if !tlswire.IsGREASE(id) {
				a.OfferedSuites = append(a.OfferedSuites, suiteName(id))
			}
		}
	}
	if sh := tv.serverHello; sh != nil {
		h.setStep(tlsdiag.StepServerHello)
		a.Version, a.Suite = versionName(sh.NegotiatedVersion()), suiteName(sh.Suite)
	} else if tv.hrr != nil {
		h.setStep(tlsdiag.StepServerHello)
	}
	if a.CertRequest == nil && tv.certRequest != nil && tv.serverHello != nil {
		// The server asked for a client certificate, but the handshake ended before
		// crypto/tls got to it (TLS 1.2 and earlier send the request in plaintext).
		if cr, err := tlswire.ParseCertificateRequest(tv.certRequest, tv.serverHello.NegotiatedVersion()); err == nil {
			a.CertRequest = certRequestFacts(cr.CertificateAuthorities, cr.SignatureSchemes)
		}
	}
	if err == nil {
		return
	}
	a.Error = err.Error()

	if code, ok := alertFromError(err, "remote error"); ok {
		a.AlertReceived = &tlsdiag.Alert{Code: code, Name: alertName(code), Step: a.Step}
	} else if al := tv.alertIn; al != nil && al[0] == 2 {
		a.AlertReceived = &tlsdiag.Alert{Code: al[1], Name: alertName(al[1]), Step: a.Step}
	}
	switch code, ok := alertFromError(err, "local error"); {
	case tv.alertOut != nil && tv.alertOut[0] == 2:
		a.AlertSent = &tlsdiag.Alert{Code: tv.alertOut[1], Name: alertName(tv.alertOut[1]), Step: a.Step}
	case ok:
		a.AlertSent = &tlsdiag.Alert{Code: code, Name: alertName(code), Step: a.Step}
	case h.verifyFailed:
		// crypto/tls sends bad_certificate whenever verification fails.
		a.AlertSent = &tlsdiag.Alert{Code: alertBadCertificate, Name: alertName(alertBadCertificate), Step: a.Step}
	}

	var rhe tls.RecordHeaderError
	if tv.notTLS || errors.As(err, &rhe) {
		first := tv.first
		if len(first) < firstBytesLen {
			first = readMore(tap, deadline)
		}
		a.NotTLS = &tlsdiag.NotTLS{FirstBytes: tlswire.Printable(first), Guess: tlswire.GuessProtocol(first)}
	}
	if isTimeout(err) {
		a.TimedOut = true
	}
	if a.AlertReceived == nil && tv.closed != "" && a.NotTLS == nil {
		a.Closed = tv.closed
	}
}

// readMore reads what else a non-TLS server sent, briefly, up to firstBytesLen bytes in all.
func readMore(tap *tapConn, deadline time.Time) []byte {
	wait := time.Now().Add(250 * time.Millisecond)
	if wait.After(deadline) {
		wait = deadline
	}
	_ = tap.SetReadDeadline(wait)
	var b [firstBytesLen]byte
	for {
		tv := tap.view()
		if len(tv.first) >= firstBytesLen || tv.closed != "" {
			return tv.first
		}
		if _, err := tap.Read(b[:firstBytesLen-len(tv.first)]); err != nil {
			return tap.view().first
		}
	}
}

// alertFromError returns the alert carried by the *net.OpError crypto/tls returns for an
// alert received ("remote error") or sent ("local error").
func alertFromError(err error, op string) (uint8, bool) {
	if op == "local error" {
		// With QUIC, crypto/tls reports the alert it would have sent as an AlertError.
		var ae tls.AlertError
		if errors.As(err, &ae) {
			return uint8(ae), true
		}
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Err == nil {
		return 0, false
	}
	// crypto/tls's alert type is unexported; it is a uint8 holding the alert's code.
	v := reflect.ValueOf(oe.Err)
	if v.Kind() != reflect.Uint8 || v.Type().PkgPath() != "crypto/tls" {
		return 0, false
	}
	return uint8(v.Uint()), true
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dialErrorKind sorts a dial error into "dns", "refused", "timeout" or "unreachable".
func dialErrorKind(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case isTimeout(err):
		return "timeout"
	default:
		return "unreachable"
	}
}

// verifyConnection records the server's chain and verifies it as the configured client
// would, failing the handshake when it does not verify.
func (h *handshaker) verifyConnection(cs tls.ConnectionState) error {
	h.setStep(tlsdiag.StepServerCertificate)
	h.a.Version, h.a.Suite = versionName(cs.Version), suiteName(cs.CipherSuite)
	h.a.Chain = cs.PeerCertificates
	h.a.ChainView = pki.SummarizeAll(cs.PeerCertificates)
	if err := verifyChain(cs.PeerCertificates, h.roots, h.exp.ServerName, h.cfg.Now(), h.exp.Policy); err != nil {
		h.verifyFailed = true
		h.a.VerifyError = err.Error()
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// getClientCertificate records the server's CertificateRequest and answers it as a Java
// client does: with the configured certificate when its chain suits the request (its issuer
// among the acceptable CAs), with none otherwise.
func (h *handshaker) getClientCertificate(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	h.setStep(tlsdiag.StepCertRequest)
	schemes := make([]uint16, len(cri.SignatureSchemes))
	for i, s := range cri.SignatureSchemes {
		schemes[i] = uint16(s)
	}
	h.a.CertRequest = certRequestFacts(cri.AcceptableCAs, schemes)
	out := &tls.Certificate{}
	if h.clientCert != nil && len(h.clientCert.Certificate) > 0 && cri.SupportsCertificate(h.clientCert) == nil {
		out = h.clientCert
	}
	h.a.ClientCertSent = len(out.Certificate)
	h.setStep(tlsdiag.StepClientCertificate)
	return out, nil
}

func certRequestFacts(cas [][]byte, schemes []uint16) *tlsdiag.CertRequest {
	cr := &tlsdiag.CertRequest{AcceptableCAs: []string{}}
	for _, ca := range cas {
		cr.AcceptableCAs = append(cr.AcceptableCAs, pki.DistinguishedName(ca))
		cr.RawAcceptableCAs = append(cr.RawAcceptableCAs, slices.Clone(ca))
	}
	for _, s := range schemes {
		cr.SignatureSchemes = append(cr.SignatureSchemes, signatureSchemeName(s))
	}
	return cr
}
