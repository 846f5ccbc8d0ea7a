package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Checkpoint is what the daemon persists after the sinks accepted a batch.
type Checkpoint struct {
	// Version is the pipeline's format version of Positions and State.
	Version int `json:"version"`
	// Positions are the tail positions, as JSON.
	Positions json.RawMessage `json:"positions,omitempty"`
	// State holds each stateful component's derived state as JSON, by name.
	State map[string]json.RawMessage `json:"state,omitempty"`
}

// tempMarker joins the checkpoint's file name and a random suffix in the names
// of temporary files: "<name>.tmp-<random>".
const tempMarker = ".tmp-"

// Save writes cp to path atomically: it writes a temporary file in the same
// directory, syncs it, renames it over path and syncs the directory. After a
// crash at any point, path holds either the previous checkpoint or cp.
func Save(path string, cp Checkpoint) error {
	return save(path, cp, nil)
}

// save is Save with a hook called before each step; a non-nil error from the
// hook fails that step (tests inject faults with it).
func save(path string, cp Checkpoint, hook func(step string) error) error {
	step := func(name string, do func() error) error {
		if hook != nil {
			if err := hook(name); err != nil {
				return err
			}
		}
		return do()
	}
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: encode: %w", path, err)
	}
	data = append(data, '\n')

	var tmp *os.File
	if err := step("create", func() error {
		tmp, err = createTemp(path)
		return err
	}); err != nil {
		return fmt.Errorf("save checkpoint %s: create temporary file: %w", path, err)
	}
	// The temporary file stays open (and locked against Load's clean-up)
	// until it has been renamed.
	renamed := false
	defer func() {
		_ = tmp.Close() // synced or abandoned: nothing left to flush
		if !renamed {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := step("write", func() error { _, err := tmp.Write(data); return err }); err != nil {
		return fmt.Errorf("save checkpoint %s: write %s: %w", path, tmp.Name(), err)
	}
	if err := step("sync", tmp.Sync); err != nil {
		return fmt.Errorf("save checkpoint %s: sync %s: %w", path, tmp.Name(), err)
	}
	if err := step("rename", func() error { return os.Rename(tmp.Name(), path) }); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", path, err)
	}
	renamed = true
	if err := step("sync-dir", func() error { return syncDir(filepath.Dir(path)) }); err != nil {
		return fmt.Errorf("save checkpoint %s: sync directory: %w", path, err)
	}
	return nil
}

// createTemp creates and locks a temporary file next to path. Load removes
// leftover temporary files it can lock; one it removed between our create
// and our lock is replaced by another.
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
		if err := tryLock(f); err != nil {
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // the sync error is the one to report
		return err
	}
	return d.Close()
}

// Load reads the checkpoint at path; ok is false when there is none. It first
// removes temporary files left by a Save that crashed (they never hold the
// checkpoint: the rename is the commit). A file that is not a valid
// checkpoint is an error naming the path.
func Load(path string) (cp Checkpoint, ok bool, err error) {
	removeLeftovers(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("load checkpoint %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &cp); err != nil {
		return Checkpoint{}, false, fmt.Errorf("load checkpoint %s: corrupt (move it away to start afresh): %w", path, err)
	}
	return cp, true, nil
}

// removeLeftovers removes the temporary files of earlier Saves that no Save
// holds any more. It is best effort: a leftover only takes space.
func removeLeftovers(path string) {
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
		if tryLock(f) == nil { // no Save is writing it
			_ = os.Remove(name)
		}
		_ = f.Close() // read-only
	}
}
