package tracing

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter accepts every batch and keeps nothing, so the benchmark measures
// this package and the SDK, not an exporter.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkExport measures Export of the scripted session (7 spans) through the
// batch span processor into an exporter that discards: the cost the pipeline pays
// per span when tracing is on. spans/s is the rate Export sustains; dropped/op
// should stay 0 (a non-zero value means the processor's goroutine fell behind).
func BenchmarkExport(b *testing.B) {
	s, err := New(context.Background(), Options{Exporter: discardExporter{}, QueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	spans := scriptedSession()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Export(ctx, spans); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := s.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	exported, dropped := s.Stats()
	b.ReportMetric(float64(exported+dropped)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
}
