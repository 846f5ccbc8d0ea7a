package tracing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/jaegertest"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

// exportTo sends spans to Jaeger through a real OTLP sink and flushes it.
func exportTo(tb testing.TB, opts Options, spans []session.Span) {
	tb.Helper()
	opts.Version = "0.0.0-test"
	s, err := New(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	if !s.Enabled() {
		tb.Fatal("sink with an endpoint is disabled")
	}
	if err := s.Export(context.Background(), spans); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		tb.Fatalf("Shutdown: %v", err)
	}
	if e, d := s.Stats(); e != uint64(len(spans)) || d != 0 {
		tb.Fatalf("Stats() = %d exported, %d dropped, want %d, 0", e, d, len(spans))
	}
}

// TestJaeger exports the scripted session to a real Jaeger v2 over OTLP/HTTP, reads
// it back from the query API, then replays it over OTLP/gRPC and checks that the
// replay lands on the same span ids.
func TestJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	spans := scriptedSession()
	traceID := TraceID(fixtureSession).String()

	exportTo(t, Options{Endpoint: "http://" + j.OTLPHTTP, Protocol: ProtocolHTTPProtobuf}, spans)
	tr := j.Trace(t, traceID, len(spans))
	if len(tr.Spans) != len(spans) {
		t.Fatalf("Jaeger has %d spans, want %d", len(tr.Spans), len(spans))
	}

	type want struct {
		name, parent string
		start, dur   int64
	}
	wantByID := map[string]want{}
	for _, sp := range spans {
		w := want{name: sp.Name, start: sp.Start.UnixMicro(), dur: sp.End.Sub(sp.Start).Microseconds()}
		if sp.ParentKey != "" {
			w.parent = SpanID(fixtureSession, sp.ParentKey).String()
		}
		wantByID[SpanID(fixtureSession, sp.Key).String()] = w
	}
	gotByID := map[string]want{}
	for _, s := range tr.Spans {
		w := want{name: s.OperationName, start: s.StartTime, dur: s.Duration}
		if s.TraceID == traceID {
			w.parent = s.Parent()
		}
		gotByID[s.SpanID] = w
	}
	if diff := cmp.Diff(wantByID, gotByID, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("spans in Jaeger (names, parents, times) (-want +got):\n%s", diff)
	}

	// Attributes as tags, the failing tool's status, the resource as the process.
	for _, s := range tr.Spans {
		var sp session.Span
		for _, c := range spans {
			if SpanID(fixtureSession, c.Key).String() == s.SpanID {
				sp = c
			}
		}
		tags := jaegertest.TagMap(s.Tags)
		for _, a := range sp.Attrs {
			if got := tags[a.Key]; got != fmt.Sprint(a.Value) {
				t.Errorf("span %q tag %s = %q, want %q", s.OperationName, a.Key, got, fmt.Sprint(a.Value))
			}
		}
		failed := sp.ErrorType != ""
		if got := tags["error"] == "true"; got != failed {
			t.Errorf("span %q error tag = %v, want %v (tags %v)", s.OperationName, got, failed, tags)
		}
		if failed {
			wantTags := map[string]string{"otel.status_code": "ERROR", "otel.status_description": sp.ErrorType, "error.type": sp.ErrorType}
			for k, v := range wantTags {
				if tags[k] != v {
					t.Errorf("span %q tag %s = %q, want %q", s.OperationName, k, tags[k], v)
				}
			}
		}
		if tags["otel.scope.name"] != scopeName {
			t.Errorf("span %q otel.scope.name = %q, want %q", s.OperationName, tags["otel.scope.name"], scopeName)
		}
		proc := tr.Processes[s.ProcessID]
		ptags := jaegertest.TagMap(proc.Tags)
		if proc.ServiceName != ServiceName || ptags["telemetry.distro.name"] != DistroName || ptags["telemetry.distro.version"] != "0.0.0-test" {
			t.Errorf("span %q process = %+v", s.OperationName, proc)
		}
	}

	// A replay after a restart, over gRPC this time: the same spans again plus one
	// that closed after the restart. The replayed spans carry the same ids and are
	// byte-identical, so Jaeger's query service (its span-hash deduplication) shows
	// each once; the new span proves the gRPC export arrived.
	late := spans[0]
	late.Key, late.Name = "tool:toolu_05", "execute_tool Write"
	late.Start, late.End = late.Start.Add(9*time.Second), late.End.Add(9*time.Second)
	exportTo(t, Options{Endpoint: j.OTLPGRPC, Protocol: ProtocolGRPC, Insecure: true}, append(scriptedSession(), late))
	tr = j.Trace(t, traceID, len(spans)+1)
	count := map[string]int{}
	for _, s := range tr.Spans {
		count[s.SpanID]++
	}
	wantCount := map[string]int{SpanID(fixtureSession, late.Key).String(): 1}
	for id := range wantByID {
		wantCount[id] = 1
	}
	if diff := cmp.Diff(wantCount, count); diff != "" {
		t.Errorf("after the replay each span id should appear once (-want +got):\n%s", diff)
	}
}
