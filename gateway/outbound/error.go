package outbound

import (
	"errors"
	"fmt"

	"github.com/tlsgate/tlsgate/tlsdiag"
)

// Kind sorts the failures to reach a backend, as the gateway's faults do.
type Kind int

// The kinds of failure.
const (
	// HandshakeFailed: the TLS handshake failed, or the server refused the client
	// certificate right after it (503 SslHandshakeFailed).
	HandshakeFailed Kind = iota + 1
	// Unreachable: no connection (refused, no route, name not resolved), or the connection
	// broke before an answer (503 ServiceUnavailable).
	Unreachable
	// Timeout: the connection or the handshake did not complete within ConnectTimeout, or
	// the response header did not come within IOTimeout (504 GatewayTimeout).
	Timeout
)

func (k Kind) String() string {
	switch k {
	case HandshakeFailed:
		return "handshake failed"
	case Unreachable:
		return "unreachable"
	case Timeout:
		return "timeout"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is every failure to reach the backend, classified.
type Error struct {
	Kind    Kind
	Target  string // Config.Target
	Address string // the address dialled
	// Report is the diagnosis: for HandshakeFailed always, for Unreachable and Timeout when
	// the connection or the handshake failed (network.unreachable, network.timeout); nil
	// for a response that did not come in time or a connection broken after the handshake.
	Report *tlsdiag.Report
	// FollowUp is true when Report is the doctor's follow-up (probe.Run with the target's
	// expectations), the failed handshake's own facts having left the cause open.
	FollowUp bool
	// Err is the error that ended the attempt.
	Err error
}

func (e *Error) Error() string {
	what := map[Kind]string{
		HandshakeFailed: "TLS handshake with",
		Unreachable:     "connecting to",
		Timeout:         "waiting for",
	}[e.Kind]
	if what == "" {
		what = "reaching"
	}
	msg := fmt.Sprintf("%s %s (%s)", what, e.Address, e.Target)
	if id, title := e.Cause(); id != "" {
		msg += fmt.Sprintf(": %s (%s)", id, title)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Cause returns the ID and title of the report's first error finding, or "" when there is
// none.
func (e *Error) Cause() (id, title string) {
	if e == nil || e.Report == nil {
		return "", ""
	}
	if f := firstError(e.Report); f != nil {
		return f.ID, f.Title
	}
	return "", ""
}

// Finding returns the report's first error finding, or nil.
func (e *Error) Finding() *tlsdiag.Finding {
	if e == nil || e.Report == nil {
		return nil
	}
	return firstError(e.Report)
}

func firstError(r *tlsdiag.Report) *tlsdiag.Finding {
	for i := range r.Findings {
		if r.Findings[i].Severity == tlsdiag.SeverityError {
			return &r.Findings[i]
		}
	}
	return nil
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
