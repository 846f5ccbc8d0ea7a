package app

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// Version is the exporter's version, set at link time with
// -ldflags "-X github.com/claudehooks/claude-hooks-exporter/internal/app.Version=v1.2.3".
var Version = "dev"

// Run runs the command line args (without the program name) and returns the
// process exit code. It never exits the process itself.
func Run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return exitCode(stderr, runServe(ctx, args, env, stderr))
	case "hook":
		// The same code path as the lean claude-hooks-hook binary.
		return spool.RunHook(args, env, stdin, stdout, stderr)
	case "install":
		return exitCode(stderr, runInstall(args, env, stdout, false))
	case "uninstall":
		return exitCode(stderr, runInstall(args, env, stdout, true))
	case "import":
		return exitCode(stderr, runImport(ctx, args, env, stdout, stderr))
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "claude-hooks-exporter %s (revision %s, %s)\n", Version, revision(), goVersion())
		return 0
	case "help", "--help", "-help", "-h":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "claude-hooks-exporter: unknown command %q\n", cmd)
		usage(stderr)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: claude-hooks-exporter [command] [flags]

commands:
  serve       run the daemon (the default): tail the spool, export metrics and traces
  hook        capture one hook payload from stdin into the spool (same as claude-hooks-hook)
  install     add our hooks to Claude Code's settings.json
  uninstall   remove our hooks from Claude Code's settings.json
  import      back-fill the spool from the legacy raw_json log directory
  version     print the version

Run "claude-hooks-exporter <command> --help" for the flags of a command.
`)
}

// errUsage marks a flag error that the flag package already reported.
type errUsage struct{ err error }

func (e errUsage) Error() string { return e.err.Error() }

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	if _, ok := err.(errUsage); !ok {
		fmt.Fprintf(stderr, "claude-hooks-exporter: %v\n", err)
	}
	return 1
}

func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}
