package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/atomicfile"
	"github.com/claudehooks/claude-hooks-exporter/internal/claudesettings"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// The two binaries install puts in --bin-dir.
const (
	exporterBinary = "claude-hooks-exporter"
	hookBinary     = "claude-hooks-hook"
)

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func runInstall(c *installConfig, env func(string) string, stdout io.Writer, uninstall bool) error {
	settings := expandTilde(env, c.settings)
	if uninstall {
		return claudesettings.UninstallFile(settings, c.dryRun, stdout)
	}
	spoolDir, err := filepath.Abs(expandTilde(env, c.spoolDir))
	if err != nil {
		return fmt.Errorf("--spool.dir: %w", err)
	}
	binDir, err := filepath.Abs(expandTilde(env, c.binDir))
	if err != nil {
		return fmt.Errorf("--bin-dir: %w", err)
	}
	opts := claudesettings.Options{
		Mode:     claudesettings.Mode(c.mode),
		SpoolDir: spoolDir,
		HTTPURL:  c.url,
		Events:   claudesettings.ObserverEvents(hookevent.KnownEvents),
	}
	switch {
	case c.tokenEnv != "" && c.tokenFile != "":
		return errors.New("--http.token-env and --web.auth-token-file both name the token: give one")
	case c.tokenEnv != "":
		if !envName.MatchString(c.tokenEnv) {
			return fmt.Errorf("--http.token-env %q is not an environment variable name", c.tokenEnv)
		}
		opts.HTTPToken = "${" + c.tokenEnv + "}"
	case c.tokenFile != "":
		if opts.HTTPToken, err = readToken(expandTilde(env, c.tokenFile)); err != nil {
			return err
		}
	}
	hook, err := installBinaries(binDir, c.dryRun, stdout)
	if err != nil {
		return err
	}
	opts.HookCommand = hook
	if err := claudesettings.InstallFile(settings, opts, c.dryRun, stdout); err != nil {
		return err
	}
	if !c.dryRun {
		fmt.Fprintf(stdout, "next: start the daemon (%s serve, or make run in the clone); new Claude Code sessions send it their events\n", filepath.Join(binDir, exporterBinary))
	}
	return nil
}

// installBinaries copies this binary and the hook binary beside it into
// binDir, unless binDir already holds the same bytes, and checks that the
// installed hook runs. It returns the installed hook's path. The hooks of
// every session run that file, so it must not live in a build directory that
// make clean removes.
func installBinaries(binDir string, dryRun bool, w io.Writer) (string, error) {
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		return "", fmt.Errorf("find this binary: %w", err)
	}
	srcDir := filepath.Dir(self)
	if !dryRun {
		if err := os.MkdirAll(binDir, 0o755); err != nil {
			return "", fmt.Errorf("create --bin-dir: %w", err)
		}
	}
	hook := filepath.Join(binDir, hookBinary)
	for _, name := range []string{exporterBinary, hookBinary} {
		src, dst := filepath.Join(srcDir, name), filepath.Join(binDir, name)
		if name == exporterBinary {
			src = self
		}
		if err := installBinary(src, dst, dryRun, w); err != nil {
			return "", err
		}
	}
	if dryRun {
		return hook, nil
	}
	if err := checkHook(hook); err != nil {
		return "", err
	}
	return hook, nil
}

// installBinary makes dst a copy of src. A missing src is fine when dst
// exists (an install run from the installed copy, whose sibling is dst).
func installBinary(src, dst string, dryRun bool, w io.Writer) error {
	data, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dst); err == nil {
			fmt.Fprintf(w, "%s: kept (no newer build next to this binary)\n", dst)
			return nil
		}
		return fmt.Errorf("%s not found next to this binary (%s): build both with make build; nothing was written", filepath.Base(src), filepath.Dir(src))
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, data) {
		fmt.Fprintf(w, "%s: up to date\n", dst)
		return nil
	}
	if dryRun {
		fmt.Fprintf(w, "%s: would be installed from %s\n", dst, src)
		return nil
	}
	if err := atomicfile.WriteFile(dst, data, 0o755); err != nil {
		return fmt.Errorf("install %s: %w", filepath.Base(dst), err)
	}
	fmt.Fprintf(w, "%s: installed from %s\n", dst, src)
	return nil
}

// checkHook runs the installed hook with --help: a hook that cannot run
// would fail on every event of every session.
func checkHook(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	if err != nil {
		return fmt.Errorf("installed hook %s does not run (%v): %s", path, err, bytes.TrimSpace(out))
	}
	return nil
}
