package hookevent

import "time"

// Outcome is how a tool call, turn or subagent ended, as far as one event tells.
type Outcome string

// Outcomes. The empty Outcome means the event does not end anything.
const (
	OutcomeNone        Outcome = ""
	OutcomeSuccess     Outcome = "success"
	OutcomeFailure     Outcome = "failure"
	OutcomeInterrupted Outcome = "interrupted"
	OutcomeDenied      Outcome = "denied"
)

// Event is one normalised hook event. Every payload shape decodes into it; fields a
// payload does not carry stay zero. Byte-slice fields alias Raw (they are sub-slices
// of it, never copies), so an Event must not outlive a mutation of Raw.
type Event struct {
	// ID is the stable id of the spool record the event came from. Replays of the
	// same record carry the same ID, so sinks outside the process can de-duplicate.
	ID string `json:"id"`
	// Received is the capture time stamped by the hook, HTTP ingest or import (UTC).
	Received time.Time `json:"received"`

	Name      string `json:"event"`                // hook_event_name, kept verbatim even when unknown
	SessionID string `json:"session_id"`           // session_id
	PromptID  string `json:"prompt_id,omitempty"`  // prompt_id (v2.1.196+)
	AgentID   string `json:"agent_id,omitempty"`   // agent_id: set inside subagents and on SubagentStart/Stop
	AgentType string `json:"agent_type,omitempty"` // agent_type

	ToolName  string `json:"tool_name,omitempty"`   // tool_name
	ToolUseID string `json:"tool_use_id,omitempty"` // tool_use_id (v2.0.43+; never on PermissionRequest)
	MCPServer string `json:"mcp_server,omitempty"`  // server part of mcp__<server>__<tool>, or mcp_server_name
	MCPTool   string `json:"mcp_tool,omitempty"`    // tool part of mcp__<server>__<tool>

	// Outcome is set on events that end a tool call (PostToolUse: success,
	// PostToolUseFailure: failure or interrupted, PermissionDenied: denied) and on
	// StopFailure (failure).
	Outcome Outcome `json:"outcome,omitempty"`
	// DurationMS is the payload's duration_ms; HasDuration tells whether it was present.
	DurationMS  float64 `json:"duration_ms,omitempty"`
	HasDuration bool    `json:"has_duration,omitempty"`
	// Error is PostToolUseFailure's or StopFailure's error, or PermissionDenied's reason.
	// An error that is not a JSON string is kept as its compact JSON text.
	Error            string `json:"error,omitempty"`
	NotificationType string `json:"notification_type,omitempty"`
	Message          string `json:"message,omitempty"` // Notification/Elicitation message, title not included
	Model            string `json:"model,omitempty"`   // SessionStart model
	Source           string `json:"source,omitempty"`  // SessionStart/ConfigChange/DirectoryAdded/Interrupt/model switch source
	Reason           string `json:"reason,omitempty"`  // SessionEnd or Interrupt reason (PermissionDenied's goes to Error)
	// Via is Interrupt's via (terminal, client).
	Via string `json:"via,omitempty"`
	// FromModel and ToModel are PreModelSwitch's and PostModelSwitch's models.
	FromModel string `json:"from_model,omitempty"`
	ToModel   string `json:"to_model,omitempty"`
	// CommandName is the slash command or skill of UserPromptExpansion and
	// PreSkillShellCommand (command_name).
	CommandName    string `json:"command_name,omitempty"`
	Trigger        string `json:"trigger,omitempty"` // Setup/PreCompact/PostCompact trigger
	CWD            string `json:"cwd,omitempty"`
	PermissionMode string `json:"permission_mode,omitempty"`
	TranscriptPath string `json:"transcript_path,omitempty"`
	// AgentTranscriptPath is SubagentStop's agent_transcript_path.
	AgentTranscriptPath string `json:"agent_transcript_path,omitempty"`

	// Searchable, content-bearing fields. They never become metric labels.
	Prompt   string `json:"prompt,omitempty"`    // UserPromptSubmit/UserPromptExpansion prompt
	Command  string `json:"command,omitempty"`   // Bash (or PowerShell) tool_input.command
	FilePath string `json:"file_path,omitempty"` // tool_input.file_path / path / notebook_path, or the event's file_path

	// ToolInput and ToolResponse alias the raw payload's tool_input and tool_response values.
	ToolInput    []byte `json:"-"`
	ToolResponse []byte `json:"-"`
	// Raw is the payload given to Decode (compact JSON when it comes from the spool).
	Raw []byte `json:"-"`
}
