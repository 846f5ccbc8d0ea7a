package claudecli

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPinnedVersion: the lock file scripts/claude-code.sh installs from pins
// the version the tests and goldens are for.
func TestPinnedVersion(t *testing.T) {
	for _, f := range []string{"npm/package.json", "npm/package-lock.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pkg struct {
			Dependencies map[string]string `json:"dependencies"`
			Packages     map[string]struct {
				Version string `json:"version"`
			} `json:"packages"`
		}
		if err := json.Unmarshal(b, &pkg); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		got := pkg.Dependencies["@anthropic-ai/claude-code"]
		if strings.HasSuffix(f, "lock.json") {
			got = pkg.Packages["node_modules/@anthropic-ai/claude-code"].Version
		}
		if got != Version {
			t.Errorf("%s pins @anthropic-ai/claude-code %q, the tests are for %q", f, got, Version)
		}
	}
	if _, err := os.Stat(filepath.Join("testdata", Version, "metrics.golden")); err != nil {
		t.Errorf("no goldens for the pinned version: %v", err)
	}
}

// TestBinaryMissing: without the package the harness says what to run.
func TestBinaryMissing(t *testing.T) {
	t.Setenv("CLAUDE_CODE_BIN", "")
	t.Setenv("CLAUDE_HOOKS_CACHE", t.TempDir())
	_, err := Binary()
	if err == nil {
		t.Fatal("Binary found a CLI in an empty cache")
	}
	for _, want := range []string{"not installed", Version, "scripts/claude-code.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	t.Setenv("CLAUDE_CODE_BIN", filepath.Join(t.TempDir(), "claude"))
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("Binary with a missing CLAUDE_CODE_BIN: %v", err)
	}
}

// probeEnv makes the test binary try Start and print its error (TestMain).
const probeEnv = "CHX_CLAUDECLI_PROBE"

// TestStartWithoutNamespaces: where no network namespace can be made (here:
// a user without privileges), Start fails and says why, before any CLI runs.
func TestStartWithoutNamespaces(t *testing.T) {
	if os.Getuid() != 0 {
		// Unprivileged already: try directly.
		_, err := Start(Options{Binary: "/bin/true", Dir: t.TempDir(), Home: t.TempDir(), Stderr: io.Discard})
		checkNamespaceError(t, err)
		return
	}
	// As root, run the probe as nobody: without CAP_SYS_ADMIN, CLONE_NEWNET fails.
	dir, err := os.MkdirTemp("", "chx-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "probe.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{probeEnv + "=1", "PATH=/usr/bin:/bin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	checkNamespaceError(t, errorText(string(out)))
}

type errorText string

func (e errorText) Error() string { return string(e) }

func checkNamespaceError(tb testing.TB, err error) {
	tb.Helper()
	if err == nil || err.Error() == "" {
		tb.Fatal("Start succeeded without the right to make a network namespace")
	}
	for _, want := range []string{"private network namespace", "unshare -n"} {
		if !strings.Contains(err.Error(), want) {
			tb.Errorf("error %q does not say %q", err, want)
		}
	}
}

// probe is the probe mode of the test binary: it tries Start and prints the error.
func probe() int {
	dir, _ := os.Getwd()
	p, err := Start(Options{Binary: "/bin/true", Dir: dir, Home: dir, Stderr: io.Discard})
	if err != nil {
		os.Stdout.WriteString(err.Error())
		return 0
	}
	p.Wait(cliTimeout)
	return 0
}
