// Command record runs real TLS clients against the lab's failing scenarios and records what
// they print, as the test corpus of tlsgate explain.
//
//	go run ./lab/cmd/record -out tlsdiag/explain/testdata/corpus [-run REGEXP] [-systems curl,java,...]
//
// For each scenario (and each server peer where the peer changes what a client sees) it
// starts the lab server on 127.0.0.1, writes the client's truststore and credential to a
// temporary directory, and runs curl, openssl s_client and openssl verify, a Java client
// (HttpsURLConnection, compiled with javac at record time), a Go client (net/http), a
// Node.js client (https.get), a Python client (the ssl module, and urllib) and nginx as a
// reverse proxy (proxy_ssl_verify on) in front of the server. nginx also plays the server
// for the inbound cases: its error log and its 400 pages are recorded as the gateway's view.
// Every client run is bounded in time; every server and directory is removed at the end.
//
// What a client prints is written verbatim to <out>/<system>/<scenario>[.<variant>].txt,
// with only ANSI colour codes removed, the ports replaced with PORT (the lab server),
// PROXY_PORT (the nginx proxy) and AIA_PORT (the lab's AIA server) and the temporary
// directories replaced with /tmp/DIR. <out>/manifest.json lists every file with its system,
// scenario, true cause, command and exit code. With -run or -systems only the matching
// entries are re-recorded; the others are kept.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
)

// allSystems are the client systems, in the order they are run and listed.
var allSystems = []string{"curl", "openssl", "java", "go", "node", "python", "nginx"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		var h *hintError
		if errors.As(err, &h) {
			fmt.Fprintf(os.Stderr, "hint: %s\n", h.hint)
		}
		os.Exit(1)
	}
}

// hintError is an error that tells the person running the recorder what to do.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "tlsdiag/explain/testdata/corpus", "corpus directory")
	runRE := fs.String("run", "", "record only the scenarios whose name matches this regular expression")
	systemList := fs.String("systems", strings.Join(allSystems, ","), "comma-separated client systems to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	filter, err := regexp.Compile(*runRE)
	if err != nil {
		return fmt.Errorf("-run: %w", err)
	}
	systems, err := parseSystems(*systemList)
	if err != nil {
		return err
	}
	paths, err := findTools(systems)
	if err != nil {
		return err
	}
	rec, err := newRecorder(ctx, *out, systems, paths, stdout)
	if err != nil {
		return err
	}
	defer rec.cleanup()
	if err := rec.recordAll(ctx, filter); err != nil {
		return err
	}
	return rec.write(filter)
}

func parseSystems(list string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		known := false
		for _, k := range allSystems {
			known = known || k == s
		}
		if !known {
			return nil, fmt.Errorf("-systems: unknown system %q (want some of %s)", s, strings.Join(allSystems, ","))
		}
		out[s] = true
	}
	if len(out) == 0 {
		return nil, errors.New("-systems: no system selected")
	}
	return out, nil
}
