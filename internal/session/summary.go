package session

import (
	"maps"
	"slices"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
)

// carried is what a session's summary keeps from its earlier generations: a
// session id resumed after it ended or expired continues its counts.
type carried struct {
	First  time.Time       `json:"first"`
	Counts timeline.Counts `json:"counts,omitzero"`
	Usage  timeline.Usage  `json:"usage,omitzero"`
}

// touch marks the session as changed in the current batch: TakeSummaries
// hands its summary to the sinks.
func (t *Tracker) touch(id string) {
	if _, ok := t.touchedSet[id]; ok {
		return
	}
	if t.touchedSet == nil {
		t.touchedSet = map[string]struct{}{}
	}
	t.touchedSet[id] = struct{}{}
	t.touched = append(t.touched, id)
}

// TakeSummaries appends to dst the summary of every session that Apply,
// ApplyUsage or Expire changed since the last call, in the order they were
// first changed, and starts a new collection. A session that closed and
// reopened in between is summarised as it is now.
func (t *Tracker) TakeSummaries(dst []timeline.Summary) []timeline.Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range t.touched {
		if s := t.st.Sessions[id]; s != nil {
			dst = append(dst, t.summary(s, timeline.StatusActive, time.Time{}, ""))
		} else if sum, ok := t.closed[id]; ok {
			dst = append(dst, sum)
		}
	}
	t.touched = t.touched[:0]
	clear(t.touchedSet)
	clear(t.closed)
	return dst
}

// summary is the session's summary in the given status; end and reason are
// set once it closed.
func (t *Tracker) summary(s *sessionState, status string, end time.Time, reason string) timeline.Summary {
	sum := timeline.Summary{
		SessionID:     s.ID,
		Status:        status,
		Start:         s.Start,
		End:           end,
		LastActivity:  s.LastSeen,
		EndReason:     reason,
		Model:         s.Model,
		CWD:           s.CWD,
		Counts:        s.Counts,
		OpenTurn:      s.Turn != nil,
		OpenToolCalls: int64(len(s.Calls)),
		Usage:         generationUsage(s.Usage),
	}
	if s.Source != SourceImplicit {
		sum.Source = s.Source
	}
	if c := s.Carried; c != nil {
		sum.Start = c.First
		sum.Counts = c.Counts.Plus(sum.Counts)
		sum.Usage = addUsage(c.Usage, sum.Usage)
	}
	return sum
}

// carry is what a closing session leaves for its next generation.
func (s *sessionState) carry() *carried {
	c := &carried{First: s.Start, Counts: s.Counts, Usage: generationUsage(s.Usage)}
	if p := s.Carried; p != nil {
		c.First = p.First
		c.Counts = p.Counts.Plus(c.Counts)
		c.Usage = addUsage(p.Usage, c.Usage)
	}
	return c
}

// generationUsage is one generation's usage as the summary shows it: the
// uncached input only, the cost rounded to 1e-6 (as the span attributes).
func generationUsage(u *usageState) timeline.Usage {
	if u == nil {
		return timeline.Usage{}
	}
	out := timeline.Usage{
		Input:         max(u.Input, 0),
		Output:        max(u.Output, 0),
		CacheRead:     max(u.CacheRead, 0),
		CacheCreation: max(u.CacheCreation, 0),
		CostUSD:       timeline.RoundCost(max(u.CostUSD, 0)),
	}
	if len(u.Models) > 0 {
		out.Models = slices.Sorted(maps.Keys(u.Models))
	}
	return out
}

// addUsage is the sum of two usages, models merged and sorted.
func addUsage(a, b timeline.Usage) timeline.Usage {
	sum := timeline.Usage{
		Input:         a.Input + b.Input,
		Output:        a.Output + b.Output,
		CacheRead:     a.CacheRead + b.CacheRead,
		CacheCreation: a.CacheCreation + b.CacheCreation,
		CostUSD:       timeline.RoundCost(a.CostUSD + b.CostUSD),
	}
	if len(a.Models)+len(b.Models) > 0 {
		sum.Models = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(a.Models), b.Models...))))
	}
	return sum
}
