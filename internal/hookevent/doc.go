// Package hookevent owns the normalised event model: the Event type and the
// decoding of every Claude Code hook payload shape (current, 2025-era without
// ids, unknown events and fields) into it.
//
// It is a leaf: it does no I/O and imports nothing of ours.
//
// Decode runs once per spool record, and tool responses can be megabytes (whole
// files, base64 images), so it walks the payload once with a small hand-written
// scanner (scan.go) instead of encoding/json: ToolInput, ToolResponse and Raw are
// sub-slices of the payload, never copies, and the string fields cost two
// allocations in all. BenchmarkDecode keeps the alternatives (encoding/json,
// go-json-experiment's json and jsontext) measurable; FuzzDecode checks the
// scanner against encoding/json.
//
// It must not reject what Claude Code may send tomorrow: unknown names and
// fields are kept, absent ones stay zero, and only a payload that is not a JSON
// object with a hook_event_name is an error.
package hookevent
