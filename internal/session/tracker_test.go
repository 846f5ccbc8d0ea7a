package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// base is the receive time of offset zero in the scripts.
var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// step is one line of a script: an event to apply, or a call of Expire.
type step struct {
	at     time.Time
	ev     *hookevent.Event
	expire bool
}

// scripts are the scenario files in testdata. Lines are {"t": seconds, "p":
// payload} or {"t": seconds, "expire": true}; a bare payload line is applied
// at its line number in seconds.
var scripts = []string{
	"plain", "parallel", "failures", "permission", "subagent", "compaction",
	"expiry", "fifo_2025", "events-current", "events-variants", "v2337",
}

func loadScript(tb testing.TB, name string) []step {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		tb.Fatalf("read script: %v", err)
	}
	var steps []step
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 0; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l struct {
			T      float64         `json:"t"`
			P      json.RawMessage `json:"p"`
			Expire bool            `json:"expire"`
			Name   string          `json:"hook_event_name"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			tb.Fatalf("%s:%d: %v", name, n+1, err)
		}
		payload := l.P
		if l.Name != "" {
			payload, l.T = slices.Clone(line), float64(n)
		}
		st := step{at: base.Add(time.Duration(math.Round(l.T*1000)) * time.Millisecond), expire: l.Expire}
		if !l.Expire {
			ev, err := hookevent.Decode(payload)
			if err != nil {
				tb.Fatalf("%s:%d: decode: %v", name, n+1, err)
			}
			ev.ID = fmt.Sprintf("%s-%d", name, n+1)
			ev.Received = st.at
			st.ev = &ev
		}
		steps = append(steps, st)
	}
	return steps
}

func run(tr *Tracker, steps []step) []Span {
	var out []Span
	for _, st := range steps {
		if st.expire {
			out = append(out, tr.Expire(st.at)...)
			continue
		}
		out = append(out, tr.Apply(st.ev)...)
	}
	return out
}

func offset(t time.Time) string { return t.Sub(base).String() }

// formatSpans renders spans as a golden text.
func formatSpans(spans []Span) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "%s %s parent=%q name=%q start=%s end=%s", s.Kind, s.Key, s.ParentKey, s.Name, offset(s.Start), offset(s.End))
		if s.Outcome != "" {
			fmt.Fprintf(&b, " outcome=%s", s.Outcome)
		}
		if s.ErrorType != "" {
			fmt.Fprintf(&b, " error.type=%s", s.ErrorType)
		}
		fmt.Fprintf(&b, " session=%s\n", s.SessionID)
		for _, a := range s.Attrs {
			fmt.Fprintf(&b, "    %s=%#v\n", a.Key, a.Value)
		}
		for _, e := range s.Events {
			fmt.Fprintf(&b, "    event %s at=%s", e.Name, offset(e.Time))
			for _, a := range e.Attrs {
				fmt.Fprintf(&b, " %s=%#v", a.Key, a.Value)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func formatMetrics(tr *Tracker) string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	counters := func(name string, m map[string]uint64) {
		for k, v := range m {
			add("%s{%s} %d", name, k, v)
		}
	}
	tr.Read(func(s *Snapshot) {
		m := s.Metrics
		counters("events", m.Events)
		counters("sessions_started", m.SessionsStarted)
		counters("sessions_ended", m.SessionsEnded)
		counters("turns", m.Turns)
		counters("permission_requests", m.PermissionRequests)
		counters("subagents", m.Subagents)
		counters("compactions", m.Compactions)
		counters("notifications", m.Notifications)
		counters("stop_failures", m.StopFailures)
		counters("overflow", m.Overflow)
		counters("system_turns", m.SystemTurns)
		for src, byReason := range m.Interrupts {
			for reason, v := range byReason {
				add("interrupts{%s,%s} %d", src, reason, v)
			}
		}
		for from, byTo := range m.ModelSwitches {
			for to, v := range byTo {
				add("model_switches{%s,%s} %d", from, to, v)
			}
		}
		if m.SkillShellCommands > 0 {
			add("skill_shell_commands %d", m.SkillShellCommands)
		}
		for tool, c := range m.ToolCalls {
			add("tool_calls{%s} success=%d failure=%d interrupted=%d denied=%d", tool, c.Success, c.Failure, c.Interrupted, c.Denied)
		}
		hist := func(name, label string, h interface {
			count() uint64
			sum() float64
		}) {
			add("%s{%s} count=%d sum=%.3f", name, label, h.count(), h.sum())
		}
		hist("turn_duration", "", histView{m.TurnDuration.Count, m.TurnDuration.Sum})
		for k, h := range m.ToolDuration {
			hist("tool_duration", k, histView{h.Count, h.Sum})
		}
		for k, h := range m.PermissionWait {
			hist("permission_wait", k, histView{h.Count, h.Sum})
		}
		for k, h := range m.SubagentDuration {
			hist("subagent_duration", k, histView{h.Count, h.Sum})
		}
		add("late_events %d", m.LateEvents)
		add("sessions_active %d", s.SessionsActive)
		add("sessions_waiting %d", s.SessionsWaiting)
		if !s.OldestWait.IsZero() {
			add("oldest_wait_start %s", offset(s.OldestWait))
		}
	})
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

type histView struct {
	c uint64
	s float64
}

func (h histView) count() uint64 { return h.c }
func (h histView) sum() float64  { return h.s }

func golden(tb testing.TB, name, got string) {
	tb.Helper()
	goldentest.Compare(tb, filepath.Join("testdata", name+".golden"), []byte(got))
}

func TestSpanTreeGoldens(t *testing.T) {
	for _, name := range scripts {
		t.Run(name, func(t *testing.T) {
			tr := New(Options{})
			steps := loadScript(t, name)
			spans := run(tr, steps)
			metrics := formatMetrics(tr)
			// Whatever is still open expires a day later, so every span shows.
			flushed := tr.Expire(steps[len(steps)-1].at.Add(24 * time.Hour))
			checkTree(t, append(slices.Clone(spans), flushed...))
			golden(t, name, formatSpans(spans)+"--- expired a day after the last event\n"+formatSpans(flushed)+
				"--- metrics before that expiry\n"+metrics)
		})
	}
}

// checkTree asserts invariants every span list must satisfy: keys unique per
// session, every parent emitted or still open (never unknown), end not before start.
func checkTree(tb testing.TB, spans []Span) {
	tb.Helper()
	seen := map[string]bool{}
	for _, s := range spans {
		id := s.SessionID + "/" + s.Key
		if seen[id] {
			tb.Errorf("span key %s emitted twice", id)
		}
		seen[id] = true
		if s.End.Before(s.Start) {
			tb.Errorf("span %s ends before it starts", id)
		}
		if s.Kind == KindSession {
			if s.ParentKey != "" {
				tb.Errorf("root %s has parent %q", id, s.ParentKey)
			}
			continue
		}
		if s.ParentKey == "" {
			tb.Errorf("span %s has no parent", id)
		}
	}
	for _, s := range spans {
		if s.ParentKey != "" && !seen[s.SessionID+"/"+s.ParentKey] {
			tb.Errorf("span %s: parent %s never emitted", s.Key, s.ParentKey)
		}
	}
}

// TestRestartAnywhere splits every script at every position: apply the first
// part, serialise, restore into a new tracker, apply the rest. The spans and
// the final state must equal an uninterrupted run's.
func TestRestartAnywhere(t *testing.T) {
	for _, name := range scripts {
		t.Run(name, func(t *testing.T) {
			steps := loadScript(t, name)
			whole := New(Options{})
			want := run(whole, steps)
			wantState, err := whole.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			for k := range len(steps) + 1 {
				first := New(Options{})
				got := run(first, steps[:k])
				b, err := first.MarshalState()
				if err != nil {
					t.Fatalf("split %d: marshal: %v", k, err)
				}
				second := New(Options{})
				if err := second.UnmarshalState(b); err != nil {
					t.Fatalf("split %d: unmarshal: %v", k, err)
				}
				got = append(got, run(second, steps[k:])...)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("split %d: spans differ (-uninterrupted +restarted):\n%s", k, diff)
				}
				gotState, err := second.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(wantState, gotState) {
					t.Fatalf("split %d: state differs:\nwant %s\ngot  %s", k, wantState, gotState)
				}
			}
		})
	}
}

// TestRestartBetweenPreAndPost is the restart case spelled out: one tool span
// and one duration observation, whether or not the daemon restarted between.
func TestRestartBetweenPreAndPost(t *testing.T) {
	pre := &hookevent.Event{Name: "PreToolUse", SessionID: "s1", ToolName: "Bash", ToolUseID: "toolu_1", Command: "go test ./...", Received: base}
	post := &hookevent.Event{Name: "PostToolUse", SessionID: "s1", ToolName: "Bash", ToolUseID: "toolu_1", Outcome: hookevent.OutcomeSuccess, Received: base.Add(3 * time.Second)}
	first := New(Options{})
	if spans := first.Apply(pre); len(spans) != 0 {
		t.Fatalf("PreToolUse closed %d spans", len(spans))
	}
	b, err := first.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	second := New(Options{})
	if err := second.UnmarshalState(b); err != nil {
		t.Fatal(err)
	}
	spans := second.Apply(post)
	if len(spans) != 1 || spans[0].Key != "tool:toolu_1" || spans[0].End.Sub(spans[0].Start) != 3*time.Second {
		t.Fatalf("spans after restart: %+v", spans)
	}
	second.Read(func(s *Snapshot) {
		h := s.Metrics.ToolDuration["Bash"]
		if h == nil || h.Count != 1 || h.Sum != 3 {
			t.Errorf("tool duration histogram: %+v", h)
		}
		if c := s.Metrics.ToolCalls["Bash"]; c == nil || c.Success != 1 {
			t.Errorf("tool calls: %+v", c)
		}
		if s.Metrics.Events["PreToolUse"] != 1 || s.Metrics.Events["PostToolUse"] != 1 {
			t.Errorf("events: %v", s.Metrics.Events)
		}
	})
}

func TestUnmarshalStateRejects(t *testing.T) {
	tests := []struct {
		name  string
		state string
	}{
		{"not json", `{`},
		{"wrong version", `{"v":99}`},
		{"session id mismatch", `{"v":1,"sessions":{"a":{"id":"b","gen":1}}}`},
		{"null session", `{"v":1,"sessions":{"a":null}}`},
		{"bad histogram", `{"v":1,"metrics":{"turn_duration":{"bounds":[1],"counts":[5,0],"count":1}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Options{})
			tr.Apply(&hookevent.Event{Name: "SessionStart", SessionID: "keep", Received: base})
			if err := tr.UnmarshalState([]byte(tc.state)); err == nil {
				t.Fatal("UnmarshalState accepted a damaged state")
			}
			tr.Read(func(s *Snapshot) {
				if s.SessionsActive != 1 {
					t.Errorf("a refused state replaced the tracker's: %d sessions", s.SessionsActive)
				}
			})
		})
	}
}

func TestCommandName(t *testing.T) {
	tests := []struct{ cmd, want string }{
		{"npm test -- src/billing", "npm"},
		{"  /usr/bin/git status", "git"},
		{"FOO=1 BAR_2=x make -j4", "make"},
		{"cd src && make", "cd"},
		{"(cd src; make)", "cd"},
		{`"./run tests.sh" --fast`, "run"},
		{"", ""},
		{"A=1", ""},
		{"=x ls", "=x"},
	}
	for _, tc := range tests {
		if got := commandName(tc.cmd); got != tc.want {
			t.Errorf("commandName(%q) = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func TestToolErrorType(t *testing.T) {
	tests := []struct{ outcome, msg, want string }{
		{OutcomeSuccess, "", ""},
		{OutcomeInterrupted, "Interrupted by user", "interrupted"},
		{OutcomeDenied, "Blocked by classifier", "denied"},
		{OutcomeFailure, "Exit code 1\nFAIL", "exit_code"},
		{OutcomeFailure, "Command timed out after 2m", "timeout"},
		{OutcomeFailure, "The user doesn't want to proceed with this tool use.", "rejected"},
		{OutcomeFailure, "File does not exist.", "not_found"},
		{OutcomeFailure, "something else", "tool_error"},
	}
	for _, tc := range tests {
		if got := toolErrorType(tc.outcome, tc.msg); got != tc.want {
			t.Errorf("toolErrorType(%q, %q) = %q, want %q", tc.outcome, tc.msg, got, tc.want)
		}
	}
}
