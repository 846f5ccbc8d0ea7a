// Package claudesettings owns merging the exporter's hook handlers into Claude
// Code's settings.json (install) and taking them out again (uninstall).
//
// It recognises its own handlers by their command (the claude-hooks-hook binary,
// or "claude-hooks-exporter hook") or, for http handlers, by a URL path ending in
// /v1/hooks, so it needs no marker keys that Claude Code could reject.
//
// It registers observer events only (observer.go holds the rule: never
// WorktreeCreate or WorktreeRemove, whose hooks replace what Claude Code
// does), and a dry run prints a unified diff of the file.
//
// It must not touch keys it does not own: every other settings key and every
// other hook handler of the user survives an install or uninstall unchanged
// (the file is re-indented, and the order of keys is kept).
package claudesettings
