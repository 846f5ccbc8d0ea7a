// Package legacy reads the raw log directory of the Python notifier this
// project grew from (~/.claude/hooks/logs/raw_json/): one event per file,
// named <UTC YYYY-MM-DD_HH-MM-SS-mmm>_<hook_event_name>_<session_id>.json and
// holding the raw hook stdin, with a _pretty.json twin that is ignored. The
// file name is the only record of when the event was captured.
//
// It finds and names those files (Scan, ParseName), derives stable record ids
// from the names (ID), appends them to the spool as records (Import), follows
// a directory that keeps growing (Watcher, whose progress survives a crash in
// the middle of an import) and draws a one-off import's progress (Progress).
// It must never write to the legacy directory: the files stay the user's.
package legacy
