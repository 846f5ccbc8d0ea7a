package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/claudehooks/claude-hooks-exporter/internal/atomicfile"
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

// Save writes cp to path atomically (internal/atomicfile): after a crash at
// any point, path holds either the previous checkpoint or cp.
func Save(path string, cp Checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("save checkpoint %s: encode: %w", path, err)
	}
	data = append(data, '\n')
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// Load reads the checkpoint at path; ok is false when there is none. It first
// removes temporary files left by a Save that crashed (they never hold the
// checkpoint: the rename is the commit). A file that is not a valid
// checkpoint is an error naming the path.
func Load(path string) (cp Checkpoint, ok bool, err error) {
	atomicfile.RemoveLeftovers(path)
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
