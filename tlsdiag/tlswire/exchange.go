package tlswire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// MaxExchangeBytes bounds what Exchange reads from a server.
const MaxExchangeBytes = 256 << 10

// ResponseKind says how a server answered a ClientHello.
type ResponseKind int

// The answers Exchange tells apart.
const (
	// ResponseServerHello: the server accepted the offer.
	ResponseServerHello ResponseKind = iota + 1
	// ResponseHelloRetry: a TLS 1.3 server accepted the offer but asks for
	// a key share in another group (RFC 8446 §4.1.4).
	ResponseHelloRetry
	// ResponseAlert: the server refused with an alert.
	ResponseAlert
	// ResponseClosed: the server closed the connection (or reset it)
	// without a word, as many servers refuse an offer.
	ResponseClosed
	// ResponseNotTLS: the server answered with something that is not TLS.
	ResponseNotTLS
)

// String returns "ServerHello", "HelloRetryRequest", "alert", "closed" or
// "not TLS".
func (k ResponseKind) String() string {
	switch k {
	case ResponseServerHello:
		return "ServerHello"
	case ResponseHelloRetry:
		return "HelloRetryRequest"
	case ResponseAlert:
		return "alert"
	case ResponseClosed:
		return "closed"
	case ResponseNotTLS:
		return "not TLS"
	}
	return fmt.Sprintf("ResponseKind(%d)", int(k))
}

// ServerResponse is what a server answered a ClientHello.
type ServerResponse struct {
	Kind ResponseKind
	// Version is the negotiated version: supported_versions for TLS 1.3
	// and HelloRetryRequests, the ServerHello's version otherwise.
	Version uint16
	// Suite is the cipher suite the server selected.
	Suite       uint16
	ServerHello *ServerHello
	// Certificates is the server's chain, DER, leaf first (up to TLS 1.2,
	// where it travels in plaintext).
	Certificates [][]byte
	// ServerKeyExchange is the raw ServerKeyExchange message, if any (up to
	// TLS 1.2); see ParseServerKeyExchange.
	ServerKeyExchange []byte
	// CertificateRequest is set when the server asks for a client
	// certificate (up to TLS 1.2).
	CertificateRequest *CertificateRequest
	// HelloDone reports that the ServerHelloDone arrived: the server's
	// whole first flight was read (up to TLS 1.2).
	HelloDone bool
	// Alert is the alert of a ResponseAlert, or one that followed a
	// ServerHello.
	Alert *Alert
	// FirstBytes are the first bytes of a ResponseNotTLS (up to 64).
	FirstBytes []byte
	// Reset reports a ResponseClosed by TCP reset rather than an orderly
	// close.
	Reset bool
}

// Exchange writes hello (a ClientHello record, as ClientHelloSpec.Marshal
// returns it) to conn and reads until it can say how the server answered:
// a ServerHello, followed, up to TLS 1.2, by the plaintext Certificate,
// ServerKeyExchange, CertificateRequest and ServerHelloDone; a
// HelloRetryRequest; an alert; something that is not TLS; or a close. It
// never completes a handshake and reads at most MaxExchangeBytes.
//
// deadline, unless zero, bounds the whole exchange (conn.SetDeadline); the
// caller closes conn. A server that sends nothing until the deadline yields
// an error wrapping os.ErrDeadlineExceeded. Once a ServerHello has arrived,
// a close, reset or timeout that cuts the rest of the flight short ends the
// reading without an error: HelloDone is then false. A server that breaks
// the wire format yields an error wrapping ErrMalformed.
func Exchange(conn net.Conn, hello []byte, deadline time.Time) (*ServerResponse, error) {
	if !deadline.IsZero() {
		if err := conn.SetDeadline(deadline); err != nil {
			return nil, fmt.Errorf("tlswire: setting the exchange deadline: %w", err)
		}
	}
	if _, err := conn.Write(hello); err != nil {
		if isReset(err) {
			// The server closed before reading the whole hello.
			return &ServerResponse{Kind: ResponseClosed, Reset: true}, nil
		}
		return nil, fmt.Errorf("tlswire: sending ClientHello: %w", err)
	}
	br := bufio.NewReaderSize(&limitReader{r: conn, n: MaxExchangeBytes}, 4096)
	// The whole answer is bounded; a single message (a long chain) may
	// use all of it.
	hr := NewHandshakeReader(br, MaxExchangeBytes)
	resp := &ServerResponse{}
	for {
		msg, rec, err := hr.Next()
		if err != nil {
			return resp.end(err, br)
		}
		if rec != nil {
			if done, err := resp.record(rec); done || err != nil {
				return resp.result(err)
			}
			continue
		}
		if done, err := resp.handshake(msg); done || err != nil {
			return resp.result(err)
		}
	}
}

func (resp *ServerResponse) result(err error) (*ServerResponse, error) {
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// record handles a record other than a handshake record.
func (resp *ServerResponse) record(rec *Record) (done bool, err error) {
	if rec.Type == RecordAlert {
		a, err := ParseAlert(rec.Fragment)
		if err != nil {
			return true, err
		}
		resp.Alert = &a
		if resp.Kind == 0 {
			resp.Kind = ResponseAlert
		}
		return true, nil
	}
	if resp.Kind == 0 {
		return true, malformed("server response", "a %s record came before the ServerHello", ContentTypeName(rec.Type))
	}
	// ChangeCipherSpec or encrypted data: the plaintext flight is over.
	return true, nil
}

// handshake handles a handshake message.
func (resp *ServerResponse) handshake(msg []byte) (done bool, err error) {
	typ := msg[0]
	if typ == TypeHelloRequest {
		return false, nil // RFC 5246 §7.4.1.1: may come at any time; ignored
	}
	if resp.ServerHello == nil {
		if typ != TypeServerHello {
			return true, malformed("server response", "%s came before the ServerHello", HandshakeTypeName(typ))
		}
		sh, err := ParseServerHello(msg)
		if err != nil {
			return true, err
		}
		resp.ServerHello, resp.Version, resp.Suite = sh, sh.NegotiatedVersion(), sh.Suite
		if sh.HelloRetry {
			resp.Kind = ResponseHelloRetry
			return true, nil
		}
		resp.Kind = ResponseServerHello
		// From TLS 1.3 on, all that follows is encrypted.
		return resp.Version >= VersionTLS13, nil
	}
	switch typ {
	case TypeCertificate:
		c, err := ParseCertificate(msg, resp.Version)
		if err != nil {
			return true, err
		}
		resp.Certificates = c.Chain()
	case TypeServerKeyExchange:
		resp.ServerKeyExchange = msg
	case TypeCertificateRequest:
		cr, err := ParseCertificateRequest(msg, resp.Version)
		if err != nil {
			return true, err
		}
		resp.CertificateRequest = cr
	case TypeServerHelloDone:
		if err := ParseServerHelloDone(msg); err != nil {
			return true, err
		}
		resp.HelloDone = true
		return true, nil
	}
	// CertificateStatus and others carry nothing Exchange reports.
	return false, nil
}

// end turns the error that stopped the reading into the response.
func (resp *ServerResponse) end(err error, br *bufio.Reader) (*ServerResponse, error) {
	var notTLS *NotTLSError
	switch {
	case errors.Is(err, errExchangeLimit), errors.Is(err, ErrMalformed):
		return nil, err
	case resp.Kind != 0:
		// The server answered; what cut the rest short does not change it.
		return resp, nil
	case errors.As(err, &notTLS):
		first := notTLS.FirstBytes
		if more, _ := br.Peek(min(br.Buffered(), 64-len(first))); len(more) > 0 {
			first = append(first, more...)
		}
		resp.Kind, resp.FirstBytes = ResponseNotTLS, first
		return resp, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		resp.Kind = ResponseClosed
		return resp, nil
	case isReset(err):
		resp.Kind, resp.Reset = ResponseClosed, true
		return resp, nil
	}
	return nil, fmt.Errorf("tlswire: reading the server's answer: %w", err)
}

// isReset reports whether err is a connection reset or abort by the peer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE)
}

var errExchangeLimit = fmt.Errorf("tlswire: the server sent more than %d bytes before the end of its first flight", MaxExchangeBytes)

// limitReader reads at most n bytes of r, then fails with errExchangeLimit.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errExchangeLimit
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
