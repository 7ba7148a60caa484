package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/lab/gatewaylab"
	"github.com/tlsgate/tlsgate/tlsdiag"
)

const labHelp = `
Start, on 127.0.0.1, one server per failure the doctor diagnoses plus healthy ones, run the
doctor against each, then put the gateway in front of it (a proxy whose target is configured
as the scenario's client) and send one request through it; print scenario, peer, expected
cause, the doctor's verdict, what an API client received from the gateway (status, fault
code, the cause it reported) and whether they agree. Peers are the server implementations: go (crypto/tls, in this process,
nothing to install), openssl (openssl s_server; Debian package openssl) and nginx (Debian
package nginx-light).

Examples:
  tlsgate lab
  tlsgate lab --peer all
  tlsgate lab --peer nginx --run 'sni|chain' --verbose

Exit status: 0 every verdict as expected; 1 otherwise; 2 bad usage.`

// labParallel bounds how many scenarios run at once.
const labParallel = 4

// labJob is one scenario played by one peer, and how it went.
type labJob struct {
	scenario lab.Scenario
	peer     lab.Peer
	result   *lab.Result
	gateway  *gatewaylab.Result // nil with --no-gateway
	err      error
	took     time.Duration
}

func (j *labJob) ok() bool {
	return j.err == nil && j.result.AsExpected && (j.gateway == nil || j.gateway.AsExpected)
}

func runLab(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "lab", "lab [flags]", labHelp)
	peerFlag := fs.String("peer", "go", "server `implementation`: go, openssl, nginx or all")
	runFlag := fs.String("run", "", "only the scenarios whose name matches `REGEXP`")
	format := fs.String("format", "text", "output `format`: text or json")
	verbose := fs.Bool("verbose", false, "also print each scenario's full report")
	noGateway := fs.Bool("no-gateway", false, "run the doctor only, without the gateway in front of each server")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	if fs.NArg() != 0 {
		return fail(e, ExitUsage, fmt.Errorf("lab: unexpected argument %q", fs.Arg(0)), "tlsgate lab [--peer go|openssl|nginx|all] [--run REGEXP]")
	}
	if *format != "text" && *format != "json" {
		return fail(e, ExitUsage, fmt.Errorf("lab: --format %q: want text or json", *format), "")
	}
	peers := lab.Peers()
	if *peerFlag != "all" {
		p, err := lab.ParsePeer(*peerFlag)
		if err != nil {
			return fail(e, ExitUsage, err, "--peer is go, openssl, nginx or all")
		}
		peers = []lab.Peer{p}
	}
	re, err := regexp.Compile(*runFlag)
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("lab: --run: %w", err), "")
	}
	var jobs []*labJob
	for _, s := range lab.Scenarios() {
		if !re.MatchString(s.Name) {
			continue
		}
		for _, p := range peers {
			if s.PlayedBy(p) {
				jobs = append(jobs, &labJob{scenario: s, peer: p})
			}
		}
	}
	if len(jobs) == 0 {
		return fail(e, ExitUsage, errors.New("lab: no scenario matches"), "see the names with tlsgate lab --run . --peer all")
	}

	start := time.Now()
	var gw *gatewaylab.Gateway
	if !*noGateway {
		if gw, err = gatewaylab.Start(ctx); err != nil {
			return fail(e, ExitUsage, fmt.Errorf("lab: starting the gateway: %w", err), "run the doctor alone with --no-gateway")
		}
		defer gw.Close()
	}
	runLabJobs(ctx, jobs, gw, newProgress(e.stderr, len(jobs)))
	total := time.Since(start)

	good := 0
	for _, j := range jobs {
		if j.ok() {
			good++
		}
	}
	if *format == "json" {
		err = writeLabJSON(e.stdout, jobs, good, *verbose)
	} else {
		err = writeLabText(e.stdout, jobs, good, total, *verbose)
	}
	if err != nil {
		return fail(e, ExitUsage, fmt.Errorf("lab: writing the results: %w", err), "")
	}
	if good != len(jobs) {
		return ExitFindings
	}
	return ExitOK
}

// runLabJobs runs the jobs, labParallel at a time.
func runLabJobs(ctx context.Context, jobs []*labJob, gw *gatewaylab.Gateway, prog *progress) {
	sem := make(chan struct{}, labParallel)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				j.err = errors.New("interrupted")
				return
			}
			prog.begin(j)
			t := time.Now()
			j.result, j.gateway, j.err = runLabJob(ctx, j.scenario, j.peer, gw)
			j.took = time.Since(t)
			if ctx.Err() != nil {
				j.result, j.err = nil, errors.New("interrupted")
			}
			prog.end(j)
		})
	}
	wg.Wait()
	prog.done()
}

// runLabJob starts one scenario, runs the doctor against it and, with a gateway, sends one
// request through the gateway to it.
func runLabJob(ctx context.Context, s lab.Scenario, p lab.Peer, gw *gatewaylab.Gateway) (*lab.Result, *gatewaylab.Result, error) {
	r, err := lab.Start(ctx, s, p, "")
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	res, err := r.Diagnose(ctx)
	if err != nil || gw == nil {
		return res, nil, err
	}
	g, err := gw.Try(ctx, r)
	if err != nil {
		return nil, nil, fmt.Errorf("through the gateway: %w", err)
	}
	return res, g, nil
}

// gatewayText renders what the API client received through the gateway.
func (j *labJob) gatewayText() string {
	g := j.gateway
	switch {
	case g == nil:
		return "-"
	case g.Note != "":
		return "refused at configuration"
	case g.Status == 200:
		return "200"
	}
	code := g.FaultCode[strings.LastIndex(g.FaultCode, ".")+1:]
	if g.Cause == "" {
		return fmt.Sprintf("%d %s", g.Status, code)
	}
	return fmt.Sprintf("%d %s %s", g.Status, code, g.Cause)
}

// verdict renders what the doctor found: the finding IDs, non-errors marked.
func (j *labJob) verdict() string {
	if j.err != nil {
		return "error: " + j.err.Error()
	}
	var ids []string
	for _, f := range j.result.Report.Findings {
		id := f.ID
		if f.Severity != tlsdiag.SeverityError {
			id += " (" + string(f.Severity) + ")"
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return "ok"
	}
	return strings.Join(ids, ", ")
}

func writeLabText(w io.Writer, jobs []*labJob, good int, total time.Duration, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	withGateway := len(jobs) > 0 && jobs[0].gateway != nil
	if withGateway {
		fmt.Fprintln(tw, "SCENARIO\tPEER\tEXPECTED\tVERDICT\tGATEWAY ANSWER\t\tTIME")
	} else {
		fmt.Fprintln(tw, "SCENARIO\tPEER\tEXPECTED\tVERDICT\t\tTIME")
	}
	for _, j := range jobs {
		mark := "✓"
		if !j.ok() {
			mark = "✗"
		}
		if withGateway {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.scenario.Name, j.peer, j.scenario.ExpectText(), j.verdict(), j.gatewayText(), mark, roundDuration(j.took))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.scenario.Name, j.peer, j.scenario.ExpectText(), j.verdict(), mark, roundDuration(j.took))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, j := range jobs {
		if j.err == nil && !j.result.AsExpected {
			fmt.Fprintf(w, "\n%s (%s): %s\n", j.scenario.Name, j.peer, strings.Join(j.result.Problems, "; "))
		}
		if j.err == nil && j.gateway != nil && !j.gateway.AsExpected {
			fmt.Fprintf(w, "\n%s (%s) through the gateway: %s\n", j.scenario.Name, j.peer, j.gateway.Problem)
		}
	}
	fmt.Fprintf(w, "\n%d/%d as expected in %s\n", good, len(jobs), roundDuration(total))
	if !verbose {
		return nil
	}
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		fmt.Fprintf(w, "\n── %s (%s): %s ──\n", j.scenario.Name, j.peer, j.scenario.Description)
		if err := tlsdiag.WriteText(w, j.result.Report); err != nil {
			return err
		}
	}
	return nil
}

// labResult is one row of `tlsgate lab --format json`.
type labResult struct {
	Scenario    string           `json:"scenario"`
	Description string           `json:"description"`
	Peer        lab.Peer         `json:"peer"`
	Expected    string           `json:"expected"`
	Severity    tlsdiag.Severity `json:"severity,omitempty"`
	Found       []labFound       `json:"found"`
	AsExpected  bool             `json:"asExpected"`
	Problems    []string         `json:"problems,omitempty"`
	Error       string           `json:"error,omitempty"`
	DurationMs  int64            `json:"durationMs"`
	Report      *tlsdiag.Report  `json:"report,omitempty"`
	// Gateway is what an API client received through the gateway (absent with --no-gateway).
	Gateway *gatewaylab.Result `json:"gateway,omitempty"`
}

type labFound struct {
	ID       string           `json:"id"`
	Severity tlsdiag.Severity `json:"severity"`
}

func writeLabJSON(w io.Writer, jobs []*labJob, good int, verbose bool) error {
	out := struct {
		Results    []labResult `json:"results"`
		AsExpected int         `json:"asExpected"`
		Total      int         `json:"total"`
	}{Results: []labResult{}, AsExpected: good, Total: len(jobs)}
	for _, j := range jobs {
		r := labResult{
			Scenario: j.scenario.Name, Description: j.scenario.Description, Peer: j.peer,
			Expected: j.scenario.Expect, Severity: j.scenario.Severity,
			Found: []labFound{}, AsExpected: j.ok(), DurationMs: j.took.Milliseconds(),
		}
		if j.err != nil {
			r.Error = j.err.Error()
		} else {
			for _, f := range j.result.Report.Findings {
				r.Found = append(r.Found, labFound{ID: f.ID, Severity: f.Severity})
			}
			r.Problems = j.result.Problems
			r.Gateway = j.gateway
			if verbose {
				r.Report = j.result.Report
			}
		}
		out.Results = append(out.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Millisecond)
}

// progress shows on a terminal which scenarios run and how many are done.
type progress struct {
	w        io.Writer // nil when not a terminal
	mu       sync.Mutex
	total    int
	finished int
	running  map[*labJob]bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{total: total, running: map[*labJob]bool{}}
	if isTerminal(w) {
		p.w = w
	}
	return p
}

// isTerminal reports whether w is a terminal, where progress lines may be drawn.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) begin(j *labJob) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[j] = true
	p.draw()
}

func (p *progress) end(j *labJob) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, j)
	p.finished++
	p.draw()
}

func (p *progress) draw() {
	if p.w == nil {
		return
	}
	var names []string
	for j := range p.running {
		names = append(names, j.scenario.Name+"/"+string(j.peer))
	}
	sort.Strings(names)
	line := fmt.Sprintf("[%d/%d] %s", p.finished, p.total, strings.Join(names, " "))
	if len(line) > 100 {
		line = line[:97] + "..."
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
