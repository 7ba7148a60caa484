package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// ClientOptions change how Dial judges the server, for clients whose verification is not the
// doctor's.
type ClientOptions struct {
	// VerifyName, when set, judges the server's leaf instead of crypto/x509's check of
	// Expect.ServerName, which is still the name sent in server_name; the chain is still
	// verified against the truststore. (A gateway target's CommonName works so.)
	VerifyName func(leaf *x509.Certificate) error
	// Insecure accepts any chain and any name, as curl -k does. The chain is still recorded.
	Insecure bool
	// SessionCache, when set, lets later connections resume a session (a client that keeps
	// connections to a backend); nil means every handshake is a full one.
	SessionCache tls.ClientSessionCache
}

// Dial performs the handshake exactly as Handshake does and records it in the same
// Attempt, but keeps the connection: when the handshake completes, it returns the
// connection, ready for application data, its reads and writes no longer recorded nor
// bounded, and its deadlines cleared. When the handshake fails, the connection is closed
// and Dial returns the Attempt recording the failure and the error that ended it. Unlike
// Handshake it neither waits for a TLS 1.3 server's verdict on the client certificate nor
// sends an HTTP request: the caller's first read sees that verdict.
func Dial(ctx context.Context, cfg Config, v Variant, o ClientOptions) (*tls.Conn, *tlsdiag.Attempt, error) {
	h, sni := newHandshaker(cfg, v)
	cfg = h.cfg
	start := time.Now()
	tc, err := h.dial(ctx, sni, o)
	h.a.Duration = time.Since(start)
	cfg.Logger.Debug("probe: client handshake", "target", cfg.Target, "address", cfg.Address,
		"attempt", h.a.Name, "step", h.a.Step, "completed", h.a.Completed, "error", h.a.Error)
	return tc, h.a, err
}

// dial is run for a client: the handshake, recorded, and the connection kept when it
// completes.
func (h *handshaker) dial(ctx context.Context, sni bool, o ClientOptions) (*tls.Conn, error) {
	a := h.a
	deadline := time.Now().Add(h.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	conf := h.tlsConfig(sni)
	conf.ClientSessionCache = o.SessionCache
	conf.VerifyConnection = func(cs tls.ConnectionState) error { return h.verifyClient(cs, o) }
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
		return nil, err
	}
	_ = raw.SetDeadline(deadline)
	tap := newTapConn(raw)
	sw := &switchConn{Conn: raw, tap: tap}
	tc := tls.Client(sw, conf)
	err = tc.HandshakeContext(ctx)
	if err == nil {
		h.setStep(tlsdiag.StepFinished)
		a.Completed = true
		cs := tc.ConnectionState()
		a.Version, a.Suite = versionName(cs.Version), suiteName(cs.CipherSuite)
	}
	h.record(tap, err, deadline)
	if err != nil {
		raw.Close()
		return nil, err
	}
	sw.direct.Store(true)
	_ = raw.SetDeadline(time.Time{})
	return tc, nil
}

// verifyClient records the server's chain as verifyConnection does and judges it as o says.
func (h *handshaker) verifyClient(cs tls.ConnectionState, o ClientOptions) error {
	if !o.Insecure && o.VerifyName == nil {
		return h.verifyConnection(cs)
	}
	h.setStep(tlsdiag.StepServerCertificate)
	h.a.Version, h.a.Suite = versionName(cs.Version), suiteName(cs.CipherSuite)
	h.a.Chain = cs.PeerCertificates
	h.a.ChainView = pki.SummarizeAll(cs.PeerCertificates)
	if o.Insecure {
		return nil
	}
	err := verifyChain(cs.PeerCertificates, h.roots, "", h.cfg.Now(), h.exp.Policy)
	if err == nil {
		err = o.VerifyName(cs.PeerCertificates[0])
	}
	if err != nil {
		h.verifyFailed = true
		h.a.VerifyError = err.Error()
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

// switchConn sends the handshake through the tap, which records and bounds it, and
// application data straight to the connection once direct is set.
type switchConn struct {
	net.Conn
	tap    *tapConn
	direct atomic.Bool
}

func (c *switchConn) Read(p []byte) (int, error) {
	if c.direct.Load() {
		return c.Conn.Read(p)
	}
	return c.tap.Read(p)
}

func (c *switchConn) Write(p []byte) (int, error) {
	if c.direct.Load() {
		return c.Conn.Write(p)
	}
	return c.tap.Write(p)
}

// DialErrorKind sorts an error of dialling TCP as Attempt.DialErrorKind does: "dns",
// "refused", "timeout" or "unreachable".
func DialErrorKind(err error) string { return dialErrorKind(err) }

// AlertReceived returns the alert carried by an error crypto/tls returned for a fatal alert
// the peer sent ("remote error: tls: ..."), as on the first read after a TLS 1.3 handshake
// whose client certificate the server refused.
func AlertReceived(err error) (tlsdiag.Alert, bool) {
	code, ok := alertFromError(err, "remote error")
	if !ok {
		return tlsdiag.Alert{}, false
	}
	return tlsdiag.Alert{Code: code, Name: alertName(code)}, true
}
