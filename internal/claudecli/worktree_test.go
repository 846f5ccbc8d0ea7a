package claudecli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWorktreeAsWithoutHooks: `claude --worktree` creates the same git
// worktree with our hooks installed as without them. A WorktreeCreate hook
// would replace git's own worktree creation (and must print the path); install
// registers observers only, so Claude Code does what it does without us.
func TestWorktreeAsWithoutHooks(t *testing.T) {
	without := runWorktree(t, false)
	with := runWorktree(t, true)
	if len(without) == 0 || !slices.ContainsFunc(without, func(b string) bool { return strings.Contains(b, "chx-wt") }) {
		t.Fatalf("without hooks the CLI created no worktree named chx-wt: branches %q", without)
	}
	if !slices.Equal(with, without) {
		t.Errorf("worktrees with our hooks %q, without %q: the hooks changed what Claude Code did", with, without)
	}
	t.Logf("real-cli: --worktree ran twice (without and with our hooks): branches %q", with)
}

// runWorktree runs one print-mode CLI session with --worktree in a fresh git
// repository, with or without our installed hooks, and returns the branches of
// the repository's worktrees.
func runWorktree(t *testing.T, hooks bool) []string {
	t.Helper()
	h := newBareHarness(t, NewServer(nil))
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = h.project
		cmd.Env = append(os.Environ(), "HOME="+h.home, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(h.project, "README.md"), []byte("project\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "README.md")
	git("commit", "-q", "-m", "init")
	h.serveModel(t)
	if hooks {
		h.startDaemon(t)
		h.install(t)
	}
	p, err := Start(Options{Binary: h.cliBin, Dir: h.project, Home: h.home, Socket: h.sock, Stderr: h.stderr,
		Args: []string{"--worktree", "chx-wt"}})
	if err != nil {
		t.Fatal(err)
	}
	h.cli = p
	defer func() {
		p.Kill()
		p.Wait(10 * time.Second)
	}()
	h.prompt(t, "say hello", 1)
	if err := p.CloseInput(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(cliTimeout); err != nil {
		t.Logf("claude-code exit: %v", err)
	}
	var branches []string
	for _, l := range strings.Split(git("worktree", "list", "--porcelain"), "\n") {
		if b, ok := strings.CutPrefix(l, "branch "); ok {
			branches = append(branches, b)
		}
	}
	slices.Sort(branches)
	if hooks {
		// The session's hooks ran: the spool holds its events.
		n := 0
		for _, rec := range readSpool(t, h.spool) {
			var ev struct {
				Name string `json:"hook_event_name"`
			}
			if json.Unmarshal(rec, &ev) == nil && ev.Name != "" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("with hooks installed the spool holds no event")
		}
	}
	return branches
}
