package claudesettings

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
)

// allEvents are the 31 hook events of the v2.1.240 documentation, enough to
// exercise the installer (the app installs hookevent.KnownEvents).
var allEvents = []string{
	"SessionStart", "SessionEnd", "Setup", "UserPromptSubmit", "UserPromptExpansion", "MessageDisplay",
	"PreToolUse", "PermissionRequest", "PermissionDenied", "PostToolUse", "PostToolUseFailure",
	"PostToolBatch", "Notification", "SubagentStart", "SubagentStop", "Stop", "StopFailure",
	"TaskCreated", "TaskCompleted", "TeammateIdle", "PreCompact", "PostCompact", "InstructionsLoaded",
	"ConfigChange", "CwdChanged", "DirectoryAdded", "FileChanged", "WorktreeCreate", "WorktreeRemove",
	"Elicitation", "ElicitationResult",
}

func commandOpts() Options {
	return Options{
		Mode:        ModeCommand,
		HookCommand: "/opt/claude-hooks/bin/claude-hooks-hook",
		SpoolDir:    "/var/spool/claude-hooks",
		Events:      allEvents,
	}
}

func httpOpts() Options {
	o := commandOpts()
	o.Mode = ModeHTTP
	o.HTTPURL = "http://127.0.0.1:9469/v1/hooks"
	o.HTTPToken = "${CLAUDE_HOOKS_TOKEN}"
	return o
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	if name == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// golden compares got with testdata/name, rewriting the file under -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	goldentest.Compare(tb, filepath.Join("testdata", name), got)
}

func formatChanges(changes []Change) []byte {
	var b strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&b, "%s %s %s\n", c.Action, c.Event, c.Handler)
	}
	if len(changes) == 0 {
		b.WriteString("(no changes)\n")
	}
	return []byte(b.String())
}

func TestInstallGolden(t *testing.T) {
	spaced := commandOpts()
	spaced.HookCommand = "/Users/Jane Doe/bin/claude-hooks-hook"
	spaced.SpoolDir = "/Users/Jane Doe/Library/Application Support/claude-hooks/spool's"

	moved := commandOpts()
	moved.HookCommand = "/usr/local/bin/claude-hooks-hook"

	literal := httpOpts()
	literal.HTTPToken = "s3cret"
	literal.Events = []string{"PreToolUse", "Stop", "SessionStart"}

	few := commandOpts()
	few.Events = []string{"PreToolUse", "Stop"}

	tests := []struct {
		name string
		in   string // testdata input; "" is an empty file
		opts Options
	}{
		{name: "install-empty", opts: commandOpts()},
		{name: "install-user", in: "user.in.json", opts: commandOpts()},
		{name: "install-path-change", in: "path-change.in.json", opts: moved},
		{name: "install-http", in: "user.in.json", opts: httpOpts()},
		{name: "install-http-literal-token", opts: literal},
		{name: "install-http-to-command", in: "http-to-command.in.json", opts: commandOpts()},
		{name: "install-command-to-http", in: "http-to-command.in.json", opts: httpOpts()},
		{name: "install-spaces", in: "user.in.json", opts: spaced},
		{name: "install-stale-and-duplicates", in: "stale.in.json", opts: few},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := readTestdata(t, tt.in)
			out, changes, err := Install(in, tt.opts)
			if err != nil {
				t.Fatalf("Install: %v", err)
			}
			golden(t, tt.name+".golden.json", out)
			golden(t, tt.name+".changes.golden", formatChanges(changes))

			// A second install is a no-op: same bytes back, no changes.
			again, changes2, err := Install(out, tt.opts)
			if err != nil {
				t.Fatalf("second Install: %v", err)
			}
			if len(changes2) != 0 {
				t.Errorf("second Install changes = %v, want none", changes2)
			}
			if diff := cmp.Diff(string(out), string(again)); diff != "" {
				t.Errorf("second Install output differs (-first +second):\n%s", diff)
			}
		})
	}
}

func TestInstallEmptyObjectEqualsEmptyFile(t *testing.T) {
	for _, in := range []string{"", "{}", "  \n", "{}\n"} {
		empty, _, err := Install(nil, commandOpts())
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Install([]byte(in), commandOpts())
		if err != nil {
			t.Fatalf("Install(%q): %v", in, err)
		}
		if diff := cmp.Diff(string(empty), string(got)); diff != "" {
			t.Errorf("Install(%q) differs from an empty file (-empty +got):\n%s", in, diff)
		}
	}
}

func TestUninstallGolden(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "uninstall-mixed", in: "uninstall-mixed.in.json"},
		{name: "uninstall-only-ours", in: "only-ours.in.json"},
		{name: "uninstall-installed-user", in: "install-user.golden.json"},
		{name: "uninstall-installed-http", in: "install-http.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changes, err := Uninstall(readTestdata(t, tt.in))
			if err != nil {
				t.Fatalf("Uninstall: %v", err)
			}
			golden(t, tt.name+".golden.json", out)
			golden(t, tt.name+".changes.golden", formatChanges(changes))

			again, changes2, err := Uninstall(out)
			if err != nil {
				t.Fatalf("second Uninstall: %v", err)
			}
			if len(changes2) != 0 || string(again) != string(out) {
				t.Errorf("second Uninstall changed something: %v", changes2)
			}
		})
	}
}

// Installing into the user's settings and uninstalling again gives back what
// the user had, up to indentation.
func TestInstallUninstallRoundTrip(t *testing.T) {
	for _, opts := range []Options{commandOpts(), httpOpts()} {
		in := readTestdata(t, "user.in.json")
		installed, _, err := Install(in, opts)
		if err != nil {
			t.Fatal(err)
		}
		back, _, err := Uninstall(installed)
		if err != nil {
			t.Fatal(err)
		}
		want, err := format(mustParse(t, in))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(back)); diff != "" {
			t.Errorf("%s: install then uninstall (-original +got):\n%s", opts.Mode, diff)
		}
	}
}

func mustParse(tb testing.TB, b []byte) value {
	tb.Helper()
	v, err := parse(b)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestUninstallNothingOurs(t *testing.T) {
	for _, in := range []string{"uninstall-none.in.json", "user.in.json", ""} {
		b := readTestdata(t, in)
		out, changes, err := Uninstall(b)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if len(changes) != 0 {
			t.Errorf("%s: changes = %v, want none", in, changes)
		}
		if string(out) != string(b) {
			t.Errorf("%s: output differs from input", in)
		}
	}
}

func TestErrors(t *testing.T) {
	noEvents := commandOpts()
	noEvents.Events = nil
	relHook := commandOpts()
	relHook.HookCommand = "bin/claude-hooks-hook"
	relSpool := commandOpts()
	relSpool.SpoolDir = "spool"
	otherName := commandOpts()
	otherName.HookCommand = "/usr/bin/logger"
	badMode := commandOpts()
	badMode.Mode = "grpc"
	badURL := httpOpts()
	badURL.HTTPURL = "127.0.0.1:9469"
	otherPath := httpOpts()
	otherPath.HTTPURL = "http://127.0.0.1:9469/ingest"
	httpNoCommand := httpOpts()
	httpNoCommand.HookCommand = ""

	tests := []struct {
		name     string
		settings string
		opts     Options
		want     string
	}{
		{"invalid json", `{"hooks": {`, commandOpts(), "invalid JSON"},
		{"trailing data", `{} {}`, commandOpts(), "invalid JSON"},
		{"not an object", `["hooks"]`, commandOpts(), "not an object"},
		{"hooks not an object", `{"hooks": []}`, commandOpts(), `"hooks" is not an object`},
		{"event not an array", `{"hooks": {"Stop": {}}}`, commandOpts(), "hooks.Stop is not an array"},
		{"no events", `{}`, noEvents, "no hook events"},
		{"relative hook", `{}`, relHook, "not an absolute path"},
		{"relative spool", `{}`, relSpool, "not an absolute path"},
		{"hook of another name", `{}`, otherName, "not named claude-hooks-hook"},
		{"unknown mode", `{}`, badMode, "unknown hook mode"},
		{"bad url", `{}`, badURL, "http(s) ingest URL"},
		{"url not ours", `{}`, otherPath, "/v1/hooks"},
		{"http without hook for SessionStart", `{}`, httpNoCommand, "not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := Install([]byte(tt.settings), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Install error = %v, want one containing %q", err, tt.want)
			}
			if out != nil {
				t.Errorf("Install returned output with an error")
			}
		})
	}
	if _, _, err := Uninstall([]byte(`{"hooks": `)); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("Uninstall of invalid JSON: err = %v", err)
	}
}

// In http mode without SessionStart or Setup no hook binary is needed.
func TestHTTPWithoutCommandEvents(t *testing.T) {
	o := httpOpts()
	o.HookCommand, o.SpoolDir = "", ""
	o.Events = []string{"PreToolUse"}
	out, changes, err := Install(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\n        \"matcher\": \"*\",\n        \"hooks\": [\n          {\n" +
		"            \"type\": \"http\",\n            \"url\": \"http://127.0.0.1:9469/v1/hooks\",\n            \"timeout\": 5,\n" +
		"            \"headers\": {\n              \"Authorization\": \"Bearer ${CLAUDE_HOOKS_TOKEN}\"\n            },\n" +
		"            \"allowedEnvVars\": [\n              \"CLAUDE_HOOKS_TOKEN\"\n            ]\n          }\n        ]\n      }\n    ]\n  }\n}\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Change{{Event: "PreToolUse", Action: ActionAdd, Handler: "http http://127.0.0.1:9469/v1/hooks"}}, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

func TestIsOurCommand(t *testing.T) {
	tests := []struct {
		cmd  string
		want bool
	}{
		{"/opt/bin/claude-hooks-hook --spool.dir /x", true},
		{"claude-hooks-hook", true},
		{"'/Users/Jane Doe/bin/claude-hooks-hook' --spool.dir '/a b'", true},
		{`"/Users/Jane Doe/bin/claude-hooks-hook" --spool.dir x`, true},
		{`/Users/Jane\ Doe/bin/claude-hooks-hook`, true},
		{`C:\Program Files\claude-hooks\claude-hooks-hook.exe --spool.dir x`, false}, // unquoted space splits the path
		{`"C:\Program Files\claude-hooks\claude-hooks-hook.exe" --spool.dir x`, true},
		{"/usr/local/bin/claude-hooks-exporter hook --spool.dir /x", true},
		{"claude-hooks-exporter  hook", true},
		{"claude-hooks-exporter serve", false},
		{"/opt/bin/claude-hooks-hook-wrapper.sh", false},
		{"echo claude-hooks-hook", false},
		{"~/.claude/hooks/check-bash.sh", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isOurCommand(tt.cmd); got != tt.want {
			t.Errorf("isOurCommand(%q) = %v, want %v", tt.cmd, got, tt.want)
		}
	}
}

func TestIsOurURL(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:9469/v1/hooks", true},
		{"https://exporter.internal/claude/v1/hooks/", true},
		{"http://127.0.0.1:9469/v1/hooks?x=1", true},
		{"http://127.0.0.1:9469/v1/hooksx", false},
		{"http://127.0.0.1:9469/v1/events", false},
		{"::", false},
	}
	for _, tt := range tests {
		if got := isOurURL(tt.url); got != tt.want {
			t.Errorf("isOurURL(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/opt/bin/claude-hooks-hook", "/opt/bin/claude-hooks-hook"},
		{"/a b/c", "'/a b/c'"},
		{"/it's", `'/it'\''s'`},
		{"", "''"},
		{"/x/$HOME", "'/x/$HOME'"},
	}
	for _, tt := range tests {
		got := shellQuote(tt.in)
		if got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if words := shellWords(got, 2); len(words) != 1 || words[0] != tt.in {
			t.Errorf("shellWords(shellQuote(%q)) = %q, want the input back", tt.in, words)
		}
	}
}
