// Package pipeline wires the daemon's one-way data path: spool lines from the
// tailer are decoded (spool record, then hook payload), applied in order to the
// session tracker, handed with the spans they closed to every sink, and only then
// covered by a checkpoint that stores the tail positions together with the
// derived state (tracker and ingest statistics), written atomically once every
// DurableSink has made the batches it covers durable.
//
// It holds no business rules: pairing lives in session, record formats in spool
// and hookevent, persistence in checkpoint. It must not serve HTTP or export
// anything itself.
package pipeline
