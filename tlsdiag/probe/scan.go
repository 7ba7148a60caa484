package probe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// maxHellos bounds the crafted ClientHellos in flight at once against one server.
const maxHellos = 8

// chunkSize is how many suites a hello offers when the server refuses a hello offering
// every suite of a version (some servers break on long suite lists).
const chunkSize = 100

// prober sends crafted ClientHellos (tlswire) to learn which versions and cipher suites the
// server accepts. It never completes a handshake. Its methods are safe for concurrent use.
type prober struct {
	cfg        Config
	serverName string // sent in server_name; "" sends none
	sem        chan struct{}
	sent       atomic.Int64 // hellos sent, for the log
}

func newProber(cfg Config) *prober {
	p := &prober{cfg: cfg, sem: make(chan struct{}, maxHellos)}
	// The crafted hellos carry the expected name whether or not the client sends it, so
	// that a server that needs SNI still shows what it accepts.
	if n := cfg.Expect.ServerName; n != "" && net.ParseIP(n) == nil {
		p.serverName = n
	}
	return p
}

// errOtherVersion marks a server that answered a hello in a version other than the one
// offered: the offered version is refused.
var errOtherVersion = errors.New("another version negotiated")

// hello sends one ClientHello offering version (alone) and suites, and returns what the
// server answered. The connection is closed on return.
func (p *prober) hello(ctx context.Context, version uint16, suites []uint16) (*tlswire.ServerResponse, error) {
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	spec := tlswire.ClientHelloSpec{Version: version, Suites: suites, ServerName: p.serverName}
	if version >= tlswire.VersionTLS13 {
		ks, err := tlswire.NewX25519KeyShare(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("making a key share: %w", err)
		}
		spec.KeyShares = []tlswire.KeyShare{ks}
	} else if version > tlswire.VersionSSL30 {
		spec.Suites = append(slices.Clip(suites), 0x00ff) // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
	}
	msg, err := spec.Marshal()
	if err != nil {
		return nil, fmt.Errorf("building a %s ClientHello: %w", versionName(version), err)
	}

	deadline := time.Now().Add(p.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	p.sent.Add(1)
	conn, err := p.cfg.Dial(ctx, "tcp", p.cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("dialling: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, err := tlswire.Exchange(conn, msg, deadline)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return resp, err
}

// accepted reports whether resp accepts the offer of a hello for version.
func accepted(resp *tlswire.ServerResponse, version uint16) bool {
	if resp == nil {
		return false
	}
	ok := resp.Kind == tlswire.ResponseServerHello || resp.Kind == tlswire.ResponseHelloRetry
	return ok && resp.Version == version
}

// refused reports whether resp is a clear refusal: an alert, or a ServerHello for another
// version.
func refused(resp *tlswire.ServerResponse) bool {
	return resp != nil && (resp.Kind == tlswire.ResponseAlert || resp.Kind == tlswire.ResponseServerHello ||
		resp.Kind == tlswire.ResponseHelloRetry)
}

// suiteIDs returns the IDs of every IANA suite a server may select in version.
func suiteIDs(version uint16) []uint16 {
	return tlswire.SuiteIDs(tlswire.SuitesFor(version))
}

// versionResult is what the probes of one version concluded.
type versionResult struct {
	version   uint16
	concluded bool
	accepted  bool
	// first is the suite chosen from every suite of the version; 0 when the server had to
	// be offered the suites in chunks.
	first uint16
	// chunked is set when the server refused the hello offering every suite but accepted
	// a shorter one.
	chunked bool
	err     error
}

// probeVersion learns whether the server accepts version, offering every suite of it.
func (p *prober) probeVersion(ctx context.Context, version uint16) versionResult {
	r := versionResult{version: version}
	all := suiteIDs(version)
	resp, err := p.hello(ctx, version, all)
	switch {
	case ctx.Err() != nil:
		r.err = ctx.Err()
		return r
	case accepted(resp, version):
		r.concluded, r.accepted, r.first = true, true, resp.Suite
		return r
	case refused(resp):
		r.concluded = true
		return r
	case len(all) <= chunkSize:
		// Closed, not TLS or broken: with a short list there is nothing else to try.
		r.concluded = err == nil
		r.err = err
		return r
	}
	// The server closed or broke on the long hello: offer the suites in chunks.
	chunks := slices.Collect(slices.Chunk(all, chunkSize))
	results := make([]*tlswire.ServerResponse, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Go(func() { results[i], errs[i] = p.hello(ctx, version, c) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		r.err = ctx.Err()
		return r
	}
	r.concluded = true
	for i, resp := range results {
		switch {
		case accepted(resp, version):
			r.accepted, r.chunked = true, true
		case errs[i] != nil:
			r.err = errs[i]
		}
	}
	if r.err != nil && !r.accepted {
		r.concluded = false
	}
	return r
}

// probeVersions probes versions concurrently; the results are in the order given.
func (p *prober) probeVersions(ctx context.Context, versions []uint16) []versionResult {
	out := make([]versionResult, len(versions))
	var wg sync.WaitGroup
	for i, v := range versions {
		wg.Go(func() { out[i] = p.probeVersion(ctx, v) })
	}
	wg.Wait()
	return out
}

// acceptsAny offers suites in version and returns the suite the server chose, or 0 when it
// refused them all.
func (p *prober) acceptsAny(ctx context.Context, version uint16, suites []uint16) (uint16, error) {
	if len(suites) == 0 {
		return 0, nil
	}
	resp, err := p.hello(ctx, version, suites)
	switch {
	case accepted(resp, version):
		return resp.Suite, nil
	case refused(resp), err == nil && resp.Kind == tlswire.ResponseClosed:
		return 0, nil
	case err != nil:
		return 0, err
	}
	return 0, fmt.Errorf("the server answered %v", resp.Kind)
}

// enumerate returns the suites of version the server accepts, in its order of preference
// (or in the order offered, for a server that follows the client's), by offering every
// suite, removing the one chosen, and repeating until the server refuses. When vr says
// the server needs short lists, each chunk is enumerated concurrently and the union is
// then ordered the same way. complete is false when a probe could not conclude.
func (p *prober) enumerate(ctx context.Context, vr versionResult) (suites []uint16, complete bool, err error) {
	all := suiteIDs(vr.version)
	if !vr.chunked {
		return p.eliminate(ctx, vr.version, all, vr.first)
	}
	chunks := slices.Collect(slices.Chunk(all, chunkSize))
	found := make([][]uint16, len(chunks))
	oks := make([]bool, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Go(func() { found[i], oks[i], errs[i] = p.eliminate(ctx, vr.version, c, 0) })
	}
	wg.Wait()
	union := slices.Concat(found...)
	if err := errors.Join(errs...); err != nil {
		return union, false, err
	}
	if len(union) <= 1 {
		return union, !slices.Contains(oks, false), nil
	}
	ordered, ok, err := p.eliminate(ctx, vr.version, union, 0)
	if len(ordered) != len(union) && err == nil {
		// A suite accepted in its chunk was refused in the union: keep it, after the rest.
		for _, s := range union {
			if !slices.Contains(ordered, s) {
				ordered = append(ordered, s)
			}
		}
	}
	return ordered, ok && !slices.Contains(oks, false), err
}

// eliminate runs "offer all, remove the chosen, repeat" over offer. first, when not zero,
// is the suite the server already chose from offer.
func (p *prober) eliminate(ctx context.Context, version uint16, offer []uint16, first uint16) ([]uint16, bool, error) {
	remaining := slices.Clone(offer)
	var order []uint16
	take := func(s uint16) error {
		i := slices.Index(remaining, s)
		if i < 0 {
			return fmt.Errorf("%s: the server chose %s, which was not offered", versionName(version), tlswire.SuiteName(s))
		}
		order = append(order, s)
		remaining = slices.Delete(remaining, i, i+1)
		return nil
	}
	if first != 0 {
		if err := take(first); err != nil {
			return order, false, err
		}
	}
	for len(remaining) > 0 {
		s, err := p.acceptsAny(ctx, version, remaining)
		if err != nil {
			return order, false, fmt.Errorf("%s: enumerating suites: %w", versionName(version), err)
		}
		if s == 0 {
			break
		}
		if err := take(s); err != nil {
			return order, false, err
		}
	}
	return order, true, nil
}
