// Package live owns the live event stream: GET /api/v1/stream as Server-Sent
// Events. A Broker receives the events the store has just numbered (Publish),
// encodes each once, and fans it out to every connected subscriber whose
// wire.Filter it matches; a reconnecting client resumes from Last-Event-ID
// through the store (or, without one, an in-memory ring) with no gap and no
// duplicate. DESIGN.md explains the resume and back-pressure rules.
//
// It must not slow the pipeline: Publish never waits for a subscriber (each has
// a bounded buffer and is dropped, with a final error message, when it falls
// behind). It must not store events itself beyond the optional ring, parse hook
// payloads, or know about the HTTP server it is mounted in.
package live
