package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/prometheus/common/promslog"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// Version is the exporter's version, set at link time with
// -ldflags "-X github.com/claudehooks/claude-hooks-exporter/internal/app.Version=v1.2.3".
var Version = "dev"

// Exit codes of Run.
const (
	exitOK    = 0
	exitError = 1
	// exitUsage is a mistake on the command line: nothing was started.
	exitUsage = 2
)

// Run runs the command line args (without the program name) and returns the
// process exit code. It never exits the process itself.
func Run(ctx context.Context, args []string, env func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "hook" {
		// The same code path as the lean claude-hooks-hook binary, flags and all.
		return spool.RunHook(args[1:], env, stdin, stdout, stderr)
	}
	c := newCLI(env, stdout)
	cmd, help, err := c.parse(args)
	if help {
		return exitOK
	}
	if err != nil {
		return report(stderr, err)
	}
	c.log.Writer = stderr
	logger := promslog.New(&c.log)
	switch cmd {
	case "hook": // only reached with "hook" not first: the hook parses its own flags
		return report(stderr, usageError{err: errors.New("hook must come first: claude-hooks-exporter hook [--spool.dir DIR] < payload.json"), command: "hook"})
	case "install":
		err = runInstall(&c.installCfg, env, stdout, false)
	case "uninstall":
		err = runInstall(&c.installCfg, env, stdout, true)
	case "import":
		err = runImport(ctx, &c.importCfg, env, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionLine())
	default:
		if err = c.serveCfg.resolve(env); err != nil {
			err = usageError{err: err, command: "serve"}
			break
		}
		err = runServe(ctx, &c.serveCfg, env, logger)
	}
	return report(stderr, err)
}

// report prints err as one line and returns the exit code for it.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		if ue.command == "" {
			fmt.Fprintf(stderr, "%s: %v\nRun \"%s --help\" for the commands.\n", programName, err, programName)
		} else {
			fmt.Fprintf(stderr, "%s: %v\nRun \"%s %s --help\" for the flags of %s.\n", programName, err, programName, ue.command, ue.command)
		}
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", programName, err)
	return exitError
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
