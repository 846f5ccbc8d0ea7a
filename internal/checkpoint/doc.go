// Package checkpoint persists the daemon's checkpoint: the tail positions and
// the derived state, together, atomically. A checkpoint is either the old one
// or the new one after any crash, never a mix or a torn file.
//
// It must not know what the positions or the state mean: both are opaque JSON
// written by the pipeline. In particular it does not import internal/tail.
package checkpoint
