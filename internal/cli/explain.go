package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
	"github.com/tlsgate/tlsgate/tlsdiag/explain"
)

const explainHelp = `
Read an error message of another system (Java, OpenSSL, curl, Go, Node.js, Python, nginx,
Envoy, Apigee, a browser) and name the causes of the catalog it leaves open, ranked, how to
tell them apart, and the tlsgate doctor command that settles it. TEXT is the message; with
no TEXT, or TEXT "-", the message is read from standard input. Paste it whole: a stack
trace with its "Caused by" lines, a log excerpt, curl -v output, a JSON fault. At most
1 MiB and 20,000 lines are read.

Examples:
  tlsgate explain 'curl: (60) SSL certificate problem: unable to get local issuer certificate'
  java -jar client.jar 2>&1 | tlsgate explain
  tlsgate explain --format json - < /var/log/nginx/error.log

Exit status: 0 a failure was recognised; 1 nothing was recognised; 2 bad usage or unreadable input.`

// explainStdin is where explain reads TEXT when it is not given; tests replace it.
var explainStdin io.Reader = os.Stdin

func runExplain(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "explain", "explain [flags] [TEXT...]", explainHelp)
	format := fs.String("format", "text", "output `format`: text or json")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if *format != "text" && *format != "json" {
		return fail(e, ExitUsage, fmt.Errorf("explain: --format %q: want text or json", *format), "")
	}
	text := strings.Join(fs.Args(), " ")
	if fs.NArg() == 0 || (fs.NArg() == 1 && fs.Arg(0) == "-") {
		if readsTerminal(explainStdin) {
			fmt.Fprintln(e.stderr, "Paste the error message, then press Ctrl-D.")
		}
		b, err := io.ReadAll(io.LimitReader(explainStdin, explain.MaxBytes))
		if err != nil {
			return fail(e, ExitUsage, fmt.Errorf("explain: reading standard input: %w", err), "")
		}
		text = string(b)
	}
	matches := explain.Explain(text)
	var err error
	if *format == "json" {
		err = writeExplainJSON(e.stdout, matches)
	} else {
		err = writeExplainText(e.stdout, matches)
	}
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("explain: writing the result: %w", err), "")
	}
	if len(matches) == 0 {
		what := "the text"
		if strings.TrimSpace(text) == "" {
			what = "an empty text"
		}
		return fail(e, ExitFindings, errors.New("explain: no known TLS failure in "+what),
			"paste the whole error, including the 'Caused by' lines, or run tlsgate doctor against the server")
	}
	return ExitOK
}

// readsTerminal reports whether r is a terminal, where a person types or pastes the text.
func readsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeExplainJSON(w io.Writer, matches []explain.Match) error {
	if matches == nil {
		matches = []explain.Match{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Matches []explain.Match `json:"matches"`
	}{matches})
}

// writeExplainText prints each match: the system and its decisive line, what it means, the
// candidates with their titles, how to tell them apart and the command that settles it.
func writeExplainText(w io.Writer, matches []explain.Match) error {
	var b strings.Builder
	for i, m := range matches {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", m.System, m.Line)
		fmt.Fprintf(&b, "  means:       %s\n", m.Meaning)
		b.WriteString("  candidates:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, c := range m.Causes {
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", c.Likelihood, c.ID, catalog.Title(c.ID))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "  tell apart:  %s\n", m.Check)
		fmt.Fprintf(&b, "  next:        %s\n", m.Next)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
