package claudesettings

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// newFileMode is the mode of a settings file install creates: settings can hold
// tokens, so only the owner reads it.
const newFileMode fs.FileMode = 0o600

// backupLayout names backups: <path>.bak-<UTC time>.
const backupLayout = "20060102T150405Z"

// InstallFile applies Install to the settings file at path and prints the
// changes to w. A missing file counts as {} and is created. Unless dryRun is
// set, the new content replaces the file atomically (same mode, symlinks
// followed) after the previous content was saved to path.bak-<UTC time>. When
// nothing changes, nothing is written and no backup is made.
func InstallFile(path string, opts Options, dryRun bool, w io.Writer) error {
	return applyFile(path, dryRun, w, true, func(b []byte) ([]byte, []Change, error) { return Install(b, opts) })
}

// UninstallFile applies Uninstall to the settings file at path and prints the
// changes to w, writing like InstallFile. A missing file is left missing.
func UninstallFile(path string, dryRun bool, w io.Writer) error {
	return applyFile(path, dryRun, w, false, Uninstall)
}

func applyFile(path string, dryRun bool, w io.Writer, create bool, apply func([]byte) ([]byte, []Change, error)) error {
	target, old, mode, existed, err := readSettings(path)
	if err != nil {
		return err
	}
	out, changes, err := apply(old)
	if err != nil {
		return fmt.Errorf("settings %s: %w", path, err)
	}
	if len(changes) == 0 || (!existed && !create) {
		if _, err := fmt.Fprintf(w, "%s: no changes, nothing written\n", path); err != nil {
			return fmt.Errorf("print changes: %w", err)
		}
		return nil
	}
	if err := printChanges(w, path, changes); err != nil {
		return err
	}
	if dryRun {
		if _, err := fmt.Fprintln(w, "dry run: nothing written"); err != nil {
			return fmt.Errorf("print changes: %w", err)
		}
		return nil
	}
	backup := ""
	if existed {
		if backup, err = writeBackup(target, old, mode, time.Now()); err != nil {
			return err
		}
	} else if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return fmt.Errorf("create settings directory: %w", err)
	}
	if err := writeAtomic(target, out, mode); err != nil {
		return err
	}
	msg := fmt.Sprintf("wrote %s", target)
	if backup != "" {
		msg += fmt.Sprintf(" (previous content in %s)", backup)
	}
	if _, err := fmt.Fprintln(w, msg); err != nil {
		return fmt.Errorf("print changes: %w", err)
	}
	return nil
}

// readSettings reads the settings file, following a symlink to the file it
// points at so that writing replaces that file rather than the link.
func readSettings(path string) (target string, data []byte, mode fs.FileMode, existed bool, err error) {
	target = path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	data, err = os.ReadFile(target)
	if errors.Is(err, fs.ErrNotExist) {
		return target, nil, newFileMode, false, nil
	}
	if err != nil {
		return "", nil, 0, false, fmt.Errorf("read settings %s: %w", path, err)
	}
	fi, err := os.Stat(target)
	if err != nil {
		return "", nil, 0, false, fmt.Errorf("stat settings %s: %w", path, err)
	}
	return target, data, fi.Mode().Perm(), true, nil
}

func printChanges(w io.Writer, path string, changes []Change) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d change(s)\n", path, len(changes))
	for _, c := range changes {
		fmt.Fprintf(&b, "  %-6s  %-20s  %s\n", c.Action, c.Event, c.Handler)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("print changes: %w", err)
	}
	return nil
}

// writeBackup saves data next to path under a name no other backup has.
func writeBackup(path string, data []byte, mode fs.FileMode, now time.Time) (string, error) {
	base := path + ".bak-" + now.UTC().Format(backupLayout)
	name := base
	for i := 1; ; i++ {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			name = base + "-" + strconv.Itoa(i)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create backup %s: %w", name, err)
		}
		if err := writeSync(f, data); err != nil {
			_ = os.Remove(name)
			return "", fmt.Errorf("write backup %s: %w", name, err)
		}
		return name, nil
	}
}

// writeAtomic replaces path with data: a temporary file in the same directory
// is written, synced and renamed over path, then the directory is synced, so a
// crash leaves either the old or the new content, never a mix.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary settings file: %w", err)
	}
	tmp := f.Name()
	if err := f.Chmod(mode); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := writeSync(f, data); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace settings %s: %w", path, err)
	}
	return syncDir(dir)
}

// writeSync writes data to f, syncs and closes it.
func writeSync(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open settings directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync settings directory: %w", err)
	}
	return nil
}
