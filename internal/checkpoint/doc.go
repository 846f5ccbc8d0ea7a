// Package checkpoint persists the daemon's progress atomically: the tail
// positions and the derived state (opaque bytes to this package), written
// together so that a restore always sees a matching pair.
//
// Save writes a temp file in the same directory, fsyncs it, renames it over the
// old file and fsyncs the directory; Load cleans up what a crash between those
// steps left behind. It must not know what the state means.
package checkpoint
