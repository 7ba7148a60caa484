// Package probe runs live TLS experiments against an endpoint and records what it observed as tlsdiag.Facts.
//
// Run first performs the handshake exactly as the configured client would (crypto/tls with
// the Expectations' truststore, protocols, cipher suites, SNI and client certificate), then,
// depending on how that handshake ended, runs the experiments that tell the possible causes
// apart: the same handshake with or without SNI or without the client certificate, and
// crafted ClientHellos that learn which versions and cipher suites the server accepts, and,
// when the server's chain lacks an issuer, that issuer fetched from the caIssuers URL of
// the certificate naming it, as browsers do. A failed handshake is a fact, never an error.
package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// DefaultTimeout bounds a run when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config says what to probe and how.
type Config struct {
	Target  string // as given by the user, for Facts.Target
	Address string // host:port to dial

	// Expect is what the client is configured to do. Nil means a default client: the system
	// roots, TLS 1.2 and 1.3, SNI, no client certificate. An empty ServerName means the host
	// of Address.
	Expect *tlsdiag.Expectations

	// Timeout bounds the whole run; each read and each handshake is also bounded by it.
	// Zero means DefaultTimeout.
	Timeout time.Duration

	// Scan enumerates every version and every IANA cipher suite the server accepts
	// (Facts.Server complete), whatever the outcome of the configured handshake.
	Scan bool

	// NoAIA turns off fetching a missing issuer from the caIssuers URL of the certificate
	// that names it (Facts.AIA), which otherwise happens when the server's chain does not
	// build because an issuer is missing.
	NoAIA bool

	// Dial opens the TCP connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock certificates are judged by; nil means time.Now.
	Now func() time.Time
	// Logger receives debug records of each attempt; nil discards them.
	Logger *slog.Logger
}

// check reports what makes cfg unusable.
func (cfg Config) check() error {
	if cfg.Address == "" {
		return errors.New("probe: no address to dial")
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return fmt.Errorf("probe: address %q: %w", cfg.Address, err)
	}
	if cfg.Timeout < 0 {
		return fmt.Errorf("probe: negative timeout %v", cfg.Timeout)
	}
	return nil
}

// withDefaults returns cfg with every unset field given its default. It never modifies the
// caller's Expectations.
func (cfg Config) withDefaults() Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var e tlsdiag.Expectations
	if cfg.Expect != nil {
		e = *cfg.Expect
	} else {
		e.SystemRoots = true
	}
	if e.ServerName == "" {
		if host, _, err := net.SplitHostPort(cfg.Address); err == nil {
			e.ServerName = host
		}
	}
	cfg.Expect = &e
	if cfg.Target == "" {
		cfg.Target = cfg.Address
	}
	return cfg
}

// Run probes cfg.Address: the as-configured handshake, then the experiments its outcome
// calls for, concurrently, stopping as soon as the outcome is explained. When the server's
// chain does not build because an issuer is missing, and unless cfg.NoAIA, the missing
// issuer is fetched over http from its caIssuers URL, through cfg.Dial, alongside the
// experiments (Facts.AIA); a chain that verifies is never followed up. The whole run is
// bounded by cfg.Timeout. It returns an error only when cfg is unusable; a failed handshake
// is recorded in the Facts.
func Run(ctx context.Context, cfg Config) (*tlsdiag.Facts, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	facts := &tlsdiag.Facts{
		Target:  cfg.Target,
		Address: cfg.Address,
		Time:    cfg.Now(),
	}
	configured := Handshake(ctx, cfg, Variant{Name: tlsdiag.AttemptConfigured})
	facts.Attempts = []*tlsdiag.Attempt{configured}
	runExperiments(ctx, cfg, facts)
	return facts, nil
}
