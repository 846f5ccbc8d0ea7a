package hookevent

import "strings"

// KnownEvents lists the 35 hook event names of Claude Code 2.1.337: the 31 of its
// documentation, in the documentation's order, then the four 2.1.337 added
// (Interrupt, PreModelSwitch, PostModelSwitch, PreSkillShellCommand). The order is
// stable so that callers may use it for metric label sets and reports. Callers
// must not modify it.
var KnownEvents = []string{
	"SessionStart",
	"SessionEnd",
	"Setup",
	"UserPromptSubmit",
	"UserPromptExpansion",
	"MessageDisplay",
	"PreToolUse",
	"PermissionRequest",
	"PermissionDenied",
	"PostToolUse",
	"PostToolUseFailure",
	"PostToolBatch",
	"Notification",
	"SubagentStart",
	"SubagentStop",
	"Stop",
	"StopFailure",
	"TaskCreated",
	"TaskCompleted",
	"TeammateIdle",
	"PreCompact",
	"PostCompact",
	"InstructionsLoaded",
	"ConfigChange",
	"CwdChanged",
	"DirectoryAdded",
	"FileChanged",
	"WorktreeCreate",
	"WorktreeRemove",
	"Elicitation",
	"ElicitationResult",
	"Interrupt",
	"PreModelSwitch",
	"PostModelSwitch",
	"PreSkillShellCommand",
}

// knownTools are tool names common enough to be worth sharing one string for:
// decoding them allocates nothing.
var knownTools = []string{
	"Bash", "Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "Glob", "Grep",
	"WebFetch", "WebSearch", "Agent", "Task", "AskUserQuestion", "ExitPlanMode",
	"TodoWrite", "BashOutput", "KillShell", "Skill", "SlashCommand", "PowerShell",
}

// interned maps the byte text of known event and tool names to one shared string.
var interned = func() map[string]string {
	m := make(map[string]string, len(KnownEvents)+len(knownTools))
	for _, s := range KnownEvents {
		m[s] = s
	}
	for _, s := range knownTools {
		m[s] = s
	}
	return m
}()

// knownEvents is the set form of KnownEvents, separate from interned because that
// one also holds tool names.
var knownEvents = func() map[string]struct{} {
	m := make(map[string]struct{}, len(KnownEvents))
	for _, s := range KnownEvents {
		m[s] = struct{}{}
	}
	return m
}()

// IsKnown reports whether name is one of KnownEvents. Unknown names are still
// decoded and kept; this only tells whether the exporter knows what they mean.
func IsKnown(name string) bool {
	_, ok := knownEvents[name]
	return ok
}

// mcpPrefix starts every MCP tool name.
const mcpPrefix = "mcp__"

// SplitMCP splits an MCP tool name mcp__<server>__<tool> into its server and tool
// parts. The server ends at the first "__" after the prefix, so a plugin server
// mcp__plugin_<plugin>_<server>__<tool> yields the server plugin_<plugin>_<server>.
// ok is false, and server and tool are empty, unless both parts are non-empty.
func SplitMCP(tool string) (server, name string, ok bool) {
	rest, found := strings.CutPrefix(tool, mcpPrefix)
	if !found {
		return "", "", false
	}
	server, name, found = strings.Cut(rest, "__")
	if !found || server == "" || name == "" {
		return "", "", false
	}
	return server, name, true
}

// IsMCP reports whether tool is an MCP tool name (mcp__<server>__<tool> with both
// parts non-empty).
func IsMCP(tool string) bool {
	_, _, ok := SplitMCP(tool)
	return ok
}
