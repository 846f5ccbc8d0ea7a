package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Checkpoint is what is persisted: opaque positions and named opaque states.
type Checkpoint struct {
	Version   int                        `json:"version"`
	Positions json.RawMessage            `json:"positions,omitempty"`
	State     map[string]json.RawMessage `json:"state,omitempty"`
}

// tmpSuffix marks the temp files Save writes before the rename.
const tmpSuffix = ".tmp-"

// Save writes cp to path atomically: a reader, or a restart after a crash at
// any moment, sees either the old checkpoint or the new one, never a mix.
func Save(path string, cp Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+tmpSuffix+"*")
	if err != nil {
		return fmt.Errorf("create checkpoint temp file: %w", err)
	}
	tmp := f.Name()
	cleanup := func() { os.Remove(tmp) }
	if _, err := f.Write(b); err != nil {
		f.Close()
		cleanup()
		return fmt.Errorf("write checkpoint %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		cleanup()
		return fmt.Errorf("sync checkpoint %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return fmt.Errorf("close checkpoint %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		cleanup()
		return fmt.Errorf("rename checkpoint into %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open checkpoint dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync checkpoint dir %s: %w", dir, err)
	}
	return nil
}

// Load reads the checkpoint at path; ok is false when there is none. Temp files
// left by a crash before the rename are removed: the rename never happened, so
// the file at path (or its absence) is the truth.
func Load(path string) (cp Checkpoint, ok bool, err error) {
	removeLeftovers(path)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return Checkpoint{}, false, fmt.Errorf("checkpoint %s is corrupt (%w); move it away to start afresh", path, err)
	}
	return cp, true, nil
}

func removeLeftovers(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(filepath.Base(path))+tmpSuffix+"*"))
	for _, m := range matches {
		os.Remove(m)
	}
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}
