package capture

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// message handles one whole handshake message from side.
func (c *conn) message(side Side, msg []byte, decrypted bool) {
	typ := msg[0]
	name := tlswire.HandshakeTypeName(typ)
	e := Entry{Message: name, Decrypted: decrypted}
	var err error
	switch {
	case side == Client && typ == tlswire.TypeClientHello:
		err = c.clientHello(msg, &e)
	case side == Server && typ == tlswire.TypeServerHello:
		err = c.serverHello(msg, &e)
	case typ == tlswire.TypeCertificate:
		err = c.certificate(side, msg, &e)
	case side == Server && typ == tlswire.TypeCertificateRequest:
		err = c.certificateRequest(msg, &e)
	case side == Server && typ == tlswire.TypeServerKeyExchange:
		e.Detail = c.keyExchange(msg)
	case typ == tlswire.TypeFinished:
		c.finished(side)
		if c.tls13 {
			c.switchKeys(side)
		}
	}
	if err != nil {
		e.Detail = "malformed: " + err.Error()
	}
	c.add(side, e)
}

// clientHello handles a ClientHello: what the client offered.
func (c *conn) clientHello(msg []byte, e *Entry) error {
	c.setStep(tlsdiag.StepClientHello)
	c.hellos++
	h, err := tlswire.ParseClientHello(msg)
	if err != nil {
		return err
	}
	if c.hellos > 1 {
		e.Message = "ClientHello (second, after the HelloRetryRequest)"
	}
	if c.hello == nil {
		c.hello = h
	}
	var parts []string
	parts = append(parts, strings.Join(versionNames(offeredVersions(h)), ", "))
	if len(h.SupportedVersions) == 0 {
		parts[0] = "up to " + parts[0] + " (no supported_versions)"
	} else {
		parts[0] += " (supported_versions)"
	}
	suites := nonGREASE(h.Suites)
	parts = append(parts, fmt.Sprintf("%d suites", len(suites)))
	if h.ServerName != "" {
		parts = append(parts, "SNI "+h.ServerName)
	} else {
		parts = append(parts, "no SNI")
	}
	if len(h.ALPN) > 0 {
		parts = append(parts, "ALPN "+strings.Join(h.ALPN, ", "))
	}
	e.Detail = strings.Join(parts, "; ")
	e.Lines = suiteLines(suites)
	return nil
}

// offeredVersions returns the versions a ClientHello offers, highest first as sent:
// supported_versions when present (RFC 8446, section 4.2.1), legacy_version otherwise.
func offeredVersions(h *tlswire.ClientHello) []uint16 {
	if len(h.SupportedVersions) == 0 {
		return []uint16{h.Version}
	}
	return nonGREASE(h.SupportedVersions)
}

func nonGREASE(xs []uint16) []uint16 {
	out := make([]uint16, 0, len(xs))
	for _, x := range xs {
		if !tlswire.IsGREASE(x) {
			out = append(out, x)
		}
	}
	return out
}

func versionNames(vs []uint16) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = tlswire.VersionName(v)
	}
	return out
}

// suiteList is what reports show of a list of suites: their IANA names, and the
// transcript's line of them.
type suiteList struct {
	names []string
	lines []string
}

var suiteLists = memo[suiteList]{max: 1024}

// suitesOf names suites, once per list: clients send the same lists again and again.
func suitesOf(suites []uint16) suiteList {
	key := make([]byte, 0, 2*len(suites))
	for _, s := range suites {
		key = append(key, byte(s>>8), byte(s))
	}
	return suiteLists.get(key, func() suiteList {
		names := make([]string, len(suites))
		for i, s := range suites {
			names[i] = tlswire.SuiteName(s)
		}
		return suiteList{names: names, lines: []string{"suites: " + strings.Join(names, ", ")}}
	})
}

// suiteLines lists suites by IANA name on one line.
func suiteLines(suites []uint16) []string { return suitesOf(suites).lines }

// serverHello handles a ServerHello or HelloRetryRequest, and sets up decryption when the
// key log holds the connection's secrets.
func (c *conn) serverHello(msg []byte, e *Entry) error {
	c.setStep(tlsdiag.StepServerHello)
	h, err := tlswire.ParseServerHello(msg)
	if err != nil {
		return err
	}
	v := h.NegotiatedVersion()
	if h.HelloRetry {
		c.tls13 = true // only TLS 1.3 retries
		e.Message = "HelloRetryRequest"
		e.Detail = fmt.Sprintf("%s, %s; asks for a key share in %s", tlswire.VersionName(v), tlswire.SuiteName(h.Suite), tlswire.GroupName(h.KeyShareGroup))
		return nil
	}
	c.serverHell = h
	c.version, c.suite = v, h.Suite
	c.tls13 = v == tlswire.VersionTLS13
	e.Detail = fmt.Sprintf("%s, %s", tlswire.VersionName(v), tlswire.SuiteName(h.Suite))
	if c.tls13 && h.KeyShareGroup != 0 {
		e.Detail += ", key share " + tlswire.GroupName(h.KeyShareGroup)
	}
	if h.ALPN != "" {
		e.Detail += ", ALPN " + h.ALPN
	}
	if c.tls13 {
		c.setupKeys()
	}
	return nil
}

// setupKeys finds the connection's TLS 1.3 handshake secrets in the key log.
func (c *conn) setupKeys() {
	if c.hello == nil {
		return
	}
	if c.keys == nil {
		c.keysNote = "no key log was given"
		return
	}
	c.secrets = c.keys.Lookup(c.hello.Random)
	if c.secrets == nil {
		c.keysNote = "the key log holds no secrets for its client random " + randomHex(c.hello.Random)
		return
	}
	if c.secrets.ServerHandshake == nil {
		c.keysNote = "the key log lacks " + LabelServerHandshakeSecret + " for this connection"
		return
	}
	var err error
	if c.sides[Server].rc, err = newRecordCipher(c.suite, c.secrets.ServerHandshake); err != nil {
		c.keysNote = fmt.Sprintf("%s cannot be decrypted: %v", tlswire.SuiteName(c.suite), err)
		return
	}
	c.serverKeys = true
	if c.secrets.ClientHandshake == nil {
		// A client that aborts before its Finished (refusing the server's certificate, say)
		// may never write it: its encrypted records are then judged by their sizes.
		c.note("The key log lacks %s for this connection (clients that abort the handshake may not write it): the client's encrypted records are not read.", LabelClientHandshakeSecret)
		return
	}
	c.sides[Client].rc, _ = newRecordCipher(c.suite, c.secrets.ClientHandshake)
}

// switchKeys moves side from its handshake to its application traffic secret, after its
// Finished (RFC 8446, section 7.2).
func (c *conn) switchKeys(side Side) {
	s := &c.sides[side]
	if s.rc == nil || c.secrets == nil {
		return
	}
	secret := c.secrets.ServerTraffic0
	label := LabelServerTrafficSecret0
	if side == Client {
		secret, label = c.secrets.ClientTraffic0, LabelClientTrafficSecret0
	}
	if secret == nil {
		s.rc = nil
		c.note("The key log lacks %s for this connection: the %s's records after its Finished stay encrypted.", label, side)
		return
	}
	rc, err := newRecordCipher(c.suite, secret)
	if err != nil {
		s.rc = nil
		return
	}
	s.rc = rc
}

// certificate handles a Certificate message: the server's chain, or the client's.
func (c *conn) certificate(side Side, msg []byte, e *Entry) error {
	cert, err := tlswire.ParseCertificate(msg, c.version)
	if err != nil {
		return err
	}
	ders := cert.Chain()
	var chain []*parsedCert
	for i, der := range ders {
		p := parseCert(der)
		if p.err != nil {
			e.Lines = append(e.Lines, fmt.Sprintf("#%d: not a certificate X.509 can read: %v", i+1, p.err))
			continue
		}
		chain = append(chain, p)
		e.Lines = append(e.Lines, fmt.Sprintf("#%d %s", i+1, p.line))
	}
	if side == Server {
		c.setStep(tlsdiag.StepServerCertificate)
		c.chain = chain
		e.Detail = fmt.Sprintf("%d certificate(s), leaf first", len(ders))
		return nil
	}
	c.setStep(tlsdiag.StepClientCertificate)
	c.clientSent = len(ders)
	c.clientChain = certsOf(chain)
	if len(ders) == 0 {
		e.Detail = "Certificate Length: 0 (the client sends no certificate)"
	} else {
		e.Detail = fmt.Sprintf("%d certificate(s), the client's", len(ders))
	}
	return nil
}

// certificateRequest handles a CertificateRequest: the CA names the server accepts.
func (c *conn) certificateRequest(msg []byte, e *Entry) error {
	c.setStep(tlsdiag.StepCertRequest)
	key := append([]byte{byte(c.version >> 8), byte(c.version)}, msg...)
	p := certRequests.get(key, func() parsedRequest { return parseRequest(msg, c.version) })
	if p.err != nil {
		return p.err
	}
	c.certReq = p.req
	e.Lines, e.Detail = p.lines, p.detail
	return nil
}

// parsedRequest is a CertificateRequest as the engine and the transcript see it.
type parsedRequest struct {
	req    *tlsdiag.CertRequest
	lines  []string
	detail string
	err    error
}

// certRequests keeps parsed CertificateRequests: a server sends the same one every time.
var certRequests = memo[parsedRequest]{max: 256}

func parseRequest(msg []byte, version uint16) parsedRequest {
	cr, err := tlswire.ParseCertificateRequest(msg, version)
	if err != nil {
		return parsedRequest{err: err}
	}
	p := parsedRequest{req: &tlsdiag.CertRequest{AcceptableCAs: []string{}}}
	for _, ca := range cr.CertificateAuthorities {
		name := pki.DistinguishedName(ca)
		p.req.AcceptableCAs = append(p.req.AcceptableCAs, name)
		p.req.RawAcceptableCAs = append(p.req.RawAcceptableCAs, slices.Clone(ca))
		p.lines = append(p.lines, "accepts "+name)
	}
	for _, s := range cr.SignatureSchemes {
		p.req.SignatureSchemes = append(p.req.SignatureSchemes, tlswire.SignatureSchemeName(s))
	}
	p.detail = "the server asks for a client certificate and names no CA (any it trusts)"
	if len(cr.CertificateAuthorities) > 0 {
		p.detail = fmt.Sprintf("the server asks for a client certificate from one of %d CA(s)", len(cr.CertificateAuthorities))
	}
	return p
}

// keyExchange describes a ServerKeyExchange: the group or the Diffie-Hellman size.
func (c *conn) keyExchange(msg []byte) string {
	s, ok := tlswire.SuiteByID(c.suite)
	if !ok {
		return ""
	}
	kx, err := tlswire.ParseServerKeyExchange(msg, s.KeyExchange, s.Auth, c.version)
	switch {
	case err != nil:
		return ""
	case kx.Group != 0:
		return "group " + tlswire.GroupName(kx.Group)
	case kx.DHBits() > 0:
		return fmt.Sprintf("DHE, %d-bit prime", kx.DHBits())
	}
	return ""
}

func certsOf(ps []*parsedCert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(ps))
	for i, p := range ps {
		out[i] = p.cert
	}
	return out
}
