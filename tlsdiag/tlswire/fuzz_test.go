package tlswire

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The fuzz targets check that no parser panics or reads out of bounds, and
// that what a parser accepts survives Marshal and a second parse unchanged.
// Seeds are well-formed messages built here and the messages of the
// recorded transcripts in testdata.

// transcriptSeeds returns the transcripts' handshake messages of type typ.
func transcriptSeeds(f *testing.F, typ uint8) [][]byte {
	var out [][]byte
	for _, m := range transcriptMessages(f) {
		if m[0] == typ {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		f.Fatalf("no %s in the transcripts", HandshakeTypeName(typ))
	}
	return out
}

func seedServerHellos(f *testing.F) {
	share := append([]byte{0x00, 0x1D, 0x00, 0x20}, make([]byte, 32)...)
	for _, sh := range []ServerHello{
		{Version: VersionTLS12, Random: random(1), SessionID: []byte{1, 2}, Suite: 0xC02F, Extensions: []Extension{extReneg, extEMS, extALPNh2, extPoints}},
		{Version: VersionTLS12, Random: random(2), Suite: 0x1301, Extensions: []Extension{extSV13, {ExtKeyShare, share}}},
		{Version: VersionTLS12, Random: HelloRetryRequestRandom, Suite: 0x1301, Extensions: []Extension{extSV13, {ExtKeyShare, []byte{0, 0x17}}, {ExtCookie, []byte{0, 1, 9}}}},
		{Version: VersionSSL30, Random: random(3), Suite: 0x000A},
	} {
		b, err := sh.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseServerHello(f *testing.F) {
	seedServerHellos(f)
	for _, m := range transcriptSeeds(f, TypeServerHello) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		sh, err := ParseServerHello(msg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		sh.NegotiatedVersion()
		sh.DowngradeSentinel()
		again, err := ParseServerHello(must(t)(sh.Marshal()))
		if err != nil || !reflect.DeepEqual(again, sh) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, sh)
		}
	})
}

func FuzzParseCertificate(f *testing.F) {
	for _, c := range []Certificate{
		{Version: VersionTLS12, Entries: []CertificateEntry{{Data: []byte("leaf")}, {Data: []byte("ca")}}},
		{Version: VersionTLS13, RequestContext: []byte{}, Entries: []CertificateEntry{{Data: []byte("leaf"), Extensions: []Extension{{ExtStatusRequest, []byte{1, 0, 0, 1, 0}}}}}},
	} {
		b, err := c.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, c.Version >= VersionTLS13)
	}
	for _, m := range transcriptSeeds(f, TypeCertificate) {
		f.Add(m, false)
	}
	f.Fuzz(func(t *testing.T, msg []byte, tls13 bool) {
		version := VersionTLS12
		if tls13 {
			version = VersionTLS13
		}
		c, err := ParseCertificate(msg, version)
		if err != nil {
			return
		}
		again, err := ParseCertificate(must(t)(c.Marshal()), version)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, c)
		}
	})
}

func FuzzParseCertificateRequest(f *testing.F) {
	for _, cr := range []CertificateRequest{
		{Version: VersionTLS12, CertificateTypes: []uint8{1, 64}, SignatureSchemes: []uint16{0x0403}, CertificateAuthorities: [][]byte{dn("CA")}},
		{Version: VersionTLS10, CertificateTypes: []uint8{1}},
		{Version: VersionTLS13, RequestContext: []byte{}, Extensions: []Extension{{ExtSignatureAlgorithms, []byte{0, 2, 8, 4}}}},
	} {
		b, err := cr.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(cr.Version))
	}
	for _, m := range transcriptSeeds(f, TypeCertificateRequest) {
		f.Add(m, uint8(3)) // TLS 1.2
	}
	f.Fuzz(func(t *testing.T, msg []byte, minor uint8) {
		version := 0x0300 | uint16(minor%5)
		cr, err := ParseCertificateRequest(msg, version)
		if err != nil {
			return
		}
		again, err := ParseCertificateRequest(must(t)(cr.Marshal()), version)
		if err != nil || !reflect.DeepEqual(again, cr) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, cr)
		}
	})
}

func FuzzParseClientHello(f *testing.F) {
	share := KeyShare{Group: GroupX25519, Data: make([]byte, 32)}
	for _, spec := range []ClientHelloSpec{
		{Version: VersionTLS13, Suites: []uint16{0x1301, 0xC02F}, ServerName: "a.test", ALPN: []string{"h2"}, KeyShares: []KeyShare{share}},
		{Version: VersionTLS12, Suites: []uint16{0xC02F, 0x00FF}, SessionID: []byte{1}},
		{Version: VersionSSL30, Suites: []uint16{0x000A}},
	} {
		b, err := spec.MarshalMessage()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, m := range transcriptSeeds(f, TypeClientHello) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := ParseClientHello(msg)
		if err != nil {
			return
		}
		ch.MaxVersion()
		again, err := ParseClientHello(must(t)(ch.Marshal()))
		if err != nil || !reflect.DeepEqual(again, ch) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, ch)
		}
	})
}

func FuzzParseSSLv2ClientHello(f *testing.F) {
	b, err := (&SSLv2ClientHello{Version: VersionTLS10, CipherSpecs: []uint32{0x00002F, 0x010080}, Challenge: make([]byte, 16)}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		LooksLikeSSLv2ClientHello(b)
		h, err := ParseSSLv2ClientHello(b)
		if err != nil {
			return
		}
		h.Suites()
		again, err := h.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("Marshal(Parse(b)) = %x, %v; want %x", again, err, b)
		}
	})
}

func FuzzParseAlert(f *testing.F) {
	f.Add([]byte{2, 40})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAlert(b)
		if err != nil {
			return
		}
		_ = a.String()
		if !bytes.Equal(a.Marshal(), b[:2]) {
			t.Fatalf("Marshal = %x; want %x", a.Marshal(), b[:2])
		}
	})
}

func FuzzParseServerHelloDone(f *testing.F) {
	f.Add(MarshalServerHelloDone())
	f.Fuzz(func(t *testing.T, b []byte) {
		if ParseServerHelloDone(b) == nil && !bytes.Equal(b, MarshalServerHelloDone()) {
			t.Fatalf("ParseServerHelloDone accepted %x", b)
		}
	})
}

func FuzzParseServerKeyExchange(f *testing.F) {
	f.Add(frame(TypeServerKeyExchange, append([]byte{3, 0, 0x1D, 1, 9, 4, 3, 0, 1}, 0)), uint8(4), uint8(1), uint8(3))
	f.Add(frame(TypeServerKeyExchange, []byte{0, 1, 0xFF, 0, 1, 2, 0, 1, 5, 0, 1, 0}), uint8(2), uint8(1), uint8(1))
	for _, m := range transcriptSeeds(f, TypeServerKeyExchange) {
		f.Add(m, uint8(4), uint8(2), uint8(3)) // ECDHE, ECDSA, TLS 1.2
	}
	kxs := []KeyExchange{KxPSK, KxDHEPSK, KxDHE, KxRSA, KxECDHE, KxECDHEPSK, KxRSAPSK, KxSRP}
	auths := []Authentication{AuthAnon, AuthRSA, AuthECDSA, AuthPSK}
	f.Fuzz(func(t *testing.T, msg []byte, kx, auth, minor uint8) {
		k, err := ParseServerKeyExchange(msg, kxs[int(kx)%len(kxs)], auths[int(auth)%len(auths)], 0x0300|uint16(minor%5))
		if err == nil {
			k.DHBits()
		}
	})
}

func FuzzHandshakeReader(f *testing.F) {
	sh, _ := (&ServerHello{Version: VersionTLS12, Random: random(1), Suite: 0xC02F}).Marshal()
	f.Add(MarshalRecord(RecordHandshake, VersionTLS12, append(sh, MarshalServerHelloDone()...)))
	f.Add(append(MarshalRecord(RecordHandshake, VersionTLS12, sh[:10]), MarshalRecord(RecordHandshake, VersionTLS12, sh[10:])...))
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n"))
	for _, tr := range transcripts {
		stream, err := os.ReadFile(filepath.Join("testdata", tr.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(stream)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		hr := NewHandshakeReader(bytes.NewReader(stream), 1<<12)
		for range len(stream) + 1 {
			msg, rec, err := hr.Next()
			if err != nil {
				var nt *NotTLSError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrMalformed) && !errors.As(err, &nt) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if (msg == nil) == (rec == nil) {
				t.Fatalf("Next = %x, %v; want exactly one", msg, rec)
			}
			if msg != nil && len(msg) < 4 {
				t.Fatalf("message of %d bytes", len(msg))
			}
		}
		t.Fatalf("Next never reached the end of a %d-byte stream", len(stream))
	})
}
