package capture

import (
	"fmt"
	"io"
	"math"
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
