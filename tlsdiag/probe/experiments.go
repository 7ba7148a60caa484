package probe

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// experiments runs the experiments of one Run concurrently and collects their results.
type experiments struct {
	cfg        Config
	configured *tlsdiag.Attempt
	// ctx ends with the run; proofCtx also ends as soon as an experiment has proven the
	// cause, which cancels the experiments that can no longer change the diagnosis. A
	// scan runs under ctx: it is asked for in full.
	ctx      context.Context
	proofCtx context.Context
	proven   context.CancelFunc
	prober   *prober
	wg       sync.WaitGroup

	mu       sync.Mutex
	attempts []*tlsdiag.Attempt
	server   *serverResults
	aia      []*tlsdiag.AIAFetch
}

// serverResults is what the crafted hellos concluded, merged into ServerFacts at the end.
type serverResults struct {
	probed   map[uint16]bool // versions whose probe concluded
	accepted map[uint16]bool
	suites   map[uint16][]uint16
	complete map[uint16]bool
	errors   []string
}

// runExperiments chooses experiments from the configured attempt's outcome, runs them
// concurrently, and adds what they found to facts:
//
//   - a dial failure, a timeout or a reply that is not TLS explains itself: nothing more;
//   - a handshake refused at the hello (an alert or a close before or at the ServerHello):
//     crafted hellos learn which versions the server accepts and, for the versions both
//     sides share, whether it accepts any suite the client offers; when it accepts none,
//     the server's suites for those versions are enumerated as evidence. A client that sent
//     no SNI also tries with SNI;
//   - a server chain that failed verification: with SNI when the client sent none (another
//     certificate may come back), without SNI when it sent it and the chain is for another
//     name;
//   - an alert after a CertificateRequest answered with a certificate: the handshake
//     without the client certificate;
//   - a server chain that failed verification because an issuer is missing: that issuer,
//     fetched from its caIssuers URL (unless NoAIA);
//   - Scan: every version and every IANA suite of each accepted version.
func runExperiments(ctx context.Context, cfg Config, facts *tlsdiag.Facts) {
	c := facts.Attempts[0]
	if c.DialError != "" || c.TimedOut || c.NotTLS != nil {
		return
	}
	proofCtx, proven := context.WithCancel(ctx)
	defer proven()
	e := &experiments{
		cfg: cfg, configured: c, ctx: ctx, proofCtx: proofCtx, proven: proven,
		prober: newProber(cfg),
	}
	name := cfg.Expect.ServerName
	canSNI := name != "" && net.ParseIP(name) == nil
	sniSent := c.ServerName != ""

	if helloRefused(c) {
		if !sniSent && canSNI {
			e.handshake(Variant{Name: tlsdiag.AttemptWithSNI, SNI: ptrTo(true)}, func(a *tlsdiag.Attempt) bool {
				return a.Completed || len(a.Chain) > 0 // past the hello with SNI
			})
		}
		if !cfg.Scan {
			e.wg.Go(e.versionsAndSuites)
		}
	}
	if c.VerifyError != "" && len(c.Chain) > 0 && !cfg.NoAIA {
		// Under ctx, not proofCtx: the fetched issuer is evidence for the chain's causes
		// whatever else an experiment proves.
		e.wg.Go(func() {
			fetches := fetchMissingIssuers(ctx, cfg, c.Chain, facts.Time)
			e.mu.Lock()
			e.aia = fetches
			e.mu.Unlock()
		})
	}
	if c.VerifyError != "" {
		switch {
		case !sniSent && canSNI:
			e.handshake(Variant{Name: tlsdiag.AttemptWithSNI, SNI: ptrTo(true)}, nil)
		case sniSent && len(c.Chain) > 0 && c.Chain[0].VerifyHostname(name) != nil:
			e.handshake(Variant{Name: tlsdiag.AttemptWithoutSNI, SNI: ptrTo(false)}, nil)
		}
	}
	if c.CertRequest != nil && !c.Completed && c.AlertReceived != nil && c.ClientCertSent > 0 {
		e.handshake(Variant{Name: tlsdiag.AttemptWithoutClientCert, ClientCert: ptrTo(false)}, nil)
	}
	if cfg.Scan {
		e.wg.Go(e.scan)
	}
	start := time.Now()
	e.wg.Wait()
	cfg.Logger.Debug("probe: experiments", "target", cfg.Target, "attempts", len(e.attempts),
		"hellos", e.prober.sent.Load(), "duration", time.Since(start))

	slices.SortStableFunc(e.attempts, func(a, b *tlsdiag.Attempt) int { return cmp.Compare(a.Name, b.Name) })
	facts.Attempts = append(facts.Attempts, e.attempts...)
	facts.AIA = e.aia
	if e.server != nil {
		facts.Server = e.server.facts()
	}
}

// helloRefused reports whether the attempt failed at the hello: the server refused the
// ClientHello (alert or close), or the client refused the ServerHello.
func helloRefused(a *tlsdiag.Attempt) bool {
	if a.Completed || a.TimedOut || a.NotTLS != nil || a.DialError != "" {
		return false
	}
	switch a.Step {
	case tlsdiag.StepClientHello:
		return a.AlertReceived != nil || a.Closed != ""
	case tlsdiag.StepServerHello:
		return a.AlertReceived != nil || a.Closed != "" || a.AlertSent != nil
	}
	return false
}

// handshake runs a variant of the configured handshake in the background; when proves
// says its outcome explains the failure, the other experiments are cancelled.
func (e *experiments) handshake(v Variant, proves func(*tlsdiag.Attempt) bool) {
	e.wg.Go(func() {
		a, err := handshake(e.proofCtx, e.cfg, v)
		if !a.Completed && errors.Is(err, context.Canceled) && e.ctx.Err() == nil {
			return // cancelled because the cause was proven: incomplete, not a fact
		}
		e.mu.Lock()
		e.attempts = append(e.attempts, a)
		e.mu.Unlock()
		if proves != nil && proves(a) {
			e.proven()
		}
	})
}

// versionsAndSuites tells a version mismatch from a suite mismatch: which versions the
// server accepts and, for those the client offers too, whether it accepts one of the
// client's suites. On a suite mismatch it enumerates the server's suites.
func (e *experiments) versionsAndSuites() {
	ctx := e.proofCtx
	clientVersions := parseVersions(e.configured.OfferedVersions)
	results := e.prober.probeVersions(ctx, allVersions)
	e.recordVersions(results)

	var shared []versionResult
	allConcluded := true
	for _, r := range results {
		if !slices.Contains(clientVersions, r.version) {
			continue
		}
		allConcluded = allConcluded && r.concluded
		if r.accepted {
			shared = append(shared, r)
		}
	}
	if len(shared) == 0 {
		if allConcluded && len(clientVersions) > 0 {
			e.proven() // no version in common
		}
		return
	}

	chosen := make([]uint16, len(shared))
	errs := make([]error, len(shared))
	var wg sync.WaitGroup
	for i, r := range shared {
		wg.Go(func() {
			chosen[i], errs[i] = e.prober.acceptsAny(ctx, r.version, clientSuites(e.configured.OfferedSuites, r.version))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if ctx.Err() == nil {
				e.recordError(versionName(shared[i].version) + ": offering the client's suites: " + err.Error())
			}
			return
		}
		if chosen[i] != 0 {
			return // a version and a suite in common: the hello is not the problem
		}
	}
	// A version in common, but no suite: enumerate the server's suites as evidence.
	e.enumerate(ctx, shared)
	if ctx.Err() == nil {
		e.proven()
	}
}

// scan enumerates every version and every suite of each accepted version.
func (e *experiments) scan() {
	results := e.prober.probeVersions(e.ctx, allVersions)
	e.recordVersions(results)
	var acc []versionResult
	for _, r := range results {
		if r.accepted {
			acc = append(acc, r)
		}
	}
	e.enumerate(e.ctx, acc)
}

// enumerate enumerates the suites of the given accepted versions concurrently.
func (e *experiments) enumerate(ctx context.Context, versions []versionResult) {
	var wg sync.WaitGroup
	for _, r := range versions {
		wg.Go(func() {
			suites, complete, err := e.prober.enumerate(ctx, r)
			e.mu.Lock()
			defer e.mu.Unlock()
			s := e.serverLocked()
			s.suites[r.version] = suites
			s.complete[r.version] = complete
			if err != nil {
				s.errors = append(s.errors, err.Error())
			}
		})
	}
	wg.Wait()
}

func (e *experiments) serverLocked() *serverResults {
	if e.server == nil {
		e.server = &serverResults{
			probed: map[uint16]bool{}, accepted: map[uint16]bool{},
			suites: map[uint16][]uint16{}, complete: map[uint16]bool{},
		}
	}
	return e.server
}

func (e *experiments) recordVersions(results []versionResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.serverLocked()
	for _, r := range results {
		if r.concluded {
			s.probed[r.version] = true
			s.accepted[r.version] = r.accepted
		} else if r.err != nil && !errors.Is(r.err, context.Canceled) {
			s.errors = append(s.errors, versionName(r.version)+": "+r.err.Error())
		}
	}
}

func (e *experiments) recordError(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.serverLocked()
	s.errors = append(s.errors, msg)
}

// facts renders the results, versions oldest first.
func (s *serverResults) facts() *tlsdiag.ServerFacts {
	f := &tlsdiag.ServerFacts{}
	for _, v := range allVersions {
		if !s.probed[v] {
			continue
		}
		f.VersionsProbed = append(f.VersionsProbed, versionName(v))
		if s.accepted[v] {
			f.Versions = append(f.Versions, versionName(v))
		}
	}
	f.SuitesComplete = len(s.suites) > 0
	for v, ids := range s.suites {
		if f.Suites == nil {
			f.Suites = map[string][]string{}
		}
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			names = append(names, tlswire.SuiteName(id))
		}
		f.Suites[versionName(v)] = names
		f.SuitesComplete = f.SuitesComplete && s.complete[v]
	}
	f.Errors = slices.Sorted(slices.Values(s.errors))
	return f
}

// parseVersions reads version names as reports write them.
func parseVersions(names []string) []uint16 {
	var out []uint16
	for _, n := range names {
		if v, err := tlswire.ParseVersion(n); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// clientSuites returns the IDs of the named suites a server may select in version.
func clientSuites(names []string, version uint16) []uint16 {
	var out []uint16
	for _, n := range names {
		if s, ok := tlswire.SuiteByName(n); ok && s.SupportsVersion(version) {
			out = append(out, s.ID)
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
