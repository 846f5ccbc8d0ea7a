package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/jaegertest"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/tracing"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// benchSpool writes n records built from the samples, spread over sessions,
// with unique tool_use_ids so the tracker pairs them as in real sessions.
func benchSpool(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	all := samples(b)
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	w, err := spool.OpenWriter(spool.Options{Dir: dir, Now: func() time.Time { return start }})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	recs := make([]spool.Record, 0, 1024)
	for i := range n {
		round := i / len(all)
		p := all[i%len(all)]
		// Give every round of the sample session its own session id.
		sid := fmt.Sprintf("5f0c2a9e-3b7d-4c41-9e62-%012d", round)
		p = []byte(strings.ReplaceAll(string(p), "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", sid))
		recs = append(recs, spool.Capture(p, start.Add(time.Duration(i)*time.Millisecond), spool.SourceHook, spool.DefaultMaxRecordBytes))
		if len(recs) == cap(recs) {
			if err := w.Append(recs...); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if len(recs) > 0 {
		if err := w.Append(recs...); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkReadDecode measures the daemon's input side: tail the spool, decode
// the record envelope and normalise the payload. Run with -cpu 1 for the
// one-core figure.
func BenchmarkReadDecode(b *testing.B) {
	const n = 100_000
	dir := benchSpool(b, n)
	b.ResetTimer()
	for b.Loop() {
		t := newTailer(b, dir, nil)
		got := 0
		for got < n {
			lines, err := t.Next(context.Background(), 1024)
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range lines {
				rec, err := spool.Decode(l.Data)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := hookevent.Decode(rec.Payload); err != nil {
					b.Fatal(err)
				}
			}
			got += len(lines)
		}
		t.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPipeline measures the whole path from spool record to tracker
// state (what /metrics shows) and spans exported over OTLP to a live Jaeger,
// checkpoints included.
func BenchmarkPipeline(b *testing.B) {
	const n = 100_000
	dir := benchSpool(b, n)
	j := jaegertest.Start(b)
	for _, withStore := range []bool{false, true} {
		name := "otlp"
		if withStore {
			name = "otlp+store"
		}
		b.Run(name, func(b *testing.B) { benchPipeline(b, dir, n, j, withStore) })
	}
}

func benchPipeline(b *testing.B, dir string, n int, j *jaegertest.Jaeger, withStore bool) {
	for b.Loop() {
		sink, err := tracing.New(context.Background(), tracing.Options{Endpoint: "http://" + j.OTLPHTTP, Protocol: tracing.ProtocolHTTPProtobuf, QueueSize: 65536})
		if err != nil {
			b.Fatal(err)
		}
		sinks := []Sink{traceSink{sink}}
		if withStore {
			st, err := store.Open(context.Background(), store.Options{Path: b.TempDir() + "/events.db"})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			sinks = append(sinks, &storeSink{st: st})
		}
		p, err := New(Options{
			Tracker:        session.New(session.Options{}),
			Sinks:          sinks,
			CheckpointPath: b.TempDir() + "/checkpoint.json",
		})
		if err != nil {
			b.Fatal(err)
		}
		runUntil(b, p, newTailer(b, dir, nil), func(s Stats) bool { return s.Applied == uint64(n) })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := sink.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		exported, dropped := sink.Stats()
		b.ReportMetric(float64(exported), "spans")
		b.ReportMetric(float64(dropped), "dropped")
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// storeSink is what the daemon's history sink does with a batch: it hands it
// to the store's group commit; the pipeline's final checkpoint waits for the
// commit, so the run's time includes it.
type storeSink struct {
	st  *store.Store
	buf []wire.Event
}

func (s *storeSink) Consume(ctx context.Context, b *Batch) error {
	s.buf = s.buf[:0]
	for i := range b.Events {
		s.buf = append(s.buf, eventview.Of(&b.Events[i], 0, false))
	}
	return s.st.Enqueue(ctx, s.buf, b.Spans, b.Sessions)
}

func (s *storeSink) Mark() uint64 { return s.st.Mark() }

func (s *storeSink) WaitDurable(ctx context.Context, mark uint64) error {
	return s.st.WaitDurable(ctx, mark)
}

type traceSink struct{ s *tracing.Sink }

func (t traceSink) Consume(ctx context.Context, b *Batch) error { return t.s.Export(ctx, b.Spans) }
