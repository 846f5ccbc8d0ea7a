// Package timeline holds the value types the session tracker hands to its
// sinks: closed Spans (turns, tool calls, subagents, waits, compactions, the
// session root) and a Summary of each session a batch touched.
//
// It owns no behaviour: the tracker (internal/session) decides what a session
// is and fills these values; the store, the trace exporter and the API keep or
// show them as they are and must not re-derive any of it. It imports nothing
// but the standard library, so storage and query packages can use it without
// linking the tracker or an exporter.
package timeline
