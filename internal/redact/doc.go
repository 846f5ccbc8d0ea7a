// Package redact removes obvious secrets from content-bearing text (prompts,
// commands, tool output) and caps its size before it may appear on a span or in
// the event store.
//
// It is a leaf: pure functions over strings, no I/O, nothing of ours imported.
// It is a safety net, not a guarantee: content capture stays off by default.
// Secrets runs in linear time on any input and returns a text without secrets
// as it was, without copying it; it must stay cheap enough to run on every
// prompt, command and tool output (see DESIGN.md for how it finds secrets and
// why it never hides less than the regular expressions it replaced).
package redact
