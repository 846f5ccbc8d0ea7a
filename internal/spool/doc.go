// Package spool owns the durable, append-only log that every capture path
// (the hook command, HTTP ingest, import) writes to: the record format
// (Record, Encode, Decode), appending records to the day's spool file under an
// flock with a timeout (Append, Writer), the whole hook command (RunHook), and
// the counter file in which hooks record the appends they could not make
// (RecordFailure, ReadFailures).
//
// It runs inside every hook process, so it imports nothing beyond the standard
// library and does no work beyond capturing: it never interprets a payload
// beyond checking that it is JSON, never reads spool files back (that is the
// tail's job) and never blocks without a deadline. The record format is a
// contract described in docs/architecture.md; DESIGN.md explains the
// concurrency and torn-write rules.
package spool
