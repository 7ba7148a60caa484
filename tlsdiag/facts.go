// Package tlsdiag turns observations of TLS handshakes into findings named by the cause catalog.
//
// Facts are what was observed (by a live probe, a capture, or the gateway's own handshake
// hooks); Expectations are what the client was configured to do. A Cause (the catalog's
// unit) recognises itself in both and produces a Finding with its evidence and its fix.
package tlsdiag

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/tlsgate/tlsgate/pki"
)

// Facts is everything observed about one endpoint.
type Facts struct {
	Target  string    `json:"target"`            // as given: host:port or URL
	Address string    `json:"address,omitempty"` // the address dialled
	Time    time.Time `json:"time"`              // when observed; certificates are judged at this time

	// Attempts are the handshakes tried, the first as configured, then the experiments
	// (without SNI, with SNI, without client certificate).
	Attempts []*Attempt `json:"attempts"`

	// Server is what crafted ClientHellos learned about the server; nil when none were sent.
	Server *ServerFacts `json:"server,omitempty"`

	// AIA are the fetches of missing issuers from the caIssuers URLs of the Authority
	// Information Access extension (RFC 5280, section 4.2.2.1), in the order made: the
	// issuer of the top certificate the server sent, then, when that issuer names its own
	// issuer's URL, up the chain. Empty when the chain built, or nothing could be fetched.
	AIA []*AIAFetch `json:"aia,omitempty"`
}

// AIAFetch is one fetch of an issuer's certificate from a caIssuers URL.
type AIAFetch struct {
	URL string `json:"url"`
	// Error says why no usable certificate came from URL: a URL not fetched (https, ldap),
	// a dial or HTTP error, a status other than 200, a body too large or too slow, content
	// that is not a certificate, or a certificate that did not issue the one naming URL.
	Error string `json:"error,omitempty"`
	// Certificate is the issuer fetched; with Error set it may hold the certificate that
	// was fetched but did not issue the one naming URL.
	Certificate *x509.Certificate `json:"-"`
	View        *pki.Summary      `json:"certificate,omitempty"`
}

// FetchedIssuers returns the issuers fetched from AIA URLs, in the order fetched.
func (f *Facts) FetchedIssuers() []*x509.Certificate {
	var out []*x509.Certificate
	for _, a := range f.AIA {
		if c := a.Issuer(); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// Issuer returns the certificate fetched when it is the missing issuer, or nil.
func (a *AIAFetch) Issuer() *x509.Certificate {
	if a == nil || a.Error != "" {
		return nil
	}
	return a.Certificate
}

// Attempt names.
const (
	AttemptConfigured        = "configured"
	AttemptWithoutSNI        = "without-sni"
	AttemptWithSNI           = "with-sni"
	AttemptWithoutClientCert = "without-client-cert"
)

// Handshake steps, in order, as the client saw them. Attempt.Step is the last step reached.
const (
	StepConnect           = "connect"            // TCP connection
	StepClientHello       = "client-hello"       // ClientHello sent, nothing read yet
	StepServerHello       = "server-hello"       // ServerHello received
	StepServerCertificate = "server-certificate" // server Certificate received and judged
	StepCertRequest       = "certificate-request"
	StepClientCertificate = "client-certificate" // client Certificate sent (possibly empty)
	StepFinished          = "finished"           // handshake complete on the client side
	StepPostHandshake     = "post-handshake"     // first read after the handshake
)

// Attempt records one handshake as the client observed it.
type Attempt struct {
	Name       string `json:"name"`
	ServerName string `json:"serverName,omitempty"` // the server_name sent; empty: none

	OfferedVersions []string `json:"offeredVersions,omitempty"`
	OfferedSuites   []string `json:"offeredSuites,omitempty"` // IANA names; empty: the library defaults

	// Dialling.
	DialError string `json:"dialError,omitempty"`
	// DialErrorKind is one of "refused", "unreachable", "dns", "timeout" when DialError is set.
	DialErrorKind string `json:"dialErrorKind,omitempty"`

	Step      string        `json:"step"`
	Completed bool          `json:"completed"` // the handshake completed and no alert followed
	Version   string        `json:"version,omitempty"`
	Suite     string        `json:"suite,omitempty"`
	Duration  time.Duration `json:"durationNs"`

	// The server's chain, as sent (leaf first).
	Chain     []*x509.Certificate `json:"-"`
	ChainView []pki.Summary       `json:"chain,omitempty"`

	// CertRequest is set when the server asked for a client certificate.
	CertRequest *CertRequest `json:"certificateRequest,omitempty"`
	// ClientCertSent is the number of certificates the client sent in answer to a
	// CertificateRequest (0: an empty Certificate message); -1 when none was requested.
	ClientCertSent int `json:"clientCertSent"`

	AlertReceived *Alert `json:"alertReceived,omitempty"`
	AlertSent     *Alert `json:"alertSent,omitempty"`

	// VerifyError is the client's verdict on the server's chain and name, when it failed.
	VerifyError string `json:"verifyError,omitempty"`

	TimedOut bool `json:"timedOut,omitempty"`
	// Closed is "eof" or "reset" when the server closed the connection without an alert.
	Closed string `json:"closed,omitempty"`

	// HTTP is the server's answer to one HTTP request sent after a handshake in which it
	// asked for a client certificate: servers such as nginx with "ssl_verify_client on"
	// complete the handshake and refuse the certificate (or its absence) at the HTTP level.
	HTTP *HTTPAnswer `json:"http,omitempty"`
	// NotTLS holds the first bytes of a reply that is not TLS.
	NotTLS *NotTLS `json:"notTLS,omitempty"`

	Error string `json:"error,omitempty"` // the library's error, verbatim
}

// Failed reports whether the attempt did not complete.
func (a *Attempt) Failed() bool { return !a.Completed }

// HTTPAnswer is the start of a server's HTTP response.
type HTTPAnswer struct {
	Status int    `json:"status"`
	Line   string `json:"line"`            // the status line
	Title  string `json:"title,omitempty"` // the HTML page's title, e.g. "400 No required SSL certificate was sent"
}

// CertRequest is what a server's CertificateRequest said.
type CertRequest struct {
	// AcceptableCAs are the distinguished names the server listed, as strings.
	AcceptableCAs    []string `json:"acceptableCAs"`
	RawAcceptableCAs [][]byte `json:"-"`
	SignatureSchemes []string `json:"signatureSchemes,omitempty"`
}

// Alert is a TLS alert and the step at which it was seen.
type Alert struct {
	Code uint8  `json:"code"`
	Name string `json:"name"` // e.g. "bad_certificate"
	Step string `json:"step,omitempty"`
}

// NotTLS describes a reply that is not TLS.
type NotTLS struct {
	FirstBytes string `json:"firstBytes"` // printable rendering of the first bytes
	Guess      string `json:"guess"`      // "HTTP", "SSH", "SMTP", ... or "unknown"
}

// ServerFacts is what crafted ClientHellos learned about the server.
type ServerFacts struct {
	// Versions lists the versions the server accepted ("SSLv3" ... "TLSv1.3") among those
	// probed; VersionsProbed lists those probed.
	Versions       []string `json:"versions,omitempty"`
	VersionsProbed []string `json:"versionsProbed,omitempty"`
	// Suites maps a version to the accepted suites by IANA name, in the server's order of
	// preference where it has one. Only versions whose suites were enumerated appear.
	Suites map[string][]string `json:"suites,omitempty"`
	// SuitesComplete is true when every IANA suite was tried for each version in Suites.
	SuitesComplete bool `json:"suitesComplete"`
	// Errors lists probes that could not conclude, with why.
	Errors []string `json:"errors,omitempty"`
}

// Expectations is what the client was configured to do: the gateway's target SSLInfo, or
// doctor's flags.
type Expectations struct {
	// ServerName is the name the client verifies (and sends in SNI unless NoSNI).
	ServerName string
	NoSNI      bool

	// Roots is the truststore; SystemRoots adds the system's roots. RootsFrom names where
	// the truststore came from (files, a keystore name), for evidence and fixes.
	Roots       []*x509.Certificate
	SystemRoots bool
	RootsFrom   []string

	// ClientCert is the client certificate and key, when the client has one.
	ClientCert *tls.Certificate
	// ClientCertFrom names where the client certificate came from.
	ClientCertFrom string
	// ClientCertProblem is set when the configured client credential could not be used
	// (key does not match the certificate, alias not found); the doctor reports it as
	// clientcert.key-mismatch.
	ClientCertProblem string

	// Protocols are the versions the client may use (tls.VersionTLS12...); empty: TLS 1.2
	// and 1.3.
	Protocols []uint16
	// Ciphers are the suites the client may offer; empty: the library defaults.
	Ciphers []uint16

	// Policy is what the client refuses in certificates.
	Policy pki.Policy
}
