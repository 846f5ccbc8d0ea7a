// Package session owns the tracker: the state of every open Claude Code session
// (turns, tool calls, permission waits, subagents, compactions), the pairing
// rules that turn hook events into closed Spans, idle expiry, and every counter
// and histogram the exporter shows, token usage and cost from the transcripts
// included (ApplyUsage, priced with internal/pricing). All of it is a pure
// function of the events and usage applied in order, and serialisable, so a
// checkpoint can store it and a replay after a restore neither loses nor
// double-counts anything.
//
// It must not export anything (no Prometheus registration, no OTel), read
// clocks, or do I/O: the metrics package reads its state through Read, the
// tracing sink converts its Spans. See DESIGN.md for the rules.
package session
