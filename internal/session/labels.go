package session

import (
	"strings"
	"unicode/utf8"

	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
)

// Label values the tracker uses beside the ones taken from events.
const (
	// LabelOther is where label values beyond a cap or outside a closed set go.
	LabelOther = "other"
	// LabelUnknown stands for a value the payload did not carry.
	LabelUnknown = "unknown"
	// SourceImplicit is the start source of a session the tracker opened without
	// seeing its SessionStart (daemon started mid-session, or activity after expiry).
	SourceImplicit = "implicit"
	// ReasonExpired is the end reason of a session closed for being idle or evicted.
	ReasonExpired = "expired"
)

// Outcomes of spans and of the outcome labels.
const (
	OutcomeSuccess     = timeline.OutcomeSuccess
	OutcomeFailure     = timeline.OutcomeFailure
	OutcomeInterrupted = timeline.OutcomeInterrupted
	OutcomeDenied      = timeline.OutcomeDenied
	OutcomeExpired     = timeline.OutcomeExpired
)

// Overflow kinds: the kind label of claude_hooks_tracker_overflow_total.
const (
	OverflowSessions        = "sessions"          // open sessions beyond MaxSessions (least recently active expired)
	OverflowOpenCalls       = "open_calls"        // open tool calls beyond MaxOpenCalls in a session (oldest evicted)
	OverflowOpenWaits       = "open_waits"        // open permission waits beyond MaxOpenCalls (oldest evicted)
	OverflowOpenSubagents   = "open_subagents"    // open subagents beyond MaxOpenCalls (oldest evicted)
	OverflowToolLabels      = "tool_labels"       // events whose tool label was folded into "other"
	OverflowAgentTypeLabels = "agent_type_labels" // subagents whose agent_type label was folded into "other"
	OverflowEndedSessions   = "ended_sessions"    // ended-session records dropped beyond the cap before their retention
	OverflowModelLabels     = "model_labels"      // usage changes whose model label was folded into "other"
	OverflowPendingUsage    = "pending_usage"     // usage changes for not yet opened turns or subagents beyond the per-session cap (left off those spans)
)

// Closed label sets. The metrics collector exposes every member from the start
// (at zero), so a series never appears out of nowhere.
var (
	// EventLabels are the event label values: the hook events Claude Code
	// sends (hookevent.KnownEvents, the 35 of v2.1.337), then LabelOther for any
	// other name.
	EventLabels = []string{
		"SessionStart", "SessionEnd", "Setup", "UserPromptSubmit", "UserPromptExpansion",
		"MessageDisplay", "PreToolUse", "PermissionRequest", "PermissionDenied", "PostToolUse",
		"PostToolUseFailure", "PostToolBatch", "Notification", "SubagentStart", "SubagentStop",
		"Stop", "StopFailure", "TaskCreated", "TaskCompleted", "TeammateIdle", "PreCompact",
		"PostCompact", "InstructionsLoaded", "ConfigChange", "CwdChanged", "DirectoryAdded",
		"FileChanged", "WorktreeCreate", "WorktreeRemove", "Elicitation", "ElicitationResult",
		"Interrupt", "PreModelSwitch", "PostModelSwitch", "PreSkillShellCommand",
		LabelOther,
	}
	// InterruptSourceLabels and InterruptReasonLabels are the label values of
	// claude_hooks_interrupts_total (Interrupt's source and reason, 2.1.337).
	InterruptSourceLabels = []string{"user", "session", "system", LabelUnknown, LabelOther}
	InterruptReasonLabels = []string{"stop", "permission_denied", "rewind", LabelUnknown, LabelOther}
	// SystemTurnSourceLabels are the source label values of
	// claude_hooks_system_turns_total: turns Claude Code starts itself.
	SystemTurnSourceLabels = []string{TurnSourceTaskNotification}
	// SourceLabels are the source label values of sessions started.
	SourceLabels = []string{"startup", "resume", "clear", "compact", "fork", SourceImplicit, LabelOther}
	// ReasonLabels are the reason label values of sessions ended.
	ReasonLabels = []string{"clear", "resume", "logout", "prompt_input_exit", "bypass_permissions_disabled", ReasonExpired, LabelOther}
	// TurnOutcomes are the outcome label values of turns.
	TurnOutcomes = []string{OutcomeSuccess, OutcomeFailure, OutcomeInterrupted, OutcomeExpired}
	// ToolOutcomes are the outcome label values of tool calls.
	ToolOutcomes = []string{OutcomeSuccess, OutcomeFailure, OutcomeInterrupted, OutcomeDenied}
	// TriggerLabels are the trigger label values of compactions.
	TriggerLabels = []string{"manual", "auto", LabelOther}
	// NotificationLabels are the notification_type label values.
	NotificationLabels = []string{
		"permission_prompt", "idle_prompt", "auth_success", "elicitation_dialog",
		"elicitation_url_dialog", "elicitation_complete", "elicitation_response",
		"agent_needs_input", "agent_completed", LabelUnknown, LabelOther,
	}
	// StopErrorLabels are the error label values of StopFailure.
	StopErrorLabels = []string{
		"rate_limit", "overloaded", "authentication_failed", "billing_error", "invalid_request",
		"model_not_found", "server_error", "max_output_tokens", LabelUnknown, LabelOther,
	}
	// OverflowKinds are the kind label values of tracker overflows.
	OverflowKinds = []string{
		OverflowSessions, OverflowOpenCalls, OverflowOpenWaits, OverflowOpenSubagents,
		OverflowToolLabels, OverflowAgentTypeLabels, OverflowEndedSessions,
		OverflowModelLabels, OverflowPendingUsage,
	}
	// BuiltinTools are Claude Code's own tools: each always gets its own tool label,
	// outside the cap on other (MCP, plugin, future) tool names.
	BuiltinTools = []string{
		"Agent", "AskUserQuestion", "Bash", "BashOutput", "Edit", "EnterPlanMode", "ExitPlanMode",
		"Glob", "Grep", "KillShell", "LS", "ListMcpResourcesTool", "LSP", "MultiEdit", "NotebookEdit",
		"NotebookRead", "Read", "ReadMcpResourceTool", "Skill", "SlashCommand", "Task", "TaskCreate",
		"TaskGet", "TaskList", "TaskOutput", "TaskStop", "TaskUpdate", "TodoRead", "TodoWrite",
		"ToolSearch", "WebFetch", "WebSearch", "Write",
	}
	// BuiltinAgentTypes are Claude Code's own subagent types, outside the cap.
	BuiltinAgentTypes = []string{
		"general-purpose", "Explore", "Plan", "statusline-setup", "output-style-setup", "claude-code-guide",
	}
)

// closedSet maps each member of a label set to itself.
func closedSet(values []string) map[string]string {
	m := make(map[string]string, len(values))
	for _, v := range values {
		m[v] = v
	}
	return m
}

// TurnSourceTaskNotification is the source of a turn Claude Code starts to hand
// a background agent's result back (a prompt starting with <task-notification>).
const TurnSourceTaskNotification = "task_notification"

var (
	interruptSourceSet = closedSet(InterruptSourceLabels)
	interruptReasonSet = closedSet(InterruptReasonLabels)
	eventSet           = closedSet(EventLabels)
	sourceSet          = closedSet(SourceLabels)
	reasonSet          = closedSet(ReasonLabels)
	triggerSet         = closedSet(TriggerLabels)
	notificationSet    = closedSet(NotificationLabels)
	stopErrorSet       = closedSet(StopErrorLabels)
	builtinToolSet     = closedSet(BuiltinTools)
	builtinAgentSet    = closedSet(BuiltinAgentTypes)
)

// fold returns v when it is in set, missing when v is empty, LabelOther otherwise.
func fold(set map[string]string, v, missing string) string {
	if v == "" {
		return missing
	}
	if l, ok := set[v]; ok {
		return l
	}
	return LabelOther
}

// maxLabelLen bounds a data-derived label value; longer names fold into other.
const maxLabelLen = 128

// labelable reports whether a data-derived name may become a label value.
func labelable(v string) bool {
	return len(v) <= maxLabelLen && utf8.ValidString(v)
}

// isMCP reports whether a tool name is an MCP tool (mcp__<server>__<tool>).
func isMCP(tool string) bool { return strings.HasPrefix(tool, "mcp__") }

// permissionWaitingTools are tools whose open call means the agent waits for the
// user (a question, a plan to approve).
func waitsForUser(tool string) bool { return tool == "AskUserQuestion" || tool == "ExitPlanMode" }
