package capture

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// maxHandshakeMessage bounds a handshake message: certificate chains above 64 KiB are
// rare, above 256 KiB unheard of.
const maxHandshakeMessage = 256 << 10

// Decryption budget after the handshake: the first records of each side (where a server's
// verdict on a client certificate and its HTTP answer are), and every small record (where
// alerts are). Bulk data is skipped without being copied.
const (
	decryptAfterHandshake = 4
	smallRecord           = 64
)

// stepRank orders the handshake steps: Attempt.Step is the furthest reached.
var stepRank = map[string]int{
	tlsdiag.StepConnect:           0,
	tlsdiag.StepClientHello:       1,
	tlsdiag.StepServerHello:       2,
	tlsdiag.StepServerCertificate: 3,
	tlsdiag.StepCertRequest:       4,
	tlsdiag.StepClientCertificate: 5,
	tlsdiag.StepFinished:          6,
	tlsdiag.StepPostHandshake:     7,
}

// sideState is what a connection knows of one side beyond its records.
type sideState struct {
	hs       []byte // handshake bytes not yet a whole message
	hsBroken string // why handshake messages are no longer reassembled
	ccs      bool   // sent ChangeCipherSpec (TLS 1.2: what follows is encrypted)
	finished bool   // sent Finished (seen, or encrypted where it must be)
	alert    *tlsdiag.Alert
	encAlert bool
	appData  int // application-data records sent once the handshake was done
	// closedEarly: the side closed (close_notify) after its Finished, before any data.
	closedEarly bool

	rc         *recordCipher // with the key log's secrets: opens this side's protected records
	decrypted  int           // records decrypted after Finished
	undecrypt  int           // records that failed to decrypt
	lostRecord int           // records lost in gaps since the last decryption

	// TLS 1.3 without keys: the runs of encrypted records (a run ends when the other side
	// sends one), whether any record was larger than an alert, and, for the server, the
	// records it sent after the client's first one.
	encRuns     int
	encTotal    int
	big         bool
	afterPeer   bool
	postRecords int
	postBig     bool
	closed      string
}

// conn follows one TCP connection: its two byte streams, the TLS messages in them, and
// what the client did and saw.
type conn struct {
	keys   *KeyLog
	start  time.Time
	now    time.Time
	halves [2]half
	sides  [2]sideState

	entries []Entry
	dropped int
	notes   []string

	hello      *tlswire.ClientHello
	helloV2    *tlswire.SSLv2ClientHello
	hellos     int
	serverHell *tlswire.ServerHello
	version    uint16 // negotiated
	suite      uint16
	tls13      bool
	secrets    *Secrets
	keysNote   string // why the server's TLS 1.3 records are not decrypted
	serverKeys bool   // the server's TLS 1.3 handshake records are decrypted

	step        string
	chain       []*parsedCert
	clientChain []*x509.Certificate
	certReq     *tlsdiag.CertRequest
	clientSent  int // certificates in the client's Certificate; -1 none seen
	http        *tlsdiag.HTTPAnswer
	firstCloser Side // the side that closed first, when one did
	clientQuit  bool // the client closed right after a completed handshake
	decrypted12 bool // TLS 1.2 records were decrypted with the key log's master secret
	// partialHello: a ClientHello was seen but not captured whole.
	partialHello bool

	anyEnc  bool // a TLS 1.3 protected record was seen that could not be decrypted
	lastEnc Side // the side that sent the latest one
}

func newConn(start time.Time, keys *KeyLog) *conn {
	c := &conn{keys: keys, start: start, now: start, step: tlsdiag.StepConnect, clientSent: -1}
	c.halves[Client] = half{side: Client, c: c}
	c.halves[Server] = half{side: Server, c: c}
	return c
}

// data handles payload bytes from side at t.
func (c *conn) data(t time.Time, side Side, b []byte) {
	c.at(t)
	c.halves[side].feed(b)
}

// gap handles n bytes from side that the capture lost: cut off by the snapshot length
// (truncated), or never captured.
func (c *conn) gap(t time.Time, side Side, n int, truncated bool) {
	c.at(t)
	if truncated {
		c.add(side, Entry{Message: "Gap", Records: 1, Bytes: n, run: "cut"})
		c.note("The capture keeps only the start of each packet (tcpdump -s): the bytes cut off cannot be read. Capture again with -s 0.")
	} else {
		c.add(side, Entry{Message: "Gap", Records: 1, Bytes: n, run: "gap"})
	}
	c.halves[side].gap(n)
}

// closed handles a FIN (reset false) or RST from side.
func (c *conn) closed(t time.Time, side Side, reset bool) {
	c.at(t)
	s := &c.sides[side]
	if s.closed != "" && (s.closed == "reset" || !reset) {
		return
	}
	msg, how := "FIN", "eof"
	if reset {
		msg, how = "RST", "reset"
	}
	s.closed = how
	if c.sides[side.other()].closed == "" {
		c.firstCloser = side
	}
	c.add(side, Entry{Message: msg, Detail: closeDetail(side, reset)})
}

func closeDetail(side Side, reset bool) string {
	if reset {
		return "the " + side.String() + " reset the connection"
	}
	return "the " + side.String() + " closed its side of the connection"
}

func (c *conn) at(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
}

// add appends an entry to the transcript, merging runs of records.
func (c *conn) add(side Side, e Entry) {
	e.From = side.String()
	e.Time = seconds(c.now.Sub(c.start))
	if n := len(c.entries); n > 0 && e.run != "" {
		last := &c.entries[n-1]
		if last.run == e.run && last.From == e.From {
			last.Records += e.Records
			last.Bytes += e.Bytes
			return
		}
	}
	if len(c.entries) >= maxEntries {
		c.dropped++
		return
	}
	c.entries = append(c.entries, e)
}

func runDetail(e *Entry) string {
	switch e.run {
	case "cut":
		return fmt.Sprintf("%d bytes cut off by the capture's snapshot length (%d packets)", e.Bytes, e.Records)
	case "gap":
		return fmt.Sprintf("%d bytes missing from the capture", e.Bytes)
	}
	what := "records"
	if e.Records == 1 {
		what = "record"
	}
	return fmt.Sprintf("%d %s, %d bytes", e.Records, what, e.Bytes)
}

func (c *conn) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	for _, x := range c.notes {
		if x == n {
			return
		}
	}
	c.notes = append(c.notes, n)
}

func (c *conn) setStep(step string) {
	if stepRank[step] > stepRank[c.step] {
		c.step = step
	}
}

// wants reports whether the content of a record of type typ and length n from side is
// needed: everything but application data, which is needed only where it is decrypted.
func (c *conn) wants(side Side, typ uint8, n int) bool {
	if typ != tlswire.RecordApplicationData {
		return true
	}
	s := &c.sides[side]
	if s.rc == nil {
		return false
	}
	return !s.finished || s.decrypted < decryptAfterHandshake || n <= smallRecord
}

// protected13 reports whether application-data records are TLS 1.3 protected records
// records (they are from the ServerHello on).
func (c *conn) protected13() bool {
	return c.tls13 && c.serverHell != nil
}

// notTLS handles a side whose first bytes are not TLS.
func (c *conn) notTLS(side Side, first []byte) {
	c.add(side, Entry{Message: "Not TLS", Detail: fmt.Sprintf("%s data: %q", tlswire.GuessProtocol(first), tlswire.Printable(first))})
}

// lost handles a side whose records can no longer be found.
func (c *conn) lost(side Side, why string) {
	c.add(side, Entry{Message: "Unreadable", Detail: why})
	c.note("The %s's stream could not be read to its end: %s.", side, why)
}

// damaged handles a record that lost n of its length bytes in a gap; partial holds its
// header and the bytes captured before the gap.
func (c *conn) damaged(side Side, partial []byte, length, n int) {
	typ := partial[0]
	what := tlswire.ContentTypeName(typ) + " record"
	s := &c.sides[side]
	if typ == tlswire.RecordHandshake && !(s.ccs && !c.tls13) && len(s.hs) == 0 && len(partial) > recordHeaderLen {
		// The start of a handshake message: its type is known.
		what = tlswire.HandshakeTypeName(partial[recordHeaderLen]) + " (incomplete)"
		switch {
		case side == Client && partial[recordHeaderLen] == tlswire.TypeClientHello:
			c.setStep(tlsdiag.StepClientHello)
			c.partialHello = true
		case side == Server && partial[recordHeaderLen] == tlswire.TypeServerHello:
			c.setStep(tlsdiag.StepServerHello)
		}
		c.add(side, Entry{Message: what, Detail: fmt.Sprintf("%d of its %d bytes captured: not read", length-n, length)})
	} else {
		c.add(side, Entry{Message: "Damaged " + what, Detail: fmt.Sprintf("%d of its %d bytes captured: not read", length-n, length)})
	}
	if s.rc != nil || c.protected13() {
		s.lostRecord++
	}
	if typ == tlswire.RecordHandshake || typ == tlswire.RecordApplicationData && s.rc != nil && !s.finished {
		s.hs = nil
		if s.hsBroken == "" {
			s.hsBroken = "a handshake record was not captured whole"
			c.note("A %s handshake record was not captured whole: the messages in it and after it are not read.", side)
		}
	}
}

// sslv2Hello handles an SSLv2-compatible ClientHello.
func (c *conn) sslv2Hello(b []byte) {
	c.setStep(tlsdiag.StepClientHello)
	c.hellos++
	h, err := tlswire.ParseSSLv2ClientHello(b)
	if err != nil {
		c.add(Client, Entry{Message: "SSLv2 ClientHello", Detail: "malformed: " + err.Error()})
		return
	}
	c.helloV2 = h
	e := Entry{Message: "ClientHello (SSLv2 format)", Detail: fmt.Sprintf("up to %s; %d suites", tlswire.VersionName(h.Version), len(h.Suites()))}
	e.Lines = suiteLines(h.Suites())
	c.add(Client, e)
	c.note("The client sent its ClientHello in the SSLv2 format, as only very old clients do; it carries no extensions, so no server_name.")
}

// record handles one record from side: its header, and its fragment unless it was
// skipped (fragment nil, length n).
func (c *conn) record(side Side, hdr, fragment []byte, n int) {
	s := &c.sides[side]
	typ := hdr[0]
	switch typ {
	case tlswire.RecordChangeCipherSpec:
		c.add(side, Entry{Message: "ChangeCipherSpec"})
		// Before TLS 1.3, what follows is encrypted. TLS 1.3 peers send it too, for
		// middleboxes, also around a HelloRetryRequest, before the ServerHello.
		if c.serverHell != nil && !c.tls13 {
			s.ccs = true
			c.setupKeys12(side)
		}
	case tlswire.RecordAlert, tlswire.RecordHandshake:
		if s.ccs && !c.tls13 && s.rc != nil {
			c.decrypt(side, hdr, fragment, n)
			return
		}
		if typ == tlswire.RecordHandshake {
			c.handshakeRecord(side, fragment, n)
			return
		}
		if s.ccs && !c.tls13 {
			c.add(side, Entry{Message: "Alert", Detail: "encrypted: its level and description are hidden"})
			s.encAlert = true
			return
		}
		a, err := tlswire.ParseAlert(fragment)
		if err != nil {
			c.add(side, Entry{Message: "Alert", Detail: "malformed: " + err.Error()})
			return
		}
		c.alert(side, a, false)
	case tlswire.RecordApplicationData:
		c.appData(side, hdr, fragment, n)
	case tlswire.RecordHeartbeat:
		c.add(side, Entry{Message: "Heartbeat", Detail: fmt.Sprintf("%d bytes", n)})
	}
}

// handshakeRecord handles a handshake record that is not decrypted.
func (c *conn) handshakeRecord(side Side, fragment []byte, n int) {
	if c.sides[side].ccs && !c.tls13 {
		c.add(side, Entry{Message: "Encrypted handshake message", Detail: fmt.Sprintf("%d bytes (the %s's Finished)", n, side)})
		c.finished(side)
		return
	}
	c.handshake(side, fragment, false)
}

// setupKeys12 finds, after side's ChangeCipherSpec in TLS 1.2 and earlier, the master
// secret of the connection in the key log, and derives the keys of side's records.
func (c *conn) setupKeys12(side Side) {
	if c.keys == nil || c.hello == nil {
		return
	}
	sec := c.keys.Lookup(c.hello.Random)
	if sec == nil || sec.MasterSecret == nil {
		return
	}
	rc, err := newRecordCipher12(c.suite, sec.MasterSecret, c.hello.Random, c.serverHell.Random, side)
	if err != nil {
		c.note("The key log holds this connection's master secret, but records of %s are not decrypted here (only AES-GCM and ChaCha20-Poly1305 are).", tlswire.SuiteName(c.suite))
		return
	}
	c.sides[side].rc = rc
	c.decrypted12 = true
}

// appData handles an application-data record: TLS 1.3 protected records (decrypted with
// the key log's secrets where it has them), or application data proper.
func (c *conn) appData(side Side, hdr, fragment []byte, n int) {
	s := &c.sides[side]
	switch {
	case s.rc != nil:
		c.decrypt(side, hdr, fragment, n)
	case c.protected13():
		c.encrypted(side, n)
	case c.tls13 || s.ccs:
		s.appData++
		c.add(side, Entry{Message: "Application data", Records: 1, Bytes: n, run: "appdata"})
	case side == Client && c.hello != nil && c.serverHell == nil:
		c.add(side, Entry{Message: "Early data (0-RTT)", Records: 1, Bytes: n, run: "early"})
	default:
		c.add(side, Entry{Message: "Application data", Detail: fmt.Sprintf("%d bytes before the handshake: unexpected", n)})
	}
}

// encrypted handles a TLS 1.3 protected record that cannot be decrypted.
func (c *conn) encrypted(side Side, n int) {
	s, peer := &c.sides[side], &c.sides[side.other()]
	if !c.anyEnc || c.lastEnc != side {
		s.encRuns++
	}
	c.anyEnc, c.lastEnc = true, side
	alert := c.alertSize()
	s.encTotal++
	s.big = s.big || n != alert
	if peer.encTotal > 0 {
		s.afterPeer = true
		s.postRecords++
		s.postBig = s.postBig || n != alert
	}
	if side == Client && c.serverKeys && c.sides[Server].finished && !s.finished && n != alert {
		// The server's side is decrypted, the client's is not: a record that is not an
		// alert, after the server's Finished, is the client's flight, Finished included.
		c.finished(Client)
	}
	var what string
	switch {
	case s.finished && (side == Server || s.encRuns > 1):
		what = "Encrypted records (application data or post-handshake messages)"
	case side == Server && s.encRuns == 1 && !s.afterPeer:
		what = "Encrypted handshake (EncryptedExtensions, Certificate, CertificateVerify, Finished; perhaps a CertificateRequest)"
	case side == Client && s.encRuns == 1:
		what = "Encrypted handshake (the client's Finished; its Certificate and CertificateVerify if one was requested)"
	default:
		what = "Encrypted records (application data or post-handshake messages)"
	}
	if n == alert {
		c.add(side, Entry{Message: "Encrypted record", Detail: fmt.Sprintf("%d bytes: the size of an encrypted alert", n)})
		return
	}
	c.add(side, Entry{Message: what, Records: 1, Bytes: n, run: fmt.Sprintf("enc%d", s.encRuns)})
}

// alertSize returns the length of a TLS 1.3 protected alert without padding: the two
// bytes of the alert, the content type and the AEAD tag.
func (c *conn) alertSize() int {
	if c.suite == 0x1305 { // TLS_AES_128_CCM_8_SHA256: an 8-byte tag
		return 2 + 1 + 8
	}
	return 2 + 1 + 16
}

// decrypt opens a TLS 1.3 protected record with the side's traffic keys and handles what
// it holds.
func (c *conn) decrypt(side Side, hdr, fragment []byte, n int) {
	s := &c.sides[side]
	if fragment == nil {
		s.rc.seq++
		s.appData++
		if s.finished {
			s.decrypted++
		}
		c.add(side, Entry{Message: "Application data", Records: 1, Bytes: n, run: "appdata"})
		return
	}
	typ, content, err := s.rc.open(hdr, fragment)
	for i := 0; err != nil && i < s.lostRecord; i++ {
		s.rc.seq++
		if typ, content, err = s.rc.open(hdr, fragment); err != nil {
			s.rc.seq--
		}
	}
	if err != nil {
		s.undecrypt++
		c.add(side, Entry{Message: "Encrypted record", Detail: fmt.Sprintf("%d bytes that the key log's secrets do not decrypt", n)})
		if s.undecrypt == 1 {
			c.note("Some %s records do not decrypt with the key log's secrets (early data, or secrets of another connection with the same client random).", side)
		}
		return
	}
	s.lostRecord = 0
	if s.finished {
		s.decrypted++
	}
	switch typ {
	case tlswire.RecordHandshake:
		c.handshake(side, content, true)
	case tlswire.RecordAlert:
		a, err := tlswire.ParseAlert(content)
		if err != nil {
			c.add(side, Entry{Message: "Alert", Detail: "malformed: " + err.Error(), Decrypted: true})
			return
		}
		c.alert(side, a, true)
	case tlswire.RecordApplicationData:
		c.plainData(side, content)
	default:
		c.add(side, Entry{Message: tlswire.ContentTypeName(typ), Detail: fmt.Sprintf("%d bytes", len(content)), Decrypted: true})
	}
}

// plainData handles decrypted application data: it shows an HTTP request or status line,
// and keeps the server's first HTTP answer.
func (c *conn) plainData(side Side, b []byte) {
	c.sides[side].appData++
	e := Entry{Message: "Application data", Decrypted: true, Records: 1, Bytes: len(b), run: "plain"}
	if line := httpLine(b); line != "" {
		e = Entry{Message: "Application data", Decrypted: true, Detail: fmt.Sprintf("%d bytes: %q", len(b), line)}
		if side == Server && c.http == nil {
			c.http = httpAnswer(b)
		}
	}
	c.add(side, e)
}

// alert handles an alert from side.
func (c *conn) alert(side Side, a tlswire.Alert, decrypted bool) {
	level := "warning"
	if a.Level == tlswire.AlertLevelFatal {
		level = "fatal"
	}
	c.add(side, Entry{Message: fmt.Sprintf("Alert (%s)", level),
		Detail: fmt.Sprintf("%s (%d): %s", tlswire.AlertName(a.Description), a.Description, tlswire.AlertDescription(a.Description)), Decrypted: decrypted})
	closing := a.Description == tlswire.AlertCloseNotify || a.Description == tlswire.AlertUserCanceled
	fatal := a.Level == tlswire.AlertLevelFatal || c.tls13 && !closing
	s := &c.sides[side]
	if closing && s.finished && s.appData == 0 {
		s.closedEarly = true
	}
	if !fatal || closing || s.alert != nil {
		return
	}
	step := c.step
	if side == Server && c.tls13 && c.sides[Client].finished {
		step = tlsdiag.StepPostHandshake
		c.setStep(step)
	}
	s.alert = &tlsdiag.Alert{Code: a.Description, Name: tlswire.AlertName(a.Description), Step: step}
}

// handshake reassembles handshake messages from side's handshake bytes b.
func (c *conn) handshake(side Side, b []byte, decrypted bool) {
	s := &c.sides[side]
	if s.hsBroken != "" {
		c.add(side, Entry{Message: "Handshake", Detail: fmt.Sprintf("%d bytes not read (%s)", len(b), s.hsBroken), Decrypted: decrypted})
		return
	}
	s.hs = append(s.hs, b...)
	for len(s.hs) >= 4 {
		n := int(s.hs[1])<<16 | int(s.hs[2])<<8 | int(s.hs[3])
		if n > maxHandshakeMessage {
			s.hsBroken = fmt.Sprintf("a %s message of %d bytes exceeds the limit of %d", tlswire.HandshakeTypeName(s.hs[0]), n, maxHandshakeMessage)
			c.add(side, Entry{Message: tlswire.HandshakeTypeName(s.hs[0]), Detail: "not read: " + s.hsBroken, Decrypted: decrypted})
			s.hs = nil
			return
		}
		if len(s.hs) < 4+n {
			return
		}
		msg := s.hs[: 4+n : 4+n]
		s.hs = s.hs[4+n:]
		c.message(side, msg, decrypted)
	}
	if len(s.hs) == 0 {
		s.hs = nil
	}
}

// finished records that side sent its Finished.
func (c *conn) finished(side Side) {
	c.sides[side].finished = true
	if side == Client {
		c.setStep(tlsdiag.StepFinished)
	}
}
