package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/claudehooks/claude-hooks-exporter/internal/claudesettings"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// hookBinary is the lean hook command install writes into settings.json.
const hookBinary = "claude-hooks-hook"

func runInstall(args []string, env func(string) string, stdout io.Writer, uninstall bool) error {
	name := "install"
	if uninstall {
		name = "uninstall"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	home := env("HOME")
	settings := fs.String("settings", filepath.Join(home, ".claude", "settings.json"), "Claude Code settings file to edit")
	dryRun := fs.Bool("dry-run", false, "print what would change and write nothing")
	mode := fs.String("mode", "command", "command: hooks run claude-hooks-hook (async); http: hooks POST to the daemon (SessionStart and Setup stay command hooks)")
	spoolDir := fs.String("spool.dir", filepath.Join(stateDir(env), "spool"), "spool directory the command hooks append to")
	url := fs.String("http.url", "http://127.0.0.1:9469/v1/hooks", "daemon ingest URL for http mode")
	tokenFile := fs.String("web.auth-token-file", "", "token file whose bearer token http hooks send")
	hookPath := fs.String("hook.path", "", "absolute path of claude-hooks-hook (default: next to this binary, else on PATH)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if uninstall {
		return claudesettings.UninstallFile(*settings, *dryRun, stdout)
	}
	var m claudesettings.Mode
	switch *mode {
	case "command":
		m = claudesettings.Mode("command")
	case "http":
		m = claudesettings.Mode("http")
	default:
		return fmt.Errorf("--mode %q: want command or http", *mode)
	}
	bin := *hookPath
	if bin == "" {
		var err error
		if bin, err = findHookBinary(env); err != nil {
			return err
		}
	}
	if !filepath.IsAbs(bin) {
		return fmt.Errorf("--hook.path %q is not absolute", bin)
	}
	absSpool, err := filepath.Abs(*spoolDir)
	if err != nil {
		return fmt.Errorf("spool dir: %w", err)
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return err
	}
	return claudesettings.InstallFile(*settings, claudesettings.Options{
		Mode:        m,
		HookCommand: bin,
		SpoolDir:    absSpool,
		HTTPURL:     *url,
		HTTPToken:   token,
		Events:      hookevent.KnownEvents,
	}, *dryRun, stdout)
}

// findHookBinary looks for claude-hooks-hook next to the running binary, then
// on PATH. Without it install writes nothing: hooks pointing at a missing
// binary would fail on every event.
func findHookBinary(env func(string) string) (string, error) {
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			cand := filepath.Join(filepath.Dir(exe), hookBinary)
			if st, err := os.Stat(cand); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return cand, nil
			}
		}
	}
	if p, err := exec.LookPath(hookBinary); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, nil
		}
	}
	return "", errors.New("claude-hooks-hook not found next to this binary or on PATH: build it (make build) or pass --hook.path; nothing was written")
}

var _ = spool.DefaultMaxRecordBytes
