package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func temps(tb testing.TB, path string) []string {
	tb.Helper()
	m, err := filepath.Glob(TempPattern(path))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestWriteFileReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	for i, content := range []string{"one", "two, longer", "3"} {
		perm := os.FileMode(0o600)
		if i == 1 {
			perm = 0o644
		}
		if err := WriteFile(path, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("content %q, %v; want %q", got, err, content)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), perm)
		}
		if left := temps(t, path); len(left) > 0 {
			t.Errorf("temporary files left: %q", left)
		}
	}
}

// TestWriteFileFailure: a fault at any step before the rename leaves the old
// content and no temporary file; after the rename the new content is in
// place even though the directory sync failed.
func TestWriteFileFailure(t *testing.T) {
	errFault := syscall.EROFS
	tests := []struct {
		failAt    string
		wantSaved bool
	}{
		{failAt: "create"},
		{failAt: "chmod"},
		{failAt: "write"},
		{failAt: "sync"},
		{failAt: "rename"},
		{failAt: "sync-dir", wantSaved: true},
	}
	for _, tt := range tests {
		t.Run(tt.failAt, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.json")
			if err := WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := write(path, []byte("new"), 0o600, func(step string) error {
				if step == tt.failAt {
					return errFault
				}
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, errFault) {
				t.Fatalf("write: %v; want an error naming %s and wrapping %v", err, path, errFault)
			}
			want := "old"
			if tt.wantSaved {
				want = "new"
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != want {
				t.Errorf("content after the failed write %q, %v; want %q", got, err, want)
			}
			if left := temps(t, path); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}

// TestRemoveLeftovers: crashed writes' temporary files go, another file's stay.
func TestRemoveLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cp.json")
	for _, name := range []string{path + ".tmp-1", path + ".tmp-2", filepath.Join(dir, "other.json.tmp-1")} {
		if err := os.WriteFile(name, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	RemoveLeftovers(path)
	if left := temps(t, path); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.json.tmp-1")); err != nil {
		t.Errorf("another file's temporary file was touched: %v", err)
	}
}

// TestRemoveLeftoversSparesRunningWrite: a temporary file locked by a
// WriteFile in progress is not a leftover.
func TestRemoveLeftoversSparesRunningWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	f, err := createTemp(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	RemoveLeftovers(path)
	if _, err := os.Stat(f.Name()); err != nil {
		t.Fatalf("temporary file of a running save removed: %v", err)
	}
}
