package tracing

import (
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

const (
	fixtureSession = "5f0c2a9e-3b7d-4c1e-9a8b-2d4e6f8a0b1c"
	fixturePrompt  = "8d1e4b2a-7c3f-4e9a-b6d5-1f2a3b4c5d6e"
)

// scriptedSession is one small session shaped like the tracker's output (keys,
// names and attributes as internal/session emits them), children before parents
// because each span is emitted when it closes: a turn with a Read, a permission
// wait, a failing Bash call, an Explore subagent that runs a Grep, then the
// session root.
func scriptedSession() []session.Span {
	t0 := time.Date(2026, 8, 14, 9, 30, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const turnKey = "turn:" + fixturePrompt
	common := func(attrs ...session.Attr) []session.Attr {
		return append(attrs,
			session.Attr{Key: "session.id", Value: fixtureSession},
			session.Attr{Key: "gen_ai.conversation.id", Value: fixtureSession},
			session.Attr{Key: "prompt.id", Value: fixturePrompt},
		)
	}
	tool := func(name, id string, extra ...session.Attr) []session.Attr {
		attrs := []session.Attr{
			{Key: "gen_ai.operation.name", Value: "execute_tool"},
			{Key: "gen_ai.tool.name", Value: name},
			{Key: "gen_ai.tool.type", Value: "function"},
			{Key: "gen_ai.tool.call.id", Value: id},
		}
		return append(common(attrs...), extra...)
	}
	return []session.Span{
		{
			Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:toolu_01", ParentKey: turnKey,
			Name: "execute_tool Read", Start: at(1200), End: at(1450), Outcome: "success",
			Attrs: tool("Read", "toolu_01",
				session.Attr{Key: "file.path", Value: "/home/dev/app/main.go"},
				session.Attr{Key: "claude_code.tool.input.size", Value: int64(41)},
				session.Attr{Key: "claude_code.tool.output.size", Value: int64(5120)},
			),
		},
		{
			Kind: session.KindPermission, SessionID: fixtureSession, Key: "perm:1", ParentKey: turnKey,
			Name: "permission_wait Bash", Start: at(1500), End: at(4500), Outcome: "success",
			Attrs: append(common(session.Attr{Key: "gen_ai.tool.name", Value: "Bash"}),
				session.Attr{Key: "claude_code.permission.source", Value: "request"}),
		},
		{
			Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:toolu_02", ParentKey: turnKey,
			Name: "execute_tool Bash", Start: at(4500), End: at(5200), Outcome: "failure", ErrorType: "exit_code",
			Attrs: tool("Bash", "toolu_02",
				session.Attr{Key: "claude_code.command.name", Value: "npm"},
				session.Attr{Key: "claude_code.command.size", Value: int64(12)},
				session.Attr{Key: "claude_code.tool.error.size", Value: int64(230)},
			),
		},
		{
			Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:toolu_04", ParentKey: "agent:a7f3c9",
			Name: "execute_tool Grep", Start: at(6100), End: at(6350), Outcome: "success",
			Attrs: tool("Grep", "toolu_04", session.Attr{Key: "gen_ai.agent.id", Value: "a7f3c9"}),
		},
		{
			Kind: session.KindSubagent, SessionID: fixtureSession, Key: "agent:a7f3c9", ParentKey: turnKey,
			Name: "invoke_agent Explore", Start: at(6000), End: at(9000), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "gen_ai.operation.name", Value: "invoke_agent"},
				session.Attr{Key: "gen_ai.provider.name", Value: "anthropic"},
				session.Attr{Key: "gen_ai.agent.name", Value: "Explore"},
				session.Attr{Key: "gen_ai.agent.id", Value: "a7f3c9"},
			),
		},
		{
			Kind: session.KindTurn, SessionID: fixtureSession, Key: turnKey, ParentKey: "session",
			Name: "turn", Start: at(1000), End: at(9500), Outcome: "success",
			Attrs: common(session.Attr{Key: "claude_code.prompt.size", Value: int64(87)}),
		},
		{
			Kind: session.KindSession, SessionID: fixtureSession, Key: "session", ParentKey: "",
			Name: "invoke_agent claude-code", Start: at(0), End: at(10000), Outcome: "success",
			Attrs: []session.Attr{
				{Key: "gen_ai.operation.name", Value: "invoke_agent"},
				{Key: "gen_ai.provider.name", Value: "anthropic"},
				{Key: "gen_ai.agent.name", Value: "claude-code"},
				{Key: "gen_ai.conversation.id", Value: fixtureSession},
				{Key: "session.id", Value: fixtureSession},
				{Key: "gen_ai.request.model", Value: "claude-opus-4-6"},
				{Key: "claude_code.session.source", Value: "startup"},
				{Key: "claude_code.session.end_reason", Value: "prompt_input_exit"},
				{Key: "claude_code.permission_mode", Value: "default"},
				{Key: "claude_code.turns", Value: int64(1)},
				{Key: "claude_code.tool_calls", Value: int64(3)},
			},
		},
	}
}
