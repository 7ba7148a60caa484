package inbound

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// closeWatch is how long, after a handshake whose certificate lacks the name the client
// asked for, the listener waits for the client's first bytes: a client that checks the
// name itself after the handshake (curl) closes at once, with close_notify or without.
const closeWatch = 2 * time.Second

// refusedAfterHandshake recognises a client that completed the handshake and then closed
// the connection without a request, when the certificate sent does not hold the name it
// asked for (its server_name, or without one the address it connected to): curl's
// "SSL: no alternative certificate subject name matches target host name". It returns
// the failure to report. Connections whose certificate holds the name are never held.
func (l *Listener) refusedAfterHandshake(tc *tls.Conn, st *handshakeState, wc *wireConn) (Failure, bool) {
	vh := st.vhost
	if vh == nil {
		return Failure{}, false
	}
	leaf := leafOf(vh.Cert)
	name := st.serverName
	if name == "" {
		name, _, _ = net.SplitHostPort(wc.LocalAddr().String())
	}
	if leaf == nil || name == "" || pki.MatchHost(leaf, name).OK {
		return Failure{}, false
	}
	v := tc.ConnectionState().Version
	// The client's first record may have come with its Finished, read by the handshake.
	how := ""
	if wc.in.nh == 0 && wc.in.left == 0 && alertShaped(wc.in.lastType, wc.in.lastLen, v) {
		how = "close_notify, right after its Finished"
	} else {
		how = peekClose(wc.Conn, v, closeWatch)
	}
	if how == "" {
		return Failure{}, false
	}
	f := Failure{Time: l.now(), Client: wc.RemoteAddr().String(), Local: wc.LocalAddr().String(), ServerName: st.serverName,
		VirtualHost: vh.Name, Cause: catalog.InboundCertRejectedByClient, Err: "the client closed the connection after the handshake: " + how}
	if strings.Contains(how, "close_notify") {
		f.Alert = "received close_notify"
	}
	f.Title = title(f.Cause)
	f.Offered.Versions = versionNames(st.versions)
	f.Offered.Suites = suiteNames(st.suites)
	f.Accepted.Versions = versionNames(acceptedVersions(vh))
	opening := fmt.Sprintf("The client completed the handshake with virtual host %q (%s), then closed the connection without a request (%s). Clients that check the server's name themselves after the handshake refuse a certificate this way, without a certificate alert (curl: \"SSL: no alternative certificate subject name matches target host name\").",
		vh.Name, orUnnamed(vh.CertFrom), how)
	if st.serverName == "" {
		opening += fmt.Sprintf(" It sent no server_name, as clients do when they connect to an IP address: the name compared is the address it connected to, %s.", name)
	}
	f.Detail = rejectionDetail(vh, name, opening)
	return f, true
}

// alertShaped reports whether a record of type typ and length n, sent by the client after
// the handshake, is an alert: of type alert (21) up to TLS 1.2; in TLS 1.3, where every
// record is application_data (23), one whose length is that of an encrypted alert (two
// bytes, the inner type and a 16-byte tag).
func alertShaped(typ byte, n int, v uint16) bool {
	if v == tls.VersionTLS13 {
		return typ == 23 && n == 2+1+16
	}
	return typ == 21
}
