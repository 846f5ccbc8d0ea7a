package timeline

import (
	"math"
	"time"
)

// Session statuses.
const (
	StatusActive  = "active"
	StatusEnded   = "ended"
	StatusExpired = "expired"
)

// Outcome values of Outcomes, as the outcome labels of the metrics and the
// Outcome of Spans use them.
const (
	OutcomeSuccess     = "success"
	OutcomeFailure     = "failure"
	OutcomeInterrupted = "interrupted"
	OutcomeDenied      = "denied"
	OutcomeExpired     = "expired"
)

// Outcomes counts closed things (turns, tool calls) by outcome.
type Outcomes struct {
	Success     int64 `json:"success,omitempty"`
	Failure     int64 `json:"failure,omitempty"`
	Interrupted int64 `json:"interrupted,omitempty"`
	Denied      int64 `json:"denied,omitempty"`
	Expired     int64 `json:"expired,omitempty"`
}

// Add counts one thing of the outcome; an unknown outcome counts nowhere.
func (o *Outcomes) Add(outcome string) {
	switch outcome {
	case OutcomeSuccess:
		o.Success++
	case OutcomeFailure:
		o.Failure++
	case OutcomeInterrupted:
		o.Interrupted++
	case OutcomeDenied:
		o.Denied++
	case OutcomeExpired:
		o.Expired++
	}
}

// Total is the number of things counted.
func (o Outcomes) Total() int64 {
	return o.Success + o.Failure + o.Interrupted + o.Denied + o.Expired
}

// Plus is the sum of two counts.
func (o Outcomes) Plus(p Outcomes) Outcomes {
	return Outcomes{
		Success: o.Success + p.Success, Failure: o.Failure + p.Failure, Interrupted: o.Interrupted + p.Interrupted,
		Denied: o.Denied + p.Denied, Expired: o.Expired + p.Expired,
	}
}

// Counts are what a session did, counted where the tracker counts its metrics,
// so the sum over sessions equals the claude_hooks_* counters (tool calls that
// expired are the exception: their spans say expired, the metrics do not count
// them because nobody knows how they ended).
type Counts struct {
	// Turns are the closed turns by outcome.
	Turns Outcomes `json:"turns,omitzero"`
	// ToolCalls are the ended tool calls by outcome.
	ToolCalls Outcomes `json:"tool_calls,omitzero"`
	// Subagents, Compactions and PermissionWaits count what started (or,
	// without a start, what ended) in the session.
	Subagents       int64 `json:"subagents,omitempty"`
	Compactions     int64 `json:"compactions,omitempty"`
	PermissionWaits int64 `json:"permission_waits,omitempty"`
}

// Plus is the sum of two counts.
func (c Counts) Plus(d Counts) Counts {
	return Counts{
		Turns: c.Turns.Plus(d.Turns), ToolCalls: c.ToolCalls.Plus(d.ToolCalls),
		Subagents: c.Subagents + d.Subagents, Compactions: c.Compactions + d.Compactions,
		PermissionWaits: c.PermissionWaits + d.PermissionWaits,
	}
}

// Usage is a session's token usage and cost from its transcripts. The four
// token types are disjoint: Input is the uncached input only.
type Usage struct {
	Input         int64   `json:"in,omitempty"`
	Output        int64   `json:"out,omitempty"`
	CacheRead     int64   `json:"cr,omitempty"`
	CacheCreation int64   `json:"cc,omitempty"`
	CostUSD       float64 `json:"usd,omitempty"`
	// Models are the models that produced the tokens, sorted.
	Models []string `json:"models,omitempty"`
}

// RoundCost rounds a cost in dollars to 1e-6, as every view shows it.
func RoundCost(usd float64) float64 { return math.Round(usd*1e6) / 1e6 }

// Summary is what the tracker says a session is, over all its generations (a
// session id resumed after it ended or expired continues its summary). Sinks
// store and show it as it is.
type Summary struct {
	SessionID string
	// Status is StatusActive, StatusEnded or StatusExpired.
	Status string
	// Start is when the session was first seen; End when it last closed (zero
	// while active); LastActivity its latest event.
	Start, End, LastActivity time.Time
	// Source is the SessionStart source of the current generation ("" when
	// the session was seen without one); EndReason why it closed: the
	// SessionEnd reason, "expired" or "evicted" ("" while active).
	Source, EndReason string
	// Model is the model SessionStart named; CWD the latest working directory.
	Model, CWD string
	Counts
	// OpenTurn says a turn is in progress; OpenToolCalls how many calls are.
	OpenTurn      bool
	OpenToolCalls int64
	Usage         Usage
}

// Failures are the failed turns and tool calls.
func (s *Summary) Failures() int64 { return s.Turns.Failure + s.ToolCalls.Failure }

// TurnsStarted counts the closed turns and the one in progress.
func (s *Summary) TurnsStarted() int64 {
	n := s.Turns.Total()
	if s.OpenTurn {
		n++
	}
	return n
}

// ToolCallsStarted counts the ended tool calls and those in progress.
func (s *Summary) ToolCallsStarted() int64 { return s.ToolCalls.Total() + s.OpenToolCalls }
