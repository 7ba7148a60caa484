package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// Attempt.Error values that readers of captures set, for the wire rules below: the
// handshake's end is not in the capture, or is hidden by TLS 1.3 encryption.
const (
	WireCutShort  = "the capture ends before the handshake does"
	WireEncrypted = "the rest of the TLS 1.3 handshake is encrypted and no key log gives its secrets"
)

// The wire rules recognise causes from one handshake seen on the wire (a capture, or the
// gateway's own handshake), where the doctor's rules rely on its experiments: versions and
// suites enumerated, a second handshake with server_name. They apply only when no such
// experiment was made (Facts.Server is nil and the configured attempt is the only one),
// and only where the wire proves the cause or the finding says what it infers.

// withWireRules adds the wire rules to the causes whose doctor rules need experiments.
func withWireRules(causes []tlsdiag.Cause) []tlsdiag.Cause {
	wire := map[string]func(*tlsdiag.Context) *tlsdiag.Finding{
		ProtocolMismatch:  wireProtocolMismatch,
		CipherMismatch:    wireCipherMismatch,
		SNIRequired:       wireSNIRequired,
		AlertUnclassified: wireUnclassified,
	}
	for i := range causes {
		rule, ok := wire[causes[i].ID]
		if !ok {
			continue
		}
		probe := causes[i].Match
		if causes[i].ID == AlertUnclassified {
			causes[i].Match = func(c *tlsdiag.Context) *tlsdiag.Finding {
				if onWire(c) {
					return rule(c)
				}
				return probe(c)
			}
			continue
		}
		causes[i].Match = func(c *tlsdiag.Context) *tlsdiag.Finding {
			if f := probe(c); f != nil || !onWire(c) {
				return f
			}
			return rule(c)
		}
	}
	return causes
}

// onWire reports whether the facts are one handshake seen on the wire, without
// experiments.
func onWire(c *tlsdiag.Context) bool {
	return c.Facts.Server == nil && len(c.Facts.Attempts) <= 1
}

// refusedHello reports whether the server refused the ClientHello itself: an alert (or a
// close) before any ServerHello.
func refusedHello(a *tlsdiag.Attempt) bool {
	return !a.Completed && a.NotTLS == nil && a.Step == tlsdiag.StepClientHello && (a.AlertReceived != nil || a.Closed != "")
}

// wireProtocolMismatch: the server answered protocol_version to the ClientHello (it accepts
// none of the versions offered), or chose a version the client did not offer and the
// client aborted (with protocol_version, or whatever alert its library sends then: OpenSSL
// 3 sends internal_error).
func wireProtocolMismatch(c *tlsdiag.Context) *tlsdiag.Finding {
	a := c.Configured
	if a.Completed || len(a.OfferedVersions) == 0 {
		return nil
	}
	switch {
	case refusedHello(a) && a.AlertReceived != nil && a.AlertReceived.Name == "protocol_version":
		return &tlsdiag.Finding{
			Detail: fmt.Sprintf("The client offered %s; the server refused the ClientHello with the alert protocol_version: it accepts none of these versions. "+
				"The capture cannot show which versions it does accept (an older one, most likely).", strings.Join(a.OfferedVersions, ", ")),
			Evidence: map[string]any{
				"clientVersions": a.OfferedVersions,
				"serverVersions": []string{},
				"alert":          a.AlertReceived,
			},
			Fix: []string{
				fmt.Sprintf("Preferred: enable %s on the server.", strings.Join(a.OfferedVersions, " or ")),
				"Or let the client use an older version the server accepts: set <Protocols> in the target's SSLInfo (tlsgate doctor --scan against the server lists the versions it accepts).",
			},
		}
	case a.Version != "" && !slices.Contains(a.OfferedVersions, a.Version) && a.Step == tlsdiag.StepServerHello && a.AlertReceived == nil:
		return &tlsdiag.Finding{
			Detail: fmt.Sprintf("The client offered %s; the server chose %s, which the client does not accept, and the client aborted the handshake.",
				strings.Join(a.OfferedVersions, ", "), a.Version),
			Evidence: map[string]any{
				"clientVersions": a.OfferedVersions,
				"serverVersions": []string{a.Version},
				"alert":          a.AlertSent,
			},
			Fix: []string{
				fmt.Sprintf("Preferred: enable %s on the server (it chose %s, which is obsolete or below the client's floor).", strings.Join(a.OfferedVersions, " and "), a.Version),
				fmt.Sprintf("Or let the client use the server's version: set <Protocols><Protocol>%s</Protocol></Protocols> in the target's SSLInfo.", a.Version),
			},
		}
	case obsolete(a.Version) && a.AlertSent != nil && a.AlertReceived == nil &&
		(a.Step == tlsdiag.StepServerHello || a.Step == tlsdiag.StepServerCertificate) &&
		slices.Contains([]string{"protocol_version", "internal_error", "handshake_failure", "insufficient_security"}, a.AlertSent.Name):
		return &tlsdiag.Finding{
			Detail: fmt.Sprintf("The server chose %s, an obsolete version, and the client aborted at once with the alert %s. "+
				"The client listed %s in its ClientHello, but its library refuses it under its security policy (OpenSSL 3's default security level refuses TLS 1.0 and 1.1). "+
				"This is an inference from the alert and the version: the client's log says which.",
				a.Version, a.AlertSent.Name, a.Version),
			Evidence: map[string]any{
				"clientVersions": a.OfferedVersions,
				"serverVersions": []string{a.Version},
				"alert":          a.AlertSent,
				"inferred":       true,
			},
			Fix: []string{
				fmt.Sprintf("Preferred: enable TLSv1.2 (or TLSv1.3) on the server; %s is obsolete.", a.Version),
				fmt.Sprintf("Or, if the server cannot be upgraded, let the client accept %s (OpenSSL: CipherString DEFAULT@SECLEVEL=0 and MinProtocol %s; Java: remove it from jdk.tls.disabledAlgorithms), and set <Protocols><Protocol>%s</Protocol></Protocols> in the target's SSLInfo.", a.Version, a.Version, a.Version),
			},
		}
	}
	return nil
}

// obsolete reports whether v is older than TLS 1.2.
func obsolete(v string) bool {
	return v == "SSLv3" || v == "TLSv1.0" || v == "TLSv1.1"
}

// wireCipherMismatch: the server refused, with handshake_failure or insufficient_security,
// a ClientHello that carried a server_name and versions it could speak. The alert does not
// say which part of the offer was refused; a suite in common is the usual one missing, and
// the finding says it is an inference.
func wireCipherMismatch(c *tlsdiag.Context) *tlsdiag.Finding {
	a := c.Configured
	if !refusedHello(a) || a.AlertReceived == nil || a.ServerName == "" || len(a.OfferedSuites) == 0 {
		return nil
	}
	if n := a.AlertReceived.Name; n != "handshake_failure" && n != "insufficient_security" {
		return nil
	}
	return &tlsdiag.Finding{
		Detail: fmt.Sprintf("The server refused the ClientHello with the alert %s before choosing a suite. The client offered %s and %d suites. "+
			"The alert does not say which part of the offer the server refused; no cipher suite in common is the usual cause (the others are no shared group or signature algorithm). This is an inference from one handshake.",
			a.AlertReceived.Name, strings.Join(a.OfferedVersions, ", "), len(a.OfferedSuites)),
		Evidence: map[string]any{
			"versions":     a.OfferedVersions,
			"clientSuites": a.OfferedSuites,
			"alert":        a.AlertReceived,
			"inferred":     true,
		},
		Fix: []string{
			"Confirm with tlsgate doctor --scan against the server: it lists the suites the server accepts for each version.",
			"Then let the client offer one of them (<Ciphers> in the target's SSLInfo), or enable on the server one of the suites the client offers (listed in the evidence).",
		},
	}
}

// wireSNIRequired: the client sent no server_name and the server refused the ClientHello.
// unrecognized_name proves it; another refusal is taken as it, and the finding says so.
func wireSNIRequired(c *tlsdiag.Context) *tlsdiag.Finding {
	a := c.Configured
	if a.ServerName != "" || !refusedHello(a) {
		return nil
	}
	if al := a.AlertReceived; al != nil && al.Name == "protocol_version" {
		return nil
	}
	ev := map[string]any{"withoutSNI": map[string]any{"step": a.Step, "alert": a.AlertReceived, "closed": a.Closed}}
	detail := fmt.Sprintf("The client sent no server_name and the server refused the ClientHello (%s) before choosing a version or a certificate.", failureText(a))
	if a.AlertReceived == nil || a.AlertReceived.Name != "unrecognized_name" {
		ev["inferred"] = true
		detail += " Servers that serve names only (nginx's ssl_reject_handshake, a Go server without a default certificate) refuse so; the capture holds no handshake with server_name to prove it."
	}
	return &tlsdiag.Finding{
		Detail:   detail,
		Evidence: ev,
		Fix: []string{
			"Send SNI to this target: enable SNI in the target server's SSLInfo (in Apigee Edge, the organization property features.isSNIEnabled=true), with the server's host name.",
			"Or configure a default certificate on the server for clients that send no server_name.",
		},
	}
}

// wireUnclassified replaces alert.unclassified for handshakes seen on the wire: a capture
// cut short is no failure, and a TLS 1.3 failure hidden by encryption is said as such.
func wireUnclassified(c *tlsdiag.Context) *tlsdiag.Finding {
	a := c.Configured
	switch {
	case a.Completed || a.DialError != "" || a.Error == WireCutShort:
		return nil
	case a.Error == WireEncrypted && a.AlertReceived == nil && a.AlertSent == nil:
		return &tlsdiag.Finding{
			Detail: fmt.Sprintf("The TLS 1.3 handshake failed after the ServerHello: %s. What failed is encrypted: the server's certificates, "+
				"its CertificateRequest and the alerts. The capture alone cannot name the cause.", encryptedFailure(a)),
			Evidence: map[string]any{"step": a.Step, "version": a.Version, "closed": a.Closed, "encrypted": true},
			Fix: []string{
				"Capture again with the client's key log and give it to tlsgate pcap --keylog: SSLKEYLOGFILE=keys.log curl ..., openssl s_client -keylogfile keys.log, or Go's tls.Config.KeyLogWriter.",
				"Or run tlsgate doctor against the server with the client's truststore and certificate: it sees the handshake in the clear.",
			},
		}
	}
	return fallbackCauses()[0].Match(c)
}

func encryptedFailure(a *tlsdiag.Attempt) string {
	if a.Closed != "" {
		return "the server closed the connection (" + a.Closed + ")"
	}
	return "an encrypted record the size of an alert came, then a close"
}
