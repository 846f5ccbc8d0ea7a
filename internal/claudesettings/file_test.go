package claudesettings

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fileState is what a test knows of a settings file and its directory.
type fileState struct {
	data    []byte
	mode    fs.FileMode
	modTime time.Time
	entries []string // names in the directory
}

func stateOf(tb testing.TB, path string) fileState {
	tb.Helper()
	var s fileState
	if fi, err := os.Stat(path); err == nil {
		s.mode, s.modTime = fi.Mode().Perm(), fi.ModTime()
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		s.data = b
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		s.entries = append(s.entries, e.Name())
	}
	return s
}

func backups(tb testing.TB, path string) []string {
	tb.Helper()
	m, err := filepath.Glob(path + ".bak-*")
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func writeSettings(tb testing.TB, path string, data []byte, mode fs.FileMode) {
	tb.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask-proof
		tb.Fatal(err)
	}
	// A modification time in the past, so a rewrite would show even on file
	// systems with coarse timestamps.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		tb.Fatal(err)
	}
}

func TestInstallFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".claude", "settings.json")
	var out bytes.Buffer
	if err := InstallFile(path, commandOpts(), false, &out); err != nil {
		t.Fatalf("InstallFile: %v", err)
	}
	got := stateOf(t, path)
	golden(t, "install-empty.golden.json", got.data)
	if got.mode != newFileMode {
		t.Errorf("mode = %v, want %v", got.mode, newFileMode)
	}
	if b := backups(t, path); len(b) != 0 {
		t.Errorf("backups of a file that did not exist: %v", b)
	}
	if diff := cmp.Diff([]string{"settings.json"}, got.entries); diff != "" {
		t.Errorf("directory entries (-want +got):\n%s", diff)
	}
	text := out.String()
	for _, want := range []string{path + ": 29 change(s)", "add     SessionStart", "wrote " + path} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestInstallFileExistingAndRepeated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	orig := readTestdata(t, "user.in.json")
	writeSettings(t, path, orig, 0o640)

	var out bytes.Buffer
	if err := InstallFile(path, commandOpts(), false, &out); err != nil {
		t.Fatalf("InstallFile: %v", err)
	}
	first := stateOf(t, path)
	golden(t, "install-user.golden.json", first.data)
	if first.mode != 0o640 {
		t.Errorf("mode = %v, want the previous 0640", first.mode)
	}
	bk := backups(t, path)
	if len(bk) != 1 {
		t.Fatalf("backups = %v, want one", bk)
	}
	saved, err := os.ReadFile(bk[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, orig) {
		t.Errorf("backup does not hold the previous content")
	}
	if !strings.HasPrefix(filepath.Base(bk[0]), "settings.json.bak-") || !strings.HasSuffix(bk[0], "Z") {
		t.Errorf("backup name %q, want settings.json.bak-<UTC time>", bk[0])
	}
	if !strings.Contains(out.String(), "previous content in "+bk[0]) {
		t.Errorf("output does not name the backup:\n%s", out.String())
	}
	if diff := cmp.Diff([]string{"settings.json", filepath.Base(bk[0])}, first.entries); diff != "" {
		t.Errorf("directory entries (-want +got), a temporary file left behind?\n%s", diff)
	}

	// Make any rewrite visible in the modification time.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, path)
	out.Reset()
	if err := InstallFile(path, commandOpts(), false, &out); err != nil {
		t.Fatalf("second InstallFile: %v", err)
	}
	after := stateOf(t, path)
	if diff := cmp.Diff(before, after, cmp.AllowUnexported(fileState{})); diff != "" {
		t.Errorf("second install touched the file or directory (-before +after):\n%s", diff)
	}
	if want := path + ": no changes, nothing written\n"; out.String() != want {
		t.Errorf("second install output = %q, want %q", out.String(), want)
	}
}

func TestInstallFileDryRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		exist bool
	}{{"existing", true}, {"missing", false}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.json")
			if tc.exist {
				writeSettings(t, path, readTestdata(t, "user.in.json"), 0o644)
			}
			before := stateOf(t, path)
			var out bytes.Buffer
			if err := InstallFile(path, commandOpts(), true, &out); err != nil {
				t.Fatalf("InstallFile: %v", err)
			}
			after := stateOf(t, path)
			if diff := cmp.Diff(before, after, cmp.AllowUnexported(fileState{})); diff != "" {
				t.Errorf("dry run touched the file or directory (-before +after):\n%s", diff)
			}
			text := out.String()
			if !strings.Contains(text, "add     PreToolUse") || !strings.HasSuffix(text, "dry run: nothing written\n") {
				t.Errorf("dry-run output lacks the changes or the notice:\n%s", text)
			}
		})
	}
}

func TestUninstallFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "settings.json")
	writeSettings(t, path, readTestdata(t, "uninstall-mixed.in.json"), 0o600)

	var out bytes.Buffer
	if err := UninstallFile(path, true, &out); err != nil {
		t.Fatalf("UninstallFile dry run: %v", err)
	}
	if got := stateOf(t, path); !bytes.Equal(got.data, readTestdata(t, "uninstall-mixed.in.json")) || len(backups(t, path)) != 0 {
		t.Fatalf("dry-run uninstall wrote something")
	}
	if !strings.Contains(out.String(), "remove  Stop") || !strings.Contains(out.String(), "dry run: nothing written") {
		t.Errorf("dry-run output:\n%s", out.String())
	}

	out.Reset()
	if err := UninstallFile(path, false, &out); err != nil {
		t.Fatalf("UninstallFile: %v", err)
	}
	golden(t, "uninstall-mixed.golden.json", stateOf(t, path).data)
	if len(backups(t, path)) != 1 {
		t.Errorf("backups = %v, want one", backups(t, path))
	}

	// Nothing of ours left: nothing written.
	before := stateOf(t, path)
	out.Reset()
	if err := UninstallFile(path, false, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, stateOf(t, path), cmp.AllowUnexported(fileState{})); diff != "" {
		t.Errorf("second uninstall touched the directory (-before +after):\n%s", diff)
	}
	if !strings.Contains(out.String(), "no changes, nothing written") {
		t.Errorf("output = %q", out.String())
	}
}

func TestUninstallFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	var out bytes.Buffer
	if err := UninstallFile(path, false, &out); err != nil {
		t.Fatalf("UninstallFile: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("uninstall created %s (stat err %v)", path, err)
	}
}

func TestInstallFileInvalidJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	writeSettings(t, path, []byte("{\n  \"model\": \"opus\",\n}\n"), 0o644)
	before := stateOf(t, path)
	var out bytes.Buffer
	err := InstallFile(path, commandOpts(), false, &out)
	if err == nil {
		t.Fatal("InstallFile of invalid JSON succeeded")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("error %q does not name the file and the problem", err)
	}
	if diff := cmp.Diff(before, stateOf(t, path), cmp.AllowUnexported(fileState{})); diff != "" {
		t.Errorf("a failed install touched the directory (-before +after):\n%s", diff)
	}
	if out.Len() != 0 {
		t.Errorf("output on error: %q", out.String())
	}
	if err := UninstallFile(path, false, &out); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("UninstallFile error = %v, want one naming the file", err)
	}
}

// A settings.json that is a symlink (dotfile managers) stays a symlink; the
// file it points at gets the new content and the backup.
func TestInstallFileSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "claude-settings.json")
	if err := os.Mkdir(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	writeSettings(t, target, readTestdata(t, "user.in.json"), 0o644)
	link := filepath.Join(dir, "settings.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := InstallFile(link, commandOpts(), false, &bytes.Buffer{}); err != nil {
		t.Fatalf("InstallFile: %v", err)
	}
	fi, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symlink", link)
	}
	golden(t, "install-user.golden.json", stateOf(t, target).data)
	if len(backups(t, target)) != 1 {
		t.Errorf("backups next to the target = %v, want one", backups(t, target))
	}
}

func TestWriteBackupNamesDoNotCollide(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var names []string
	for i := range 3 {
		name, err := writeBackup(path, []byte{byte('a' + i)}, 0o600, now)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(name))
	}
	want := []string{"settings.json.bak-20260304T050607Z", "settings.json.bak-20260304T050607Z-1", "settings.json.bak-20260304T050607Z-2"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("backup names (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(names) {
		t.Errorf("backup names do not sort in creation order: %v", names)
	}
}

// TestInstallFileDryRunDiff: a dry run prints a unified diff of the settings
// file and the user's handlers it keeps.
func TestInstallFileDryRunDiff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	writeSettings(t, path, []byte(`{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}`), 0o644)
	var out bytes.Buffer
	if err := InstallFile(path, commandOpts(), true, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"--- " + path + "\n+++ " + path + " (new)\n@@ ",
		`-{"model": "opus", "hooks": {"Stop"`,
		`+  "model": "opus",`,
		"+        \"matcher\": \"*\",\n",
		"1 hook(s) of yours kept as they are:\n  keep    Stop                  command say done\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, text)
		}
	}
}

// TestInstallFileLiteralTokenIsPrivate: http mode with a literal token makes
// the settings file 0600 and says so; a $NAME reference leaves the mode.
func TestInstallFileLiteralTokenIsPrivate(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		wantMode    fs.FileMode
	}{{"literal", "s3cret-token", 0o600}, {"env reference", "${CLAUDE_HOOKS_TOKEN}", 0o644}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.json")
			writeSettings(t, path, []byte(`{}`), 0o644)
			o := httpOpts()
			o.HTTPToken = tc.token
			var out bytes.Buffer
			if err := InstallFile(path, o, false, &out); err != nil {
				t.Fatal(err)
			}
			if got := stateOf(t, path).mode; got != tc.wantMode {
				t.Errorf("mode %v, want %v", got, tc.wantMode)
			}
			if said := strings.Contains(out.String(), "readable by you only (0600)"); said != (tc.wantMode == 0o600) {
				t.Errorf("output mentions 0600: %v, want %v:\n%s", said, tc.wantMode == 0o600, out.String())
			}
			if strings.Contains(out.String(), "s3cret") {
				t.Errorf("output prints the token:\n%s", out.String())
			}
		})
	}
}
