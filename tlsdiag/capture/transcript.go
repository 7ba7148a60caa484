package capture

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Side is one end of a TCP connection: the client opened it, the server accepted it.
type Side uint8

// The sides.
const (
	Client Side = iota
	Server
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

func (s Side) other() Side { return 1 - s }

// Entry is one line of a connection's transcript: a TLS message, a run of encrypted
// records, an alert, a close, or bytes the capture lost, as Wireshark's packet list would
// show them.
type Entry struct {
	// Time is in seconds since the connection's first packet.
	Time    float64 `json:"time"`
	From    string  `json:"from"`    // "client" or "server"
	Message string  `json:"message"` // e.g. "ClientHello", "Alert", "FIN", "Gap"
	Detail  string  `json:"detail,omitempty"`
	// Lines are the items of the message: the certificates of a chain, the CA names of a
	// CertificateRequest, the suites of a ClientHello.
	Lines []string `json:"lines,omitempty"`
	// Decrypted marks a message read with the key log's secrets.
	Decrypted bool `json:"decrypted,omitempty"`
	// Records and Bytes count the records of a run of encrypted or application data.
	Records int `json:"records,omitempty"`
	Bytes   int `json:"bytes,omitempty"`

	run string // the kind of run this entry aggregates, "" for a single message
}

// maxEntries bounds a transcript; later entries are counted, not kept.
const maxEntries = 200

// seconds rounds d to microseconds, in seconds.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1e6) / 1e6
}

// WriteTranscript writes entries as aligned lines, indented by indent.
func WriteTranscript(w io.Writer, indent string, entries []Entry) error {
	for _, e := range entries {
		arrow := "client → server"
		if e.From == Server.String() {
			arrow = "server → client"
		}
		msg := e.Message
		if e.Decrypted {
			msg += " (decrypted)"
		}
		if e.Detail != "" {
			msg += ": " + e.Detail
		}
		if _, err := fmt.Fprintf(w, "%s%10.6f  %s  %s\n", indent, e.Time, arrow, msg); err != nil {
			return err
		}
		pad := indent + strings.Repeat(" ", 10+2+15+2+2) // under the message, indented
		for _, l := range e.Lines {
			if _, err := fmt.Fprintf(w, "%s%s\n", pad, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// MarshalJSON writes e as encoding/json would, faster: a capture's report is mostly
// transcripts.
func (e Entry) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 64+len(e.Detail)+16*len(e.Lines))), nil
}

// AppendJSON appends e's JSON to b.
func (e Entry) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":`...)
	b = strconv.AppendFloat(b, e.Time, 'f', -1, 64)
	b = append(b, `,"from":`...)
	b = AppendJSONString(b, e.From)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, e.Message)
	if e.Detail != "" {
		b = append(b, `,"detail":`...)
		b = AppendJSONString(b, e.Detail)
	}
	if len(e.Lines) > 0 {
		b = append(b, `,"lines":[`...)
		for i, l := range e.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, l)
		}
		b = append(b, ']')
	}
	if e.Decrypted {
		b = append(b, `,"decrypted":true`...)
	}
	if e.Records != 0 {
		b = append(b, `,"records":`...)
		b = strconv.AppendInt(b, int64(e.Records), 10)
	}
	if e.Bytes != 0 {
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, int64(e.Bytes), 10)
	}
	return append(b, '}')
}

// AppendJSONString appends s as a JSON string: printable ASCII as is, the rest as
// encoding/json writes it.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
