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

	"github.com/aymanbagabas/go-udiff"

	"github.com/claudehooks/claude-hooks-exporter/internal/atomicfile"
)

// newFileMode is the mode of a settings file install creates: settings can hold
// tokens, so only the owner reads it.
const newFileMode fs.FileMode = 0o600

// backupLayout names backups: <path>.bak-<UTC time>.
const backupLayout = "20060102T150405Z"

// InstallFile applies Install to the settings file at path and prints the
// changes to w, and which handlers of the user's it keeps; a dry run also
// prints the unified diff of the file and writes nothing. A missing file
// counts as {} and is created. Unless dryRun is set, the new content replaces
// the file atomically (same mode, symlinks followed) after the previous
// content was saved to path.bak-<UTC time>. When the settings will hold a
// literal bearer token (http mode with a token that is not a $NAME
// reference), the file is made readable by its owner only (0600) and w is
// told. When nothing changes, nothing is written and no backup is made.
func InstallFile(path string, opts Options, dryRun bool, w io.Writer) error {
	secret := opts.Mode == ModeHTTP && opts.HTTPToken != "" && !envRef.MatchString(opts.HTTPToken)
	return applyFile(path, dryRun, w, true, secret, func(b []byte) ([]byte, []Change, error) { return Install(b, opts) })
}

// UninstallFile applies Uninstall to the settings file at path and prints the
// changes to w, writing like InstallFile. A missing file is left missing.
func UninstallFile(path string, dryRun bool, w io.Writer) error {
	return applyFile(path, dryRun, w, false, false, Uninstall)
}

func applyFile(path string, dryRun bool, w io.Writer, create, secret bool, apply func([]byte) ([]byte, []Change, error)) error {
	target, old, mode, existed, err := readSettings(path)
	if err != nil {
		return err
	}
	out, changes, err := apply(old)
	if err != nil {
		return fmt.Errorf("settings %s: %w", path, err)
	}
	tighten := secret && mode&0o077 != 0
	if len(changes) == 0 || (!existed && !create) {
		if !tighten || dryRun {
			if _, err := fmt.Fprintf(w, "%s: no changes, nothing written\n", path); err != nil {
				return fmt.Errorf("print changes: %w", err)
			}
			return nil
		}
		if err := os.Chmod(target, 0o600); err != nil {
			return fmt.Errorf("settings %s holds a bearer token: make it private: %w", path, err)
		}
		_, err := fmt.Fprintf(w, "%s: no changes; it holds the bearer token, so it is now readable by you only (0600)\n", path)
		return err
	}
	if err := printChanges(w, path, changes); err != nil {
		return err
	}
	if err := printKept(w, out); err != nil {
		return err
	}
	if dryRun {
		diff := udiff.Unified(path, path+" (new)", string(old), string(out))
		if _, err := fmt.Fprintf(w, "%sdry run: nothing written\n", diff); err != nil {
			return fmt.Errorf("print changes: %w", err)
		}
		return nil
	}
	if tighten {
		mode = 0o600
	}
	backup := ""
	if existed {
		if backup, err = writeBackup(target, old, mode, time.Now()); err != nil {
			return err
		}
	} else if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return fmt.Errorf("create settings directory: %w", err)
	}
	if err := atomicfile.WriteFile(target, out, mode); err != nil {
		return fmt.Errorf("replace settings: %w", err)
	}
	msg := fmt.Sprintf("wrote %s", target)
	if backup != "" {
		msg += fmt.Sprintf(" (previous content in %s)", backup)
	}
	if secret {
		msg += "\nit holds the daemon's bearer token, so it is readable by you only (0600); --http.token-env keeps the token out of it"
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

// printKept lists the handlers in settings that are not ours: the user's,
// which install and uninstall keep as they were.
func printKept(w io.Writer, settings []byte) error {
	root, err := parseSettings(settings)
	if err != nil {
		return nil // nothing to say about a document we did not write
	}
	hooks, err := hooksObject(root, false)
	if err != nil || hooks == nil {
		return nil
	}
	var b strings.Builder
	n := 0
	for _, ev := range eventNames(hooks) {
		groups, _ := eventArray(hooks, ev, false)
		if groups == nil {
			continue
		}
		for _, group := range groups.elems {
			_, list := handlers(group)
			if list == nil {
				continue
			}
			for _, h := range list.elems {
				if ho, ok := h.(*object); ok && !isOurs(ho) {
					fmt.Fprintf(&b, "  keep    %-20s  %s\n", ev, describe(ho))
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "%d hook(s) of yours kept as they are:\n%s", n, b.String()); err != nil {
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
