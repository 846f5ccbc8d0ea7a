package app_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudehooks/claude-hooks-exporter/internal/app"
	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
)

// fixedEnv is a user's environment with nothing set but HOME, so that the
// defaults in the help are the same on every machine.
func fixedEnv(name string) string {
	if name == "HOME" {
		return "/home/user"
	}
	return ""
}

func runCLI(tb testing.TB, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	var out, errOut bytes.Buffer
	code = app.Run(context.Background(), args, fixedEnv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

// TestHelpGolden pins the help of the program and of every command: a
// command list on --help, flags grouped by area, defaults as a person writes
// them (8MiB, 30d, ~/.claude/projects), the import's DIR argument, no
// serve flags under uninstall, and exit code 0.
func TestHelpGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"main", []string{"--help"}},
		{"main-short", []string{"-h"}},
		{"help-command", []string{"help"}},
		{"serve", []string{"serve", "--help"}},
		{"install", []string{"install", "--help"}},
		{"uninstall", []string{"uninstall", "--help"}},
		{"import", []string{"import", "--help"}},
		{"version", []string{"version", "--help"}},
		{"hook", []string{"hook", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, stderr)
			}
			goldentest.Compare(t, filepath.Join("testdata", "help", tt.name+".golden"), []byte(stdout+stderr))
		})
	}
}

// TestUsageErrorsGolden pins the message of the command-line mistakes people
// make: each names the mistake (and the nearest right name), points at the
// help, prints no flag list and exits 2.
func TestUsageErrorsGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"mistyped-flag", []string{"--web.listen-adress=127.0.0.1:9469"}},
		{"mistyped-command", []string{"instal"}},
		{"listen-address-without-port", []string{"--web.listen-address", "127.0.0.1"}},
		{"import-without-dir", []string{"import"}},
		{"bad-flag-value", []string{"install", "--mode", "ftp"}},
		{"bad-size", []string{"--store.retention.size=lots"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if n := strings.Count(stderr, "\n"); n != 2 {
				t.Errorf("stderr has %d lines, want 2 (the mistake, the pointer to help):\n%s", n, stderr)
			}
			goldentest.Compare(t, filepath.Join("testdata", "errors", tt.name+".golden"), []byte(stderr))
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		stdout, _, code := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "claude-hooks-exporter dev (revision ") {
			t.Errorf("%q: exit %d, stdout %q; want 0 and the version line", args, code, stdout)
		}
	}
}

// TestHeaderErrorHidesValues: a malformed --otlp.headers list is refused
// with an error that names the entry, never a header value (they are often
// secrets).
func TestHeaderErrorHidesValues(t *testing.T) {
	_, stderr, code := runCLI(t, "--state.dir="+t.TempDir(), "--store.path=", "--web.listen-address=127.0.0.1:0",
		"--otlp.headers=Authorization=Bearer s3cret-value,x-tenant%zz")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr, "--otlp.headers") || !strings.Contains(stderr, "entry 2") {
		t.Errorf("stderr does not name the flag and the entry:\n%s", stderr)
	}
	if strings.Contains(stderr, "s3cret") || strings.Contains(stderr, "%zz") {
		t.Errorf("stderr prints a header value:\n%s", stderr)
	}
}
