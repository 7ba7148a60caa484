package catalog

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// rejectionAlerts are the alerts a server sends when it does not accept the client's
// certificate.
var rejectionAlerts = []string{"bad_certificate", "unknown_ca", "certificate_unknown", "access_denied", "unsupported_certificate", "certificate_revoked", "decrypt_error"}

// missingAlerts are the alerts a server sends when it required a certificate and got none.
var missingAlerts = []string{"bad_certificate", "handshake_failure", "certificate_required", "unknown_ca", "certificate_unknown", "access_denied"}

func clientLeaf(c *tlsdiag.Context) *x509.Certificate {
	cc := c.Expect.ClientCert
	if cc == nil {
		return nil
	}
	if cc.Leaf != nil {
		return cc.Leaf
	}
	if len(cc.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(cc.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

// refusedAfterRequest reports whether the server asked for a certificate and then aborted
// with one of alerts (or closed the connection).
func refusedAfterRequest(a *tlsdiag.Attempt, alerts []string) bool {
	if a.CertRequest == nil || a.Completed {
		return false
	}
	if a.AlertReceived != nil {
		return slices.Contains(alerts, a.AlertReceived.Name)
	}
	return a.Closed != ""
}

// HTTP refusals of a client certificate by nginx, whose "ssl_verify_client on" completes the
// handshake and answers every request with one of these pages.
const (
	httpNoCert  = "no required ssl certificate was sent"
	httpBadCert = "the ssl certificate error"
)

// httpRefused reports whether the server completed the handshake after asking for a
// certificate and then refused the request with the given page (see httpNoCert, httpBadCert).
func httpRefused(a *tlsdiag.Attempt, page string) bool {
	if a.CertRequest == nil || a.HTTP == nil || a.HTTP.Status != 400 {
		return false
	}
	return strings.Contains(strings.ToLower(a.HTTP.Title), page)
}

func keystoreName(c *tlsdiag.Context) string {
	if c.Expect.ClientCertFrom != "" {
		return c.Expect.ClientCertFrom
	}
	return "the client keystore"
}

var clientHiddenBy = []string{NetworkUnreachable, NetworkTimeout, NotTLS, ClientCertKeyMismatch}

func clientCertCauses() []tlsdiag.Cause {
	return []tlsdiag.Cause{
		{
			ID:       ClientCertKeyMismatch,
			Title:    "The client's key does not belong to its certificate, or the alias does not exist",
			Severity: tlsdiag.SeverityError,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				if c.Expect.ClientCertProblem == "" {
					return nil
				}
				return &tlsdiag.Finding{
					Detail:   fmt.Sprintf("The configured client credential cannot be used: %s.", c.Expect.ClientCertProblem),
					Evidence: map[string]any{"keystore": keystoreName(c), "problem": c.Expect.ClientCertProblem},
					Fix: []string{
						fmt.Sprintf("Upload the certificate together with its own private key to %s (one alias holding both), and name that alias in the target's <KeyAlias>.", keystoreName(c)),
					},
				}
			},
		},
		{
			ID:       ClientCertExpired,
			Title:    "The client's certificate has expired",
			Severity: tlsdiag.SeverityError,
			HiddenBy: clientHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				leaf := clientLeaf(c)
				a := c.Configured
				serverSaid := a.AlertReceived != nil && a.AlertReceived.Name == "certificate_expired" && a.ClientCertSent > 0
				if leaf == nil || (!c.Now().After(leaf.NotAfter) && !serverSaid) {
					return nil
				}
				detail := fmt.Sprintf("The client certificate %q expired on %s.", leaf.Subject.String(), leaf.NotAfter.UTC().Format("2006-01-02"))
				if serverSaid {
					detail += " The server answered certificate_expired."
				}
				return &tlsdiag.Finding{
					Detail:   detail,
					Evidence: map[string]any{"subject": leaf.Subject.String(), "notAfter": leaf.NotAfter.UTC(), "alert": a.AlertReceived},
					Fix:      []string{fmt.Sprintf("Renew the client certificate %q and upload it with its key to %s (new alias, then update <KeyAlias>, or a new keystore behind the reference).", leaf.Subject.String(), keystoreName(c))},
				}
			},
		},
		{
			ID:       ClientCertMissing,
			Title:    "The server requires a client certificate and the client has none",
			Severity: tlsdiag.SeverityError,
			HiddenBy: clientHiddenBy,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				if c.Expect.ClientCert != nil || a.ClientCertSent != 0 {
					return nil
				}
				if !refusedAfterRequest(a, missingAlerts) && !httpRefused(a, httpNoCert) {
					return nil
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("The server sent a CertificateRequest; the client answered with an empty Certificate (no client certificate is configured) and the server refused the connection (%s).", failureText(a)),
					Evidence: map[string]any{
						"acceptableCAs":  a.CertRequest.AcceptableCAs,
						"clientCertSent": a.ClientCertSent,
						"alert":          a.AlertReceived,
					},
					Fix: []string{
						"Configure two-way TLS for the target: in its SSLInfo set <ClientAuthEnabled>true</ClientAuthEnabled>, <KeyStore> (or a reference) holding a client certificate and key, and <KeyAlias> naming that entry (doctor: --client-cert/--client-key or --keystore).",
						fmt.Sprintf("The certificate must be issued by one of the CAs the server accepts: %s.", listOrNone(a.CertRequest.AcceptableCAs)),
					},
				}
			},
		},
		{
			ID:       ClientCertIssuer,
			Title:    "The client's certificate is not issued by a CA the server accepts",
			Severity: tlsdiag.SeverityError,
			HiddenBy: append([]string{ClientCertExpired}, clientHiddenBy...),
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				leaf := clientLeaf(c)
				if leaf == nil || a.CertRequest == nil || a.ClientCertSent != 0 || len(a.CertRequest.AcceptableCAs) == 0 {
					return nil
				}
				if a.Completed && a.AlertReceived == nil && !httpRefused(a, httpNoCert) {
					return nil // the server does not insist
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("The client's certificate is issued by %q, which is not among the %d CA names the server accepts, so the client sent none (Certificate Length: 0) and the server refused the connection (%s).",
						leaf.Issuer.String(), len(a.CertRequest.AcceptableCAs), failureText(a)),
					Evidence: map[string]any{
						"clientCertIssuer": leaf.Issuer.String(),
						"clientCert":       leaf.Subject.String(),
						"acceptableCAs":    a.CertRequest.AcceptableCAs,
						"alert":            a.AlertReceived,
					},
					Fix: []string{
						fmt.Sprintf("Add the CA %q to the server's client-certificate truststore (nginx: ssl_client_certificate; Java: the server truststore), so it is accepted and listed.", leaf.Issuer.String()),
						fmt.Sprintf("Or put in %s a client certificate issued by one of: %s.", keystoreName(c), listOrNone(a.CertRequest.AcceptableCAs)),
					},
				}
			},
		},
		{
			ID:       ClientCertRejected,
			Title:    "The server rejected the client's certificate",
			Severity: tlsdiag.SeverityError,
			HiddenBy: append([]string{ClientCertExpired}, clientHiddenBy...),
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				if a.ClientCertSent <= 0 {
					return nil
				}
				if !refusedAfterRequest(a, rejectionAlerts) && !httpRefused(a, httpBadCert) {
					return nil
				}
				leaf := clientLeaf(c)
				subject, issuer := "", ""
				if leaf != nil {
					subject, issuer = leaf.Subject.String(), leaf.Issuer.String()
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("The client sent its certificate %q (issued by %q) and the server answered %s: the server does not trust it.",
						subject, issuer, failureText(a)),
					Evidence: map[string]any{
						"clientCert":       subject,
						"clientCertIssuer": issuer,
						"clientCertSent":   a.ClientCertSent,
						"acceptableCAs":    a.CertRequest.AcceptableCAs,
						"alert":            a.AlertReceived,
					},
					Fix: []string{
						fmt.Sprintf("Add the client certificate's issuing CA %q (and its root) to the server's client-certificate truststore.", issuer),
						fmt.Sprintf("Or configure in %s a certificate the server trusts.", keystoreName(c)),
					},
				}
			},
		},
	}
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "(the server lists none: any CA it trusts)"
	}
	return strings.Join(quoteEach(xs), "; ")
}

func quoteEach(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
