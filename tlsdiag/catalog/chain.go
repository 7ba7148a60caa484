package catalog

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// chainHiddenBy are the causes that hide every chain and name finding: no chain was
// judged, or the wrong certificate was judged.
var chainHiddenBy = []string{NetworkUnreachable, NetworkTimeout, NotTLS, SNIDefaultCertificate}

func problems(c *tlsdiag.Context, kinds ...pki.ProblemKind) []pki.Problem {
	if c.Path == nil {
		return nil
	}
	var out []pki.Problem
	for _, p := range c.Path.Problems {
		for _, k := range kinds {
			if p.Kind == k {
				out = append(out, p)
			}
		}
	}
	return out
}

func truststoreName(c *tlsdiag.Context) string {
	switch {
	case len(c.Expect.RootsFrom) > 0:
		return strings.Join(c.Expect.RootsFrom, ", ")
	case c.Expect.SystemRoots:
		return "the system truststore"
	}
	return "the truststore"
}

func truststoreView(c *tlsdiag.Context) []string {
	out := make([]string, 0, len(c.Expect.Roots))
	for _, r := range c.Expect.Roots {
		out = append(out, r.Subject.String())
	}
	return out
}

func sentView(c *tlsdiag.Context) []pki.Summary { return pki.SummarizeAll(c.Configured.Chain) }

// missingIsIntermediate reports whether the issuer missing from a path is an intermediate
// (the server should have sent it) rather than a root (the truststore should hold it).
// An issuer fetched from an AIA URL settles it (see aiaIssuer); without one it is an
// inference, which the finding says.
func missingIsIntermediate(c *tlsdiag.Context, p pki.Problem) bool {
	switch p.FoundIn {
	case "intermediates":
		return true
	case "system":
		return false // a root of the system store: the configured truststore lacks it
	}
	// The issuer was found nowhere: when the server sent only its leaf, the usual case is an
	// omitted intermediate; when it sent CA certificates, the missing one is the root.
	return p.Index == 0 || (p.Cert != nil && !p.Cert.IsCA)
}

// aiaIssuer returns, when the issuer of the top certificate the server sent was fetched
// from an AIA URL and is on the path, that top certificate, its issuer and the fetch.
func aiaIssuer(c *tlsdiag.Context) (top, issuer *x509.Certificate, fetch *tlsdiag.AIAFetch) {
	if c.Path == nil {
		return nil, nil, nil
	}
	path := c.Path.Path
	for i := 0; i+1 < len(path) && wasSent(c, path[i]); i++ {
		if wasSent(c, path[i+1]) {
			continue
		}
		if a := c.FetchedFrom(path[i+1]); a != nil {
			return path[i], path[i+1], a
		}
		break
	}
	return nil, nil, nil
}

func wasSent(c *tlsdiag.Context, x *x509.Certificate) bool {
	return slices.ContainsFunc(c.Configured.Chain, x.Equal)
}

// firstFatal returns the first problem that makes the path fail, or nil.
func firstFatal(c *tlsdiag.Context) *pki.Problem {
	for i, p := range c.Path.Problems {
		if p.Fatal() {
			return &c.Path.Problems[i]
		}
	}
	return nil
}

// aiaIncomplete is chain.incomplete proven: the server's top certificate names its issuer's
// URL, the doctor fetched the issuer there, and it is an intermediate.
func aiaIncomplete(c *tlsdiag.Context, top, inter *x509.Certificate, fetch *tlsdiag.AIAFetch) *tlsdiag.Finding {
	ev := map[string]any{
		"missingIssuer": inter.Subject.String(),
		"issuedTo":      top.Subject.String(),
		"aiaFetched":    fetch.URL,
		"intermediate":  pki.Summarize(inter),
		"serverChain":   sentView(c),
		"truststore":    truststoreView(c),
	}
	if len(top.AuthorityKeyId) > 0 {
		ev["authorityKeyId"] = hexColons(top.AuthorityKeyId)
	}
	detail := fmt.Sprintf("The server sent %d certificate(s) ending at %q, issued by %q, which it did not send and which %s does not hold. "+
		"That intermediate was found at %s, the URL %q names for its issuer (AIA caIssuers): it is an intermediate CA, issued by %q, not a root.",
		len(c.Configured.Chain), top.Subject.String(), inter.Subject.String(), truststoreName(c), fetch.URL, top.Subject.String(), inter.Issuer.String())
	fix := []string{
		fmt.Sprintf("Preferred: configure the server to send its full chain, leaf then the intermediate %q (nginx: ssl_certificate pointing at leaf+intermediate in one file; Apache: SSLCertificateChainFile).", inter.Subject.String()),
		fmt.Sprintf("Or add the intermediate %q (download it from %s and check it with its CA) to %s.", inter.Subject.String(), fetch.URL, truststoreName(c)),
	}
	if c.Path.OK {
		detail += fmt.Sprintf(" With it, the path builds up to %q. The configured client does not fetch missing issuers (Java and Go do not), so its handshake failed.", c.Path.Anchor.Subject.String())
	} else if p := firstFatal(c); p != nil {
		detail += " Even with it, the path does not build: " + p.Detail
		if p.Kind == pki.ProblemUntrustedRoot || p.Kind == pki.ProblemMissingIssuer && p.Index < 0 {
			root := p.MissingIssuer
			if p.Kind == pki.ProblemUntrustedRoot {
				root = p.Cert.Subject.String()
			}
			fix = append(fix, fmt.Sprintf("Then add the root %q to %s as well: it does not hold it either.", root, truststoreName(c)))
		}
	}
	return &tlsdiag.Finding{Detail: detail, Evidence: ev, Fix: fix}
}

// fetchFailed reports whether the doctor fetched url and got no issuer there.
func fetchFailed(c *tlsdiag.Context, url string) bool {
	return slices.ContainsFunc(c.Facts.AIA, func(a *tlsdiag.AIAFetch) bool { return a.URL == url && a.Error != "" })
}

// inferredDetail says why an issuer missing above the server's leaf is taken to be an
// intermediate without proof, and what would have proven it.
func inferredDetail(c *tlsdiag.Context, p pki.Problem) string {
	why := "the leaf names no AIA URL to confirm it"
	if len(p.AIA) > 0 {
		why = fmt.Sprintf("it was not fetched from the leaf's AIA URL %s to confirm it", strings.Join(p.AIA, ", "))
		var failed []string
		for _, a := range c.Facts.AIA {
			if slices.Contains(p.AIA, a.URL) && a.Error != "" {
				failed = append(failed, a.URL+": "+a.Error)
			}
		}
		if len(failed) > 0 {
			why = "fetching it from the leaf's AIA URL to confirm it failed (" + strings.Join(failed, "; ") + ")"
		}
	}
	return fmt.Sprintf("The server sent only its leaf %q, issued by %q, which it did not send and which %s does not hold. "+
		"The missing issuer is most likely an intermediate, as servers that send only their leaf usually omit one; "+
		"if it is a root instead, the cause is the truststore (add that root). This is an inference: %s.",
		p.Cert.Subject.String(), p.MissingIssuer, truststoreName(c), why)
}

func chainCauses() []tlsdiag.Cause {
	return []tlsdiag.Cause{
		{
			ID:       TruststoreEmpty,
			Title:    "The client's truststore is empty",
			Severity: tlsdiag.SeverityError,
			HiddenBy: chainHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				if len(problems(c, pki.ProblemEmptyTruststore)) == 0 {
					return nil
				}
				return &tlsdiag.Finding{
					Detail:   fmt.Sprintf("%s holds no certificate, so no server certificate can be trusted.", truststoreName(c)),
					Evidence: map[string]any{"truststore": c.Expect.RootsFrom, "serverChain": sentView(c)},
					Fix: []string{
						fmt.Sprintf("Upload the root CA of the server's chain (%s) to %s, and check that the target's <TrustStore> (or its reference) names that truststore.", c.Configured.Chain[len(c.Configured.Chain)-1].Issuer.String(), truststoreName(c)),
					},
				}
			},
		},
		{
			ID:       ChainIncomplete,
			Title:    "The server does not send its intermediate certificate",
			Severity: tlsdiag.SeverityError,
			HiddenBy: append([]string{TruststoreEmpty}, chainHiddenBy...),
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				if top, issuer, fetch := aiaIssuer(c); fetch != nil {
					if pki.IsSelfSigned(issuer) {
						return nil // a root: truststore.missing-anchor
					}
					return aiaIncomplete(c, top, issuer, fetch)
				}
				if c.Path == nil || c.Path.OK {
					return nil
				}
				for _, p := range problems(c, pki.ProblemMissingIssuer) {
					if !missingIsIntermediate(c, p) {
						continue
					}
					ev := map[string]any{
						"missingIssuer": p.MissingIssuer,
						"issuedTo":      p.Cert.Subject.String(),
						"serverChain":   sentView(c),
						"truststore":    truststoreView(c),
					}
					if p.AKI != "" {
						ev["authorityKeyId"] = p.AKI
					}
					if len(p.AIA) > 0 {
						ev["aiaCaIssuers"] = p.AIA
					}
					where := ""
					if len(p.AIA) > 0 && !fetchFailed(c, p.AIA[0]) {
						where = fmt.Sprintf(" (it can be downloaded from %s)", p.AIA[0])
					}
					detail := fmt.Sprintf("The server sent %d certificate(s) ending at %q, issued by %q, which it did not send and which %s does not hold.",
						len(c.Configured.Chain), p.Cert.Subject.String(), p.MissingIssuer, truststoreName(c))
					if p.Index == 0 && p.FoundIn == "" {
						detail = inferredDetail(c, p)
						ev["inferred"] = true
					}
					return &tlsdiag.Finding{
						Detail:   detail,
						Evidence: ev,
						Fix: []string{
							fmt.Sprintf("Preferred: configure the server to send its full chain, leaf then the intermediate %q (nginx: ssl_certificate pointing at leaf+intermediate in one file; Apache: SSLCertificateChainFile).", p.MissingIssuer),
							fmt.Sprintf("Or add the intermediate %q%s to %s.", p.MissingIssuer, where, truststoreName(c)),
						},
					}
				}
				return nil
			},
		},
		{
			ID:       ChainWrongIntermediate,
			Title:    "The server's chain does not link",
			Severity: tlsdiag.SeverityError,
			HiddenBy: append([]string{TruststoreEmpty}, chainHiddenBy...),
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				ps := problems(c, pki.ProblemNameLink, pki.ProblemSignatureLink, pki.ProblemNotCA)
				if len(ps) == 0 || c.Path.OK {
					return nil
				}
				return &tlsdiag.Finding{
					Detail:   details(ps),
					Evidence: map[string]any{"problems": problemView(ps), "serverChain": sentView(c)},
					Fix: []string{
						fmt.Sprintf("Configure the server to send the intermediate that issued its certificate %q (the one whose subject is %q and whose key signed the leaf), not another CA's.", c.Configured.Chain[0].Subject.String(), c.Configured.Chain[0].Issuer.String()),
						"Check with: openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem (or tlsgate cert verify).",
					},
				}
			},
		},
		{
			ID:       TruststoreMissingRoot,
			Title:    "The truststore lacks the root of the server's chain",
			Severity: tlsdiag.SeverityError,
			HiddenBy: append([]string{TruststoreEmpty, ChainIncomplete, ChainWrongIntermediate}, chainHiddenBy...),
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				if c.Path == nil || c.Path.OK {
					return nil
				}
				var root, detail string
				ev := map[string]any{"serverChain": sentView(c), "truststore": truststoreView(c)}
				var fetch *tlsdiag.AIAFetch
				if ps := problems(c, pki.ProblemUntrustedRoot); len(ps) > 0 {
					p := ps[0]
					root = p.Cert.Subject.String()
					ev["root"] = pki.Summarize(p.Cert)
					detail = fmt.Sprintf("The chain is complete and links up to %q (SHA-256 %s), which %s does not hold.", root, pki.Fingerprint(p.Cert), truststoreName(c))
					fetch = c.FetchedFrom(p.Cert)
					switch {
					case p.Index == 0:
						detail = fmt.Sprintf("The server's certificate %q is self-signed and %s does not hold it.", root, truststoreName(c))
					case fetch != nil:
						top := c.Configured.Chain[len(c.Configured.Chain)-1]
						ev["aiaFetched"] = fetch.URL
						detail = fmt.Sprintf("The server sent %d certificate(s) ending at %q, issued by %q, which it did not send. "+
							"That issuer was found at %s, the URL %q names for it (AIA caIssuers): it is a self-signed root CA (SHA-256 %s), and %s does not hold it.",
							len(c.Configured.Chain), top.Subject.String(), root, fetch.URL, top.Subject.String(), pki.Fingerprint(p.Cert), truststoreName(c))
					}
				} else {
					for _, p := range problems(c, pki.ProblemMissingIssuer) {
						if missingIsIntermediate(c, p) {
							continue
						}
						root = p.MissingIssuer
						ev["root"] = map[string]any{"subject": root, "authorityKeyId": p.AKI}
						detail = fmt.Sprintf("The chain links up to %q, issued by the root %q, which %s does not hold.", p.Cert.Subject.String(), root, truststoreName(c))
						break
					}
				}
				if root == "" {
					return nil
				}
				get := "Get the root from the backend's owner or its CA; check its fingerprint before trusting it."
				if fetch != nil {
					get = fmt.Sprintf("The root can be downloaded from %s, but anyone on the path could have served that: check its fingerprint with the backend's owner or its CA before trusting it.", fetch.URL)
				}
				return &tlsdiag.Finding{
					Detail:   detail + " (Java reports this as \"PKIX path building failed: unable to find valid certification path to requested target\".)",
					Evidence: ev,
					Fix: []string{
						fmt.Sprintf("Add the root certificate %q to %s (Edge: POST /v1/organizations/ORG/environments/ENV/keystores/TRUSTSTORE/certs?alias=ALIAS with the PEM file; doctor: --truststore root.pem).", root, truststoreName(c)),
						get,
					},
				}
			},
		},
		{
			ID:       HostnameMismatch,
			Title:    "The server's certificate is not valid for the host name",
			Severity: tlsdiag.SeverityError,
			HiddenBy: chainHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				h := c.Host
				if h == nil || h.OK {
					return nil
				}
				var names []string
				for _, n := range h.Checks {
					if !slices.Contains(names, n.Name) {
						names = append(names, n.Name)
					}
				}
				return &tlsdiag.Finding{
					Detail:   fmt.Sprintf("The client asked for %q; the certificate %q is valid for %s.", h.Host, c.Configured.Chain[0].Subject.String(), quoteList(names)),
					Evidence: map[string]any{"host": h.Host, "names": h.Checks},
					Fix: []string{
						fmt.Sprintf("If the target's host is wrong, correct it to a name the certificate holds (%s) in the target endpoint's URL or target server.", quoteList(names)),
						fmt.Sprintf("Otherwise reissue the server's certificate with %q as a subjectAltName DNS entry (the CN is ignored when SANs exist).", h.Host),
						"Or, where the name cannot match, set <CommonName> in the target's SSLInfo to the name the certificate holds.",
					},
				}
			},
		},
		{
			ID:       CertExpired,
			Title:    "A certificate of the server's chain has expired",
			Severity: tlsdiag.SeverityError,
			HiddenBy: chainHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				return validityFinding(c, pki.ProblemExpired, "expired on", "Renew")
			},
		},
		{
			ID:       CertNotYetValid,
			Title:    "A certificate of the server's chain is not yet valid",
			Severity: tlsdiag.SeverityError,
			HiddenBy: chainHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				return validityFinding(c, pki.ProblemNotYetValid, "becomes valid on", "Check the clocks of the client and the server, or redeploy")
			},
		},
		{
			ID:       CertInsecureSignature,
			Title:    "The server's chain uses an algorithm or key size the client refuses",
			Severity: tlsdiag.SeverityError,
			HiddenBy: chainHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				ps := problems(c, pki.ProblemWeakSignature, pki.ProblemWeakKey)
				if len(ps) == 0 {
					return nil
				}
				return &tlsdiag.Finding{
					Detail:   details(ps),
					Evidence: map[string]any{"problems": problemView(ps)},
					Fix:      []string{fmt.Sprintf("Reissue %q with a SHA-256 (or stronger) signature and an RSA key of at least %d bits or an ECDSA key.", ps[0].Cert.Subject.String(), c.Expect.Policy.MinRSA())},
				}
			},
		},
		{
			ID:       ChainMisordered,
			Title:    "The server sends its chain out of order or with extra certificates",
			Severity: tlsdiag.SeverityWarning,
			HiddenBy: chainHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				ps := problems(c, pki.ProblemMisordered, pki.ProblemExtraCerts)
				if len(ps) == 0 {
					return nil
				}
				return &tlsdiag.Finding{
					Detail:   details(ps) + " Lenient clients rebuild the path; strict ones fail.",
					Evidence: map[string]any{"serverChain": sentView(c), "problems": problemView(ps)},
					Fix:      []string{"Configure the server to send leaf first, then each issuer in order, and nothing else."},
				}
			},
		},
	}
}

func validityFinding(c *tlsdiag.Context, kind pki.ProblemKind, verb, action string) *tlsdiag.Finding {
	ps := problems(c, kind)
	if len(ps) == 0 {
		return nil
	}
	p := ps[0]
	role := "the server's certificate"
	fetch := c.FetchedFrom(p.Cert)
	switch {
	case p.Index > 0:
		role = "the intermediate sent by the server"
	case fetch != nil:
		role = "the issuer fetched from " + fetch.URL
	case p.Index < 0:
		role = "the trust anchor in " + truststoreName(c)
	}
	fix := fmt.Sprintf("%s %s %q and deploy it on the server.", action, role, p.Cert.Subject.String())
	switch {
	case fetch != nil:
		fix = fmt.Sprintf("%s %q (the server does not send it; its CA publishes it at %s), then have the server send it.", action, p.Cert.Subject.String(), fetch.URL)
	case p.Index < 0:
		fix = fmt.Sprintf("%s the trust anchor %q in %s.", action, p.Cert.Subject.String(), truststoreName(c))
	}
	return &tlsdiag.Finding{
		Detail: fmt.Sprintf("%s %q %s %s (judged at %s).", capitalize(role), p.Cert.Subject.String(), verb,
			p.Since.UTC().Format("2006-01-02 15:04:05 MST"), c.Now().UTC().Format("2006-01-02 15:04:05 MST")),
		Evidence: map[string]any{"certificate": pki.Summarize(p.Cert), "position": p.Index, "at": c.Now().UTC()},
		Fix:      []string{fix},
	}
}

// details joins the problems' sentences.
func details(ps []pki.Problem) string {
	lines := make([]string, 0, len(ps))
	for _, p := range ps {
		lines = append(lines, p.Detail)
	}
	return strings.Join(lines, " ")
}

func problemView(ps []pki.Problem) []map[string]any {
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		m := map[string]any{"kind": p.Kind, "detail": p.Detail, "position": p.Index}
		if p.Cert != nil {
			m["subject"] = p.Cert.Subject.String()
		}
		out = append(out, m)
	}
	return out
}

// hexColons renders b as pki does key identifiers: colon-separated lower-case hex.
func hexColons(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

func quoteList(xs []string) string {
	if len(xs) == 0 {
		return "no name"
	}
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
