// Package agreement holds no code: its tests drive generated hook scripts
// through the real session tracker, store, query API, metrics collector and
// trace sink, with restarts and replays, and check that every view of a
// session shows the same numbers (the tracker decides, the others keep and
// show).
package agreement
