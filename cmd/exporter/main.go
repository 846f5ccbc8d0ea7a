// Command claude-hooks-exporter is the daemon that turns Claude Code hook events
// into Prometheus metrics and OpenTelemetry traces, plus its install, import
// and hook subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/claudehooks/claude-hooks-exporter/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
