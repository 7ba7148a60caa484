package capture

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tlsgate/tlsgate/pki/pkitest"
	"github.com/tlsgate/tlsgate/tlsdiag/tlswire"
)

// step is one event of a hand-made connection.
type step struct {
	side   Side
	data   []byte
	gap    int
	closed bool
}

func run(steps ...step) *Connection {
	c := newConn(pkitest.Epoch, nil)
	now := pkitest.Epoch
	for _, s := range steps {
		now = now.Add(time.Millisecond)
		switch {
		case s.gap > 0:
			c.gap(now, s.side, s.gap, false)
		case s.closed:
			c.closed(now, s.side, false)
		default:
			c.data(now, s.side, s.data)
		}
	}
	return c.finish("127.0.0.1:50000", "127.0.0.1:443")
}

func hello(t *testing.T, sni string) []byte {
	t.Helper()
	spec := tlswire.ClientHelloSpec{Version: tlswire.VersionTLS12, ServerName: sni,
		Suites: []uint16{0xc02b, 0xc02f}}
	b, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func record(typ uint8, payload []byte) []byte {
	return tlswire.MarshalRecord(typ, tlswire.VersionTLS12, payload)
}

func alert(desc uint8) []byte {
	return record(tlswire.RecordAlert, tlswire.Alert{Level: tlswire.AlertLevelFatal, Description: desc}.Marshal())
}

func transcriptText(c *Connection) string {
	var b strings.Builder
	WriteTranscript(&b, "", c.Transcript)
	return b.String()
}

func TestRecords(t *testing.T) {
	appData := record(tlswire.RecordApplicationData, bytes.Repeat([]byte{7}, 1000))
	tests := []struct {
		name    string
		steps   []step
		outcome string
		want    []string // in the transcript
		judged  bool
	}{
		{
			name:    "refused hello",
			steps:   []step{{side: Client, data: hello(t, "backend.test")}, {side: Server, data: alert(tlswire.AlertHandshakeFailure)}, {side: Server, closed: true}},
			outcome: "failed: the server sent handshake_failure", judged: true,
			want: []string{"ClientHello: up to TLSv1.2 (no supported_versions); 2 suites; SNI backend.test", "Alert (fatal): handshake_failure", "FIN"},
		},
		{
			name: "hello in one-byte segments",
			steps: func() []step {
				var s []step
				for _, b := range hello(t, "a.test") {
					s = append(s, step{side: Client, data: []byte{b}})
				}
				return s
			}(),
			outcome: "unknown: the capture ends before the handshake does", judged: true,
			want: []string{"SNI a.test"},
		},
		{
			name:    "server speaks HTTP",
			steps:   []step{{side: Client, data: hello(t, "")}, {side: Server, data: []byte("HTTP/1.1 400 Bad Request\r\n\r\n")}},
			outcome: "failed: the server answered with HTTP, not TLS", judged: true,
			want: []string{`Not TLS: HTTP data: "HTTP/1.1 400 Bad Request\\r\\n\\r\\n"`},
		},
		{
			name:    "client speaks HTTP",
			steps:   []step{{side: Client, data: []byte("GET / HTTP/1.1\r\n\r\n")}},
			outcome: "not TLS: the client spoke HTTP",
		},
		{
			name: "SSLv2 hello",
			steps: func() []step {
				h := &tlswire.SSLv2ClientHello{Version: tlswire.VersionTLS10, CipherSpecs: []uint32{0x00002f, 0x010080},
					Challenge: bytes.Repeat([]byte{1}, 16)}
				b, err := h.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				return []step{{side: Client, data: b}, {side: Server, data: alert(tlswire.AlertProtocolVersion)}}
			}(),
			outcome: "failed: the server sent protocol_version", judged: true,
			want: []string{"ClientHello (SSLv2 format): up to TLSv1.0; 1 suites"},
		},
		{
			name: "gap inside skipped data keeps the records",
			steps: []step{{side: Client, data: hello(t, "b.test")}, {side: Server, data: appData[:100]}, {side: Server, gap: 500},
				{side: Server, data: appData[600:]}, {side: Server, data: alert(tlswire.AlertInternalError)}},
			outcome: "failed: the server sent internal_error", judged: true,
			want: []string{"Gap: 500 bytes missing", "Alert (fatal): internal_error"},
		},
		{
			name: "gap inside a handshake record",
			steps: []step{{side: Client, data: hello(t, "b.test")[:50]}, {side: Client, gap: 20},
				{side: Client, data: hello(t, "b.test")[70:]}, {side: Server, data: alert(tlswire.AlertInternalError)}},
			outcome: "not judged: the ClientHello was not captured whole",
			want:    []string{"ClientHello (incomplete):", "Alert (fatal): internal_error"},
		},
		{
			name:    "gap at a record boundary",
			steps:   []step{{side: Client, data: hello(t, "b.test")}, {side: Server, gap: 300}, {side: Server, data: alert(tlswire.AlertInternalError)}},
			outcome: "unknown: the capture ends before the handshake does", judged: true,
			want: []string{"Unreadable: the first 300 bytes are missing"},
		},
		{
			name:    "garbage after a record",
			steps:   []step{{side: Client, data: hello(t, "b.test")}, {side: Server, data: append(alert(tlswire.AlertInternalError), "xxxxxx"...)}},
			outcome: "failed: the server sent internal_error", judged: true,
			want: []string{"Unreadable: the bytes after record 1 are not a TLS record header"},
		},
		{
			name:    "oversized record",
			steps:   []step{{side: Client, data: hello(t, "b.test")}, {side: Server, data: []byte{22, 3, 3, 0xff, 0xff}}},
			outcome: "unknown", judged: true,
			want: []string{"record 1 claims 65535 bytes"},
		},
		{
			name: "oversized handshake message",
			steps: []step{{side: Client, data: hello(t, "b.test")},
				{side: Server, data: record(tlswire.RecordHandshake, []byte{tlswire.TypeCertificate, 0x10, 0, 0})}},
			outcome: "unknown", judged: true,
			want: []string{"Certificate: not read: a Certificate message of 1048576 bytes exceeds the limit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(tt.steps...)
			text := transcriptText(c)
			if !strings.HasPrefix(c.Outcome, tt.outcome) {
				t.Errorf("outcome %q; want %q", c.Outcome, tt.outcome)
			}
			if c.Judged() != tt.judged {
				t.Errorf("judged %v; want %v", c.Judged(), tt.judged)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("transcript lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestTranscriptBounded(t *testing.T) {
	steps := []step{{side: Client, data: hello(t, "b.test")}}
	for i := range 3 * maxEntries {
		steps = append(steps, step{side: Side(i % 2), data: record(tlswire.RecordChangeCipherSpec, []byte{1})})
	}
	c := run(steps...)
	if n := len(c.Transcript); n != maxEntries+1 {
		t.Fatalf("%d entries; want %d", n, maxEntries+1)
	}
	if last := c.Transcript[maxEntries]; !strings.Contains(last.Detail, "more entries not shown") {
		t.Errorf("last entry %+v", last)
	}
}
