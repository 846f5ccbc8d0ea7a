package store

import (
	"context"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// BenchmarkEventRates counts the 1,000,000-event database (the search
// benchmark's) per time bucket in one query: all of it by event name and by
// tool in 1,000 buckets, and one event name, after checking that the counts
// add up to the events stored. It reports the process's CPU time per query
// besides the wall time.
//
// Run: STORE_BENCH_DB=/tmp/storebench/events.db go test -run '^$' -bench EventRates -benchtime 20x ./internal/store
func BenchmarkEventRates(b *testing.B) {
	path, _ := millionDB(b)
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path, Now: benchNow, MaxAge: -1, MaxBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var lo, hi int64
	if err := s.r.QueryRowContext(ctx, `SELECT min(time), max(time) FROM events`).Scan(&lo, &hi); err != nil {
		b.Fatal(err)
	}
	from, to := time.Unix(0, lo).UTC(), time.Unix(0, hi+1).UTC()
	step := (to.Sub(from) + 999) / 1000
	var stored int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&stored); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    wire.RateQuery
		want int64 // the events counted; 0: not checked
	}{
		{"all/by-event", wire.RateQuery{Filter: wire.Filter{From: from, To: to}, Step: step, By: wire.RateByEvent}, stored},
		{"all/by-tool", wire.RateQuery{Filter: wire.Filter{From: from, To: to}, Step: step, By: wire.RateByTool}, 0},
		{"PreToolUse", wire.RateQuery{Filter: wire.Filter{From: from, To: to, Events: []string{"PreToolUse"}}, Step: step, By: wire.RateByEvent}, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := s.EventRates(ctx, tc.q)
			if err != nil {
				b.Fatal(err)
			}
			var n int64
			for _, sr := range r.Series {
				for _, c := range sr.Counts {
					n += c
				}
			}
			if n == 0 || (tc.want != 0 && n != tc.want) || r.Buckets != 1000 {
				b.Fatalf("counted %d events in %d buckets, want %d in 1000", n, r.Buckets, tc.want)
			}
			b.ReportAllocs()
			cpu0, runs := cpuTime(), 0
			for b.Loop() {
				if _, err := s.EventRates(ctx, tc.q); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			b.ReportMetric(float64(n), "events")
			// CPU time per query: on a shared machine, wall time measures the neighbours too.
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(runs), "cpu-ms/op")
		})
	}
}
