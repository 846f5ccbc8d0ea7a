package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// EventRates counts the events q selects per time bucket and per event name
// or tool in one SQL GROUP BY, so that a rate over a million events is one
// query and one answer rather than pages of events counted by the client.
// q is expected to be checked (wire.ParseRateQuery); a query without buckets
// is a *wire.ParamError.
func (s *Store) EventRates(ctx context.Context, q wire.RateQuery) (wire.EventRates, error) {
	n := q.Buckets()
	if n == 0 || n > wire.MaxRateBuckets {
		return wire.EventRates{}, &wire.ParamError{Param: "step", Msg: fmt.Sprintf("%d buckets, want 1 to %d", n, wire.MaxRateBuckets)}
	}
	if s.r == nil {
		return wire.EventRates{}, errors.New("count events: store closed")
	}
	s.settle(ctx)
	wide, err := s.wideTime(ctx, q.Filter)
	if err != nil {
		return wire.EventRates{}, err
	}
	query, args := rateSQL(q, wide)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return wire.EventRates{}, fmt.Errorf("count events: %w", err)
	}
	defer rows.Close()
	counts := map[string][]int64{}
	for rows.Next() {
		var (
			bucket, count int64
			name          string
		)
		if err := rows.Scan(&bucket, &name, &count); err != nil {
			return wire.EventRates{}, fmt.Errorf("count events: %w", err)
		}
		if bucket < 0 || bucket >= int64(n) {
			continue // cannot happen with the time bounds; never index out of range
		}
		c, ok := counts[name]
		if !ok {
			c = make([]int64, n)
			counts[name] = c
		}
		c[bucket] += count
	}
	if err := rows.Err(); err != nil {
		return wire.EventRates{}, fmt.Errorf("count events: %w", err)
	}
	out := wire.EventRates{
		Start:   q.Filter.From.UTC(),
		StepMS:  q.Step.Milliseconds(),
		Buckets: n,
		By:      q.By,
		Series:  make([]wire.RateSeries, 0, len(counts)),
	}
	for name, c := range counts {
		out.Series = append(out.Series, wire.RateSeries{Name: name, Counts: c})
	}
	slices.SortFunc(out.Series, func(a, b wire.RateSeries) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// rateSQL is the counting query of q. Unlike eventsSQL it needs no order and
// no limit, so each filter is a plain condition (several event names one IN,
// an agent as id or type one OR). A wide time range (wideTime) is read by
// scanning the table rather than through the time index: over a million
// events the scan took 1.7 s where the index took 2.2 s (one row lookup per
// event).
func rateSQL(q wire.RateQuery, wideTime bool) (string, []any) {
	f := q.Filter
	var w where
	from := "events e"
	f.Text = cleanText(f.Text)
	if f.Text != "" && useFTS(f.Text) {
		from = "events_fts CROSS JOIN events e ON e.seq = events_fts.rowid"
		w.add("events_fts MATCH ?", ftsQuery(f.Text))
	}
	if f.Text != "" {
		p := likePattern(f.Text)
		w.add(textMatch, p, p, p)
	}
	timeCol := "e.time"
	if wideTime {
		timeCol = "+e.time" // unary plus: not through the time index
	}
	w.add(timeCol+" >= ?", f.From.UnixNano())
	w.add(timeCol+" < ?", f.To.UnixNano())
	if f.SessionID != "" {
		w.add("e.session_id = ?", f.SessionID)
	}
	if evs := uniq(f.Events); len(evs) > 0 {
		w.add("e.event IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(evs)), ", ")+")", anys(evs)...)
	}
	if f.Tool != "" {
		w.add("e.tool = ?", f.Tool)
	}
	if f.Agent != "" {
		w.add("(e.agent_id = ? OR e.agent_type = ?)", f.Agent, f.Agent)
	}
	if f.Outcome != "" {
		w.add("e.outcome = ?", f.Outcome)
	}
	col := "e.event"
	if q.By == wire.RateByTool {
		col = "e.tool"
		w.add("e.tool IS NOT NULL")
	}
	args := append([]any{f.From.UnixNano(), int64(q.Step)}, w.args...)
	return "SELECT (e.time - ?) / ?, " + col + ", count(*) FROM " + from + w.String() + " GROUP BY 1, 2", args
}
