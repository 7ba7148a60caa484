package catalog

import (
	"fmt"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

// progressed reports whether b got further in the handshake than a: completed, or received
// the server's certificate where a did not.
func progressed(a, b *tlsdiag.Attempt) bool {
	if b == nil || b.DialError != "" {
		return false
	}
	if b.Completed {
		return true
	}
	return len(b.Chain) > 0 && len(a.Chain) == 0
}

func sniCauses() []tlsdiag.Cause {
	return []tlsdiag.Cause{
		{
			ID:       SNIRequired,
			Title:    "The server requires SNI and the client sends none",
			Severity: tlsdiag.SeverityError,
			HiddenBy: []string{NetworkUnreachable, NetworkTimeout, NotTLS},
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				if a.ServerName != "" || a.Completed || a.DialError != "" || len(a.Chain) > 0 {
					return nil
				}
				with := c.Attempt(tlsdiag.AttemptWithSNI)
				if !progressed(a, with) {
					return nil
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("Without server_name the server aborts the handshake (%s); with server_name %q it answers.",
						failureText(a), with.ServerName),
					Evidence: map[string]any{
						"withoutSNI": map[string]any{"step": a.Step, "alert": a.AlertReceived, "closed": a.Closed},
						"withSNI":    map[string]any{"serverName": with.ServerName, "step": with.Step, "completed": with.Completed},
					},
					Fix: []string{
						fmt.Sprintf("Send SNI to this target: enable SNI in the target server's SSLInfo (in Apigee Edge, the organization property features.isSNIEnabled=true; doctor: drop --no-sni), with %q as the name.", with.ServerName),
						"Or configure a default certificate on the server for clients that send no server_name.",
					},
				}
			},
		},
		{
			ID:       SNIDefaultCertificate,
			Title:    "Without SNI the server returns its default certificate",
			Severity: tlsdiag.SeverityError,
			HiddenBy: []string{NetworkUnreachable, NetworkTimeout, NotTLS},
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				if a.ServerName != "" || len(a.Chain) == 0 || pathOK(c) {
					return nil
				}
				with := c.Attempt(tlsdiag.AttemptWithSNI)
				if with == nil || len(with.Chain) == 0 {
					return nil
				}
				if pki.Fingerprint(with.Chain[0]) == pki.Fingerprint(a.Chain[0]) {
					return nil
				}
				if c.Expect.ServerName != "" && !pki.MatchHost(with.Chain[0], c.Expect.ServerName).OK {
					return nil
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("Without server_name the server sends %q; with server_name %q it sends %q, the certificate the client expects.",
						a.Chain[0].Subject.String(), with.ServerName, with.Chain[0].Subject.String()),
					Evidence: map[string]any{
						"withoutSNI": pki.Summarize(a.Chain[0]),
						"withSNI":    pki.Summarize(with.Chain[0]),
						"serverName": with.ServerName,
					},
					Fix: []string{
						fmt.Sprintf("Send SNI to this target: enable SNI in the target server's SSLInfo (in Apigee Edge, the organization property features.isSNIEnabled=true; doctor: drop --no-sni), so the server picks the certificate for %q.", with.ServerName),
						"Or make the certificate for this name the server's default (the first server block or default_server in nginx).",
					},
				}
			},
		},
	}
}

func pathOK(c *tlsdiag.Context) bool {
	return c.Path != nil && c.Path.OK && (c.Host == nil || c.Host.OK)
}

func failureText(a *tlsdiag.Attempt) string {
	switch {
	case a.AlertReceived != nil:
		return "alert " + a.AlertReceived.Name
	case a.HTTP != nil && a.HTTP.Status >= 400:
		if a.HTTP.Title != "" {
			return fmt.Sprintf("the handshake completed, then every request is refused with HTTP %d %q", a.HTTP.Status, a.HTTP.Title)
		}
		return fmt.Sprintf("the handshake completed, then every request is refused with %q", a.HTTP.Line)
	case a.Closed != "":
		return "connection closed (" + a.Closed + ")"
	case a.TimedOut:
		return "no answer"
	case a.Error != "":
		return a.Error
	}
	return "failure"
}
