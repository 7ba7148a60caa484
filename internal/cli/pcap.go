package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tlsgate/tlsgate/pki"
	"github.com/tlsgate/tlsgate/tlsdiag"
	"github.com/tlsgate/tlsgate/tlsdiag/capture"
	"github.com/tlsgate/tlsgate/tlsdiag/capture/pcapfile"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

const pcapHelp = `
Read a capture (pcap or pcapng, as tcpdump -w writes it) and explain every TLS handshake in
it: one summary line per connection (client → server, SNI, version, outcome, cause), then
for each connection its transcript, as Wireshark would show it, and the findings of the same
engine the doctor uses. Certificates are judged at the time of the capture.

TLS 1.3 encrypts the server's certificates, its CertificateRequest and its alerts: give the
client's key log (SSLKEYLOGFILE) with --keylog to see them. Without it, what the capture
cannot show is said.

Examples:
  tcpdump -i any -s 0 -w backend.pcap host 10.0.0.9 and port 443
  tlsgate pcap --truststore truststore.pem backend.pcap
  SSLKEYLOGFILE=keys.log curl https://backend.example.com/
  tlsgate pcap --keylog keys.log --host backend.example.com --format json backend.pcap

Exit status: 0 no error finding; 1 at least one error finding; 2 bad usage, or a file that
cannot be read (to its end).`

// pcapOptions are pcap's flags.
type pcapOptions struct {
	truststores        listFlag
	truststorePassword string
	clientCert         string
	keylog             string
	host               string
	port               int
	format             string
}

func runPcap(ctx context.Context, e *env, args []string) int {
	var o pcapOptions
	fs := newFlags(e, "pcap", "pcap [flags] FILE", pcapHelp)
	fs.Var(&o.truststores, "truststore", "the client's truststore: PEM bundle, DER, PKCS#12 or JKS `FILE`; repeatable")
	fs.StringVar(&o.truststorePassword, "truststore-password", "", "password of PKCS#12 or JKS truststores (and of --client-cert in a keystore)")
	fs.StringVar(&o.clientCert, "client-cert", "", "the client's configured certificate `FILE`, to tell \"none configured\" from \"not accepted\"")
	fs.StringVar(&o.keylog, "keylog", "", "the client's key log `FILE` (SSLKEYLOGFILE), to decrypt TLS 1.3 handshakes (and TLS 1.2 after the ChangeCipherSpec)")
	fs.StringVar(&o.host, "host", "", "only connections with this `HOST`: an endpoint's address or the SNI sent")
	fs.IntVar(&o.port, "port", 0, "only connections with this `PORT` at either end")
	fs.StringVar(&o.format, "format", "text", "output `format`: text or json")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	switch {
	case fs.NArg() != 1:
		return fail(e, ExitUsage, errors.New("pcap: expected exactly one FILE"), "tlsgate pcap [flags] capture.pcap (see tlsgate pcap --help)")
	case o.format != "text" && o.format != "json":
		return fail(e, ExitUsage, fmt.Errorf("pcap: --format %q: want text or json", o.format), "")
	case o.port < 0 || o.port > 65535:
		return fail(e, ExitUsage, fmt.Errorf("pcap: --port %d: want 1 to 65535", o.port), "")
	}
	path := fs.Arg(0)
	cc, err := o.clientConfig()
	if err != nil {
		return fail(e, ExitUsage, err, hintFor(err))
	}
	opts := capture.Options{Filter: o.filter(), Render: renderText}
	if o.format == "json" {
		opts.Render = renderJSON
	}
	if o.keylog != "" {
		if opts.Keys, err = capture.LoadKeyLog(o.keylog); err != nil {
			return fail(e, ExitUsage, fmt.Errorf("pcap: %w", err), "give the file the client wrote through SSLKEYLOGFILE (curl, browsers) or -keylogfile (openssl s_client)")
		}
		for _, p := range opts.Keys.Problems {
			fmt.Fprintf(e.stderr, "warning: key log %s: %s\n", o.keylog, p)
		}
	}
	if isTerminal(e.stderr) {
		opts.Progress = progressLine(e.stderr, path)
	}
	if os.Getenv("GOGC") == "" {
		// Each connection's garbage is short-lived; collecting less often costs a few tens
		// of MB, still flat however large the capture, and saves a third of the time.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	j := &capture.Judge{Engine: catalog.Engine(), Client: cc}
	var w pcapWriter
	if o.format == "json" {
		w = newJSONWriter(e.stdout)
	} else {
		w, err = newTextWriter(e.stdout, path)
		if err != nil {
			return fail(e, ExitUsage, fmt.Errorf("pcap: %w", err), "")
		}
	}
	sawError := false
	sum, readErr := capture.ReadFile(path, opts, j, func(r *capture.Result) error {
		if !o.keep(r) {
			return nil
		}
		if r.Report != nil && !r.Report.OK {
			sawError = true
		}
		return w.add(r)
	})
	if opts.Progress != nil {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if readErr != nil && !isPartial(readErr) {
		w.abort()
		return fail(e, ExitUsage, fmt.Errorf("pcap: %w", readErr), pcapHint(readErr))
	}
	if err := w.finish(path, sum, readErr); err != nil {
		return fail(e, ExitUsage, fmt.Errorf("pcap: writing the report: %w", err), "")
	}
	if readErr != nil {
		return fail(e, ExitUsage, fmt.Errorf("pcap: %w", readErr), "the connections read before the problem are shown above; "+pcapHint(readErr))
	}
	if sawError {
		return ExitFindings
	}
	return ExitOK
}

// isPartial reports whether err came after some of the capture was read.
func isPartial(err error) bool {
	return errors.Is(err, pcapfile.ErrTruncated) || errors.Is(err, pcapfile.ErrMalformed)
}

func pcapHint(err error) string {
	switch {
	case errors.Is(err, pcapfile.ErrNotCapture):
		return "give a file that tcpdump -w, dumpcap or Wireshark wrote (pcap or pcapng)"
	case errors.Is(err, pcapfile.ErrTruncated):
		return "the file ends in the middle of a packet: was tcpdump stopped abruptly, or the file cut while copied?"
	case errors.Is(err, pcapfile.ErrMalformed):
		return "the file is corrupted from that point on"
	case errors.Is(err, fs.ErrNotExist):
		return "check the path"
	}
	return ""
}

// clientConfig reads the flags' files into what is known of the client.
func (o *pcapOptions) clientConfig() (capture.ClientConfig, error) {
	var cc capture.ClientConfig
	for _, f := range o.truststores {
		certs, err := pki.LoadCertificates(f, o.truststorePassword)
		if err != nil {
			return cc, err
		}
		cc.Roots = append(cc.Roots, certs...)
		cc.RootsFrom = append(cc.RootsFrom, f)
	}
	if o.clientCert != "" {
		certs, err := pki.LoadCertificates(o.clientCert, o.truststorePassword)
		if err != nil {
			return cc, err
		}
		cc.ClientCert, cc.ClientCertFrom = certs[0], o.clientCert
	}
	return cc, nil
}

// filter keeps the connections whose endpoints match --host (an address) and --port.
func (o *pcapOptions) filter() func(client, server netip.AddrPort) bool {
	addr, err := netip.ParseAddr(o.host)
	isAddr := err == nil
	if !isAddr && o.port == 0 {
		return nil
	}
	return func(client, server netip.AddrPort) bool {
		if o.port != 0 && client.Port() != uint16(o.port) && server.Port() != uint16(o.port) {
			return false
		}
		return !isAddr || client.Addr().Unmap() == addr.Unmap() || server.Addr().Unmap() == addr.Unmap()
	}
}

// keep applies --host when it is a name: the SNI the client sent.
func (o *pcapOptions) keep(r *capture.Result) bool {
	if o.host == "" {
		return true
	}
	if _, err := netip.ParseAddr(o.host); err == nil {
		return true
	}
	return strings.EqualFold(r.ServerName, o.host)
}

// progressLine returns a progress callback that redraws one line on a terminal, at most
// five times a second.
func progressLine(w io.Writer, path string) func(done, total int64) {
	var mu sync.Mutex
	var last time.Time
	return func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		if total > 0 {
			fmt.Fprintf(w, "\r\033[Kreading %s: %d%% (%d of %d MB)", path, done*100/total, done>>20, total>>20)
		} else {
			fmt.Fprintf(w, "\r\033[Kreading %s: %d MB", path, done>>20)
		}
	}
}

// pcapWriter writes the report as the connections come.
type pcapWriter interface {
	add(r *capture.Result) error
	finish(path string, sum *capture.Summary, readErr error) error
	abort()
}

// summaryJSON is the capture's summary in the JSON report.
type summaryJSON struct {
	File        string         `json:"file"`
	Connections int            `json:"connections"`
	TLS         int            `json:"tls"`
	Other       map[string]int `json:"other,omitempty"`
	Empty       int            `json:"empty,omitempty"`
	Packets     int64          `json:"packets"`
	Truncated   int64          `json:"truncatedPackets,omitempty"`
	// EmbeddedKeys counts the connections whose secrets the pcapng file holds.
	EmbeddedKeys int    `json:"embeddedKeys,omitempty"`
	Error        string `json:"error,omitempty"`
}

func summaryOf(path string, sum *capture.Summary, readErr error) summaryJSON {
	s := summaryJSON{File: path}
	if sum != nil {
		s.Connections, s.TLS, s.Empty = sum.Connections, sum.TLS, sum.Empty
		s.Packets, s.Truncated = sum.Flow.Packets, sum.Flow.Truncated
		s.EmbeddedKeys = sum.EmbeddedKeys
		if len(sum.Other) > 0 {
			s.Other = sum.Other
		}
	}
	if readErr != nil {
		s.Error = readErr.Error()
	}
	return s
}

// jsonWriter streams {"connections":[...],"capture":{...}}, one connection a line.
type jsonWriter struct {
	w   *bufio.Writer
	n   int
	err error
}

func newJSONWriter(w io.Writer) *jsonWriter {
	j := &jsonWriter{w: bufio.NewWriterSize(w, 256<<10)}
	_, j.err = j.w.WriteString("{\"connections\": [")
	return j
}

func (j *jsonWriter) add(r *capture.Result) error {
	if j.err != nil {
		return j.err
	}
	if r.Err != nil {
		return r.Err
	}
	sep := ",\n"
	if j.n == 0 {
		sep = "\n"
	}
	j.n++
	j.w.WriteString(sep)
	_, j.err = j.w.Write(r.Output)
	renderBuffers.Put(r.Output[:0])
	return j.err
}

// renderBuffers are the buffers renderJSON renders into, back once written.
var renderBuffers = sync.Pool{New: func() any { return make([]byte, 0, 16<<10) }}

// renderJSON renders a connection as one line of JSON, the shape of connectionJSON; it
// runs in capture's workers. It appends what it can by hand, and the findings JSON once
// per shared slice: a capture's report is large, and encoding/json would be most of the
// time spent.
func renderJSON(r *capture.Result) ([]byte, error) {
	str := capture.AppendJSONString
	b := renderBuffers.Get().([]byte)[:0]
	b = append(b, `{"client":`...)
	b = str(b, r.Client)
	b = append(b, `,"server":`...)
	b = str(b, r.Server)
	if r.ServerName != "" {
		b = append(b, `,"serverName":`...)
		b = str(b, r.ServerName)
	}
	if r.Version != "" {
		b = append(b, `,"version":`...)
		b = str(b, r.Version)
	}
	b = append(b, `,"outcome":`...)
	b = str(b, r.Outcome)
	ok, findings := true, []byte("[]")
	if r.Report != nil {
		ok = r.Report.OK
		var err error
		if findings, err = findingsJSON(r.Report.Findings); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"ok":`...)
	b = strconv.AppendBool(b, ok)
	b = append(b, `,"findings":`...)
	b = append(b, findings...)
	b = append(b, `,"transcript":[`...)
	for i, e := range r.Transcript {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.AppendJSON(b)
	}
	b = append(b, ']')
	if len(r.Notes) > 0 {
		b = append(b, `,"notes":[`...)
		for i, n := range r.Notes {
			if i > 0 {
				b = append(b, ',')
			}
			b = str(b, n)
		}
		b = append(b, ']')
	}
	if r.Facts != nil {
		facts, err := json.Marshal(r.Facts)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"facts":`...)
		b = append(b, facts...)
	}
	return append(b, '}'), nil
}

var findingsCache = struct {
	sync.Mutex
	m map[*tlsdiag.Finding]cachedJSON
}{m: map[*tlsdiag.Finding]cachedJSON{}}

// cachedJSON holds the findings it was made of, so that their address is not reused
// while the entry lives.
type cachedJSON struct {
	fs   []tlsdiag.Finding
	json []byte
}

// findingsJSON marshals findings once per slice: connections that look alike to the
// engine share their findings (capture.Judge), and their JSON with them.
func findingsJSON(fs []tlsdiag.Finding) ([]byte, error) {
	if len(fs) == 0 {
		return []byte("[]"), nil
	}
	findingsCache.Lock()
	c, ok := findingsCache.m[&fs[0]]
	findingsCache.Unlock()
	if ok && len(c.fs) == len(fs) {
		return c.json, nil
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return nil, err
	}
	findingsCache.Lock()
	if len(findingsCache.m) >= 4096 {
		clear(findingsCache.m)
	}
	findingsCache.m[&fs[0]] = cachedJSON{fs, b}
	findingsCache.Unlock()
	return b, nil
}

func (j *jsonWriter) finish(path string, sum *capture.Summary, readErr error) error {
	if j.err != nil {
		return j.err
	}
	b, err := json.Marshal(summaryOf(path, sum, readErr))
	if err != nil {
		return err
	}
	fmt.Fprintf(j.w, "\n],\n\"capture\": %s}\n", b)
	return j.w.Flush()
}

func (j *jsonWriter) abort() {}

// textWriter prints one summary line per connection, then each connection's details. The
// details wait in a temporary file, so that memory does not grow with the capture.
type textWriter struct {
	out     io.Writer
	rows    [][]string
	details *os.File
	dw      *bufio.Writer
	n       int
}

func newTextWriter(out io.Writer, path string) (*textWriter, error) {
	f, err := os.CreateTemp("", "tlsgate-pcap-*")
	if err != nil {
		return nil, err
	}
	return &textWriter{out: out, details: f, dw: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (t *textWriter) add(r *capture.Result) error {
	t.n++
	sni := r.ServerName
	if sni == "" {
		sni = "-"
	}
	cause := "-"
	if r.Report != nil {
		for _, f := range r.Report.Findings {
			if f.Severity == tlsdiag.SeverityError {
				cause = f.ID
				break
			}
		}
		if cause == "-" && len(r.Report.Findings) > 0 {
			cause = r.Report.Findings[0].ID + " (" + string(r.Report.Findings[0].Severity) + ")"
		}
	}
	t.rows = append(t.rows, []string{fmt.Sprint(t.n), r.Client + " → " + r.Server, sni, orDash(r.Version), r.Outcome, cause})
	if r.Err != nil {
		return r.Err
	}
	fmt.Fprintf(t.dw, "\nConnection %d: ", t.n)
	_, err := t.dw.Write(r.Output)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// renderText renders a connection's details after its number: its transcript, notes and
// findings. It runs in capture's workers.
func renderText(r *capture.Result) ([]byte, error) {
	var b bytes.Buffer
	if err := writeDetail(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeDetail writes a connection's details after its number.
func writeDetail(w io.Writer, r *capture.Result) error {
	fmt.Fprintf(w, "%s → %s", r.Client, r.Server)
	if r.ServerName != "" {
		fmt.Fprintf(w, " (SNI %s)", r.ServerName)
	}
	fmt.Fprintf(w, ", %s\n", r.Start.UTC().Format("2006-01-02 15:04:05.000000 MST"))
	if err := capture.WriteTranscript(w, "  ", r.Transcript); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.Report == nil {
		return nil
	}
	var b bytes.Buffer
	if err := tlsdiag.WriteText(&b, r.Report); err != nil {
		return err
	}
	// The doctor's report without its title line: the verdict, then the evidence.
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > 2 {
		lines = lines[2:]
	}
	fmt.Fprintln(w)
	for _, l := range lines {
		if l == "" {
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "  %s\n", l)
	}
	return nil
}

func (t *textWriter) finish(path string, sum *capture.Summary, readErr error) error {
	defer t.abort()
	w := bufio.NewWriter(t.out)
	s := summaryOf(path, sum, readErr)
	fmt.Fprintf(w, "tlsgate pcap %s: %d TCP connection(s), %d with TLS", path, s.Connections, s.TLS)
	if len(s.Other) > 0 {
		var other []string
		for p, n := range s.Other {
			other = append(other, fmt.Sprintf("%s %d", p, n))
		}
		sort.Strings(other)
		fmt.Fprintf(w, ", other protocols: %s", strings.Join(other, ", "))
	}
	if s.Empty > 0 {
		fmt.Fprintf(w, ", %d without data", s.Empty)
	}
	fmt.Fprintln(w)
	if s.EmbeddedKeys > 0 {
		fmt.Fprintf(w, "the capture holds the TLS secrets of %d connection(s) (pcapng Decryption Secrets Blocks): they are used\n", s.EmbeddedKeys)
	}
	if s.Truncated > 0 {
		fmt.Fprintf(w, "warning: %d packet(s) were cut by the capture's snapshot length; capture with tcpdump -s 0\n", s.Truncated)
	}
	if len(t.rows) == 0 {
		fmt.Fprintln(w, "no TLS handshake in the capture")
		return w.Flush()
	}
	fmt.Fprintln(w)
	writeTable(w, append([][]string{{"#", "client → server", "SNI", "version", "outcome", "cause"}}, t.rows...))
	if err := t.dw.Flush(); err != nil {
		return err
	}
	if _, err := t.details.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := io.Copy(w, t.details); err != nil {
		return err
	}
	return w.Flush()
}

func (t *textWriter) abort() {
	t.details.Close()
	os.Remove(t.details.Name())
}

// writeTable writes rows as columns two spaces apart, the first right-aligned.
func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(pad + c)
			case i == len(r)-1:
				b.WriteString("  " + c)
			default:
				b.WriteString("  " + c + pad)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
