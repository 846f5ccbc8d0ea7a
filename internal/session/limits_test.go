package session

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// at is a receive time n seconds after base.
func at(n float64) time.Time { return base.Add(time.Duration(n * float64(time.Second))) }

func toolPair(sid, tool, id string, t float64) (*hookevent.Event, *hookevent.Event) {
	server := ""
	if s, _, ok := strings.Cut(strings.TrimPrefix(tool, "mcp__"), "__"); ok && strings.HasPrefix(tool, "mcp__") {
		server = s
	}
	pre := &hookevent.Event{Name: "PreToolUse", SessionID: sid, ToolName: tool, ToolUseID: id, MCPServer: server, Received: at(t)}
	post := &hookevent.Event{Name: "PostToolUse", SessionID: sid, ToolName: tool, ToolUseID: id, MCPServer: server,
		Outcome: hookevent.OutcomeSuccess, DurationMS: 20, HasDuration: true, Received: at(t + 0.05)}
	return pre, post
}

// TestToolLabelCardinality floods the tracker with distinct MCP tools: only
// built-in tools and the first MaxMCPTools others get their own label.
func TestToolLabelCardinality(t *testing.T) {
	const distinct = 10000
	for _, limit := range []int{0, 5, 200} {
		t.Run(fmt.Sprintf("cap %d", limit), func(t *testing.T) {
			tr := New(Options{MaxMCPTools: limit})
			want := limit
			if want == 0 {
				want = DefaultMaxMCPTools
			}
			for _, tool := range []string{"Bash", "Read", "Edit"} {
				pre, post := toolPair("s", tool, "toolu_"+tool, 0)
				tr.Apply(pre)
				tr.Apply(post)
			}
			for i := range distinct {
				pre, post := toolPair("s", fmt.Sprintf("mcp__srv%d__tool_%d", i%97, i), fmt.Sprintf("toolu_%d", i), float64(i))
				tr.Apply(pre)
				tr.Apply(post)
			}
			tr.Read(func(s *Snapshot) {
				m := s.Metrics
				if got, max := len(m.ToolCalls), 3+want+1; got != max {
					t.Errorf("tool label values in tool_calls: got %d, want %d (3 built-in + %d + other)", got, max, want)
				}
				if got := len(m.ToolDuration); got > 3+want+1 {
					t.Errorf("tool label values in tool_duration: got %d", got)
				}
				if c := m.ToolCalls[LabelOther]; c == nil || c.Success != uint64(distinct-want) {
					t.Errorf("calls under other: got %+v, want %d", c, distinct-want)
				}
				if got := m.Overflow[OverflowToolLabels]; got != uint64(distinct-want) {
					t.Errorf("tool label overflow: got %d, want %d", got, distinct-want)
				}
				if len(s.ToolLabels) != want {
					t.Errorf("admitted labels: got %d, want %d", len(s.ToolLabels), want)
				}
			})
		})
	}
}

// TestToolLabelAdmissionSurvivesRestart: the first tools keep their label
// after a restore, later ones still fold into other.
func TestToolLabelAdmissionSurvivesRestart(t *testing.T) {
	tr := New(Options{MaxMCPTools: 2})
	for i, tool := range []string{"mcp__a__x", "mcp__a__y"} {
		pre, post := toolPair("s", tool, fmt.Sprint(i), float64(i))
		tr.Apply(pre)
		tr.Apply(post)
	}
	b, err := tr.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	tr = New(Options{MaxMCPTools: 2})
	if err := tr.UnmarshalState(b); err != nil {
		t.Fatal(err)
	}
	for i, tool := range []string{"mcp__a__z", "mcp__a__x", "mcp__bad\xff__x", strings.Repeat("mcp__long", 30)} {
		pre, post := toolPair("s", tool, fmt.Sprint(10+i), float64(10+i))
		tr.Apply(pre)
		tr.Apply(post)
	}
	tr.Read(func(s *Snapshot) {
		m := s.Metrics
		if c := m.ToolCalls["mcp__a__x"]; c == nil || c.Success != 2 {
			t.Errorf("mcp__a__x: got %+v, want 2 calls", c)
		}
		if c := m.ToolCalls[LabelOther]; c == nil || c.Success != 3 {
			t.Errorf("other: got %+v, want 3 calls", c)
		}
		if _, ok := m.ToolCalls["mcp__a__z"]; ok {
			t.Error("a tool beyond the cap got its own label after a restart")
		}
	})
}

func TestAgentTypeCardinality(t *testing.T) {
	tr := New(Options{MaxAgentTypes: 3})
	for i := range 100 {
		id := fmt.Sprintf("agent%d", i)
		tr.Apply(&hookevent.Event{Name: "SubagentStart", SessionID: "s", AgentID: id, AgentType: fmt.Sprintf("custom-%d", i), Received: at(float64(i))})
		tr.Apply(&hookevent.Event{Name: "SubagentStop", SessionID: "s", AgentID: id, Received: at(float64(i) + 0.5)})
	}
	tr.Apply(&hookevent.Event{Name: "SubagentStart", SessionID: "s", AgentID: "e", AgentType: "Explore", Received: at(200)})
	tr.Read(func(s *Snapshot) {
		m := s.Metrics
		if len(m.Subagents) != 5 {
			t.Errorf("agent_type values: got %v, want 3 custom + other + Explore", m.Subagents)
		}
		if m.Subagents[LabelOther] != 97 || m.Subagents["Explore"] != 1 {
			t.Errorf("subagents: %v", m.Subagents)
		}
		if len(m.SubagentDuration) != 4 || m.SubagentDuration[LabelOther].Count != 97 {
			t.Errorf("subagent durations: %d labels", len(m.SubagentDuration))
		}
		if m.Overflow[OverflowAgentTypeLabels] != 97 {
			t.Errorf("agent type overflow: %d", m.Overflow[OverflowAgentTypeLabels])
		}
	})
}

// TestMemoryCaps checks that every collection the event stream can grow is
// bounded and that what overflows is counted.
func TestMemoryCaps(t *testing.T) {
	t.Run("sessions", func(t *testing.T) {
		tr := New(Options{MaxSessions: 3})
		var spans []Span
		for i := range 10 {
			spans = append(spans, tr.Apply(&hookevent.Event{Name: "SessionStart", SessionID: fmt.Sprintf("s%d", i), Source: "startup", Received: at(float64(i))})...)
		}
		// Activity in s7 makes s8 the least recently active.
		spans = append(spans, tr.Apply(&hookevent.Event{Name: "Notification", SessionID: "s7", Received: at(20)})...)
		spans = append(spans, tr.Apply(&hookevent.Event{Name: "SessionStart", SessionID: "s10", Received: at(21)})...)
		var evicted []string
		for _, s := range spans {
			if s.Kind == KindSession {
				if s.Outcome != OutcomeExpired || s.ErrorType != "evicted" {
					t.Errorf("evicted session span: outcome %q error %q", s.Outcome, s.ErrorType)
				}
				evicted = append(evicted, s.SessionID)
			}
		}
		if got := strings.Join(evicted, ","); got != "s0,s1,s2,s3,s4,s5,s6,s8" {
			t.Errorf("evicted: got %s", got)
		}
		tr.Read(func(s *Snapshot) {
			if s.SessionsActive != 3 {
				t.Errorf("open sessions: %d, want 3", s.SessionsActive)
			}
			if s.Metrics.Overflow[OverflowSessions] != 8 || s.Metrics.SessionsEnded[ReasonExpired] != 8 {
				t.Errorf("overflow %d, ended %d; want 8 and 8", s.Metrics.Overflow[OverflowSessions], s.Metrics.SessionsEnded[ReasonExpired])
			}
		})
	})
	t.Run("calls waits subagents", func(t *testing.T) {
		tr := New(Options{MaxOpenCalls: 5})
		var spans []Span
		for i := range 100 {
			spans = append(spans, tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", ToolUseID: fmt.Sprint(i), Received: at(float64(i))})...)
			spans = append(spans, tr.Apply(&hookevent.Event{Name: "PermissionRequest", SessionID: "s", ToolName: "Read", Received: at(float64(i))})...)
			spans = append(spans, tr.Apply(&hookevent.Event{Name: "SubagentStart", SessionID: "s", AgentID: fmt.Sprint("a", i), Received: at(float64(i))})...)
		}
		s := tr.st.Sessions["s"]
		if len(s.Calls) != 5 || len(s.Waits) != 5 || len(s.Agent) != 5 {
			t.Errorf("open: %d calls, %d waits, %d subagents; want 5 each", len(s.Calls), len(s.Waits), len(s.Agent))
		}
		if len(spans) != 3*95 {
			t.Errorf("evicted spans: got %d, want %d", len(spans), 3*95)
		}
		m := tr.st.Metrics
		for _, kind := range []string{OverflowOpenCalls, OverflowOpenWaits, OverflowOpenSubagents} {
			if m.Overflow[kind] != 95 {
				t.Errorf("overflow %s: got %d, want 95", kind, m.Overflow[kind])
			}
		}
		if m.PermissionRequests["Read"] != 100 {
			t.Errorf("permission requests: got %d, want 100", m.PermissionRequests["Read"])
		}
		// The oldest were evicted: the open call ids are the last five.
		if s.Calls[0].ID != "95" || s.Calls[4].ID != "99" {
			t.Errorf("open calls kept: %s..%s", s.Calls[0].ID, s.Calls[4].ID)
		}
	})
	t.Run("ended sessions", func(t *testing.T) {
		tr := New(Options{MaxEnded: 10})
		for i := range 100 {
			id := fmt.Sprint("s", i)
			tr.Apply(&hookevent.Event{Name: "SessionStart", SessionID: id, Received: at(float64(i))})
			tr.Apply(&hookevent.Event{Name: "SessionEnd", SessionID: id, Reason: "logout", Received: at(float64(i) + 0.5)})
		}
		if n := len(tr.st.Ended); n > 10 {
			t.Errorf("remembered ended sessions: %d, want at most 10", n)
		}
		if tr.st.Metrics.Overflow[OverflowEndedSessions] == 0 {
			t.Error("dropping remembered ended sessions was not counted")
		}
		if _, ok := tr.st.Ended["s99"]; !ok {
			t.Error("the most recent ended session was forgotten")
		}
	})
	t.Run("ended sessions retention", func(t *testing.T) {
		tr := New(Options{EndedRetention: time.Hour})
		tr.Apply(&hookevent.Event{Name: "SessionEnd", SessionID: "old", Received: at(0)})
		tr.Apply(&hookevent.Event{Name: "Notification", SessionID: "other", Received: at(3 * 3600)})
		if _, ok := tr.st.Ended["old"]; ok {
			t.Error("an ended session outlived its retention")
		}
	})
}

func TestLateEvents(t *testing.T) {
	tests := []struct {
		name       string
		events     []*hookevent.Event
		expireAt   float64 // Expire before the last event when > 0
		wantLate   uint64
		wantActive int
		wantGen    int // generation of the open session, 0 when none
	}{
		{
			name: "after SessionEnd is dropped",
			events: []*hookevent.Event{
				{Name: "SessionStart", SessionID: "s", Received: at(0)},
				{Name: "SessionEnd", SessionID: "s", Received: at(1)},
				{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", Received: at(2)},
			},
			wantLate: 1,
		},
		{
			name: "after expiry reopens a new generation",
			events: []*hookevent.Event{
				{Name: "SessionStart", SessionID: "s", Received: at(0)},
				{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", Received: at(3 * 3600)},
			},
			expireAt: 2 * 3600, wantLate: 1, wantActive: 1, wantGen: 2,
		},
		{
			name: "after an idle gap without Expire, the same",
			events: []*hookevent.Event{
				{Name: "SessionStart", SessionID: "s", Received: at(0)},
				{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", Received: at(3 * 3600)},
			},
			wantLate: 1, wantActive: 1, wantGen: 2,
		},
		{
			name: "SessionEnd after expiry reopens nothing",
			events: []*hookevent.Event{
				{Name: "SessionStart", SessionID: "s", Received: at(0)},
				{Name: "SessionEnd", SessionID: "s", Received: at(3 * 3600)},
				{Name: "Stop", SessionID: "s", Received: at(3*3600 + 1)},
			},
			wantLate: 2,
		},
		{
			name: "SessionStart after SessionEnd is a resume, not late",
			events: []*hookevent.Event{
				{Name: "SessionStart", SessionID: "s", Received: at(0)},
				{Name: "SessionEnd", SessionID: "s", Received: at(1)},
				{Name: "SessionStart", SessionID: "s", Source: "resume", Received: at(2)},
			},
			wantActive: 1, wantGen: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Options{})
			for i, ev := range tc.events {
				if i == len(tc.events)-1 && tc.expireAt > 0 {
					tr.Expire(at(tc.expireAt))
				}
				tr.Apply(ev)
			}
			if got := tr.st.Metrics.LateEvents; got != tc.wantLate {
				t.Errorf("late events: got %d, want %d", got, tc.wantLate)
			}
			if got := len(tr.st.Sessions); got != tc.wantActive {
				t.Errorf("open sessions: got %d, want %d", got, tc.wantActive)
			}
			if s := tr.st.Sessions["s"]; s != nil && s.Gen != tc.wantGen {
				t.Errorf("generation: got %d, want %d", s.Gen, tc.wantGen)
			}
		})
	}
}

func TestExpireGrace(t *testing.T) {
	tr := New(Options{IdleTimeout: 10 * time.Minute})
	tr.Apply(&hookevent.Event{Name: "SessionStart", SessionID: "s", Received: at(0)})
	if spans := tr.Expire(at(0).Add(10 * time.Minute)); len(spans) != 0 {
		t.Fatalf("expired within the grace: %v", spans)
	}
	spans := tr.Expire(at(0).Add(10*time.Minute + ExpireGrace))
	if len(spans) != 1 || spans[0].Outcome != OutcomeExpired || !spans[0].End.Equal(at(0)) {
		t.Fatalf("expiry spans: %+v", spans)
	}
}

func TestWaitingOnUser(t *testing.T) {
	tr := New(Options{})
	check := func(step string, waiting int, oldest time.Time) {
		t.Helper()
		tr.Read(func(s *Snapshot) {
			if s.SessionsWaiting != waiting || !s.OldestWait.Equal(oldest) {
				t.Errorf("%s: waiting %d since %v, want %d since %v", step, s.SessionsWaiting, s.OldestWait, waiting, oldest)
			}
		})
	}
	check("empty", 0, time.Time{})
	tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "a", ToolName: "Bash", ToolUseID: "1", Received: at(0)})
	check("a tool runs", 0, time.Time{})
	tr.Apply(&hookevent.Event{Name: "PermissionRequest", SessionID: "a", ToolName: "Bash", Received: at(1)})
	check("permission asked", 1, at(1))
	tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "b", ToolName: "AskUserQuestion", ToolUseID: "2", Received: at(2)})
	check("question asked", 2, at(1))
	tr.Apply(&hookevent.Event{Name: "Elicitation", SessionID: "b", Received: at(3)})
	check("elicitation too", 2, at(1))
	tr.Apply(&hookevent.Event{Name: "PostToolUse", SessionID: "a", ToolName: "Bash", ToolUseID: "1", Received: at(4)})
	check("permission granted", 1, at(2))
	tr.Apply(&hookevent.Event{Name: "PostToolUse", SessionID: "b", ToolName: "AskUserQuestion", ToolUseID: "2", Received: at(5)})
	check("question answered", 1, at(3))
	tr.Apply(&hookevent.Event{Name: "ElicitationResult", SessionID: "b", Received: at(6)})
	check("elicitation answered", 0, time.Time{})
}

// TestPermissionNotificationOrder: the permission_prompt notification of a
// wait may arrive before PermissionRequest, after it, or after the tool ended;
// each way it is one wait, counted once.
func TestPermissionNotificationOrder(t *testing.T) {
	req := &hookevent.Event{Name: "PermissionRequest", SessionID: "s", ToolName: "Bash", Received: at(1)}
	note := &hookevent.Event{Name: "Notification", SessionID: "s", NotificationType: "permission_prompt", Received: at(1)}
	post := &hookevent.Event{Name: "PostToolUse", SessionID: "s", ToolName: "Bash", ToolUseID: "1", Received: at(5)}
	tests := []struct {
		name  string
		order []*hookevent.Event
	}{
		{"request first", []*hookevent.Event{req, note, post}},
		{"notification first", []*hookevent.Event{note, req, post}},
		{"notification after the end", []*hookevent.Event{req, post, note}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Options{})
			tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", ToolUseID: "1", Received: at(0)})
			var waits int
			for _, ev := range tc.order {
				for _, s := range tr.Apply(ev) {
					if s.Kind == KindPermission {
						waits++
					}
				}
			}
			s := tr.st.Sessions["s"]
			if waits != 1 || len(s.Waits) != 0 {
				t.Errorf("wait spans %d, still open %d; want 1 and 0", waits, len(s.Waits))
			}
			if got := tr.st.Metrics.PermissionRequests["Bash"]; got != 1 || len(tr.st.Metrics.PermissionRequests) != 1 {
				t.Errorf("permission requests: %v", tr.st.Metrics.PermissionRequests)
			}
		})
	}
}

// TestConcurrentReads runs scrapes and checkpoints against a writer; the race
// detector is the assertion, plus the final count.
func TestConcurrentReads(t *testing.T) {
	tr := New(Options{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tr.Read(func(s *Snapshot) { _ = len(s.Metrics.Events) })
				if _, err := tr.MarshalState(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 2000 {
		pre, post := toolPair(fmt.Sprint("s", i%7), "Bash", fmt.Sprint(i), float64(i))
		tr.Apply(pre)
		tr.Apply(post)
	}
	close(stop)
	wg.Wait()
	if got := tr.st.Metrics.ToolCalls["Bash"].Success; got != 2000 {
		t.Errorf("tool calls: got %d, want 2000", got)
	}
}

// TestDuplicateAndMixedIDs: a PreToolUse repeated with the same id opens one
// call; a call with an id is not mistaken for a duplicate of an open call
// without id.
func TestDuplicateAndMixedIDs(t *testing.T) {
	tr := New(Options{})
	tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", Received: at(0)})
	tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", ToolUseID: "x", Received: at(1)})
	tr.Apply(&hookevent.Event{Name: "PreToolUse", SessionID: "s", ToolName: "Bash", ToolUseID: "x", Received: at(1)})
	if got := len(tr.st.Sessions["s"].Calls); got != 2 {
		t.Fatalf("open calls: got %d, want 2", got)
	}
	spans := tr.Apply(&hookevent.Event{Name: "PostToolUse", SessionID: "s", ToolName: "Bash", ToolUseID: "x", Received: at(2)})
	if len(spans) != 1 || spans[0].Key != "tool:x" || !spans[0].Start.Equal(at(1)) {
		t.Errorf("spans: %+v", spans)
	}
	spans = tr.Apply(&hookevent.Event{Name: "PostToolUse", SessionID: "s", ToolName: "Bash", Received: at(3)})
	if len(spans) != 1 || spans[0].Key != "tool:1" || !spans[0].Start.Equal(at(0)) {
		t.Errorf("FIFO spans: %+v", spans)
	}
}
