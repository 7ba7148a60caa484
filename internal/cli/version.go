package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/tlsgate/tlsgate/internal/cli.Version=v1.2.3".
var Version = "dev"

func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "version", "Print tlsgate's version, the Go version and the VCS revision it was built from.")
	if code, done := parseFlags(fs, e, args); done {
		return code
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(e.stdout, "tlsgate %s%s (%s %s/%s)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return ExitOK
}
