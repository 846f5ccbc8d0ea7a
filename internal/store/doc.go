// Package store is the event store: an embedded SQLite database (pure Go,
// modernc.org/sqlite, WAL mode) holding the hook events the pipeline applied,
// one summary row per session and the sessions' closed spans, with a trigram
// full-text index over what people search for.
//
// It owns the schema and its versioned migrations, the numbering of events
// and the group commit of queued batches (Enqueue: idempotent by event id and
// by span key; DESIGN.md), the queries behind the HTTP API and the retention
// by age and by size, and its health: a quick check at Open that moves a
// corrupt database aside, and the declared failure that lets the pipeline go
// on without it until a rebuild from the spool (recover.go). It keeps the
// session tracker's summaries and spans (internal/timeline) as they are and
// the events as internal/eventview shows them; it must not derive anything
// about a session itself (status, turns, calls, usage: the tracker decides),
// import the tracker or an exporter, serve HTTP, or publish to the live
// stream; and it never holds a prompt unless content capture is on.
package store
