// Package transcript owns following Claude Code transcripts: the JSONL files
// named by hook payloads (transcript_path, agent_transcript_path) and the
// subagent transcripts next to them. A Follower reads the lines appended since
// the last Poll, by byte offset, and turns assistant lines into Usage values
// (tokens per message id, model, session, subagent and prompt), counting each
// API response once; its state (offsets, recent message figures, remembered
// message ids) is serialisable for the daemon's checkpoint.
//
// It must not attribute usage to spans or price it (the session tracker and
// internal/pricing do), keep anything of a transcript beyond ids and token
// counts, or read a file that is not a regular .jsonl file named by an event.
// See DESIGN.md.
package transcript
