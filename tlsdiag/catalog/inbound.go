package catalog

import "sync"

// The inbound cause IDs: failures of a handshake in which the gateway is the server and an
// API client starts the handshake towards one of its virtual hosts.
const (
	InboundClientCertMissing    = "inbound.clientcert.missing"
	InboundClientCertExpired    = "inbound.clientcert.expired"
	InboundClientCertUntrusted  = "inbound.clientcert.untrusted"
	InboundTruststoreStale      = "inbound.truststore.stale"
	InboundProtocolMismatch     = "inbound.protocol.mismatch"
	InboundCipherMismatch       = "inbound.cipher.mismatch"
	InboundSNIUnknown           = "inbound.sni.unknown"
	InboundCertRejectedByClient = "inbound.cert.rejected-by-client"
)

// inboundTitles are the one-line titles of the inbound causes.
var inboundTitles = map[string]string{
	InboundClientCertMissing:    "The virtual host requires a client certificate and the client sent none",
	InboundClientCertExpired:    "The client's certificate has expired",
	InboundClientCertUntrusted:  "The client's certificate does not chain to the virtual host's truststore",
	InboundTruststoreStale:      "A gateway node serves an older keystore or truststore than the one stored",
	InboundProtocolMismatch:     "The client offered no protocol version the virtual host accepts",
	InboundCipherMismatch:       "The client offered no cipher suite the virtual host accepts",
	InboundSNIUnknown:           "The client's server_name matches no host alias",
	InboundCertRejectedByClient: "The client aborted after receiving the gateway's certificate",
}

// inboundIDs lists the inbound causes in the order of shared/CAUSES.md.
var inboundIDs = []string{
	InboundClientCertMissing, InboundClientCertExpired, InboundClientCertUntrusted,
	InboundTruststoreStale, InboundProtocolMismatch, InboundCipherMismatch,
	InboundSNIUnknown, InboundCertRejectedByClient,
}

// IDs returns every cause ID of the catalog, outbound (in report order) then inbound.
func IDs() []string {
	var ids []string
	for _, c := range Outbound() {
		ids = append(ids, c.ID)
	}
	return append(ids, inboundIDs...)
}

// Known reports whether id is a cause ID of the catalog.
func Known(id string) bool {
	return Title(id) != ""
}

var (
	titlesOnce sync.Once
	titles     map[string]string
)

// Title returns the one-line title of the cause id, or "" when id is unknown.
func Title(id string) string {
	titlesOnce.Do(func() {
		titles = make(map[string]string, len(inboundTitles)+len(inboundIDs))
		for _, c := range Outbound() {
			titles[c.ID] = c.Title
		}
		for id, t := range inboundTitles {
			titles[id] = t
		}
	})
	return titles[id]
}
