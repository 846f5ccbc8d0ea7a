// Package histo owns a histogram that is plain data: classic buckets with fixed
// upper bounds plus native (sparse, exponential, schema 3) buckets, a count and
// a sum, all serialisable to JSON. Derived state (the session tracker's and the
// pipeline's) keeps its histograms in this form so that a checkpoint can store
// them and a restore continues them exactly.
//
// It converts a histogram into one Prometheus metric carrying both bucket kinds,
// so the text format shows the classic buckets and the protobuf format also
// carries the native ones. It must not register, collect or hold metrics: the
// owners of the state decide when to expose it. It imports nothing of ours.
package histo
