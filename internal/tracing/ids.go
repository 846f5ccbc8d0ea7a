package tracing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TraceID returns the trace id of a session: the 16 bytes of the session id when it
// is a UUID (so the trace id reads like the session id in any backend), otherwise the
// first 16 bytes of the SHA-256 of the session id. It is never the invalid zero id.
func TraceID(sessionID string) trace.TraceID {
	var id trace.TraceID
	if parseUUID(sessionID, &id) && id.IsValid() {
		return id
	}
	sum := sha256.Sum256([]byte(sessionID))
	copy(id[:], sum[:len(id)])
	if !id.IsValid() {
		id[len(id)-1] = 1
	}
	return id
}

// SpanID returns the span id of the span with the given key in a session: the first
// 8 bytes of SHA-256(sessionID + "\x00" + key). The separator keeps ("ab", "c") and
// ("a", "bc") apart. It is never the invalid zero id.
func SpanID(sessionID, key string) trace.SpanID {
	h := sha256.New()
	h.Write([]byte(sessionID))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var id trace.SpanID
	copy(id[:], sum[:len(id)])
	if !id.IsValid() {
		id[len(id)-1] = 1
	}
	return id
}

// parseUUID decodes the canonical 8-4-4-4-12 hexadecimal form (either case) into id.
func parseUUID(s string, id *trace.TraceID) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	var buf [32]byte
	n := copy(buf[:], s[0:8])
	n += copy(buf[n:], s[9:13])
	n += copy(buf[n:], s[14:18])
	n += copy(buf[n:], s[19:23])
	copy(buf[n:], s[24:36])
	_, err := hex.Decode(id[:], buf[:])
	return err == nil
}

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
