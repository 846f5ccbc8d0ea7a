// Package hookevent owns the normalised event model: the Event type and the
// decoding of every Claude Code hook payload shape (current, 2025-era without
// ids, unknown events and fields) into it.
//
// It is a leaf: it does no I/O and imports nothing of ours.
package hookevent
