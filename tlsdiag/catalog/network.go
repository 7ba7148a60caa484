package catalog

import (
	"fmt"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

func networkCauses() []tlsdiag.Cause {
	return []tlsdiag.Cause{
		{
			ID:       NetworkUnreachable,
			Title:    "No TCP connection to the server",
			Severity: tlsdiag.SeverityError,
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				if a.DialError == "" || a.DialErrorKind == "timeout" {
					return nil
				}
				why := map[string]string{
					"refused":     "the connection was refused: nothing listens on that port, or a firewall rejects it",
					"dns":         "the host name does not resolve",
					"unreachable": "there is no route to the host",
				}[a.DialErrorKind]
				if why == "" {
					why = "the connection could not be opened"
				}
				fix := []string{
					fmt.Sprintf("Check that the server listens on %s (on the server: ss -ltnp | grep :PORT) and that no firewall rejects the connection.", c.Facts.Address),
					"Check the host and port of the target (the target server's host and port, or the target endpoint's URL).",
				}
				if a.DialErrorKind == "dns" {
					fix = []string{"Correct the host name of the target, or make it resolvable from the gateway (DNS or /etc/hosts); to test an address directly, use --connect HOST:PORT."}
				}
				return &tlsdiag.Finding{
					Detail:   fmt.Sprintf("No TLS handshake was possible: %s (%s).", why, a.DialError),
					Evidence: map[string]any{"address": c.Facts.Address, "error": a.DialError, "kind": a.DialErrorKind},
					Fix:      fix,
				}
			},
		},
		{
			ID:       NetworkTimeout,
			Title:    "The server did not complete the handshake in time",
			Severity: tlsdiag.SeverityError,
			HiddenBy: []string{NetworkUnreachable},
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a := c.Configured
				switch {
				case a.DialErrorKind == "timeout":
					return &tlsdiag.Finding{
						Detail:   fmt.Sprintf("The TCP connection to %s was not established in time: packets are dropped (a filtering firewall) or the host is down.", c.Facts.Address),
						Evidence: map[string]any{"address": c.Facts.Address, "step": tlsdiag.StepConnect, "error": a.DialError},
						Fix: []string{
							"Check that a firewall or security group lets the gateway reach the port, and that the host is up.",
						},
					}
				case a.TimedOut && a.NotTLS == nil && a.AlertReceived == nil:
					return &tlsdiag.Finding{
						Detail:   fmt.Sprintf("TCP connected to %s but the handshake stalled at step %q: the server is silent (not a TLS port, overloaded, or a middlebox holds the connection).", c.Facts.Address, a.Step),
						Evidence: map[string]any{"address": c.Facts.Address, "step": a.Step, "error": a.Error},
						Fix: []string{
							"Check that this port serves TLS (a plain-text service waiting for the client to speak first stays silent).",
							"Check the server's load and any proxy or load balancer in front of it; raise --timeout if the server is merely slow.",
						},
					}
				}
				return nil
			},
		},
		{
			ID:       NotTLS,
			Title:    "The server does not speak TLS on this port",
			Severity: tlsdiag.SeverityError,
			HiddenBy: []string{NetworkUnreachable},
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				n := c.Configured.NotTLS
				if n == nil {
					return nil
				}
				fix := []string{"Point the target at the server's TLS port, or, if the backend really serves plain text, use an http:// URL (no SSLInfo) for it."}
				if n.Guess == "HTTP" {
					fix = []string{"This port serves plain HTTP: use the backend's HTTPS port, or an http:// target URL with SSLInfo disabled if plain HTTP is intended."}
				}
				return &tlsdiag.Finding{
					Detail:   fmt.Sprintf("The server answered the ClientHello with %s data, not a TLS record: %q.", n.Guess, n.FirstBytes),
					Evidence: map[string]any{"firstBytes": n.FirstBytes, "protocol": n.Guess},
					Fix:      fix,
				}
			},
		},
	}
}
