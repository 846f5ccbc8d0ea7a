package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

// busyTracker holds a large but realistic state: the whole tool label budget
// in use (built-ins plus 50 MCP tools, each with a populated histogram), a
// dozen subagent types, 200 open sessions of which some wait for the user.
func busyTracker(tb testing.TB) *session.Tracker {
	tb.Helper()
	tr := session.New(session.Options{})
	tools := []string{"Bash", "Read", "Write", "Edit", "Glob", "Grep", "WebFetch", "WebSearch", "Agent", "TodoWrite"}
	for i := range 50 {
		tools = append(tools, fmt.Sprintf("mcp__server%d__tool%d", i%7, i))
	}
	clock := base
	for i := range 20000 {
		sid := fmt.Sprintf("session-%d", i%200)
		tool := tools[i%len(tools)]
		clock = clock.Add(100 * time.Millisecond)
		id := fmt.Sprint("toolu_", i)
		tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: sid, ToolName: tool, ToolUseID: id, Received: clock})
		outcome := hookevent.OutcomeSuccess
		if i%13 == 0 {
			outcome = hookevent.OutcomeFailure
		}
		tr.Apply(&hookevent.Event{Name: "PostToolUse", SessionID: sid, ToolName: tool, ToolUseID: id, Outcome: outcome,
			DurationMS: float64(i%5000) * 1.7, HasDuration: true, Received: clock.Add(time.Second)})
		if i%50 == 0 {
			agent := fmt.Sprint("agent-", i)
			tr.Apply(&hookevent.Event{Name: "SubagentStart", SessionID: sid, AgentID: agent, AgentType: fmt.Sprint("type-", i%12), Received: clock})
			tr.Apply(&hookevent.Event{Name: "SubagentStop", SessionID: sid, AgentID: agent, Received: clock.Add(time.Duration(i) * time.Millisecond)})
		}
		if i%200 == 0 {
			tr.Apply(&hookevent.Event{Name: "PermissionRequest", SessionID: sid, ToolName: "Bash", Received: clock})
		}
	}
	return tr
}

func BenchmarkCollect(b *testing.B) {
	reg := registry(b, busyTracker(b), ingestFixture)
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		series += len(mf.GetMetric())
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(series), "series")
}
