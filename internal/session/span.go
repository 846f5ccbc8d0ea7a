package session

import "github.com/claudehooks/claude-hooks-exporter/internal/timeline"

// Span, Kind and Attr are the timeline's types: the tracker fills them, the
// sinks keep them as they are.
type (
	Span = timeline.Span
	Kind = timeline.Kind
	Attr = timeline.Attr
	// SpanEvent is a point in time within a span.
	SpanEvent = timeline.Event
)

// Span kinds.
const (
	KindSession    = timeline.KindSession
	KindTurn       = timeline.KindTurn
	KindTool       = timeline.KindTool
	KindSubagent   = timeline.KindSubagent
	KindPermission = timeline.KindPermission
	KindCompaction = timeline.KindCompaction
	KindSkillShell = timeline.KindSkillShell
)
