// Command tlsgate is an API gateway whose TLS handshakes explain themselves, and the
// diagnosis engine behind it: doctor, pcap, explain, cert, lab.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tlsgate/tlsgate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
