// Package tail follows the files of one directory (the spool) and yields their
// complete lines, exactly once across restarts that resume from Positions.
//
// It owns file identity (a fingerprint of each file's first bytes), read offsets,
// rotation by rename, copy-truncate, truncation while stopped, deleted files,
// partial last lines and bounded file descriptors. DESIGN.md explains the choices.
//
// It must not interpret what it reads: lines are opaque bytes, and deciding what
// a record means (or whether it is valid) belongs to the spool format. It does not
// persist anything either: the caller stores Positions in its checkpoint after the
// lines returned by Next have been processed.
package tail
