package catalog

import (
	"fmt"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// fallbackCauses hold alert.unclassified, which reports a failed handshake none of the other
// causes explains. It must come last: it is hidden by every other cause.
func fallbackCauses() []tlsdiag.Cause {
	return []tlsdiag.Cause{{
		ID:       AlertUnclassified,
		Title:    "The handshake failed for a reason the catalog does not explain",
		Severity: tlsdiag.SeverityError,
		HiddenBy: []string{
			NetworkUnreachable, NetworkTimeout, NotTLS, ProtocolMismatch, CipherMismatch, SNIRequired,
			SNIDefaultCertificate, ChainIncomplete, ChainWrongIntermediate, TruststoreMissingRoot,
			TruststoreEmpty, HostnameMismatch, CertExpired, CertNotYetValid, CertInsecureSignature,
			ClientCertMissing, ClientCertIssuer, ClientCertRejected, ClientCertExpired, ClientCertKeyMismatch,
		},
		Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
			a := c.Configured
			if a.Completed || a.DialError != "" {
				return nil
			}
			if c.Path != nil && (!c.Path.OK || (c.Host != nil && !c.Host.OK)) {
				// The chain or the name failed but no chain cause claimed it: still report.
				return &tlsdiag.Finding{
					Detail:   fmt.Sprintf("The client refused the server's chain: %s.", a.VerifyError),
					Evidence: map[string]any{"step": a.Step, "verifyError": a.VerifyError, "alertSent": a.AlertSent},
					Fix:      []string{"Inspect the chain with tlsgate cert verify and compare it with the truststore."},
				}
			}
			ev := map[string]any{"step": a.Step, "error": a.Error}
			who := "The handshake failed"
			switch {
			case a.AlertReceived != nil:
				ev["alert"] = a.AlertReceived
				ev["sender"] = "server"
				who = fmt.Sprintf("The server sent the fatal alert %s at step %q", a.AlertReceived.Name, a.Step)
			case a.AlertSent != nil:
				ev["alert"] = a.AlertSent
				ev["sender"] = "client"
				who = fmt.Sprintf("The client sent the fatal alert %s at step %q", a.AlertSent.Name, a.Step)
			case a.Closed != "":
				ev["closed"] = a.Closed
				who = fmt.Sprintf("The server closed the connection (%s) at step %q", a.Closed, a.Step)
			}
			return &tlsdiag.Finding{
				Detail:   who + " and no known cause explains it.",
				Evidence: ev,
				Fix: []string{
					"Read the server's TLS error log at the time of the attempt: the alert's reason is often logged there.",
					"Run tlsgate doctor --scan to see the versions and suites the server accepts, or capture the handshake and run tlsgate pcap.",
				},
			}
		},
	}}
}
