package session

import (
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/histo"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
)

// stateVersion changes whenever the meaning of the serialised state changes;
// UnmarshalState refuses any other version.
const stateVersion = 1

// state is everything the tracker knows, serialised whole by MarshalState.
type state struct {
	Version int `json:"v"`
	// Sessions are the open sessions by session id.
	Sessions map[string]*sessionState `json:"sessions"`
	// Ended remembers recently ended or expired sessions, so a late event is
	// recognised and a resumed session gets a new generation.
	Ended map[string]*tombstone `json:"ended"`
	// Watermark is the latest receive time applied; NextPrune is when (in event
	// time) ended sessions are next pruned. Both keep pruning a function of the log.
	Watermark time.Time `json:"watermark"`
	NextPrune time.Time `json:"next_prune"`
	// Tools and AgentTypes are the capped, data-derived label values admitted so
	// far, in admission order (first come, first served; stable across restarts).
	Tools      []string `json:"tools"`
	AgentTypes []string `json:"agent_types"`
	// Models are the admitted model label values, the same way.
	Models  []string `json:"models,omitempty"`
	Metrics Metrics  `json:"metrics"`
}

// Metrics are the tracker's counters and histograms, by label value. They are
// part of the serialised state; the metrics collector reads them through Read.
type Metrics struct {
	Events             map[string]uint64           `json:"events"`              // claude_hooks_events_total{event}
	SessionsStarted    map[string]uint64           `json:"sessions_started"`    // claude_hooks_sessions_started_total{source}
	SessionsEnded      map[string]uint64           `json:"sessions_ended"`      // claude_hooks_sessions_ended_total{reason}
	Turns              map[string]uint64           `json:"turns"`               // claude_hooks_turns_total{outcome}
	TurnDuration       *histo.Histogram            `json:"turn_duration"`       // claude_hooks_turn_duration_seconds
	ToolCalls          map[string]*ToolCounts      `json:"tool_calls"`          // claude_hooks_tool_calls_total{tool,outcome}
	ToolDuration       map[string]*histo.Histogram `json:"tool_duration"`       // claude_hooks_tool_duration_seconds{tool}
	PermissionRequests map[string]uint64           `json:"permission_requests"` // claude_hooks_permission_requests_total{tool}
	PermissionWait     map[string]*histo.Histogram `json:"permission_wait"`     // claude_hooks_permission_wait_seconds{tool}
	Subagents          map[string]uint64           `json:"subagents"`           // claude_hooks_subagents_total{agent_type}
	SubagentDuration   map[string]*histo.Histogram `json:"subagent_duration"`   // claude_hooks_subagent_duration_seconds{agent_type}
	Compactions        map[string]uint64           `json:"compactions"`         // claude_hooks_compactions_total{trigger}
	Notifications      map[string]uint64           `json:"notifications"`       // claude_hooks_notifications_total{notification_type}
	StopFailures       map[string]uint64           `json:"stop_failures"`       // claude_hooks_stop_failures_total{error}
	LateEvents         uint64                      `json:"late_events"`         // claude_hooks_late_events_total
	Overflow           map[string]uint64           `json:"overflow"`            // claude_hooks_tracker_overflow_total{kind}
	// Token usage from the transcripts (ApplyUsage), by model label.
	Tokens         map[string]*TokenCounts `json:"tokens,omitempty"`          // claude_hooks_tokens_total{model,type}
	Cost           map[string]*Counter     `json:"cost,omitempty"`            // claude_hooks_cost_usd_total{model}
	UnpricedTokens map[string]*Counter     `json:"unpriced_tokens,omitempty"` // claude_hooks_cost_unknown_model_tokens_total{model}
	// Interrupts count Interrupt events by source and reason;
	// ModelSwitches count PostModelSwitch events by from and to model label.
	Interrupts    map[string]map[string]uint64 `json:"interrupts,omitempty"`     // claude_hooks_interrupts_total{source,reason}
	ModelSwitches map[string]map[string]uint64 `json:"model_switches,omitempty"` // claude_hooks_model_switches_total{from_model,to_model}
	// SkillShellCommands counts PreSkillShellCommand events; SystemTurns the
	// turns Claude Code started itself, by source.
	SkillShellCommands uint64            `json:"skill_shell_commands,omitempty"` // claude_hooks_skill_shell_commands_total
	SystemTurns        map[string]uint64 `json:"system_turns,omitempty"`         // claude_hooks_system_turns_total{source}
	// EstimatedTokens are tokens of models priced by their family's newest listed
	// model (pricing.Family), by model label.
	EstimatedTokens map[string]*Counter `json:"estimated_tokens,omitempty"` // claude_hooks_cost_estimated_tokens_total{model}
}

// ToolCounts are the ended tool calls of one tool label, by outcome.
type ToolCounts struct {
	Success     uint64 `json:"success"`
	Failure     uint64 `json:"failure"`
	Interrupted uint64 `json:"interrupted"`
	Denied      uint64 `json:"denied"`
}

// DurationBuckets are the classic buckets of every tracker histogram, in seconds.
var DurationBuckets = histo.AgentBuckets

func newMetrics() Metrics {
	return Metrics{
		Events:             map[string]uint64{},
		SessionsStarted:    map[string]uint64{},
		SessionsEnded:      map[string]uint64{},
		Turns:              map[string]uint64{},
		TurnDuration:       histo.New(DurationBuckets),
		ToolCalls:          map[string]*ToolCounts{},
		ToolDuration:       map[string]*histo.Histogram{},
		PermissionRequests: map[string]uint64{},
		PermissionWait:     map[string]*histo.Histogram{},
		Subagents:          map[string]uint64{},
		SubagentDuration:   map[string]*histo.Histogram{},
		Compactions:        map[string]uint64{},
		Notifications:      map[string]uint64{},
		StopFailures:       map[string]uint64{},
		Overflow:           map[string]uint64{},
		Tokens:             map[string]*TokenCounts{},
		Cost:               map[string]*Counter{},
		UnpricedTokens:     map[string]*Counter{},
		EstimatedTokens:    map[string]*Counter{},
		Interrupts:         map[string]map[string]uint64{},
		ModelSwitches:      map[string]map[string]uint64{},
		SystemTurns:        map[string]uint64{},
	}
}

// fill replaces nil maps and histograms, e.g. after decoding an older or
// partial state.
func (m *Metrics) fill() {
	n := newMetrics()
	fillMap(&m.Events, n.Events)
	fillMap(&m.SessionsStarted, n.SessionsStarted)
	fillMap(&m.SessionsEnded, n.SessionsEnded)
	fillMap(&m.Turns, n.Turns)
	fillMap(&m.ToolCalls, n.ToolCalls)
	fillMap(&m.ToolDuration, n.ToolDuration)
	fillMap(&m.PermissionRequests, n.PermissionRequests)
	fillMap(&m.PermissionWait, n.PermissionWait)
	fillMap(&m.Subagents, n.Subagents)
	fillMap(&m.SubagentDuration, n.SubagentDuration)
	fillMap(&m.Compactions, n.Compactions)
	fillMap(&m.Notifications, n.Notifications)
	fillMap(&m.StopFailures, n.StopFailures)
	fillMap(&m.Overflow, n.Overflow)
	fillMap(&m.Tokens, n.Tokens)
	fillMap(&m.Cost, n.Cost)
	fillMap(&m.UnpricedTokens, n.UnpricedTokens)
	fillMap(&m.EstimatedTokens, n.EstimatedTokens)
	fillMap(&m.Interrupts, n.Interrupts)
	fillMap(&m.ModelSwitches, n.ModelSwitches)
	fillMap(&m.SystemTurns, n.SystemTurns)
	if m.TurnDuration == nil {
		m.TurnDuration = n.TurnDuration
	}
}

func fillMap[M ~map[K]V, K comparable, V any](p *M, empty M) {
	if *p == nil {
		*p = empty
	}
}

// observe adds v seconds to the histogram of label in hs, creating it.
func observe(hs map[string]*histo.Histogram, label string, v float64) {
	h := hs[label]
	if h == nil {
		h = histo.New(DurationBuckets)
		hs[label] = h
	}
	h.Observe(v)
}

// sessionState is one open session (one generation of a session id).
type sessionState struct {
	ID string `json:"id"`
	// Gen counts the openings of this session id: 1 for the first, more after a
	// resume or activity after expiry. It makes the root key unique.
	Gen      int       `json:"gen"`
	Start    time.Time `json:"start"`
	LastSeen time.Time `json:"last_seen"`

	Source         string `json:"source,omitempty"`
	Model          string `json:"model,omitempty"`
	CWD            string `json:"cwd,omitempty"`
	PermissionMode string `json:"permission_mode,omitempty"`

	// Ordinals for keys of things without payload ids; they continue across
	// generations so keys never repeat within a session id.
	Seq ordinals `json:"seq"`
	// Turns and ToolCalls count this generation's turns and ended tool calls.
	Turns     int `json:"turns,omitempty"`
	ToolCalls int `json:"tool_calls,omitempty"`
	// ModelSwitches counts this generation's PostModelSwitch events; Switches
	// keeps the first maxSwitchEvents of them for the root span's events.
	ModelSwitches int           `json:"model_switches,omitempty"`
	Switches      []switchState `json:"switches,omitempty"`
	// Counts are what the summary counts for this generation, incremented
	// where the metrics are; Carried is what earlier generations left.
	Counts  timeline.Counts `json:"counts,omitzero"`
	Carried *carried        `json:"carried,omitempty"`

	Turn  *turnState    `json:"turn,omitempty"`
	Calls []*callState  `json:"calls,omitempty"`
	Waits []*waitState  `json:"waits,omitempty"`
	Agent []*agentState `json:"agents,omitempty"`
	// Compact is the compaction in progress, if any.
	Compact *compactState `json:"compact,omitempty"`
	// LateNotices counts waits opened by PermissionRequest that ended before
	// their permission_prompt notification arrived; that many notifications
	// open no new wait.
	LateNotices int `json:"late_notices,omitempty"`
	// ElicitSince is when an MCP elicitation started waiting for the user (zero: none).
	ElicitSince time.Time `json:"elicit_since,omitzero"`

	// RecentPrompts are the prompt ids of the last closed turns, RecentAgents the
	// ids of the last stopped subagents: their stragglers reopen nothing.
	RecentPrompts []string `json:"recent_prompts,omitempty"`
	RecentAgents  []string `json:"recent_agents,omitempty"`
	// RecentCalls are the tool_use_ids of the last ended tool calls: a
	// PostToolBatch entry for one of them ends nothing.
	RecentCalls []string `json:"recent_calls,omitempty"`

	// Usage is the token usage of the whole session (subagents included), from
	// the transcripts; PendingTurns and PendingAgents hold usage for prompts
	// and subagents whose spans have not opened yet, by prompt and agent id.
	Usage         *usageState            `json:"usage,omitempty"`
	PendingTurns  map[string]*usageState `json:"pending_turns,omitempty"`
	PendingAgents map[string]*usageState `json:"pending_agents,omitempty"`
}

// ordinals number spans that have no payload id.
type ordinals struct {
	Turn    int `json:"turn,omitempty"`
	Call    int `json:"call,omitempty"`
	Wait    int `json:"wait,omitempty"`
	Compact int `json:"compact,omitempty"`
	// Agent numbers subagents known without an agent id.
	Agent int `json:"agent,omitempty"`
}

type turnState struct {
	Key      string    `json:"key"`
	PromptID string    `json:"prompt_id,omitempty"`
	Start    time.Time `json:"start"`
	LastSeen time.Time `json:"last_seen"`
	// PromptSize is the prompt's size in bytes, -1 when no UserPromptSubmit was seen.
	PromptSize int    `json:"prompt_size"`
	Prompt     string `json:"prompt,omitempty"` // captured content only
	// Usage is the turn's token usage, its subagents' included.
	Usage *usageState `json:"usage,omitempty"`
	// Source is "task_notification" for a turn Claude Code started itself to
	// hand back a background agent's result, "" for a user's prompt.
	Source string `json:"source,omitempty"`
	// Interrupt is the reason of the Interrupt event that ended the turn.
	Interrupt string `json:"interrupt,omitempty"`
}

type callState struct {
	Key       string    `json:"key"`
	ID        string    `json:"id,omitempty"` // tool_use_id
	Tool      string    `json:"tool"`
	AgentID   string    `json:"agent_id,omitempty"`
	PromptID  string    `json:"prompt_id,omitempty"`
	Parent    string    `json:"parent"`
	Start     time.Time `json:"start"`
	MCPServer string    `json:"mcp_server,omitempty"`
	FilePath  string    `json:"file_path,omitempty"`
	CmdName   string    `json:"cmd_name,omitempty"`
	CmdSize   int       `json:"cmd_size,omitempty"`
	InputSize int       `json:"input_size,omitempty"`
	Command   string    `json:"command,omitempty"` // captured content only
	Input     string    `json:"input,omitempty"`   // captured content only
}

type waitState struct {
	Key      string    `json:"key"`
	Tool     string    `json:"tool,omitempty"` // "" when only a notification announced it
	AgentID  string    `json:"agent_id,omitempty"`
	PromptID string    `json:"prompt_id,omitempty"`
	Parent   string    `json:"parent"`
	Start    time.Time `json:"start"`
	// Request and Notified tell which events announced the wait: PermissionRequest,
	// Notification permission_prompt, or both (the same wait, announced twice).
	Request  bool `json:"request,omitempty"`
	Notified bool `json:"notified,omitempty"`
	// Counted is set once the wait was counted in permission_requests_total.
	Counted bool `json:"counted,omitempty"`
}

type agentState struct {
	ID string `json:"id"`
	// Key is set only for a subagent without an id (it is never open).
	Key      string      `json:"key,omitempty"`
	Type     string      `json:"type,omitempty"`
	PromptID string      `json:"prompt_id,omitempty"`
	Parent   string      `json:"parent"`
	Start    time.Time   `json:"start"`
	Usage    *usageState `json:"usage,omitempty"`
}

type compactState struct {
	Key      string    `json:"key"`
	Trigger  string    `json:"trigger,omitempty"`
	PromptID string    `json:"prompt_id,omitempty"`
	Parent   string    `json:"parent"`
	Start    time.Time `json:"start"`
}

// switchState is one model switch, for the root span's events.
type switchState struct {
	At     time.Time `json:"at"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Source string    `json:"source,omitempty"`
}

// tombstone remembers an ended session id.
type tombstone struct {
	Gen    int       `json:"gen"`
	Closed time.Time `json:"closed"`
	// Expired is true when the session was closed for idleness or eviction, false
	// after an explicit SessionEnd.
	Expired bool     `json:"expired,omitempty"`
	Seq     ordinals `json:"seq"`
	// Carried is the session's summary so far, continued by a next generation.
	Carried *carried `json:"carried,omitempty"`
}
