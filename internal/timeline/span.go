package timeline

import "time"

// Kind says what a Span stands for.
type Kind string

// Span kinds.
const (
	KindSession    Kind = "session"
	KindTurn       Kind = "turn"
	KindTool       Kind = "tool"
	KindSubagent   Kind = "subagent"
	KindPermission Kind = "permission"
	KindCompaction Kind = "compaction"
	// KindSkillShell is a shell command a skill or slash command ran before
	// the model saw it (PreSkillShellCommand): a point in time, not a tool call.
	KindSkillShell Kind = "skill_shell"
)

// Span is a closed interval of a session that the tracker hands to the sinks when it
// ends. Keys are stable strings derived from payload ids (session id, prompt id,
// tool_use_id, agent id, or an ordinal for old payloads without ids), so the same
// log replayed yields the same keys, and the tracing sink derives the same span ids.
type Span struct {
	Kind      Kind
	SessionID string
	// Key identifies the span within its session; ParentKey is the key of its parent
	// ("" for the session root).
	Key       string
	ParentKey string
	// Name is the span name, e.g. "execute_tool Bash", "invoke_agent Explore".
	Name  string
	Start time.Time
	End   time.Time
	// Outcome is success, failure, interrupted, denied, expired, or "" when not applicable.
	Outcome string
	// ErrorType is set when the span failed (error.type): the tool error class,
	// "interrupted", "denied", a StopFailure error, "expired".
	ErrorType string
	// Attrs are the span attributes in a stable order; values are string, int64,
	// float64 or bool. Content-bearing values are already capped and redacted.
	Attrs []Attr
	// Events are points in time within the span (a model switch on the
	// session root), in time order.
	Events []Event
}

// Event is a point in time within a span: a name, when, and attributes.
type Event struct {
	Name  string
	Time  time.Time
	Attrs []Attr
}

// Attr is one span attribute.
type Attr struct {
	Key   string
	Value any
}

// AttrPrompt is the attribute that carries a captured prompt (only when the
// tracker captures content); a sink that keeps spans without content drops it.
const AttrPrompt = "claude_code.prompt"
