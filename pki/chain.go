package pki

import (
	"crypto/x509"
	"errors"
	"time"
)

// Bounds on the work VerifyPath does for one peer.
const (
	maxSent    = 16   // certificates of Sent considered
	maxPathLen = 10   // certificates on a path, leaf and anchor included
	maxSteps   = 2000 // path extensions tried while searching
	maxSigs    = 400  // signatures checked while searching
	maxPaths   = 64   // complete paths compared
)

// PathInput is what a client has when it validates a peer's chain.
type PathInput struct {
	Sent          []*x509.Certificate // as the peer sent them, leaf first
	Roots         []*x509.Certificate // the truststore
	SystemRoots   bool                // also trust the system roots
	Intermediates []*x509.Certificate // extra intermediates known to the client (e.g. --intermediates), not sent by the peer
	Now           time.Time           // the time validity is judged at; zero means time.Now()
	Policy        Policy
	KeyUsage      x509.ExtKeyUsage // 0 means ServerAuth
}

// ProblemKind names one way a certificate path fails or is fragile.
type ProblemKind string

// Problem kinds, in the order VerifyPath reports them.
const (
	ProblemEmptyTruststore ProblemKind = "empty-truststore" // no roots and no system roots
	ProblemMissingIssuer   ProblemKind = "missing-issuer"   // the top certificate's issuer was neither sent nor trusted
	ProblemUntrustedRoot   ProblemKind = "untrusted-root"   // the path ends at a self-signed certificate the truststore lacks
	ProblemNameLink        ProblemKind = "name-link"        // a certificate's issuer name is not the next certificate's subject
	ProblemSignatureLink   ProblemKind = "signature-link"   // names link but the signature does not verify with the next key
	ProblemNotCA           ProblemKind = "not-ca"           // an issuer is not a CA (basic constraints) or may not sign certificates
	ProblemExpired         ProblemKind = "expired"
	ProblemNotYetValid     ProblemKind = "not-yet-valid"
	ProblemWeakSignature   ProblemKind = "weak-signature" // SHA-1/MD5 signature refused by the policy
	ProblemWeakKey         ProblemKind = "weak-key"       // RSA key below Policy.MinRSA()
	ProblemMisordered      ProblemKind = "misordered"     // links, but sent out of order
	ProblemExtraCerts      ProblemKind = "extra-certs"    // sent certificates not on the path (duplicates, another chain)
	ProblemKeyUsage        ProblemKind = "key-usage"      // the leaf may not be used for the purpose
)

// rank orders problems: structural first, then validity and algorithms, warnings last.
var rank = map[ProblemKind]int{
	ProblemEmptyTruststore: 0,
	ProblemMissingIssuer:   1,
	ProblemNameLink:        2,
	ProblemSignatureLink:   3,
	ProblemUntrustedRoot:   4,
	ProblemNotCA:           5,
	ProblemExpired:         6,
	ProblemNotYetValid:     7,
	ProblemWeakSignature:   8,
	ProblemWeakKey:         9,
	ProblemKeyUsage:        10,
	ProblemMisordered:      11,
	ProblemExtraCerts:      12,
}

// IsWarning reports whether problems of kind k leave a path usable (misordered, extra
// certificates). A missing-issuer problem whose issuer was found in the client's
// intermediates is also not fatal; see [Problem.Fatal].
func (k ProblemKind) IsWarning() bool {
	return k == ProblemMisordered || k == ProblemExtraCerts
}

// Problem is one reason a path fails, or one fragility of a path that works.
type Problem struct {
	Kind   ProblemKind
	Cert   *x509.Certificate // the certificate concerned (nil for empty-truststore)
	Index  int               // its position in Sent, -1 when not sent by the peer
	Detail string            // one sentence a person reads, naming the certificate by subject

	// For missing-issuer, and for name-link and signature-link at the top of a path that
	// reaches no anchor: the issuer's name, the AKI (colon-separated hex), the AIA
	// caIssuers URLs of Cert, and where else the issuer was found ("intermediates",
	// "system" or "" nowhere). An untrusted-root problem has FoundIn "intermediates" when
	// the root was not sent but came from the client's intermediates (a certificate fetched
	// from the AIA URL, say), and "system" when the system roots hold that root but the
	// client does not use them.
	MissingIssuer string
	AKI           string
	AIA           []string
	FoundIn       string

	// For expired / not-yet-valid: the bound crossed.
	Since time.Time
}

// Fatal reports whether p makes the path fail: every problem except the warnings and a
// missing issuer that the client's own intermediates supply.
func (p Problem) Fatal() bool {
	if p.Kind.IsWarning() {
		return false
	}
	return !(p.Kind == ProblemMissingIssuer && p.FoundIn == "intermediates")
}

// PathResult is VerifyPath's verdict.
type PathResult struct {
	OK       bool                // a path to a trust anchor builds and every certificate on it is acceptable
	Path     []*x509.Certificate // the best path found, leaf first; ends at the anchor when OK
	Anchor   *x509.Certificate   // the trust anchor reached, if any
	Problems []Problem           // ordered: structural (empty truststore, missing issuer, links, untrusted root) before validity/algorithm; warnings (misordered, extra) last

	// SentOrderOK is true when the peer sent the path's certificates leaf first, each
	// directly followed by its issuer, with no other certificate among them.
	SentOrderOK bool
}

// VerifyPath builds the best certificate path from the peer's leaf (in.Sent[0]) to a trust
// anchor and says why it fails or what makes it fragile.
//
// The path is built from in.Sent (in any order), in.Intermediates and in.Roots by issuer
// name, key identifiers and signature. A certificate in in.Roots is an anchor even when it
// is not self-signed, as Java and crypto/x509 treat it. crypto/x509's Verify is run as
// well and is the ground truth for OK, except that the policy may refuse more (RSA keys
// below in.Policy.MinRSA, SHA-1 signatures) or, with Policy.AllowSHA1, accept SHA-1
// signatures crypto/x509 refuses. Validity is judged at in.Now for every certificate on
// the path, the anchor included.
//
// When no anchor is reached the top of the best path is explained exactly once: an
// untrusted-root problem when it is self-signed, a signature-link problem when a
// certificate with its issuer's name was sent or is trusted but did not sign it, a
// name-link problem when the peer sent something else after it, and a missing-issuer
// problem otherwise. When the path reaches an anchor only through in.Intermediates, it is
// OK and a missing-issuer problem with FoundIn "intermediates" says the peer did not send
// that issuer. With no certificate in in.Sent, the result is not OK and has no problem.
//
// At most 16 certificates of in.Sent are considered and paths are at most 10 long.
func VerifyPath(in PathInput) PathResult {
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if in.KeyUsage == 0 {
		in.KeyUsage = x509.ExtKeyUsageServerAuth
	}
	var sent []*x509.Certificate
	for _, c := range in.Sent {
		if c != nil && len(sent) < maxSent {
			sent = append(sent, c)
		}
	}
	if len(sent) == 0 {
		return PathResult{}
	}
	in.Sent = sent

	g := newGraph(in)
	chains, xerr := groundTruth(in)
	for _, ch := range chains {
		g.addChain(ch)
	}
	best := g.search()

	// With the system roots, the anchor of a path crypto/x509 refused (an expired leaf, say)
	// is found by verifying the top of the path alone.
	var systemHas *x509.Certificate
	if !best.anchored() {
		if anchor := systemAnchor(best.top().cert, in); anchor != nil {
			if in.SystemRoots {
				g.addNode(anchor, -1, true, false).system = true
				best = g.search()
			} else {
				systemHas = anchor
			}
		}
	}

	res := PathResult{Path: best.certs()}
	if best.anchored() {
		res.Anchor = best.top().cert
	}
	e := explainer{in: in, g: g, path: best}
	res.Problems = e.explain(systemHas)
	res.SentOrderOK = e.sentOrderOK

	fatal := false
	for _, p := range res.Problems {
		if p.Fatal() {
			fatal = true
		}
	}
	switch {
	case !best.anchored() || fatal:
		res.OK = false
	case xerr == nil:
		res.OK = true
	case in.Policy.AllowSHA1 && best.hasSHA1():
		// crypto/x509 refuses every SHA-1 signature; the policy accepts them and the
		// builder found nothing else wrong.
		res.OK = true
	default:
		res.Problems = append(res.Problems, e.fromX509(xerr))
		sortProblems(res.Problems)
	}
	return res
}

// groundTruth runs crypto/x509's verification on the same input.
func groundTruth(in PathInput) ([][]*x509.Certificate, error) {
	roots := x509.NewCertPool()
	if in.SystemRoots {
		if sys, err := x509.SystemCertPool(); err == nil && sys != nil {
			roots = sys
		}
	}
	for _, r := range in.Roots {
		roots.AddCert(r)
	}
	inters := x509.NewCertPool()
	for _, c := range in.Sent[1:] {
		inters.AddCert(c)
	}
	for _, c := range in.Intermediates {
		inters.AddCert(c)
	}
	ku := in.KeyUsage
	if ku == 0 {
		ku = x509.ExtKeyUsageServerAuth
	}
	return in.Sent[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   in.Now,
		KeyUsages:     []x509.ExtKeyUsage{ku},
	})
}

// systemAnchor returns the system root that c chains to through the certificates the
// client has, judged at in.Now or, failing that, inside c's own validity (so that an
// expired certificate still shows where it leads), or nil.
func systemAnchor(c *x509.Certificate, in PathInput) *x509.Certificate {
	sys, err := x509.SystemCertPool()
	if err != nil || sys == nil {
		return nil
	}
	inters := x509.NewCertPool()
	for _, x := range in.Sent {
		inters.AddCert(x)
	}
	for _, x := range in.Intermediates {
		inters.AddCert(x)
	}
	mid := c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2)
	for _, at := range []time.Time{in.Now, mid} {
		chains, err := c.Verify(x509.VerifyOptions{
			Roots:         sys,
			Intermediates: inters,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err == nil && len(chains) > 0 {
			ch := chains[0]
			return ch[len(ch)-1]
		}
	}
	return nil
}

// fromX509 turns a refusal of crypto/x509 that the builder did not foresee into a problem.
func (e *explainer) fromX509(err error) Problem {
	leaf := e.in.Sent[0]
	p := Problem{Kind: ProblemNotCA, Cert: leaf, Index: 0,
		Detail: "The client's certificate verification refuses the path: " + err.Error() + "."}
	var inv x509.CertificateInvalidError
	var crit x509.UnhandledCriticalExtension
	switch {
	case errors.As(err, &inv):
		if inv.Cert != nil {
			p.Cert, p.Index = inv.Cert, e.g.sentIndex(inv.Cert)
		}
		switch inv.Reason {
		case x509.IncompatibleUsage, x509.CANotAuthorizedForExtKeyUsage:
			p.Kind = ProblemKeyUsage
		case x509.Expired:
			p.Kind = ProblemExpired
		}
	case errors.As(err, &crit):
		p.Kind = ProblemKeyUsage
		p.Detail = "A certificate of the path carries a critical extension the client does not understand, so it may not be used."
	}
	return p
}
