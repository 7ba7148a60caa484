package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tlsgate/tlsgate/lab"
	"github.com/tlsgate/tlsgate/lab/javaclient"
	"github.com/tlsgate/tlsgate/tlsdiag/catalog"
)

// The clients' sources, written to the temporary directory and built there at record time.
//
//go:embed goclient/main.go scripts/client.js scripts/client.py
var sources embed.FS

// recorder runs the clients and keeps what they printed until write.
type recorder struct {
	out      string
	systems  map[string]bool
	paths    map[string]string // program name → path
	versions map[string]string // system → the version its program reports
	root     string            // the run's temporary directory
	bin      string            // root/bin: the built clients and the scripts
	log      io.Writer

	records []record
	seen    map[string][]string // dedupe key → texts recorded under it
	// pageCauses are the causes each nginx error page (masked) was seen for.
	pageCauses map[string]map[string]bool
	skipped    []string // client runs that did not fail
}

// record is one recorded text and its manifest entry.
type record struct {
	entry
	text string
	page string // the masked text of an nginx page, to find the causes it was seen for
}

// entry is one line of manifest.json.
type entry struct {
	File     string `json:"file"`
	System   string `json:"system"`
	Scenario string `json:"scenario"`
	Cause    string `json:"cause"`
	Command  string `json:"command"`
	Exit     int    `json:"exit"`
	// Peer is the lab server's implementation (go, openssl, nginx); Variant the change made
	// to the scenario's client ("tls1.2": at most TLS 1.2, "tls1.3": only TLS 1.3,
	// "ciphers": ECDHE AES-GCM suites only).
	Peer    string `json:"peer"`
	Variant string `json:"variant,omitempty"`
	Note    string `json:"note,omitempty"`
	// Version is what the client's program says its version is.
	Version string `json:"version,omitempty"`
}

func newRecorder(ctx context.Context, out string, systems map[string]bool, paths map[string]string, log io.Writer) (_ *recorder, err error) {
	root, err := os.MkdirTemp("", "tlsgate-record-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	rec := &recorder{out: out, systems: systems, paths: paths, root: root, bin: filepath.Join(root, "bin"),
		log: log, seen: map[string][]string{}, versions: map[string]string{}, pageCauses: map[string]map[string]bool{}}
	defer func() {
		if err != nil {
			rec.cleanup()
		}
	}()
	if err := os.MkdirAll(rec.bin, 0o700); err != nil {
		return nil, err
	}
	if err := writeFile(rec.bin, "TLSClient.java", javaclient.Source); err != nil {
		return nil, err
	}
	for _, name := range []string{"scripts/client.js", "scripts/client.py"} {
		b, _ := sources.ReadFile(name)
		if err := writeFile(rec.bin, filepath.Base(name), b); err != nil {
			return nil, err
		}
	}
	if systems["java"] {
		if err := rec.build(ctx, rec.bin, paths["javac"], "-d", rec.bin, "TLSClient.java"); err != nil {
			return nil, fmt.Errorf("compiling the Java client: %w", err)
		}
	}
	if systems["go"] {
		if err := rec.buildGo(ctx); err != nil {
			return nil, fmt.Errorf("building the Go client: %w", err)
		}
	}
	rec.readVersions(ctx)
	return rec, nil
}

// buildGo builds the Go client as a module of its own, so that the build needs nothing but
// the standard library, wherever the recorder runs.
func (rec *recorder) buildGo(ctx context.Context) error {
	dir := filepath.Join(rec.root, "goclient")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	src, _ := sources.ReadFile("goclient/main.go")
	if err := writeFile(dir, "main.go", src); err != nil {
		return err
	}
	if err := writeFile(dir, "go.mod", []byte("module goclient\n\ngo 1.26\n")); err != nil {
		return err
	}
	return rec.build(ctx, dir, rec.paths["go"], "build", "-o", filepath.Join(rec.bin, "goclient"), ".")
}

func (rec *recorder) build(ctx context.Context, dir, path string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c := command(ctx, path, args...)
	c.Dir = dir
	c.Env = append(cleanEnv(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(path), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// readVersions asks each selected system's program for its version.
func (rec *recorder) readVersions(ctx context.Context) {
	ask := func(system, name string, args ...string) {
		if !rec.systems[system] || rec.paths[name] == "" {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := command(ctx, rec.paths[name], args...).CombinedOutput()
		if err != nil {
			return
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		rec.versions[system] = strings.TrimSpace(first)
	}
	ask("curl", "curl", "--version")
	ask("openssl", "openssl", "version")
	ask("java", "java", "-version")
	ask("go", "go", "version")
	ask("node", "node", "--version")
	ask("python", "python3", "--version")
	ask("nginx", "nginx", "-v")
	if v := rec.versions["node"]; v != "" {
		rec.versions["node"] = "Node.js " + v
	}
}

func (rec *recorder) cleanup() {
	os.RemoveAll(rec.root)
}

func (rec *recorder) logf(format string, args ...any) {
	fmt.Fprintf(rec.log, format+"\n", args...)
}

// recordAll records every scenario whose name filter matches.
func (rec *recorder) recordAll(ctx context.Context, filter interface{ MatchString(string) bool }) error {
	for _, s := range lab.Scenarios() {
		if !filter.MatchString(s.Name) {
			continue
		}
		p := planFor(s)
		for _, peer := range p.peers {
			if err := rec.scenario(ctx, s, p, peer); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// scenario starts s with peer and runs every selected client against it.
func (rec *recorder) scenario(ctx context.Context, s lab.Scenario, p plan, peer lab.Peer) error {
	clients := clientsSee(s, p, peer)
	inbound := false
	if peer == lab.PeerNginx && rec.systems["nginx"] {
		for _, v := range p.variants {
			inbound = inbound || inboundCause(s, v) != ""
		}
	}
	if !clients && !inbound {
		return nil
	}
	dir, err := os.MkdirTemp(rec.root, "run-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	r, err := lab.Start(ctx, s, peer, dir)
	if err != nil {
		return err
	}
	defer r.Close()
	keytool := ""
	if rec.systems["java"] {
		keytool = rec.paths["keytool"]
	}
	m, err := writeMaterial(ctx, dir, r, keytool)
	if err != nil {
		return fmt.Errorf("%s with %s: %w", s.Name, peer, err)
	}
	for _, v := range p.variants {
		j := &job{rec: rec, s: s, peer: peer, p: p, v: v, m: m, r: r}
		if clients {
			for _, sys := range allSystems {
				if rec.systems[sys] {
					for _, c := range j.run(ctx, sys) {
						rec.add(j, sys, c)
					}
				}
			}
		}
		if cause := inboundCause(s, v); inbound && cause != "" {
			for _, c := range j.nginxServer(ctx, cause) {
				rec.add(j, "nginx", c)
			}
		}
	}
	return nil
}

func (j *job) run(ctx context.Context, system string) []capture {
	switch system {
	case "curl":
		return j.curl(ctx)
	case "openssl":
		return j.openssl(ctx)
	case "java":
		return j.java(ctx)
	case "go":
		return j.goClient(ctx)
	case "node":
		return j.node(ctx)
	case "python":
		return j.python(ctx)
	case "nginx":
		return j.nginxProxy(ctx)
	}
	return nil
}

// add keeps c as a record, unless the client did not fail, printed nothing, or printed what
// it printed against another peer.
func (rec *recorder) add(j *job, system string, c capture) {
	label := fmt.Sprintf("%-7s %s", system, j.s.Name)
	for _, part := range []string{j.v.name, c.kind} {
		if part != "" {
			label += " [" + part + "]"
		}
	}
	label += " (server: " + string(j.peer) + ")"
	if !c.failed {
		rec.skipped = append(rec.skipped, label+": the client succeeded")
		rec.logf("  ok    %s: the client succeeded; not recorded", label)
		return
	}
	ports := map[string]string{j.m.port: "PORT", c.proxyPort: "PROXY_PORT", aiaPort(j.s): "AIA_PORT"}
	norm := newNormaliser([]string{j.r.Dir, j.m.dir, rec.bin, rec.root}, ports)
	text := norm.apply(c.output)
	if strings.TrimSpace(text) == "" {
		rec.skipped = append(rec.skipped, label+": the client failed and printed nothing")
		rec.logf("  empty %s: exit %d, no output; not recorded", label, c.exit)
		return
	}
	cause := c.cause
	if cause == "" {
		cause = j.v.cause
	}
	if cause == "" {
		cause = j.s.Expect
	}
	same := masked(text)
	key := system + "/" + j.s.Name
	if c.kind == "response" {
		// nginx's pages are the same whatever failed: kept once, with every cause seen.
		key = system + "/response"
		if rec.pageCauses[same] == nil {
			rec.pageCauses[same] = map[string]bool{}
		}
		rec.pageCauses[same][cause] = true
	}
	// With a client certificate, what a client prints against the Go server depends on
	// timing (its alert, or the connection it closed right after): keep every peer's and
	// variant's text there, so that the files recorded do not depend on the race.
	racy := strings.HasPrefix(j.s.Expect, "clientcert.") && c.kind != "response" &&
		(j.s.Expect != catalog.ClientCertKeyMismatch || system == "java") // the others fail before connecting
	for _, t := range rec.seen[key] {
		if t == same && !racy {
			rec.logf("  same  %s: the same text is already recorded for this scenario", label)
			return
		}
	}
	rec.seen[key] = append(rec.seen[key], same)
	parts := []string{j.s.Name}
	if j.v.name != "" {
		parts = append(parts, j.v.name)
	}
	if j.p.multiPeer && !strings.HasPrefix(c.kind, "server-") {
		parts = append(parts, string(j.peer))
	}
	if c.kind != "" {
		parts = append(parts, c.kind)
	}
	file := system + "/" + strings.Join(parts, ".") + ".txt"
	note := c.note
	if strings.HasPrefix(j.s.Expect, "clientcert.") && closedEarly.MatchString(text) {
		note = joinNote(note, "timing: the server closed the connection right after its alert, "+
			"and the client met the closed connection before it read the alert")
	}
	e := entry{File: file, System: system, Scenario: j.s.Name, Cause: cause, Command: norm.apply(shellJoin(c.argv)),
		Exit: c.exit, Peer: string(j.peer), Variant: j.v.name, Note: norm.apply(note), Version: rec.versions[system]}
	r := record{entry: e, text: text}
	if c.kind == "response" {
		r.page = same
	}
	rec.records = append(rec.records, r)
	rec.logf("  rec   %s: exit %d → %s", label, c.exit, file)
}

// The parts of a text that change from one run to the next, masked to compare two texts.
var (
	threadID  = regexp.MustCompile(`\b[0-9A-F]{8,16}:error:`)
	logPrefix = regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: \*\d+ `)
	elapsed   = regexp.MustCompile(`\b\d+ (ms|milliseconds)\b`)
	// closedEarly is what clients print when they write to, or ask about, a connection the
	// server has closed.
	closedEarly = regexp.MustCompile(`Broken pipe|Error writing to server|getpeername\(\) failed|Connection reset by peer|ECONNRESET|EPIPE|EOF occurred in violation of protocol`)
)

// masked is text with what changes from one run to the next replaced, so that two texts
// that differ only there are the same message.
func masked(text string) string {
	text = threadID.ReplaceAllString(text, "THREAD:error:")
	text = logPrefix.ReplaceAllString(text, "TIME $1 PID: ")
	return elapsed.ReplaceAllString(text, "N $1")
}

// shellJoin shows argv as a shell command line. argv[0] is shown as it is.
func shellJoin(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	out := []string{argv[0]}
	for _, a := range argv[1:] {
		out = append(out, shellQuote(a))
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
