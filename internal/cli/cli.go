// Package cli implements tlsgate's subcommands; it is the only package that prints or exits.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit statuses shared by every subcommand.
const (
	ExitOK       = 0 // success; for doctor: no error finding
	ExitFindings = 1 // doctor: at least one error finding
	ExitUsage    = 2 // bad usage or unreadable input
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env carries the output streams of one invocation.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

// commands is the command table; each entry lives in its own file.
func commands() []command {
	return []command{
		{"doctor", "diagnose a TLS endpoint: connect, experiment, name the cause and the fix", runDoctor},
		{"pcap", "read a tcpdump capture and explain every TLS handshake in it", runPcap},
		{"explain", "map an error message from Java, OpenSSL, curl, Go, Node, Python, nginx, Envoy, Apigee or a browser to its candidate causes", runExplain},
		{"cert", "inspect certificates and keystores, verify a chain against a truststore", runCert},
		{"serve", "run the management API (Edge v1 routes) on embedded defaults", runServe},
		{"apply", "apply a declarative YAML file of keystores, references, virtual hosts, targets and proxies", runApply},
		{"export", "write everything tlsgate holds as the declarative YAML file (keys left out)", runExport},
		{"import", "turn Edge XML (virtual hosts, target servers, proxy bundles) into the declarative YAML file", runImport},
		{"lab", "run every diagnosable failure on loopback and show the doctor's verdicts", runLab},
		{"version", "print the version", runVersion},
	}
}

// Main runs tlsgate with args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		if len(args) > 1 {
			return Main(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return ExitOK
	case "--version", "-version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "error: unknown command %q\n", name)
	fmt.Fprintf(stderr, "hint: run 'tlsgate help' for the list of commands\n")
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tlsgate: an API gateway whose TLS handshakes explain themselves, and the engine behind it.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: tlsgate COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'tlsgate COMMAND --help' for a command's flags.")
}

// newFlags returns a flag set for a subcommand whose usage text prints synopsis, the
// description and the flags.
func newFlags(e *env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: tlsgate %s\n\n", synopsis)
		if description != "" {
			fmt.Fprintln(out, strings.TrimSpace(description))
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out, "Flags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns done=true with the exit status when the caller must
// return at once (help asked, or bad usage).
func parseFlags(fs *flag.FlagSet, e *env, args []string) (code int, done bool) {
	// The flag package prints its own complaint and the usage; print them once, ours.
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return ExitOK, true
	case err != nil:
		fs.SetOutput(e.stderr)
		return fail(e, ExitUsage, fmt.Errorf("%s: %w", fs.Name(), err), fmt.Sprintf("see tlsgate %s --help", fs.Name())), true
	}
	fs.SetOutput(e.stderr)
	return 0, false
}

// fail prints an error and a hint in the shape every subcommand uses, and returns code.
func fail(e *env, code int, err error, hint string) int {
	fmt.Fprintf(e.stderr, "error: %v\n", err)
	if hint != "" {
		fmt.Fprintf(e.stderr, "hint: %s\n", hint)
	}
	return code
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set appends v.
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
