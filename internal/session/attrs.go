package session

import (
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
)

// Attribute keys. GenAI keys follow the OpenTelemetry GenAI semantic
// conventions; claude_code.* keys are ours; session.id and prompt.id are the
// names Claude Code's own telemetry uses, so spans join with it.
const (
	AttrSessionID      = "session.id"
	AttrPromptID       = "prompt.id"
	AttrConversationID = "gen_ai.conversation.id"
	AttrOperationName  = "gen_ai.operation.name"
	AttrProviderName   = "gen_ai.provider.name"
	AttrAgentName      = "gen_ai.agent.name"
	AttrAgentID        = "gen_ai.agent.id"
	AttrRequestModel   = "gen_ai.request.model"
	AttrResponseModel  = "gen_ai.response.model"
	// Token usage from the transcripts. input_tokens includes the cached
	// input tokens; cache_read and cache_creation are parts of it.
	AttrUsageInput         = "gen_ai.usage.input_tokens"
	AttrUsageOutput        = "gen_ai.usage.output_tokens"
	AttrUsageCacheRead     = "gen_ai.usage.cache_read.input_tokens"
	AttrUsageCacheCreation = "gen_ai.usage.cache_creation.input_tokens"
	AttrCostUSD            = "claude_code.cost.usd" // float, from the price table
	AttrModels             = "claude_code.models"   // every model the span used, sorted, comma-separated
	AttrToolName           = "gen_ai.tool.name"
	AttrToolCallID         = "gen_ai.tool.call.id"
	AttrToolType           = "gen_ai.tool.type"
	AttrToolArguments      = "gen_ai.tool.call.arguments" // captured content only
	AttrToolResult         = "gen_ai.tool.call.result"    // captured content only
	AttrFilePath           = "file.path"
	AttrMCPServer          = "claude_code.mcp.server"
	AttrCommandName        = "claude_code.command.name" // a Bash command's program, e.g. "npm"
	AttrCommandSize        = "claude_code.command.size"
	AttrCommand            = "claude_code.command" // captured content only
	AttrToolInputSize      = "claude_code.tool.input.size"
	AttrToolOutputSize     = "claude_code.tool.output.size"
	AttrToolErrorSize      = "claude_code.tool.error.size"
	AttrToolError          = "claude_code.tool.error" // captured content only
	AttrPromptSize         = "claude_code.prompt.size"
	AttrPrompt             = timeline.AttrPrompt // captured content only
	AttrSessionSource      = "claude_code.session.source"
	AttrSessionEnd         = "claude_code.session.end_reason"
	AttrSessionGen         = "claude_code.session.generation"
	AttrCWD                = "claude_code.cwd"
	AttrPermissionMode     = "claude_code.permission_mode"
	AttrTurns              = "claude_code.turns"
	AttrToolCalls          = "claude_code.tool_calls"
	AttrPermissionSource   = "claude_code.permission.source"
	AttrCompactTrigger     = "claude_code.compaction.trigger"
	// Claude Code 2.1.337's new shapes.
	AttrTurnSource       = "claude_code.turn.source"        // task_notification for a turn Claude Code started itself
	AttrInterruptReason  = "claude_code.interrupt.reason"   // Interrupt's reason on the turn it ended
	AttrInterruptSource  = "claude_code.interrupt.source"   // Interrupt's source on the turn it ended
	AttrModelSwitches    = "claude_code.model_switches"     // root: how many times the model was switched
	AttrSkillCommandName = "claude_code.skill.command_name" // the slash command or skill of a skill_shell span
	// The model-switch span event on the session root and its attributes.
	EventModelSwitch = "claude_code.model_switch"
	AttrSwitchFrom   = "claude_code.model_switch.from_model"
	AttrSwitchTo     = "claude_code.model_switch.to_model"
	AttrSwitchSource = "claude_code.model_switch.source"
)

// Fixed attribute values.
const (
	providerAnthropic = "anthropic"
	agentClaudeCode   = "claude-code"
	opInvokeAgent     = "invoke_agent"
	opExecuteTool     = "execute_tool"
)

// emit appends a closed span; an end before the start (receive times of
// different writers can step back) becomes a zero-length span.
func (t *Tracker) emit(s *sessionState, kind Kind, key, parent, name string, start, end time.Time, outcome, errType string, attrs []Attr) {
	if end.Before(start) {
		end = start
	}
	t.out = append(t.out, Span{
		Kind: kind, SessionID: s.ID, Key: key, ParentKey: parent, Name: name,
		Start: start, End: end, Outcome: outcome, ErrorType: errType, Attrs: attrs,
	})
}

// common appends the attributes every span but the root carries.
func common(attrs []Attr, s *sessionState, promptID string) []Attr {
	attrs = append(attrs, Attr{Key: AttrSessionID, Value: s.ID}, Attr{Key: AttrConversationID, Value: s.ID})
	if promptID != "" {
		attrs = append(attrs, Attr{Key: AttrPromptID, Value: promptID})
	}
	return attrs
}

func (t *Tracker) sessionAttrs(s *sessionState, reason string) []Attr {
	attrs := make([]Attr, 0, 13)
	attrs = append(attrs,
		Attr{Key: AttrOperationName, Value: opInvokeAgent},
		Attr{Key: AttrProviderName, Value: providerAnthropic},
		Attr{Key: AttrAgentName, Value: agentClaudeCode},
		Attr{Key: AttrConversationID, Value: s.ID},
		Attr{Key: AttrSessionID, Value: s.ID},
	)
	if s.Model != "" {
		attrs = append(attrs, Attr{Key: AttrRequestModel, Value: s.Model})
	}
	attrs = append(attrs, Attr{Key: AttrSessionSource, Value: s.Source}, Attr{Key: AttrSessionEnd, Value: reason})
	if s.Gen > 1 {
		attrs = append(attrs, Attr{Key: AttrSessionGen, Value: int64(s.Gen)})
	}
	if s.ModelSwitches > 0 {
		attrs = append(attrs, Attr{Key: AttrModelSwitches, Value: int64(s.ModelSwitches)})
	}
	if s.CWD != "" {
		attrs = append(attrs, Attr{Key: AttrCWD, Value: s.CWD})
	}
	if s.PermissionMode != "" {
		attrs = append(attrs, Attr{Key: AttrPermissionMode, Value: s.PermissionMode})
	}
	attrs = append(attrs, Attr{Key: AttrTurns, Value: int64(s.Turns)}, Attr{Key: AttrToolCalls, Value: int64(s.ToolCalls)})
	return usageAttrs(attrs, s.Usage, s.Model)
}

func (t *Tracker) turnAttrs(s *sessionState, tu *turnState) []Attr {
	attrs := common(make([]Attr, 0, 5), s, tu.PromptID)
	if tu.PromptSize >= 0 {
		attrs = append(attrs, Attr{Key: AttrPromptSize, Value: int64(tu.PromptSize)})
	}
	if tu.Prompt != "" {
		attrs = append(attrs, Attr{Key: AttrPrompt, Value: tu.Prompt})
	}
	if tu.Source != "" {
		attrs = append(attrs, Attr{Key: AttrTurnSource, Value: tu.Source})
	}
	if tu.Interrupt != "" {
		attrs = append(attrs, Attr{Key: AttrInterruptReason, Value: tu.Interrupt})
	}
	return usageAttrs(attrs, tu.Usage, "")
}

// emitCall emits a tool call span; ev is the event that ended it, nil when the
// call was closed for it (session end, expiry, eviction).
func (t *Tracker) emitCall(s *sessionState, c *callState, ev *hookevent.Event, start, end time.Time, outcome, errType string) {
	tool := c.Tool
	if ev != nil && ev.ToolName != "" {
		tool = ev.ToolName
	}
	name := opExecuteTool
	if tool != "" {
		name += " " + tool
	}
	toolType := "function"
	if isMCP(tool) {
		toolType = "extension"
	}
	attrs := make([]Attr, 0, 16)
	attrs = append(attrs, Attr{Key: AttrOperationName, Value: opExecuteTool}, Attr{Key: AttrToolName, Value: tool}, Attr{Key: AttrToolType, Value: toolType})
	if c.ID != "" {
		attrs = append(attrs, Attr{Key: AttrToolCallID, Value: c.ID})
	}
	attrs = common(attrs, s, c.PromptID)
	if c.AgentID != "" {
		attrs = append(attrs, Attr{Key: AttrAgentID, Value: c.AgentID})
	}
	if c.MCPServer != "" {
		attrs = append(attrs, Attr{Key: AttrMCPServer, Value: c.MCPServer})
	}
	if c.FilePath != "" {
		attrs = append(attrs, Attr{Key: AttrFilePath, Value: c.FilePath})
	}
	if c.CmdName != "" {
		attrs = append(attrs, Attr{Key: AttrCommandName, Value: c.CmdName}, Attr{Key: AttrCommandSize, Value: int64(c.CmdSize)})
	}
	if c.InputSize > 0 {
		attrs = append(attrs, Attr{Key: AttrToolInputSize, Value: int64(c.InputSize)})
	}
	if ev != nil && len(ev.ToolResponse) > 0 {
		attrs = append(attrs, Attr{Key: AttrToolOutputSize, Value: int64(len(ev.ToolResponse))})
	}
	if ev != nil && ev.Error != "" {
		attrs = append(attrs, Attr{Key: AttrToolErrorSize, Value: int64(len(ev.Error))})
	}
	if t.opts.CaptureContent {
		if c.Command != "" {
			attrs = append(attrs, Attr{Key: AttrCommand, Value: c.Command})
		}
		if c.Input != "" {
			attrs = append(attrs, Attr{Key: AttrToolArguments, Value: c.Input})
		}
		if ev != nil && len(ev.ToolResponse) > 0 {
			attrs = append(attrs, Attr{Key: AttrToolResult, Value: t.capture(string(ev.ToolResponse))})
		}
		if ev != nil && ev.Error != "" {
			attrs = append(attrs, Attr{Key: AttrToolError, Value: t.capture(ev.Error)})
		}
	}
	t.emit(s, KindTool, c.Key, c.Parent, name, start, end, outcome, errType, attrs)
}

func (t *Tracker) emitWait(s *sessionState, w *waitState, tool string, end time.Time, outcome, errType string) {
	name := "permission_wait"
	if tool != "" {
		name += " " + tool
	}
	source := "notification"
	switch {
	case w.Request && w.Notified:
		source = "request+notification"
	case w.Request:
		source = "request"
	}
	attrs := make([]Attr, 0, 7)
	if tool != "" {
		attrs = append(attrs, Attr{Key: AttrToolName, Value: tool})
	}
	attrs = common(attrs, s, w.PromptID)
	if w.AgentID != "" {
		attrs = append(attrs, Attr{Key: AttrAgentID, Value: w.AgentID})
	}
	attrs = append(attrs, Attr{Key: AttrPermissionSource, Value: source})
	t.emit(s, KindPermission, w.Key, w.Parent, name, w.Start, end, outcome, errType, attrs)
}

func (t *Tracker) emitAgent(s *sessionState, a *agentState, end time.Time, outcome, errType string) {
	name := opInvokeAgent
	if a.Type != "" {
		name += " " + a.Type
	}
	attrs := make([]Attr, 0, 8)
	attrs = append(attrs, Attr{Key: AttrOperationName, Value: opInvokeAgent}, Attr{Key: AttrProviderName, Value: providerAnthropic})
	if a.Type != "" {
		attrs = append(attrs, Attr{Key: AttrAgentName, Value: a.Type})
	}
	if a.ID != "" {
		attrs = append(attrs, Attr{Key: AttrAgentID, Value: a.ID})
	}
	attrs = common(attrs, s, a.PromptID)
	attrs = usageAttrs(attrs, a.Usage, "")
	key := a.Key
	if key == "" {
		key = s.key("agent:" + a.ID)
	}
	t.emit(s, KindSubagent, key, a.Parent, name, a.Start, end, outcome, errType, attrs)
}

func (t *Tracker) emitCompaction(s *sessionState, c *compactState, end time.Time, outcome, errType string) {
	name := "compaction"
	if c.Trigger != "" {
		name += " " + c.Trigger
	}
	attrs := make([]Attr, 0, 4)
	if c.Trigger != "" {
		attrs = append(attrs, Attr{Key: AttrCompactTrigger, Value: c.Trigger})
	}
	attrs = common(attrs, s, c.PromptID)
	t.emit(s, KindCompaction, c.Key, c.Parent, name, c.Start, end, outcome, errType, attrs)
}
