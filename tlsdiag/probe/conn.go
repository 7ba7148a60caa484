package probe

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/crypto/cryptobyte"
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

	clientHello *clientHelloInfo
	serverHello *serverHelloInfo // the last ServerHello (not a HelloRetryRequest)
	hrr         *serverHelloInfo
	certRequest []byte // a plaintext (TLS 1.2) CertificateRequest body
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

func (t *tapConn) serverMessage(typ uint8, body []byte) {
	switch typ {
	case 2: // ServerHello, RFC 8446 section 4.1.3
		if sh, ok := parseServerHello(body); ok {
			if sh.hrr {
				t.hrr = &sh
			} else {
				t.serverHello = &sh
			}
		}
	case 13: // CertificateRequest, RFC 5246 section 7.4.4
		if t.certRequest == nil {
			t.certRequest = slices.Clone(body)
		}
	}
}

func (t *tapConn) clientMessage(typ uint8, body []byte) {
	if typ == 1 && t.clientHello == nil { // ClientHello, RFC 8446 section 4.1.2
		if ch, ok := parseClientHello(body); ok {
			t.clientHello = &ch
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
	clientHello *clientHelloInfo
	serverHello *serverHelloInfo
	hrr         *serverHelloInfo
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
	onMessage func(typ uint8, body []byte)
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
				s.onMessage(s.hs[0], s.hs[4:4+n])
			}
			s.hs = append(s.hs[:0:0], s.hs[4+n:]...)
		}
	}
}

// clientHelloInfo is what a ClientHello offered.
type clientHelloInfo struct {
	suites     []uint16
	versions   []uint16 // supported_versions, or the legacy version alone
	serverName string
}

// parseClientHello reads the fields the probe reports from a ClientHello body
// (RFC 8446 section 4.1.2).
func parseClientHello(body []byte) (clientHelloInfo, bool) {
	var ch clientHelloInfo
	s := cryptobyte.String(body)
	var legacy uint16
	var sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&legacy) || !s.Skip(32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16LengthPrefixed(&suites) || !s.ReadUint8LengthPrefixed(&comp) {
		return ch, false
	}
	for !suites.Empty() {
		var id uint16
		if !suites.ReadUint16(&id) {
			return ch, false
		}
		if !isGREASE(id) {
			ch.suites = append(ch.suites, id)
		}
	}
	ch.versions = []uint16{legacy}
	if s.Empty() {
		return ch, true
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return ch, false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return ch, false
		}
		switch typ {
		case 0: // server_name, RFC 6066 section 3
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) {
				return ch, false
			}
			for !list.Empty() {
				var nameType uint8
				var name cryptobyte.String
				if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
					return ch, false
				}
				if nameType == 0 {
					ch.serverName = string(name)
				}
			}
		case 43: // supported_versions, RFC 8446 section 4.2.1
			var list cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&list) {
				return ch, false
			}
			ch.versions = nil
			for !list.Empty() {
				var v uint16
				if !list.ReadUint16(&v) {
					return ch, false
				}
				if !isGREASE(v) {
					ch.versions = append(ch.versions, v)
				}
			}
		}
	}
	return ch, true
}

// serverHelloInfo is what a ServerHello chose.
type serverHelloInfo struct {
	version uint16 // from supported_versions when present (RFC 8446 section 4.2.1)
	suite   uint16
	hrr     bool // a HelloRetryRequest (RFC 8446 section 4.1.4)
}

// helloRetryRequestRandom marks a HelloRetryRequest (RFC 8446 section 4.1.3).
var helloRetryRequestRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// parseServerHello reads a ServerHello body (RFC 8446 section 4.1.3; RFC 5246 section 7.4.1.3).
func parseServerHello(body []byte) (serverHelloInfo, bool) {
	var sh serverHelloInfo
	s := cryptobyte.String(body)
	var random, sid cryptobyte.String
	var comp uint8
	if !s.ReadUint16(&sh.version) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16(&sh.suite) || !s.ReadUint8(&comp) {
		return sh, false
	}
	sh.hrr = string(random) == string(helloRetryRequestRandom)
	if s.Empty() {
		return sh, true
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return sh, false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return sh, false
		}
		if typ == 43 { // supported_versions
			if !data.ReadUint16(&sh.version) {
				return sh, false
			}
		}
	}
	return sh, s.Empty()
}

// isGREASE reports whether v is a GREASE value (RFC 8701).
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// certRequest12 is what a TLS 1.2 CertificateRequest asked for.
type certRequest12 struct {
	schemes []uint16
	cas     [][]byte
}

// parseCertificateRequest12 reads a CertificateRequest body of TLS 1.2 (RFC 5246 section
// 7.4.4) or, without signature algorithms, of TLS 1.0 and 1.1 (RFC 4346 section 7.4.4).
func parseCertificateRequest12(version uint16, body []byte) (certRequest12, bool) {
	var cr certRequest12
	s := cryptobyte.String(body)
	var types, schemes, cas cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&types) ||
		(version >= 0x0303 && !s.ReadUint16LengthPrefixed(&schemes)) ||
		!s.ReadUint16LengthPrefixed(&cas) {
		return cr, false
	}
	for !schemes.Empty() {
		var v uint16
		if !schemes.ReadUint16(&v) {
			return cr, false
		}
		cr.schemes = append(cr.schemes, v)
	}
	for !cas.Empty() {
		var dn cryptobyte.String
		if !cas.ReadUint16LengthPrefixed(&dn) {
			return cr, false
		}
		cr.cas = append(cr.cas, []byte(dn))
	}
	return cr, true
}
