package wire

import (
	"encoding/json"
	"time"
)

// Event is one stored hook event as the API and the stream serve it.
type Event struct {
	// Seq is the event's position in the store, monotonic in ingest order; the
	// stream's SSE id and the resume point for Last-Event-ID.
	Seq int64 `json:"seq"`
	// ID is the spool record id (stable across replays).
	ID         string    `json:"id"`
	Time       time.Time `json:"time"` // receive time, UTC
	SessionID  string    `json:"session_id"`
	Event      string    `json:"event"`
	PromptID   string    `json:"prompt_id,omitempty"`
	AgentID    string    `json:"agent_id,omitempty"`
	AgentType  string    `json:"agent_type,omitempty"`
	Tool       string    `json:"tool,omitempty"`
	ToolUseID  string    `json:"tool_use_id,omitempty"`
	MCPServer  string    `json:"mcp_server,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	DurationMS *float64  `json:"duration_ms,omitempty"`
	Error      string    `json:"error,omitempty"`
	// Summary is a one-line description for tables: the Bash command, the file
	// path, the notification message, the prompt only when content capture is on.
	Summary          string `json:"summary,omitempty"`
	NotificationType string `json:"notification_type,omitempty"`
	CWD              string `json:"cwd,omitempty"`
	Model            string `json:"model,omitempty"`
	// Payload is the hook payload as JSON. When it was longer than the store's
	// cap (Truncated is set), or when masking secrets broke its JSON structure,
	// Payload is a JSON string holding the text instead.
	Payload   json.RawMessage `json:"payload,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

// Session is one session's summary.
type Session struct {
	SessionID    string     `json:"session_id"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end,omitempty"`
	LastActivity time.Time  `json:"last_activity"`
	// Status is active, ended or expired.
	Status    string `json:"status"`
	EndReason string `json:"end_reason,omitempty"`
	Source    string `json:"source,omitempty"`
	Model     string `json:"model,omitempty"`
	CWD       string `json:"cwd,omitempty"`
	// Turns counts the turns started (closed ones and the one in progress);
	// TurnsByOutcome the closed ones by outcome. ToolCalls and
	// ToolCallsByOutcome count tool calls the same way. Failures are the
	// failed turns and tool calls. The session tracker decides all of these
	// (the same figures as the metrics and the trace).
	Turns              int64         `json:"turns"`
	TurnsByOutcome     OutcomeCounts `json:"turns_by_outcome"`
	ToolCalls          int64         `json:"tool_calls"`
	ToolCallsByOutcome OutcomeCounts `json:"tool_calls_by_outcome"`
	Failures           int64         `json:"failures"`
	Subagents          int64         `json:"subagents"`
	Compactions        int64         `json:"compactions"`
	PermissionWaits    int64         `json:"permission_waits"`
	// Events counts the session's stored events.
	Events int64 `json:"events"`
	// Token usage and cost from the session's transcripts, everything the
	// session used so far as the tracker attributed it (once it closed, the
	// figures of its root span, summed over its generations). The four token types are
	// disjoint, as the type label of claude_hooks_tokens_total:
	// InputTokens are the uncached input tokens only, so the four add up to
	// everything the models processed. Subagents' usage is included.
	InputTokens         int64 `json:"input_tokens"`
	OutputTokens        int64 `json:"output_tokens"`
	CacheReadTokens     int64 `json:"cache_read_tokens"`
	CacheCreationTokens int64 `json:"cache_creation_tokens"`
	// CostUSD is the cost of those tokens in US dollars at the exporter's
	// price table (0 for models the table does not know), rounded to 1e-6.
	CostUSD float64 `json:"cost_usd"`
	// Models are the models that produced those tokens, sorted.
	Models []string `json:"models,omitempty"`
	// TraceID is the OpenTelemetry trace id of the session (hex), derived from its id.
	TraceID string `json:"trace_id"`
}

// OutcomeCounts counts closed turns or tool calls by outcome.
type OutcomeCounts struct {
	Success     int64 `json:"success,omitempty"`
	Failure     int64 `json:"failure,omitempty"`
	Interrupted int64 `json:"interrupted,omitempty"`
	Denied      int64 `json:"denied,omitempty"`
	Expired     int64 `json:"expired,omitempty"`
}

// Span is one node of a session's timeline tree (turn, tool call, subagent,
// permission wait, compaction, or the session root).
type Span struct {
	SpanID    string         `json:"span_id"`   // hex, the same id the OTLP export uses
	ParentID  string         `json:"parent_id"` // "" for the root
	Key       string         `json:"key"`
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Start     time.Time      `json:"start"`
	End       time.Time      `json:"end"`
	Outcome   string         `json:"outcome,omitempty"`
	ErrorType string         `json:"error_type,omitempty"`
	Attrs     map[string]any `json:"attrs,omitempty"`
}

// EventsPage is the answer of GET /api/v1/events.
type EventsPage struct {
	Events []Event `json:"events"`
	// NextCursor, when not empty, fetches the next page (pass it as cursor).
	NextCursor string `json:"next_cursor,omitempty"`
}

// SessionsPage is the answer of GET /api/v1/sessions.
type SessionsPage struct {
	Sessions   []Session `json:"sessions"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// SessionDetail is the answer of GET /api/v1/sessions/{id}.
type SessionDetail struct {
	Session Session `json:"session"`
	// Spans are the session's closed spans in start order, as a tree by ParentID.
	Spans []Span `json:"spans"`
}

// Status is the answer of GET /api/v1/status.
type Status struct {
	Service           string  `json:"service"` // always "claude-hooks-exporter"
	Version           string  `json:"version"`
	UptimeSeconds     float64 `json:"uptime_seconds"`
	EventsApplied     uint64  `json:"events_applied"`
	IngestLagSeconds  float64 `json:"ingest_lag_seconds"` // lag of the most recent event
	SpoolBacklogBytes int64   `json:"spool_backlog_bytes"`
	StoreBytes        int64   `json:"store_bytes"`
	StoreEvents       int64   `json:"store_events"`
	StreamSubscribers int     `json:"stream_subscribers"`
	LastSeq           int64   `json:"last_seq"`
}

// ServiceName is Status.Service; clients use it to recognise the exporter.
const ServiceName = "claude-hooks-exporter"

// Error is the body of every 4xx/5xx answer.
type Error struct {
	Error string `json:"error"`
}
