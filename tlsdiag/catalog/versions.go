package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// handshakeRefused reports whether the configured attempt failed the way servers refuse a
// ClientHello they cannot serve: an alert or a close before the server's certificate.
func handshakeRefused(a *tlsdiag.Attempt) bool {
	if a.Completed || a.DialError != "" || a.NotTLS != nil {
		return false
	}
	switch a.Step {
	case tlsdiag.StepClientHello, tlsdiag.StepServerHello:
	default:
		return false
	}
	if a.AlertReceived != nil {
		switch a.AlertReceived.Name {
		case "handshake_failure", "protocol_version", "insufficient_security", "illegal_parameter", "decode_error", "internal_error", "unrecognized_name":
			return true
		}
		return false
	}
	return a.Closed != "" || a.AlertSent != nil
}

func versionCauses() []tlsdiag.Cause {
	return []tlsdiag.Cause{
		{
			ID:       ProtocolMismatch,
			Title:    "No protocol version in common",
			Severity: tlsdiag.SeverityError,
			HiddenBy: []string{NetworkUnreachable, NetworkTimeout, NotTLS},
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a, s := c.Configured, c.Facts.Server
				if !handshakeRefused(a) || s == nil || len(s.Versions) == 0 {
					return nil
				}
				client := a.OfferedVersions
				if len(client) == 0 || intersects(client, s.Versions) {
					return nil
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("The client offers %s; the server accepts only %s.",
						strings.Join(client, ", "), strings.Join(s.Versions, ", ")),
					Evidence: map[string]any{
						"clientVersions": client,
						"serverVersions": s.Versions,
						"alert":          a.AlertReceived,
					},
					Fix: []string{
						fmt.Sprintf("Preferred: enable %s on the server (it accepts only %s, which is obsolete or below the client's floor).", strings.Join(client, " and "), strings.Join(s.Versions, ", ")),
						fmt.Sprintf("Or let the client use the server's version: set <Protocols><Protocol>%s</Protocol></Protocols> in the target's SSLInfo (doctor: --protocols %s).", s.Versions[len(s.Versions)-1], strings.Join(s.Versions, ",")),
					},
				}
			},
		},
		{
			ID:       CipherMismatch,
			Title:    "No cipher suite in common",
			Severity: tlsdiag.SeverityError,
			HiddenBy: []string{NetworkUnreachable, NetworkTimeout, NotTLS, ProtocolMismatch, SNIRequired},
			Match: func(c *tlsdiag.Context) *tlsdiag.Finding {
				a, s := c.Configured, c.Facts.Server
				if !handshakeRefused(a) || s == nil || len(a.OfferedSuites) == 0 {
					return nil
				}
				shared := sharedVersions(a.OfferedVersions, s.Versions)
				if len(shared) == 0 {
					return nil
				}
				serverSuites := map[string][]string{}
				for _, v := range shared {
					suites, ok := s.Suites[v]
					if !ok {
						return nil // not enumerated: cannot prove a mismatch
					}
					if intersects(a.OfferedSuites, suites) {
						return nil
					}
					serverSuites[v] = suites
				}
				fix := []string{
					fmt.Sprintf("Let the client offer a suite the server accepts: add one of them to <Ciphers> in the target's SSLInfo (doctor: --ciphers %s).", firstSuites(serverSuites, shared)),
					"Or enable on the server one of the suites the client offers (listed in the evidence).",
				}
				return &tlsdiag.Finding{
					Detail: fmt.Sprintf("Both sides speak %s, but none of the %d suites the client offers is accepted by the server.",
						strings.Join(shared, " and "), len(a.OfferedSuites)),
					Evidence: map[string]any{
						"versions":     shared,
						"clientSuites": a.OfferedSuites,
						"serverSuites": serverSuites,
						"alert":        a.AlertReceived,
					},
					Fix: fix,
				}
			},
		},
	}
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func sharedVersions(client, server []string) []string {
	var out []string
	for _, v := range client {
		if slices.Contains(server, v) {
			out = append(out, v)
		}
	}
	return out
}

func firstSuites(byVersion map[string][]string, order []string) string {
	for i := len(order) - 1; i >= 0; i-- {
		if s := byVersion[order[i]]; len(s) > 0 {
			return s[0]
		}
	}
	return "SUITE"
}
