package inbound

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// The messages of nginx's 400 pages for client certificates (nginx's internal statuses
// 496 and 495), the only two Edge's Router gives.
const (
	PageNoCertificate    = "No required SSL certificate was sent"
	PageCertificateError = "The SSL certificate error"
	pagePlainHTTP        = "The plain HTTP request was sent to HTTPS port"
)

// The errorcode of the JSON fault, by page. Edge's Router answers HTML only; these codes
// follow Edge's "[prefix].[error_name]" naming and nginx's two statuses, so that a client
// can tell "no certificate" from "a certificate that was refused" without parsing the
// faultstring. The precise cause is detail.cause.
const (
	ErrorCodeCertificateRequired = "router.ssl.CertificateRequired" // PageNoCertificate
	ErrorCodeCertificateError    = "router.ssl.CertificateError"    // PageCertificateError
)

// Verdict is the HTTP-level answer to a client-certificate problem, as nginx (Edge's
// Router) gives it.
type Verdict struct {
	Cause, Title, Detail string
	Page                 string // PageNoCertificate or PageCertificateError
}

// CheckClient judges the client certificate of a connection to vh at now, as nginx with
// "ssl_verify_client on" does after the handshake: nil when vh does not require one
// (ClientAuth off) or the certificate is fine. A connection with no certificate is
// inbound.clientcert.missing. A certificate whose path to vh.ClientCAs fails is
// inbound.clientcert.untrusted, unless every failure of the path is a validity period,
// which is inbound.clientcert.expired (before notBefore included): an expired certificate
// of a CA the truststore does not hold is untrusted first, since renewing it with the
// same CA would not help. The certificate must allow client authentication.
func CheckClient(state *tls.ConnectionState, vh *VirtualHost, now time.Time) *Verdict {
	if vh == nil || !vh.ClientAuth {
		return nil
	}
	from := vh.ClientCAsFrom
	if from == "" {
		from = "the virtual host's truststore"
	}
	if state == nil || len(state.PeerCertificates) == 0 {
		return &Verdict{
			Cause: catalog.InboundClientCertMissing, Title: catalog.Title(catalog.InboundClientCertMissing),
			Page: PageNoCertificate,
			Detail: fmt.Sprintf("Virtual host %q requires a client certificate and the client sent none; the gateway asked for one issued by %s (%s). Fix: configure the client with its certificate and key (curl --cert/--key, a Java keystore) issued by one of these CAs.",
				vh.Name, subjects(vh.ClientCAs), from),
		}
	}
	leaf := state.PeerCertificates[0]
	res := pki.VerifyPath(pki.PathInput{
		Sent: state.PeerCertificates, Roots: vh.ClientCAs, Now: now, KeyUsage: x509.ExtKeyUsageClientAuth,
	})
	if res.OK {
		return nil
	}
	var fatal []pki.Problem
	for _, p := range res.Problems {
		if p.Fatal() {
			fatal = append(fatal, p)
		}
	}
	expiredOnly := len(fatal) > 0
	for _, p := range fatal {
		if p.Kind != pki.ProblemExpired && p.Kind != pki.ProblemNotYetValid {
			expiredOnly = false
		}
	}
	var why []string
	for _, p := range fatal {
		why = append(why, strings.TrimSuffix(p.Detail, "."))
	}
	if len(why) == 0 {
		why = append(why, "no path to a trusted CA builds")
	}
	if expiredOnly {
		return &Verdict{
			Cause: catalog.InboundClientCertExpired, Title: catalog.Title(catalog.InboundClientCertExpired),
			Page: PageCertificateError,
			Detail: fmt.Sprintf("The client's certificate %s (issued by %s) is out of its validity at %s: %s. Fix: renew the client's certificate with the same CA and install it in the client.",
				leaf.Subject, leaf.Issuer, now.UTC().Format(time.RFC3339), strings.Join(why, "; ")),
		}
	}
	return &Verdict{
		Cause: catalog.InboundClientCertUntrusted, Title: catalog.Title(catalog.InboundClientCertUntrusted),
		Page: PageCertificateError,
		Detail: fmt.Sprintf("The client's certificate %s (issued by %s) does not chain to %s of virtual host %q, which holds %s: %s. Fix: have the client send a certificate issued by one of these CAs or, if its CA is to be trusted, add the CA's certificate to %s (and update the reference if it points elsewhere).",
			leaf.Subject, leaf.Issuer, from, vh.Name, subjects(vh.ClientCAs), strings.Join(why, "; "), from),
	}
}

func subjects(cs []*x509.Certificate) string {
	if len(cs) == 0 {
		return "no certificate"
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Subject.String())
	}
	return strings.Join(out, ", ")
}

// WriteFault answers v as Edge's Router does: status 400 with nginx's HTML page (byte for
// byte, Content-Type text/html), or, when the request's Accept prefers application/json to
// text/html, the fault
//
//	{"fault":{"faultstring":"<title>","detail":{"errorcode":"<code>","cause":"<ID>","messageid":"<id>"}}}
//
// with the errorcode ErrorCodeCertificateRequired or ErrorCodeCertificateError. The headers
// X-Tlsgate-Cause and X-Tlsgate-Message-Id (omitted when messageID is "") carry the cause
// and the message ID, and over HTTP/1 "Connection: close" closes the connection as nginx
// does. v is a verdict of CheckClient, never nil.
func WriteFault(w http.ResponseWriter, r *http.Request, v *Verdict, messageID string) {
	page := v.Page
	if page == "" {
		page = PageCertificateError
	}
	h := w.Header()
	h.Set("X-Tlsgate-Cause", v.Cause)
	if messageID != "" {
		h.Set("X-Tlsgate-Message-Id", messageID)
	}
	if r.ProtoMajor < 2 {
		h.Set("Connection", "close")
	}
	var body []byte
	if prefersJSON(r.Header.Values("Accept")) {
		code := ErrorCodeCertificateError
		if page == PageNoCertificate {
			code = ErrorCodeCertificateRequired
		}
		body = faultJSON(v.Title, code, v.Cause, messageID)
		h.Set("Content-Type", "application/json")
	} else {
		body = nginxPage(page)
		h.Set("Content-Type", "text/html")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}

func faultJSON(title, code, cause, messageID string) []byte {
	type detail struct {
		ErrorCode string `json:"errorcode"`
		Cause     string `json:"cause"`
		MessageID string `json:"messageid"`
	}
	type fault struct {
		FaultString string `json:"faultstring"`
		Detail      detail `json:"detail"`
	}
	b, _ := json.Marshal(struct {
		Fault fault `json:"fault"`
	}{fault{title, detail{code, cause, messageID}}})
	return b
}

// nginxPage is nginx's 400 page (server_tokens off) for one message.
func nginxPage(msg string) []byte {
	return []byte("<html>\r\n<head><title>400 " + msg + "</title></head>\r\n<body>\r\n" +
		"<center><h1>400 Bad Request</h1></center>\r\n<center>" + msg + "</center>\r\n" +
		"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}

// prefersJSON reports whether Accept values rank application/json above text/html (RFC
// 9110 §12.5.1: the most specific range gives a type its quality). Ties, and no Accept at
// all, go to HTML, nginx's answer.
func prefersJSON(accept []string) bool {
	qJSON, specJSON := 0.0, -1
	qHTML, specHTML := 0.0, -1
	for _, field := range accept {
		for _, item := range strings.Split(field, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(s, 64); err == nil {
					q = f
				}
			}
			if s := specificity(mt, "application/json"); s > specJSON {
				qJSON, specJSON = q, s
			}
			if s := specificity(mt, "text/html"); s > specHTML {
				qHTML, specHTML = q, s
			}
		}
	}
	return qJSON > 0 && qJSON > qHTML
}

// specificity returns how precisely media range rng covers typ: 2 exact, 1 type/*, 0 */*,
// -1 not at all.
func specificity(rng, typ string) int {
	switch {
	case rng == typ:
		return 2
	case rng == "*/*":
		return 0
	case strings.HasSuffix(rng, "/*") && strings.HasPrefix(typ, strings.TrimSuffix(rng, "*")):
		return 1
	}
	return -1
}

// answerPlainHTTP writes nginx's answer to a plain HTTP request on a TLS port, then
// closes the writing side and drains what the client still sends, briefly, so that the
// client reads the answer instead of a reset.
func answerPlainHTTP(wc *wireConn, now time.Time) {
	wc.recording = false
	_ = wc.SetDeadline(time.Now().Add(time.Second))
	body := nginxPage(pagePlainHTTP)
	head := "HTTP/1.1 400 Bad Request\r\n" +
		"Date: " + now.UTC().Format(http.TimeFormat) + "\r\n" +
		"Content-Type: text/html\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n" +
		"X-Tlsgate-Cause: " + catalog.NotTLS + "\r\n\r\n"
	if _, err := wc.Write(append([]byte(head), body...)); err != nil {
		return
	}
	if tc, ok := wc.Conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(wc.Conn, 64<<10))
}
