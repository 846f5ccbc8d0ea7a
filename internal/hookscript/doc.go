// Package hookscript is test support: it generates random but plausible
// hook scripts (interleaved sessions, prompts, tool calls that succeed, fail,
// are denied or left open, permission waits, subagents and compactions with
// and without starts, stops without turns, ends, late events, resumes, gaps
// that expire a session, transcript usage) for the tests that check that
// every view of a session agrees. It must not be imported by non-test code.
package hookscript
