package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempMarker joins a file's name and a random suffix in the names of its
// temporary files: "<name>.tmp-<random>".
const tempMarker = ".tmp-"

// TempPattern is the glob pattern of the temporary files WriteFile makes for
// path.
func TempPattern(path string) string { return path + tempMarker + "*" }

// WriteFile replaces path with data: it writes a temporary file in the same
// directory with mode perm, syncs it, renames it over path and syncs the
// directory. After a crash at any point, path holds either its previous
// content or data. The error names path.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, nil)
}

// write is WriteFile with a hook called before each step; a non-nil error
// from the hook fails that step (tests inject faults with it).
func write(path string, data []byte, perm fs.FileMode, hook func(step string) error) error {
	step := func(name string, do func() error) error {
		if hook != nil {
			if err := hook(name); err != nil {
				return err
			}
		}
		return do()
	}
	var tmp *os.File
	if err := step("create", func() (err error) {
		tmp, err = createTemp(path)
		return err
	}); err != nil {
		return fmt.Errorf("write %s: create temporary file: %w", path, err)
	}
	// The temporary file stays open (and locked against RemoveLeftovers)
	// until it has been renamed.
	renamed := false
	defer func() {
		_ = tmp.Close() // synced or abandoned: nothing left to flush
		if !renamed {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := step("chmod", func() error { return tmp.Chmod(perm) }); err != nil {
		return fmt.Errorf("write %s: chmod %s: %w", path, tmp.Name(), err)
	}
	if err := step("write", func() error { _, err := tmp.Write(data); return err }); err != nil {
		return fmt.Errorf("write %s: write %s: %w", path, tmp.Name(), err)
	}
	if err := step("sync", tmp.Sync); err != nil {
		return fmt.Errorf("write %s: sync %s: %w", path, tmp.Name(), err)
	}
	if err := step("rename", func() error { return os.Rename(tmp.Name(), path) }); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	renamed = true
	if err := step("sync-dir", func() error { return SyncDir(filepath.Dir(path)) }); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}

// createTemp creates and locks a temporary file next to path.
// RemoveLeftovers removes the temporary files it can lock; one it removed
// between our create and our lock is replaced by another.
func createTemp(path string) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var lastErr error
	for range 3 {
		f, err := os.CreateTemp(dir, base+tempMarker+"*")
		if err != nil {
			return nil, err
		}
		if err := tryLock(f); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			_ = f.Close() // a clean-up holds it and will remove it
			lastErr = err
			continue
		}
		if fi, err := f.Stat(); err == nil {
			if li, err := os.Stat(f.Name()); err == nil && os.SameFile(fi, li) {
				return f, nil
			}
		}
		_ = f.Close() // removed by a clean-up before we locked it
		lastErr = fmt.Errorf("temporary file %s removed while being created", f.Name())
	}
	return nil, lastErr
}

// SyncDir syncs a directory, so that a rename or a new file in it survives a
// crash. File systems that cannot sync a directory are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		_ = d.Close() // the sync error is the one to report
		return err
	}
	return d.Close()
}

// RemoveLeftovers removes the temporary files of earlier WriteFiles to path
// that crashed; a temporary file that a WriteFile is writing now is left
// alone. It is best effort: a leftover only takes space.
func RemoveLeftovers(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), base+tempMarker) || !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		if tryLock(f) == nil { // no WriteFile is writing it
			_ = os.Remove(name)
		}
		_ = f.Close() // read-only
	}
}
