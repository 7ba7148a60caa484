package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Failure is one failed inbound handshake, classified.
type Failure struct {
	Time          time.Time
	Client, Local string // addresses
	ServerName    string // the client's server_name, "" when it sent none
	VirtualHost   string // the virtual host the name picked, "" when none

	// Cause is an ID of shared/CAUSES.md: an inbound.* cause; tls.not-tls when the client
	// does not speak TLS; network.timeout when it did not complete the handshake within
	// HandshakeTimeout; alert.unclassified for an alert nothing else explains; "" when the
	// client closed the connection without a failure to explain (before any ClientHello,
	// say: a TCP health check).
	Cause  string
	Title  string // the cause's one-line title
	Detail string // the evidence and the fix, in sentences

	// Offered is what the ClientHello offered, Accepted what the virtual host accepts
	// (suites: for the version that would have been negotiated), by IANA name.
	Offered  struct{ Versions, Suites []string }
	Accepted struct{ Versions, Suites []string }

	Alert string // "sent protocol_version", "received unknown_ca", or ""
	Err   string // crypto/tls's error
}

// Titles of the causes an inbound failure may have beyond the inbound.* ones, written
// from the gateway's side (the catalog's titles of these IDs speak of a server).
var causeTitles = map[string]string{
	catalog.NotTLS:            "The client does not speak TLS on this port",
	catalog.NetworkTimeout:    "The client did not complete the handshake in time",
	catalog.AlertUnclassified: "The handshake failed with an alert the catalog does not explain",
	"":                        "The client closed the connection without completing a handshake",
}

func title(cause string) string {
	if t, ok := causeTitles[cause]; ok {
		return t
	}
	return catalog.Title(cause)
}

// rejectionAlerts are the alerts a client sends when it refuses the server's certificate.
var rejectionAlerts = map[uint8]bool{
	42: true, // bad_certificate
	43: true, // unsupported_certificate
	44: true, // certificate_revoked
	45: true, // certificate_expired
	46: true, // certificate_unknown
	48: true, // unknown_ca
}

// classify explains a failed handshake from what GetConfigForClient saw, what crossed the
// wire and crypto/tls's error.
func (l *Listener) classify(st *handshakeState, wc *wireConn, err error) Failure {
	f := Failure{Time: l.now(), ServerName: st.serverName, Err: err.Error()}
	if st.hello {
		f.Offered.Versions = versionNames(st.versions)
		f.Offered.Suites = suiteNames(st.suites)
	}
	recv, gotRecv := alertFrom(err, "remote error")
	if !gotRecv {
		recv, gotRecv = wc.in.fatal()
	}
	sent, gotSent := sentAlert(wc, err)
	switch {
	case gotRecv:
		f.Alert = "received " + tlswire.AlertName(recv)
	case gotSent:
		f.Alert = "sent " + tlswire.AlertName(sent)
	}
	vh := st.vhost
	if vh != nil {
		f.VirtualHost = vh.Name
		f.Accepted.Versions = versionNames(acceptedVersions(vh))
	}

	switch {
	case !st.hello:
		l.classifyNoHello(&f, st, wc, err)
	case vh == nil && len(st.aliases) == 0:
		f.Cause = catalog.InboundSNIUnknown
		f.Detail = fmt.Sprintf("The client asked for %q but this port serves no virtual host with TLS on; the gateway refused with unrecognized_name. Fix: give the port's virtual host a keystore and key alias (SSLInfo), or call the port that serves TLS.", st.serverName)
	case vh == nil:
		f.Cause = catalog.InboundSNIUnknown
		f.Detail = fmt.Sprintf("The client asked for %q, which is no host alias of this port; the gateway refused with unrecognized_name. The port's virtual hosts are: %s. Fix: call one of these names, or add %q as a host alias of the virtual host that should serve it.",
			st.serverName, strings.Join(st.aliases, "; "), st.serverName)
	default:
		l.classifyWithHost(&f, st, wc, err, recv, gotRecv, gotSent)
	}
	f.Title = title(f.Cause)
	return f
}

// classifyNoHello explains a connection that never delivered a ClientHello.
func (l *Listener) classifyNoHello(f *Failure, st *handshakeState, wc *wireConn, err error) {
	first := wc.first
	var rhe tls.RecordHeaderError
	switch {
	case len(first) >= 3 && first[0]&0x80 != 0 && first[2] == 1:
		// An SSL 2.0 CLIENT-HELLO (RFC 6101 appendix E.2): a two-byte length with the
		// high bit set, then message type 1.
		f.Cause = catalog.InboundProtocolMismatch
		f.Offered.Versions = []string{tlswire.VersionName(tlswire.VersionSSL20)}
		vh := Match(l.current(), "")
		accepted := "TLSv1.2, TLSv1.3"
		if vh != nil {
			f.Accepted.Versions = versionNames(acceptedVersions(vh))
			accepted = strings.Join(f.Accepted.Versions, ", ")
		}
		f.Detail = fmt.Sprintf("The client sent an SSL 2.0 ClientHello; the gateway accepts %s. Fix: upgrade the client (or its TLS library) so that it speaks TLS 1.2 or later.", accepted)
	case errors.As(err, &rhe) || (len(first) > 0 && first[0] != 22):
		f.Cause = catalog.NotTLS
		guess := tlswire.GuessProtocol(first)
		st.plainHTTP = guess == "HTTP"
		what := "something that is not TLS"
		switch guess {
		case "HTTP":
			what = "a plain HTTP request"
		case "unknown":
		default:
			what = guess
		}
		f.Detail = fmt.Sprintf("The client sent %s to the TLS port: \"%s\".", what, tlswire.Printable(first))
		if st.plainHTTP {
			f.Detail += " The gateway answered nginx's \"400 The plain HTTP request was sent to HTTPS port\". Fix: call the virtual host with https://."
		} else {
			f.Detail += " Fix: point the client at a port that speaks its protocol, or make it use TLS."
		}
	case isTimeout(err):
		f.Cause = catalog.NetworkTimeout
		f.Detail = fmt.Sprintf("The client sent %d bytes and no complete ClientHello within %s; the gateway closed the connection. A client that connects and stays silent, or trickles, looks like this; so does a client waiting for the server to speak first (a non-TLS protocol).", len(first), l.timeout)
	case len(first) == 0 && errors.Is(err, io.EOF):
		f.Detail = "The client closed the connection without sending anything (a TCP health check or a port scan)."
	default:
		f.Detail = fmt.Sprintf("The client's first message was not a ClientHello the gateway could read (%v); first bytes \"%s\".", err, tlswire.Printable(first))
	}
}

// classifyWithHost explains a failure after the ClientHello picked a virtual host.
func (l *Listener) classifyWithHost(f *Failure, st *handshakeState, wc *wireConn, err error, recv uint8, gotRecv, gotSent bool) {
	vh := st.vhost
	common := intersect(st.versions, acceptedVersions(vh))
	if len(common) == 0 {
		f.Cause = catalog.InboundProtocolMismatch
		for _, v := range acceptedVersions(vh) {
			f.Accepted.Suites = appendNew(f.Accepted.Suites, suiteNames(acceptedSuites(vh, v))...)
		}
		f.Detail = fmt.Sprintf("The client offered %s; virtual host %q accepts %s. Fix: upgrade the client to a version the virtual host accepts or, if it cannot be, add its version to the virtual host's ssl_protocols property (<Protocols> of its SSLInfo).",
			list(f.Offered.Versions), vh.Name, list(f.Accepted.Versions))
		return
	}
	v := slices.Max(common)
	acc := acceptedSuites(vh, v)
	f.Accepted.Suites = suiteNames(acc)
	if len(intersect(st.suites, acc)) == 0 {
		f.Cause = catalog.InboundCipherMismatch
		f.Detail = fmt.Sprintf("In %s the client offered %s; virtual host %q accepts %s.",
			tlswire.VersionName(v), list(f.Offered.Suites), vh.Name, list(f.Accepted.Suites))
		if auth := certAuth(vh.Cert); v != tls.VersionTLS13 && auth != "" && offersOtherAuth(st.suites, vh, v, auth) {
			f.Detail += fmt.Sprintf(" The client's suites need a certificate with another key type, while the certificate (%s) has an %s key.", orUnnamed(vh.CertFrom), auth)
		}
		f.Detail += " Fix: configure the client to offer one of the accepted suites or, if it cannot be, add one of its suites to the virtual host's ssl_ciphers property (<Ciphers> of its SSLInfo)."
		return
	}
	switch {
	case gotRecv && rejectionAlerts[recv]:
		f.Cause = catalog.InboundCertRejectedByClient
		f.Detail = rejectionDetail(vh, st.serverName, fmt.Sprintf("The client refused the certificate of virtual host %q (%s) with the alert %s (%s).",
			vh.Name, orUnnamed(vh.CertFrom), tlswire.AlertName(recv), tlswire.AlertDescription(recv)))
	case isTimeout(err):
		f.Cause = catalog.NetworkTimeout
		f.Detail = fmt.Sprintf("The client did not complete the handshake within %s after its ClientHello (the gateway had sent %d bytes). Fix: look for a slow or stalled client, or a middlebox holding the connection.", l.timeout, wc.written)
	case gotSent && noCommonGroup(st.curves, v):
		f.Cause = catalog.InboundCipherMismatch
		f.Detail = groupDetail(st.curves, v, vh)
	case gotRecv || gotSent:
		f.Cause = catalog.AlertUnclassified
		f.Detail = fmt.Sprintf("The handshake with virtual host %q failed with the alert %s (%v). Offered groups: %v.", vh.Name, f.Alert, err, st.curves)
	case wc.written > 0:
		f.Detail = fmt.Sprintf("The client closed the connection after the gateway's certificate (%s) without an alert. A client that refuses the certificate without saying so (curl checks the host name after the handshake; some clients just close) looks like this; compare the name it asked for, %q, with the certificate's names.", orUnnamed(vh.CertFrom), st.serverName)
	default:
		f.Detail = fmt.Sprintf("The client closed the connection after its ClientHello: %v.", err)
	}
}

// groups are the key exchange groups crypto/tls (Go 1.26) accepts by default in TLS 1.3,
// and the elliptic curves it accepts for ECDHE in TLS 1.2 (hybrids are TLS 1.3 only).
var (
	groups13 = []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024, tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}
	groups12 = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}
)

func acceptedGroups(v uint16) []tls.CurveID {
	if v == tls.VersionTLS13 {
		return groups13
	}
	return groups12
}

// noCommonGroup reports whether a ClientHello for version v offered no key exchange group
// the gateway accepts: in TLS 1.3 no handshake is possible; in TLS 1.2 no ECDHE suite,
// the only kind the gateway offers. (A TLS 1.2 client that sends no supported_groups
// offers no curve.)
func noCommonGroup(offered []tls.CurveID, v uint16) bool {
	if v == tls.VersionTLS13 && len(offered) == 0 {
		return false // without groups a TLS 1.3 ClientHello is malformed: another failure
	}
	for _, g := range offered {
		if slices.Contains(acceptedGroups(v), g) {
			return false
		}
	}
	return true
}

// groupDetail explains a failure for want of a common key exchange group.
func groupDetail(offered []tls.CurveID, v uint16, vh *VirtualHost) string {
	names := func(gs []tls.CurveID) string {
		var out []string
		for _, g := range gs {
			out = append(out, tlswire.GroupName(uint16(g)))
		}
		return strings.Join(out, ", ")
	}
	var b strings.Builder
	if len(offered) == 0 {
		fmt.Fprintf(&b, "In %s the client offered no elliptic curve (no supported_groups extension), so the ECDHE suites it shares with virtual host %q cannot be used.", tlswire.VersionName(v), vh.Name)
	} else {
		fmt.Fprintf(&b, "In %s the client offered the key exchange groups %s; the gateway accepts %s. The versions and suites would have matched, but no key exchange is possible.", tlswire.VersionName(v), names(offered), names(acceptedGroups(v)))
	}
	b.WriteString(" Fix: configure the client to offer X25519 or P-256 (secp256r1), which every current client supports; finite-field groups (ffdhe*) are not available on the gateway.")
	return b.String()
}

// rejectionDetail follows opening (how the client refused) with the comparison of the
// name the client asked for ("" when it sent none) with the certificate's names, and the
// chain the gateway sent.
func rejectionDetail(vh *VirtualHost, name, opening string) string {
	var b strings.Builder
	b.WriteString(opening)
	leaf := leafOf(vh.Cert)
	var chain []string
	top := leaf
	for i, der := range vh.Cert.Certificate {
		c := leaf
		if i > 0 || c == nil {
			c = parseCert(der)
		}
		if c == nil {
			chain = append(chain, "(unparsable)")
			continue
		}
		top = c
		chain = append(chain, fmt.Sprintf("%s (issued by %s)", c.Subject, c.Issuer))
	}
	nameOK := true
	if leaf != nil && name == "" {
		b.WriteString(" The client sent no server_name, so it got the certificate of the port's first virtual host.")
	} else if leaf != nil {
		hr := pki.MatchHost(leaf, name)
		nameOK = hr.OK
		if hr.OK {
			fmt.Fprintf(&b, " The name it asked for, %q, matches the certificate, so the client does not trust the chain.", name)
		} else {
			var why []string
			for _, c := range hr.Checks {
				why = append(why, c.Kind+" "+c.Name+": "+c.Reason)
			}
			if len(why) == 0 {
				why = append(why, "the certificate has no name")
			}
			fmt.Fprintf(&b, " The name it asked for, %q, does not match the certificate (%s).", name, strings.Join(why, "; "))
		}
	}
	fmt.Fprintf(&b, " Chain sent: %s.", strings.Join(chain, " <- "))
	switch {
	case !nameOK:
		fmt.Fprintf(&b, " Fix: have the client call a name the certificate holds, or reissue the certificate of %s with %q among its names.", orUnnamed(vh.CertFrom), name)
	case top != nil && top.Subject.String() != top.Issuer.String():
		fmt.Fprintf(&b, " Fix: add the CA %s, which issued the last certificate sent, to the client's truststore; if the client trusts it already, check that %s holds every intermediate between the leaf and that CA.", top.Issuer, orUnnamed(vh.CertFrom))
	default:
		fmt.Fprintf(&b, " Fix: add %s to the client's truststore, or replace the certificate of %s with one issued by a CA the client trusts.", top.Subject, orUnnamed(vh.CertFrom))
	}
	return b.String()
}

// offersOtherAuth reports whether the client offered suites the virtual host would accept
// in version v with a certificate of another key type than auth.
func offersOtherAuth(offered []uint16, vh *VirtualHost, v uint16, auth tlswire.Authentication) bool {
	conf := vh.Ciphers
	if len(conf) == 0 {
		conf = defaultSuites()
	}
	for _, id := range intersect(offered, conf) {
		if s, ok := tlswire.SuiteByID(id); ok && s.SupportsVersion(v) && s.Auth != auth {
			return true
		}
	}
	return false
}

// current returns the virtual hosts with a certificate.
func (l *Listener) current() []*VirtualHost {
	var out []*VirtualHost
	if l.vhosts != nil {
		for _, vh := range l.vhosts() {
			if vh != nil && vh.Cert != nil {
				out = append(out, vh)
			}
		}
	}
	return out
}

// alertFrom returns the alert carried by the *net.OpError crypto/tls returns for an alert
// received ("remote error") or sent ("local error").
func alertFrom(err error, op string) (uint8, bool) {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Err == nil {
		return 0, false
	}
	// crypto/tls's alert type is unexported; it is a uint8 holding the alert's code.
	v := reflect.ValueOf(oe.Err)
	if v.Kind() != reflect.Uint8 || v.Type().PkgPath() != "crypto/tls" {
		return 0, false
	}
	return uint8(v.Uint()), true
}

// sentAlert returns the fatal alert the gateway sent: seen in plaintext on the wire, or
// named by crypto/tls's error.
func sentAlert(wc *wireConn, err error) (uint8, bool) {
	if a, ok := wc.out.fatal(); ok {
		return a, true
	}
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return uint8(ae), true
	}
	return alertFrom(err, "local error")
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// versionNames names versions, GREASE values left out.
func versionNames(vs []uint16) []string {
	var out []string
	for _, v := range vs {
		if !tlswire.IsGREASE(v) {
			out = append(out, tlswire.VersionName(v))
		}
	}
	return out
}

// suiteNames names suites by IANA name, GREASE and signalling values left out.
func suiteNames(ids []uint16) []string {
	var out []string
	for _, id := range ids {
		if tlswire.IsGREASE(id) {
			continue
		}
		if s, ok := tlswire.SuiteByID(id); ok && s.Signalling {
			continue
		}
		out = append(out, tlswire.SuiteName(id))
	}
	return out
}

func intersect(a, b []uint16) []uint16 {
	var out []uint16
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func appendNew(dst []string, xs ...string) []string {
	for _, x := range xs {
		if !slices.Contains(dst, x) {
			dst = append(dst, x)
		}
	}
	return dst
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	return strings.Join(xs, ", ")
}

func orUnnamed(from string) string {
	if from == "" {
		return "keystore not named"
	}
	return from
}
