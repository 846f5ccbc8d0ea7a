// Package redact removes obvious secrets from content-bearing text (prompts,
// commands, tool output) and caps its size before it may appear on a span or in
// the event store.
//
// It is a leaf: pure functions over strings, no I/O, nothing of ours imported.
// It is a safety net, not a guarantee: content capture stays off by default.
package redact
