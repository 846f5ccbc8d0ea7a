// Package checkpoint persists the daemon's checkpoint: the tail positions and
// the derived state, together, atomically. A checkpoint is either the old one
// or the new one after any crash, never a mix or a torn file.
//
// It must not know what the positions or the state mean: both are opaque JSON
// written by the pipeline. In particular it does not import internal/tail.
//
// It also holds the state directory's lock (LockDir): one daemon at a time
// owns a state directory, a second one is refused at start and told the
// first one's pid.
package checkpoint
