package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/claudehooks/claude-hooks-exporter/internal/claudesettings"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// copyFile copies an executable.
func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		tb.Fatal(err)
	}
}

// payloadsByEvent returns a sample payload of every event, by event name:
// the documented shapes, then the events Claude Code 2.1.337 added, from the
// real CLI's samples.
func payloadsByEvent(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	for _, path := range []string{filepath.Join("testdata", "events-current.jsonl"), filepath.Join("..", "hookevent", "testdata", "events-2.1.337.jsonl")} {
		f, err := os.Open(path)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct {
				Name string `json:"hook_event_name"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				tb.Fatal(err)
			}
			if _, ok := out[ev.Name]; !ok {
				out[ev.Name] = bytes.Clone(sc.Bytes())
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

type settingsHooks struct {
	Hooks map[string][]struct {
		Matcher string `json:"matcher"`
		Hooks   []struct {
			Type    string `json:"type"`
			Command string `json:"command"`
			URL     string `json:"url"`
			Async   bool   `json:"async"`
		} `json:"hooks"`
	} `json:"hooks"`
}

func readHooks(tb testing.TB, path string) settingsHooks {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var s settingsHooks
	if err := json.Unmarshal(b, &s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestInstallSurvivesCleanAndOnlyObserves installs from a build directory,
// removes that directory (make clean, a moved clone), and then runs every
// registered hook command as Claude Code would: each still works from the
// installed copy, prints nothing and exits 0. The registered events are the
// observer events and never WorktreeCreate or WorktreeRemove, and every
// command handler is async, so none can change what Claude Code does.
// Install run again from the installed copy finds both binaries up to date.
func TestInstallSurvivesCleanAndOnlyObserves(t *testing.T) {
	home := t.TempDir()
	clone := filepath.Join(t.TempDir(), "clone", "bin")
	copyFile(t, exporterBin, filepath.Join(clone, "claude-hooks-exporter"))
	copyFile(t, hookBin, filepath.Join(clone, "claude-hooks-hook"))
	settings := filepath.Join(home, ".claude", "settings.json")
	binDir := filepath.Join(home, ".local", "bin")
	spoolDir := filepath.Join(home, "state", "spool")
	env := append(os.Environ(), "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"))

	install := func(exe string) string {
		t.Helper()
		cmd := exec.Command(exe, "install", "--settings", settings, "--bin-dir", binDir, "--spool.dir", spoolDir)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install: %v\n%s", err, out)
		}
		return string(out)
	}
	out := install(filepath.Join(clone, "claude-hooks-exporter"))
	for _, name := range []string{"claude-hooks-exporter", "claude-hooks-hook"} {
		if want := filepath.Join(binDir, name) + ": installed from " + filepath.Join(clone, name); !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	if err := os.RemoveAll(filepath.Dir(clone)); err != nil { // make clean, or the clone moved away
		t.Fatal(err)
	}

	s := readHooks(t, settings)
	var events []string
	for ev := range s.Hooks {
		events = append(events, ev)
	}
	slices.Sort(events)
	want := slices.Sorted(slices.Values(claudesettings.ObserverEvents(hookevent.KnownEvents)))
	if !slices.Equal(events, want) {
		t.Errorf("registered events %q, want the observer events %q", events, want)
	}
	for _, ev := range []string{"WorktreeCreate", "WorktreeRemove"} {
		if slices.Contains(events, ev) {
			t.Errorf("%s registered: its hook replaces what Claude Code does", ev)
		}
	}
	payloads := payloadsByEvent(t)
	ran := 0
	for ev, groups := range s.Hooks {
		for _, g := range groups {
			for _, h := range g.Hooks {
				if h.Type != "command" || !h.Async {
					t.Errorf("%s: handler %+v is not an async command: Claude Code would wait for it and read its answer", ev, h)
					continue
				}
				if !strings.HasPrefix(h.Command, filepath.Join(binDir, "claude-hooks-hook")+" ") {
					t.Errorf("%s: command %q does not run the installed hook", ev, h.Command)
				}
				cmd := exec.Command("/bin/sh", "-c", h.Command)
				cmd.Env = env
				cmd.Stdin = bytes.NewReader(payloads[ev])
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Errorf("%s: hook command failed after make clean: %v\n%s", ev, err, stderr.String())
				}
				if stdout.Len() != 0 {
					t.Errorf("%s: hook printed %q on stdout: Claude Code would parse it as a decision", ev, stdout.String())
				}
				ran++
			}
		}
	}
	if ran != len(want) {
		t.Errorf("ran %d hook commands, want %d", ran, len(want))
	}
	if n := countRecords(t, spoolDir); n != ran {
		t.Errorf("spool holds %d records after %d hook runs", n, ran)
	}

	again := install(filepath.Join(binDir, "claude-hooks-exporter"))
	for _, name := range []string{"claude-hooks-exporter", "claude-hooks-hook"} {
		if want := filepath.Join(binDir, name) + ": up to date"; !strings.Contains(again, want) {
			t.Errorf("second install output lacks %q:\n%s", want, again)
		}
	}
	if !strings.Contains(again, "no changes, nothing written") {
		t.Errorf("second install changed the settings:\n%s", again)
	}
}

// TestInstallHTTPHandlersAnswerNothing: in http mode every http handler
// install writes gets 204 and an empty body from the daemon for its event's
// payload, which Claude Code reads as "no decision".
func TestInstallHTTPHandlersAnswerNothing(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	home := t.TempDir()
	settings := filepath.Join(home, ".claude", "settings.json")
	cmd := exec.Command(exporterBin, "install", "--mode", "http", "--http.url", "http://"+d.addr+"/v1/hooks",
		"--http.token-env", "CLAUDE_HOOKS_TOKEN", "--settings", settings, "--bin-dir", filepath.Join(home, "bin"))
	cmd.Env = append(os.Environ(), "HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Bearer ${CLAUDE_HOOKS_TOKEN}"`) || !strings.Contains(string(b), `"allowedEnvVars"`) {
		t.Errorf("settings do not reference the token's variable:\n%s", b)
	}
	payloads := payloadsByEvent(t)
	n := 0
	for ev, groups := range readHooks(t, settings).Hooks {
		for _, g := range groups {
			for _, h := range g.Hooks {
				if h.Type != "http" {
					continue
				}
				resp, err := http.Post(h.URL, "application/json", bytes.NewReader(payloads[ev]))
				if err != nil {
					t.Fatal(err)
				}
				var body bytes.Buffer
				body.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent || body.Len() != 0 {
					t.Errorf("%s: %s with body %q, want 204 and nothing", ev, resp.Status, body.String())
				}
				n++
			}
		}
	}
	if want := len(claudesettings.ObserverEvents(hookevent.KnownEvents)) - 2; n != want { // SessionStart, Setup stay command hooks
		t.Errorf("posted to %d http handlers, want %d", n, want)
	}
}

// TestSecondDaemonRefused: a second daemon on the same state directory
// exits at once with code 1 and a message naming the first one's pid.
func TestSecondDaemonRefused(t *testing.T) {
	state := t.TempDir()
	first := startDaemon(t, state, nil)
	cmd := exec.Command(exporterBin, "serve", "--web.listen-address="+freeAddr(t), "--state.dir="+state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("second daemon: %v, want exit code 1; stderr:\n%s", err, stderr.String())
	}
	want := "claude-hooks-exporter: state dir " + state + " is in use by another claude-hooks-exporter (pid " +
		strconv.Itoa(first.cmd.Process.Pid) + "); stop it first, or give this one its own --state.dir\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%q\nwant\n%q", stderr.String(), want)
	}
	if _, err := first.metrics(); err != nil {
		t.Errorf("the first daemon stopped serving: %v", err)
	}
}
