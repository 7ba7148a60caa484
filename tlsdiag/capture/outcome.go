package capture

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// Connection is what a capture shows of one TCP connection: its transcript and, when the
// client spoke TLS, the facts the diagnosis engine judges.
type Connection struct {
	Client string    `json:"client"` // address:port of the side that opened the connection
	Server string    `json:"server"`
	Start  time.Time `json:"start"`

	// TLS reports whether the client spoke TLS; when it did not, Protocol guesses what it
	// spoke instead.
	TLS      bool   `json:"tls"`
	Protocol string `json:"protocol,omitempty"`

	ServerName string `json:"serverName,omitempty"` // the SNI the client sent
	Version    string `json:"version,omitempty"`    // the version the server chose
	// Outcome says in a few words how the handshake ended, as far as the capture shows.
	Outcome string `json:"outcome"`
	// Decrypted reports that the key log's secrets decrypted the TLS 1.3 handshake.
	Decrypted bool `json:"decrypted,omitempty"`

	Transcript []Entry `json:"transcript"`
	// Notes say what the capture cannot show and why (encryption, lost bytes).
	Notes []string `json:"notes,omitempty"`

	// Facts are for the engine; nil when no ClientHello was captured.
	Facts *tlsdiag.Facts `json:"-"`
	// ClientChain is the chain the client sent, when it sent one in the clear (or
	// decrypted).
	ClientChain []*x509.Certificate `json:"-"`

	// key identifies what the engine reads of the connection (see conn.key).
	key string
}

// Judged reports whether the engine can judge the connection: its ClientHello was seen.
func (c *Connection) Judged() bool { return c.Facts != nil }

// finish ends the connection and returns what was seen.
func (c *conn) finish(client, server string) *Connection {
	out := &Connection{Client: client, Server: server, Start: c.start, ClientChain: c.clientChain}
	cs := &c.halves[Client]
	switch {
	case cs.notTLS:
		out.Protocol = tlswire.GuessProtocol(cs.firstBytes)
		out.Outcome = "not TLS: the client spoke " + out.Protocol
	case c.hello == nil && c.helloV2 == nil && c.partialHello:
		out.TLS = true
		out.Outcome = "not judged: the ClientHello was not captured whole"
		c.note("The ClientHello was not captured whole (a snapshot length cut the packets, or packets were lost): what the client offered is unknown, and the handshake cannot be judged. Capture again with tcpdump -s 0.")
	case c.hello == nil && c.helloV2 == nil:
		out.TLS = cs.started
		out.Outcome = "no ClientHello in the capture"
		if cs.records > 0 || c.halves[Server].records > 0 {
			c.note("The capture holds no ClientHello for this connection (it started before the capture, or its first bytes were lost): the handshake cannot be judged.")
		}
	default:
		out.TLS = true
		a := c.attempt()
		out.ServerName = a.ServerName
		out.Version = a.Version
		out.Decrypted = c.decrypting() || c.decrypted12
		out.Outcome = c.outcome(a)
		target := server
		if a.ServerName != "" {
			if _, port, err := net.SplitHostPort(server); err == nil {
				target = net.JoinHostPort(a.ServerName, port)
			}
		}
		// X.509 validity has a resolution of one second: certificates are judged at the
		// second the connection started.
		out.Facts = &tlsdiag.Facts{Target: target, Address: server, Time: c.start.Truncate(time.Second), Attempts: []*tlsdiag.Attempt{a}}
		out.key = c.key(a, server)
	}
	if c.dropped > 0 {
		c.entries = append(c.entries, Entry{Time: seconds(c.now.Sub(c.start)), Message: "…",
			Detail: fmt.Sprintf("%d more entries not shown", c.dropped)})
	}
	for i := range c.entries {
		if e := &c.entries[i]; e.run != "" && e.Detail == "" {
			e.Detail = runDetail(e)
		}
	}
	out.Transcript = c.entries
	out.Notes = c.notes
	return out
}

// decrypting reports whether the key log's secrets opened the server's TLS 1.3 handshake
// records (the client's too, unless its secret is missing).
func (c *conn) decrypting() bool { return c.tls13 && c.serverKeys }

// attempt builds the client's attempt from what the capture showed.
func (c *conn) attempt() *tlsdiag.Attempt {
	cs, ss := &c.sides[Client], &c.sides[Server]
	a := &tlsdiag.Attempt{Name: tlsdiag.AttemptConfigured, Step: c.step, ClientCertSent: -1,
		AlertReceived: ss.alert, AlertSent: cs.alert, CertRequest: c.certReq, HTTP: c.http}
	switch {
	case c.hello != nil:
		a.ServerName = c.hello.ServerName
		a.OfferedVersions = ascending(offeredVersions(c.hello))
		a.OfferedSuites = suitesOf(nonGREASE(c.hello.Suites)).names
	case c.helloV2 != nil:
		a.OfferedVersions = []string{tlswire.VersionName(c.helloV2.Version)}
		for _, s := range c.helloV2.Suites() {
			a.OfferedSuites = append(a.OfferedSuites, tlswire.SuiteName(s))
		}
	}
	if c.serverHell != nil {
		a.Version, a.Suite = tlswire.VersionName(c.version), tlswire.SuiteName(c.suite)
	}
	if len(c.chain) > 0 {
		a.Chain = certsOf(c.chain)
		for _, p := range c.chain {
			a.ChainView = append(a.ChainView, p.summary)
		}
	}
	if c.certReq != nil {
		a.ClientCertSent = c.clientSent
	}
	a.Duration = c.now.Sub(c.start)
	if n := c.halves[Server].firstBytes; c.halves[Server].notTLS {
		a.NotTLS = &tlsdiag.NotTLS{FirstBytes: tlswire.Printable(n), Guess: tlswire.GuessProtocol(n)}
	}
	switch {
	case c.tls13 && !c.decrypting():
		c.inferTLS13(a)
	default:
		a.Completed = cs.finished && ss.finished && cs.alert == nil && ss.alert == nil && !(ss.encAlert && !cs.finished)
		if ss.encAlert && !a.Completed && ss.alert == nil {
			a.Error = "the server sent an encrypted alert: its description is hidden"
		}
	}
	switch {
	case !a.Completed || cs.appData > 0 || cs.closed == "":
	case cs.closedEarly:
		c.clientQuit = true
		c.note("The handshake completed, then the client sent close_notify and closed the connection before sending any data: it most likely refused the server's certificate after the handshake (curl checks the host name then), or had nothing to send.")
	case cs.encAlert:
		c.clientQuit = true
		c.note("The handshake completed, then the client sent an encrypted alert and closed the connection before sending any data: it most likely refused the server's certificate after the handshake (curl checks the host name then), or had nothing to send.")
	}
	if !a.Completed && a.AlertReceived == nil && ss.closed != "" && c.firstCloser == Server && a.NotTLS == nil {
		a.Closed = ss.closed
	}
	if !a.Completed && a.Error == "" {
		a.Error = c.failureError(a)
	}
	if a.Completed && c.certReq != nil && c.clientSent == 0 && c.http == nil {
		c.note("The server asked for a client certificate and the client sent none, yet the handshake completed. Servers that require one at the HTTP level (nginx's \"ssl_verify_client on\") refuse the request in their encrypted answer: give the client's key log (--keylog) to read it.")
	}
	return a
}

// failureError says why a failed attempt failed when no alert says it.
func (c *conn) failureError(a *tlsdiag.Attempt) string {
	cs, ss := &c.sides[Client], &c.sides[Server]
	switch {
	case a.AlertReceived != nil || a.AlertSent != nil || a.NotTLS != nil:
		return ""
	case ss.closed != "":
		return fmt.Sprintf("the server closed the connection (%s) at step %s", ss.closed, a.Step)
	case cs.closed != "" && c.halves[Server].bytes == 0:
		a.TimedOut = true
		return fmt.Sprintf("the server sent nothing in %s; the client closed the connection (%s)", c.now.Sub(c.start).Round(time.Millisecond), cs.closed)
	case cs.closed != "":
		return fmt.Sprintf("the client closed the connection (%s) at step %s", cs.closed, a.Step)
	}
	return catalog.WireCutShort
}

// inferTLS13 judges a TLS 1.3 handshake whose encrypted part could not be read, from the
// sizes and order of the records: a server that answers the client's Finished with records
// other than an alert accepted it; one that answers with one alert-sized record, or closes,
// did not.
func (c *conn) inferTLS13(a *tlsdiag.Attempt) {
	cs, ss := &c.sides[Client], &c.sides[Server]
	c.note("TLS 1.3: the server's certificates, its CertificateRequest and the alerts after the ServerHello are encrypted; %s. Give --keylog with the client's SSLKEYLOGFILE to judge the chain and name the cause.", orDefault(c.keysNote, "the key log holds no secrets for this connection"))
	if a.AlertReceived != nil || a.AlertSent != nil {
		return // a plaintext alert said it
	}
	alert := c.alertSize()
	switch {
	case cs.encTotal == 0 && ss.closed == "" && cs.closed == "":
		a.Error = catalog.WireCutShort
	case cs.encTotal == 0:
		a.Error = catalog.WireEncrypted
	case cs.encTotal == 1 && !cs.big && !ss.afterPeer:
		a.Error = catalog.WireEncrypted
		c.note("The client answered the server's flight with one encrypted record of %d bytes, the size of an alert, instead of its Finished: it most likely refused the server's certificate or parameters.", alert)
	case ss.postBig:
		a.Completed = true
		c.note("The handshake is taken as completed: the server answered the client's Finished with %d encrypted record(s) that are not alerts (session tickets or application data).", ss.postRecords)
	case ss.postRecords > 0:
		a.Error = catalog.WireEncrypted
		c.note("The server answered the client's Finished with %d encrypted record(s) of %d bytes, the size of an alert: it most likely refused the client's certificate or its absence.", ss.postRecords, alert)
	case ss.closed != "":
		a.Error = catalog.WireEncrypted
	default:
		a.Error = catalog.WireCutShort
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// outcome says in a few words how the handshake ended.
func (c *conn) outcome(a *tlsdiag.Attempt) string {
	switch {
	case a.NotTLS != nil:
		return "failed: the server answered with " + a.NotTLS.Guess + ", not TLS"
	case a.Completed && c.tls13 && !c.decrypting():
		return "completed (inferred from the encrypted records)"
	case a.Completed && c.clientQuit:
		return "completed, then the client closed at once"
	case a.Completed && a.HTTP != nil && a.HTTP.Status >= 400:
		return fmt.Sprintf("completed, then HTTP %d", a.HTTP.Status)
	case a.Completed:
		return "completed"
	case a.AlertReceived != nil:
		return "failed: the server sent " + a.AlertReceived.Name
	case a.AlertSent != nil:
		return "failed: the client sent " + a.AlertSent.Name
	case a.Error == catalog.WireCutShort:
		return "unknown: the capture ends before the handshake does"
	case a.Error == catalog.WireEncrypted:
		return "failed after the encrypted part of the handshake"
	case a.Closed != "":
		return "failed: the server closed the connection (" + a.Closed + ")"
	case a.TimedOut:
		return "failed: the server never answered"
	}
	return "failed"
}

// ascending names versions from the oldest.
func ascending(vs []uint16) []string {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	return versionNames(slices.Compact(vs))
}

// randomHex shows a client random as key logs do.
func randomHex(r [32]byte) string { return hex.EncodeToString(r[:]) }

// key identifies everything the engine reads of the connection, its time aside: two
// connections with the same key and the same second get the same findings. It names the
// certificates by their cache identity, and the CertificateRequest by its content.
func (c *conn) key(a *tlsdiag.Attempt, server string) string {
	var b strings.Builder
	w := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
			b.WriteByte(0)
		}
	}
	var suites []byte
	switch {
	case c.hello != nil:
		for _, id := range c.hello.Suites {
			suites = append(suites, byte(id>>8), byte(id))
		}
	case c.helloV2 != nil:
		suites = []byte(strings.Join(a.OfferedSuites, ","))
	}
	w(server, a.ServerName, strings.Join(a.OfferedVersions, ","), string(suites), a.Step,
		strconv.FormatBool(a.Completed), a.Version, a.Suite, strconv.Itoa(a.ClientCertSent), a.Closed,
		strconv.FormatBool(a.TimedOut), a.Error)
	for _, p := range c.chain {
		w(strconv.FormatUint(p.id, 36))
	}
	w("client")
	for _, x := range c.clientChain {
		w(string(x.Signature))
	}
	for _, al := range []*tlsdiag.Alert{a.AlertReceived, a.AlertSent} {
		if al != nil {
			w(al.Name, al.Step)
		} else {
			w("-")
		}
	}
	if r := a.CertRequest; r != nil {
		w("cr", strings.Join(r.AcceptableCAs, "\x00"), strings.Join(r.SignatureSchemes, ","))
	}
	if h := a.HTTP; h != nil {
		w("http", h.Line, h.Title)
	}
	if n := a.NotTLS; n != nil {
		w("nottls", n.FirstBytes)
	}
	return b.String()
}
