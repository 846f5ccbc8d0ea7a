package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// countRates is the reference: q counted over evs in Go, with the filter's
// own Match.
func countRates(evs []wire.Event, q wire.RateQuery) wire.EventRates {
	n := q.Buckets()
	out := wire.EventRates{Start: q.Filter.From, StepMS: q.Step.Milliseconds(), Buckets: n, By: q.By, Series: []wire.RateSeries{}}
	idx := map[string]int{}
	for i := range evs {
		ev := &evs[i]
		if !q.Filter.Match(ev) || ev.Time.Before(q.Filter.From) || !ev.Time.Before(q.Filter.To) {
			continue
		}
		name := ev.Event
		if q.By == wire.RateByTool {
			if ev.Tool == "" {
				continue
			}
			name = ev.Tool
		}
		j, ok := idx[name]
		if !ok {
			j = len(out.Series)
			idx[name] = j
			out.Series = append(out.Series, wire.RateSeries{Name: name, Counts: make([]int64, n)})
		}
		out.Series[j].Counts[ev.Time.Sub(q.Filter.From)/q.Step]++
	}
	return out
}

func TestEventRates(t *testing.T) {
	s := openStore(t, Options{Now: benchNow, MaxAge: -1, MaxBytes: -1})
	evs := newGenerator(7).generate(20000)
	insertAll(t, s, evs, 1024)
	first, last := evs[0].Time, evs[len(evs)-1].Time
	all := wire.Filter{From: first.Truncate(time.Hour), To: last.Add(time.Hour).Truncate(time.Hour)}
	mid := wire.Filter{From: first.Add(last.Sub(first) / 3), To: first.Add(last.Sub(first) / 2)}
	with := func(f wire.Filter, mod func(*wire.Filter)) wire.Filter { mod(&f); return f }
	tests := []struct {
		name string
		q    wire.RateQuery
	}{
		{"all by event", wire.RateQuery{Filter: all, Step: time.Hour, By: wire.RateByEvent}},
		{"all by tool", wire.RateQuery{Filter: all, Step: time.Hour, By: wire.RateByTool}},
		{"partial last bucket", wire.RateQuery{Filter: mid, Step: 7 * time.Minute, By: wire.RateByEvent}},
		{"two events", wire.RateQuery{Filter: with(all, func(f *wire.Filter) { f.Events = []string{"PreToolUse", "Stop", "Stop"} }), Step: 10 * time.Minute, By: wire.RateByEvent}},
		{"session", wire.RateQuery{Filter: with(all, func(f *wire.Filter) { f.SessionID = evs[5000].SessionID }), Step: time.Minute, By: wire.RateByEvent}},
		{"tool and outcome", wire.RateQuery{Filter: with(mid, func(f *wire.Filter) { f.Tool, f.Outcome = "Bash", "failure" }), Step: time.Minute, By: wire.RateByTool}},
		{"agent", wire.RateQuery{Filter: with(all, func(f *wire.Filter) { f.Agent = "Explore" }), Step: time.Hour, By: wire.RateByEvent}},
		{"text through the index", wire.RateQuery{Filter: with(all, func(f *wire.Filter) { f.Text = "npm test" }), Step: time.Hour, By: wire.RateByEvent}},
		{"short text", wire.RateQuery{Filter: with(all, func(f *wire.Filter) { f.Text = "go" }), Step: time.Hour, By: wire.RateByTool}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.EventRates(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			want := countRates(evs, tt.q)
			var total int64
			for _, sr := range want.Series {
				for _, c := range sr.Counts {
					total += c
				}
			}
			if total == 0 {
				t.Fatalf("%+v selects no event: the case tests nothing", tt.q)
			}
			if diff := cmp.Diff(want, got, cmpSortSeries); diff != "" {
				t.Errorf("EventRates (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpSortSeries = cmp.Transformer("sorted", func(r wire.EventRates) wire.EventRates {
	s := append([]wire.RateSeries(nil), r.Series...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j].Name < s[i].Name {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	r.Series = s
	return r
})

func TestEventRatesRefuses(t *testing.T) {
	s := openStore(t, Options{})
	from := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, q := range []wire.RateQuery{
		{Filter: wire.Filter{From: from, To: from}, Step: time.Minute},
		{Filter: wire.Filter{From: from, To: from.Add(time.Hour)}, Step: 0},
		{Filter: wire.Filter{From: from, To: from.Add(24 * time.Hour)}, Step: time.Second},
	} {
		var pe *wire.ParamError
		if _, err := s.EventRates(context.Background(), q); !errors.As(err, &pe) {
			t.Errorf("EventRates(%+v) = %v, want a *wire.ParamError", q, err)
		}
	}
}
