package probe

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"

	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// readLimit caps the bytes read from the server in one attempt, so that a server streaming
// endless data cannot hold the probe.
const readLimit = 1 << 20

// firstBytesLen is how many bytes of a non-TLS reply are kept as evidence.
const firstBytesLen = 64

// errReadLimit ends an attempt whose server sent more than readLimit bytes.
var errReadLimit = errors.New("probe: reading from the server: more than 1 MiB received, giving up")

// tapConn wraps the connection of one attempt. It bounds what is read and watches both
// directions of the record layer, to learn what crypto/tls does not report: what the
// ClientHello offered, what the ServerHello chose, plaintext alerts, the first bytes of a
// reply that is not TLS, and whether the server closed or reset the connection.
type tapConn struct {
	net.Conn

	mu      sync.Mutex
	read    int64
	first   []byte // the first bytes read, up to firstBytesLen
	wrote   bool
	closed  string // "eof" or "reset"
	limited bool
	in, out recordStream

	clientHello *tlswire.ClientHello
	serverHello *tlswire.ServerHello // the last ServerHello (not a HelloRetryRequest)
	hrr         *tlswire.ServerHello
	certRequest []byte // a plaintext (TLS 1.2 and earlier) CertificateRequest message
}

func newTapConn(c net.Conn) *tapConn {
	t := &tapConn{Conn: c}
	t.in.onMessage = t.serverMessage
	t.out.onMessage = t.clientMessage
	return t
}

func (t *tapConn) Read(p []byte) (int, error) {
	t.mu.Lock()
	rem := readLimit - t.read
	if rem <= 0 {
		t.limited = true
		t.mu.Unlock()
		return 0, errReadLimit
	}
	if int64(len(p)) > rem {
		p = p[:rem]
	}
	t.mu.Unlock()

	n, err := t.Conn.Read(p)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.read += int64(n)
	if k := firstBytesLen - len(t.first); k > 0 {
		t.first = append(t.first, p[:min(k, n)]...)
	}
	t.in.feed(p[:n])
	if err != nil && t.closed == "" {
		switch {
		case errors.Is(err, io.EOF):
			t.closed = "eof"
		case errors.Is(err, syscall.ECONNRESET):
			t.closed = "reset"
		}
	}
	return n, err
}

func (t *tapConn) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.wrote = true
	t.out.feed(p)
	t.mu.Unlock()
	return t.Conn.Write(p)
}

func (t *tapConn) serverMessage(msg []byte) {
	switch msg[0] {
	case tlswire.TypeServerHello:
		if sh, err := tlswire.ParseServerHello(msg); err == nil {
			if sh.HelloRetry {
				t.hrr = sh
			} else {
				t.serverHello = sh
			}
		}
	case tlswire.TypeCertificateRequest:
		if t.certRequest == nil {
			t.certRequest = slices.Clone(msg)
		}
	}
}

func (t *tapConn) clientMessage(msg []byte) {
	if msg[0] == tlswire.TypeClientHello && t.clientHello == nil {
		if ch, err := tlswire.ParseClientHello(msg); err == nil {
			t.clientHello = ch
		}
	}
}

// tapView is a consistent copy of what a tapConn observed.
type tapView struct {
	first       []byte
	wrote       bool
	closed      string
	limited     bool
	alertIn     *[2]byte
	alertOut    *[2]byte
	clientHello *tlswire.ClientHello
	serverHello *tlswire.ServerHello
	hrr         *tlswire.ServerHello
	certRequest []byte
	notTLS      bool
}

func (t *tapConn) view() tapView {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tapView{
		first:       slices.Clone(t.first),
		wrote:       t.wrote,
		closed:      t.closed,
		limited:     t.limited,
		alertIn:     t.in.alert,
		alertOut:    t.out.alert,
		clientHello: t.clientHello,
		serverHello: t.serverHello,
		hrr:         t.hrr,
		certRequest: t.certRequest,
		notTLS:      len(t.first) > 0 && !isRecordType(t.first[0]),
	}
}

// isRecordType reports whether b is a TLS record content type (RFC 8446 section 5.1; 24 is
// heartbeat, RFC 6520).
func isRecordType(b byte) bool { return b >= 20 && b <= 24 }

// maxRecord is the largest record a peer may send: 2^14 plus expansion (RFC 5246 section 6.2.3).
const maxRecord = 1<<14 + 2048

// maxHandshakeMessage bounds a plaintext handshake message the tap assembles.
const maxHandshakeMessage = 1 << 18

// recordStream follows one direction of the record layer (RFC 8446 section 5.1) and
// reassembles plaintext handshake messages.
type recordStream struct {
	buf       []byte // bytes of the record being received
	hs        []byte // handshake bytes not yet assembled into a message
	encrypted bool   // a ChangeCipherSpec was seen: later handshake records are encrypted
	broken    bool   // not a parseable record layer; stop looking
	alert     *[2]byte
	onMessage func(msg []byte) // a whole handshake message, header included
}

func (s *recordStream) feed(p []byte) {
	if s.broken || len(p) == 0 {
		return
	}
	s.buf = append(s.buf, p...)
	for len(s.buf) >= 5 {
		typ := s.buf[0]
		n := int(binary.BigEndian.Uint16(s.buf[3:5]))
		if !isRecordType(typ) || n > maxRecord {
			s.broken, s.buf, s.hs = true, nil, nil
			return
		}
		if len(s.buf) < 5+n {
			return
		}
		s.record(typ, s.buf[5:5+n])
		s.buf = append(s.buf[:0:0], s.buf[5+n:]...)
	}
}

func (s *recordStream) record(typ uint8, body []byte) {
	switch typ {
	case 20: // change_cipher_spec
		s.encrypted = true
		s.hs = nil
	case 21: // alert: a plaintext one is two bytes, level and description
		if len(body) == 2 && s.alert == nil {
			s.alert = &[2]byte{body[0], body[1]}
		}
	case 22: // handshake
		if s.encrypted {
			return
		}
		s.hs = append(s.hs, body...)
		for len(s.hs) >= 4 {
			n := int(s.hs[1])<<16 | int(s.hs[2])<<8 | int(s.hs[3])
			if n > maxHandshakeMessage {
				s.broken, s.hs = true, nil
				return
			}
			if len(s.hs) < 4+n {
				return
			}
			if s.onMessage != nil {
				s.onMessage(s.hs[:4+n])
			}
			s.hs = append(s.hs[:0:0], s.hs[4+n:]...)
		}
	}
}
