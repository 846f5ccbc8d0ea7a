// Command claude-hooks-hook is the Claude Code hook that captures one event:
// it appends the JSON payload on stdin to the spool and exits. It is kept lean
// (standard library and internal/spool only) because it runs once per hook call.
package main

import (
	"os"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

func main() {
	os.Exit(spool.RunHook(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
