package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/redact"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// BenchmarkInsert measures inserts in batches of 1024 events into a store
// that already holds 100k events.
func BenchmarkInsert(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "events.db"), Now: func() time.Time { return genBase.Add(24 * time.Hour * 20) }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := newGenerator(1)
	for range 100 {
		if err := s.Insert(ctx, g.generate(1024), nil); err != nil {
			b.Fatal(err)
		}
	}
	batches := make([][]wire.Event, 64)
	for i := range batches {
		batches[i] = g.generate(1024)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for b.Loop() {
		batch := batches[n%len(batches)]
		if n >= len(batches) {
			for i := range batch {
				g.n++
				batch[i].ID = g.nextID()
			}
		}
		if err := s.Insert(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*1024)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n*1024), "cpu-us/event")
}

// BenchmarkFromEvent converts the sample events (capture off).
func BenchmarkFromEvent(b *testing.B) {
	evs := storetest.Events(b, "current")
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			_ = FromEvent(&evs[i], 0, false)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkRedactPayload measures masking secrets in the sample payloads.
func BenchmarkRedactPayload(b *testing.B) {
	evs := storetest.Events(b, "current")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range evs {
			_ = redact.Secrets(string(evs[i].Raw))
			n += len(evs[i].Raw)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
	b.SetBytes(int64(n / b.N))
}
