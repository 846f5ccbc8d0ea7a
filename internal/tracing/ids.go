package tracing

import (
	"context"
	"crypto/rand"

	"github.com/claudehooks/claude-hooks-exporter/internal/traceid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TraceID returns the trace id of a session (traceid.ForSession) in the SDK's type.
func TraceID(sessionID string) trace.TraceID { return trace.TraceID(traceid.ForSession(sessionID)) }

// SpanID returns the span id of the span with the given key in a session
// (traceid.ForSpan) in the SDK's type.
func SpanID(sessionID, key string) trace.SpanID { return trace.SpanID(traceid.ForSpan(sessionID, key)) }

// wantedIDs travels in the context from Sink.Export to the ID generator, which the
// SDK calls while starting the span.
type wantedIDs struct {
	trace trace.TraceID
	span  trace.SpanID
}

type wantedIDsKey struct{}

func withWantedIDs(ctx context.Context, ids wantedIDs) context.Context {
	return context.WithValue(ctx, wantedIDsKey{}, ids)
}

// idGenerator hands the SDK the ids Export derived. The SDK offers no other way to
// choose a span's own id; a span started without wanted ids (none are, in this
// package) gets random ones, like the SDK's default generator.
type idGenerator struct{}

var _ sdktrace.IDGenerator = idGenerator{}

// NewIDs is called for root spans.
func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if w, ok := ctx.Value(wantedIDsKey{}).(wantedIDs); ok {
		return w.trace, w.span
	}
	var tid trace.TraceID
	for !tid.IsValid() {
		_, _ = rand.Read(tid[:])
	}
	return tid, randomSpanID()
}

// NewSpanID is called for spans with a parent; the trace id comes from the parent.
func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if w, ok := ctx.Value(wantedIDsKey{}).(wantedIDs); ok {
		return w.span
	}
	return randomSpanID()
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		_, _ = rand.Read(sid[:])
	}
	return sid
}
