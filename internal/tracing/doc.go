// Package tracing turns the closed spans of the session tracker into OpenTelemetry
// spans and exports them over OTLP (gRPC or HTTP) through the SDK's batch span
// processor.
//
// It owns the mapping (names, kinds, status, attributes as the tracker gave them),
// the deterministic ids (one trace per session, span ids hashed from the span key,
// so a replayed log re-exports the same ids) and the SDK set-up: resource, span
// limits, a bounded queue that drops and counts rather than blocks, and the OTLP
// exporter configured from flags and the standard OTEL_* variables.
//
// It must not decide pairing or which attributes a span carries (that is the
// tracker's job), must not block the pipeline on a slow or dead backend, and must not
// touch the OpenTelemetry globals (tracer provider, propagators, error handler).
// With no exporter configured it does nothing at all. docs/traces.md describes the
// mapping and the reasons behind it.
package tracing
