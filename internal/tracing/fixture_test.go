package tracing

import (
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

const (
	fixtureSession = "5f0c2a9e-3b7d-4c1e-9a8b-2d4e6f8a0b1c"
	fixturePrompt  = "8d1e4b2a-7c3f-4e9a-b6d5-1f2a3b4c5d6e"
)

// scriptedSession is one small session as the tracker would emit it, children
// before parents (each span is emitted when it closes): a turn with a Read, a
// failing Bash call behind a permission wait, and an Explore subagent that runs a
// Grep, then the session root.
func scriptedSession() []session.Span {
	t0 := time.Date(2026, 8, 14, 9, 30, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	turnKey := "turn:" + fixturePrompt
	common := func(extra ...session.Attr) []session.Attr {
		return append([]session.Attr{
			{Key: "session.id", Value: fixtureSession},
			{Key: "gen_ai.conversation.id", Value: fixtureSession},
		}, extra...)
	}
	return []session.Span{
		{
			Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:toolu_01", ParentKey: turnKey,
			Name: "execute_tool Read", Start: at(1200), End: at(1450), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "gen_ai.operation.name", Value: "execute_tool"},
				session.Attr{Key: "gen_ai.tool.name", Value: "Read"},
				session.Attr{Key: "gen_ai.tool.call.id", Value: "toolu_01"},
				session.Attr{Key: "prompt.id", Value: fixturePrompt},
			),
		},
		{
			Kind: session.KindPermission, SessionID: fixtureSession, Key: "permission:toolu_02", ParentKey: "tool:toolu_02",
			Name: "permission_wait Bash", Start: at(1500), End: at(4500), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "gen_ai.tool.name", Value: "Bash"},
				session.Attr{Key: "prompt.id", Value: fixturePrompt},
			),
		},
		{
			Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:toolu_02", ParentKey: turnKey,
			Name: "execute_tool Bash", Start: at(1500), End: at(5200), Outcome: "failure", ErrorType: "tool_error",
			Attrs: common(
				session.Attr{Key: "gen_ai.operation.name", Value: "execute_tool"},
				session.Attr{Key: "gen_ai.tool.name", Value: "Bash"},
				session.Attr{Key: "gen_ai.tool.call.id", Value: "toolu_02"},
				session.Attr{Key: "prompt.id", Value: fixturePrompt},
				session.Attr{Key: "error.type", Value: "tool_error"},
				session.Attr{Key: "claude_code.tool.duration_ms", Value: int64(700)},
			),
		},
		{
			Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:toolu_04", ParentKey: "agent:a7f3c9",
			Name: "execute_tool Grep", Start: at(6100), End: at(6350), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "gen_ai.operation.name", Value: "execute_tool"},
				session.Attr{Key: "gen_ai.tool.name", Value: "Grep"},
				session.Attr{Key: "gen_ai.tool.call.id", Value: "toolu_04"},
				session.Attr{Key: "gen_ai.agent.id", Value: "a7f3c9"},
			),
		},
		{
			Kind: session.KindSubagent, SessionID: fixtureSession, Key: "agent:a7f3c9", ParentKey: turnKey,
			Name: "invoke_agent Explore", Start: at(6000), End: at(9000), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "gen_ai.operation.name", Value: "invoke_agent"},
				session.Attr{Key: "gen_ai.agent.name", Value: "Explore"},
				session.Attr{Key: "gen_ai.agent.id", Value: "a7f3c9"},
				session.Attr{Key: "prompt.id", Value: fixturePrompt},
			),
		},
		{
			Kind: session.KindTurn, SessionID: fixtureSession, Key: turnKey, ParentKey: "session",
			Name: "turn", Start: at(1000), End: at(9500), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "prompt.id", Value: fixturePrompt},
				session.Attr{Key: "claude_code.turn.tool_calls", Value: int64(3)},
				session.Attr{Key: "claude_code.turn.interrupted", Value: false},
			),
		},
		{
			Kind: session.KindSession, SessionID: fixtureSession, Key: "session", ParentKey: "",
			Name: "session", Start: at(0), End: at(10000), Outcome: "success",
			Attrs: common(
				session.Attr{Key: "claude_code.session.source", Value: "startup"},
				session.Attr{Key: "gen_ai.request.model", Value: "claude-opus-4-6"},
				session.Attr{Key: "claude_code.session.cost_ratio", Value: 0.25},
			),
		},
	}
}
