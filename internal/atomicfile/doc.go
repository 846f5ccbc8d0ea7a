// Package atomicfile replaces files atomically and durably: the checkpoint,
// the legacy import mark and Claude Code's settings.json are written through
// it. After a crash at any point a file holds its old content or its new
// content, never a mix, and the rename has reached the disk.
//
// It is written here rather than taken from github.com/google/renameio, which
// does the same temporary-file-and-rename dance but does not sync the
// directory after the rename (the rename itself may then be lost in a crash)
// and cannot tell a leftover temporary file from one being written. It must
// not know what the files hold. The hook's spool keeps its own copy of the
// directory sync: cmd/hook stays standard library plus internal/spool.
package atomicfile
