package stacktest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// repoRoot is the repository's top directory.
var repoRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = root
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// The exporter and hook binaries, built once by the first test that needs them.
var (
	binOnce              sync.Once
	binDir               string
	exporterBin, hookBin string
	binErr               error
)

// binaries returns the exporter and hook binaries: $CLAUDE_HOOKS_EXPORTER_BIN and
// $CLAUDE_HOOKS_HOOK_BIN when set, else built from this checkout.
func binaries(tb testing.TB) (exporter, hook string) {
	tb.Helper()
	binOnce.Do(func() {
		exporterBin, hookBin = os.Getenv("CLAUDE_HOOKS_EXPORTER_BIN"), os.Getenv("CLAUDE_HOOKS_HOOK_BIN")
		if exporterBin != "" && hookBin != "" {
			return
		}
		binDir, binErr = os.MkdirTemp("", "stacktest-bin-")
		if binErr != nil {
			return
		}
		exporterBin = filepath.Join(binDir, "claude-hooks-exporter")
		hookBin = filepath.Join(binDir, "claude-hooks-hook")
		for out, pkg := range map[string]string{exporterBin: "./cmd/exporter", hookBin: "./cmd/hook"} {
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir = repoRoot
			if b, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("build %s: %w\n%s", pkg, err, b)
				return
			}
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return exporterBin, hookBin
}

// findRoot walks up from the package directory to the one holding go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// repoPath is a path inside the repository.
func repoPath(elem ...string) string {
	return filepath.Join(append([]string{repoRoot}, elem...)...)
}
