package session

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/pricing"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

const sampleSession = "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"
const samplePrompt = "0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60"
const sampleAgent = "a4d2c8f1e0b3a297"

// closesSpan reports whether an event can close a turn, subagent or session:
// the wiring polls the transcripts before applying those, because Claude
// Code writes a response's lines before the hooks that follow it.
func closesSpan(name string) bool {
	switch name {
	case "Stop", "StopFailure", "SubagentStop", "SessionEnd":
		return true
	}
	return false
}

// runWired applies steps the way the pipeline wires the follower and the
// tracker: track each event's transcripts, poll before an event that closes
// something, apply, forget a session when its root closes, and poll after
// each step (the pipeline: after each batch). appendAt(i) writes
// the transcript bytes that exist before step i.
func runWired(tb testing.TB, tr *Tracker, f *transcript.Follower, steps []step, appendAt func(i int)) []Span {
	tb.Helper()
	var out []Span
	poll := func() {
		for _, u := range f.Poll() {
			tr.ApplyUsage(u)
		}
	}
	for i, st := range steps {
		if appendAt != nil {
			appendAt(i)
		}
		var spans []Span
		if st.expire {
			spans = tr.Expire(st.at)
		} else {
			f.Track(st.ev)
			if closesSpan(st.ev.Name) {
				poll()
			}
			spans = tr.Apply(st.ev)
		}
		for _, s := range spans {
			if s.Kind == KindSession {
				f.Forget(s.SessionID)
			}
		}
		out = append(out, spans...)
		poll()
	}
	return out
}

// sampleLayout writes the shared sample transcripts where Claude Code keeps
// them under root and points the steps' transcript paths there.
func sampleLayout(tb testing.TB, root string, steps []step) (main, agent string, mainData, agentData []byte) {
	tb.Helper()
	proj := filepath.Join(root, "-home-dev-src-acme-api")
	main = filepath.Join(proj, sampleSession+".jsonl")
	agent = filepath.Join(proj, sampleSession, "subagents", "agent-"+sampleAgent+".jsonl")
	if err := os.MkdirAll(filepath.Dir(agent), 0o755); err != nil {
		tb.Fatal(err)
	}
	var err error
	if mainData, err = os.ReadFile(filepath.Join("..", "transcript", "testdata", "transcript.jsonl")); err != nil {
		tb.Fatal(err)
	}
	if agentData, err = os.ReadFile(filepath.Join("..", "transcript", "testdata", "transcript-subagent.jsonl")); err != nil {
		tb.Fatal(err)
	}
	for _, st := range steps {
		if st.ev == nil {
			continue
		}
		if st.ev.TranscriptPath != "" {
			st.ev.TranscriptPath = main
		}
		if st.ev.AgentTranscriptPath != "" {
			st.ev.AgentTranscriptPath = agent
		}
	}
	return main, agent, mainData, agentData
}

func appendFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer fd.Close()
	if _, err := fd.Write(b); err != nil {
		tb.Fatal(err)
	}
}

// usageScenario is the sample session of events-current.jsonl with the
// sample transcripts written as Claude Code would: the first response after
// the prompt, the subagent's transcript while it runs, the last response
// before Stop.
func usageScenario(tb testing.TB) (steps []step, appendAt func(int)) {
	tb.Helper()
	steps = loadScript(tb, "events-current")
	main, agent, mainData, agentData := sampleLayout(tb, tb.TempDir(), steps)
	lines := bytes.SplitAfter(mainData, []byte("\n"))
	at := map[string]func(){
		"UserPromptSubmit": func() {}, // the prompt line and nothing else yet
		"PreToolUse":       func() { appendFile(tb, main, bytes.Join(lines[:3], nil)) },
		"SubagentStop":     func() { appendFile(tb, agent, agentData) },
		"Stop":             func() { appendFile(tb, main, bytes.Join(lines[3:], nil)) },
	}
	done := map[string]bool{}
	appendAt = func(i int) {
		if i == 0 {
			appendFile(tb, main, nil)
		}
		if ev := steps[i].ev; ev != nil && at[ev.Name] != nil && !done[ev.Name] {
			done[ev.Name] = true
			at[ev.Name]()
		}
	}
	return steps, appendAt
}

// TestUsageSpanGolden: usage from the sample transcripts lands on the turn,
// the subagent (sidechain lines) and the root, with models and cost.
func TestUsageSpanGolden(t *testing.T) {
	steps, appendAt := usageScenario(t)
	tr := New(Options{})
	spans := runWired(t, tr, transcript.NewFollower(transcript.Options{}), steps, appendAt)
	checkTree(t, spans)
	golden(t, "usage", formatSpans(spans)+"--- metrics\n"+formatMetrics(tr)+formatUsageMetrics(tr))

	opus, _ := pricing.Default().Lookup("claude-opus-4-6")
	haiku, _ := pricing.Default().Lookup("claude-haiku-4-5")
	opusCost := opus.Cost(pricing.Tokens{Input: 4, Output: 283, CacheRead: 33639, CacheWrite: 5551, CacheWrite1h: 5551})
	haikuCost := haiku.Cost(pricing.Tokens{Input: 9, Output: 71, CacheWrite: 3120})
	want := map[Kind][]Attr{
		KindTurn: {
			{Key: AttrRequestModel, Value: "claude-opus-4-6"}, {Key: AttrResponseModel, Value: "claude-opus-4-6"},
			{Key: AttrUsageInput, Value: int64(4 + 33639 + 5551 + 9 + 3120)}, {Key: AttrUsageOutput, Value: int64(283 + 71)},
			{Key: AttrUsageCacheRead, Value: int64(33639)}, {Key: AttrUsageCacheCreation, Value: int64(5551 + 3120)},
			{Key: AttrCostUSD, Value: math.Round((opusCost+haikuCost)*1e6) / 1e6}, {Key: AttrModels, Value: "claude-haiku-4-5,claude-opus-4-6"},
		},
		KindSubagent: {
			{Key: AttrRequestModel, Value: "claude-haiku-4-5"}, {Key: AttrResponseModel, Value: "claude-haiku-4-5"},
			{Key: AttrUsageInput, Value: int64(9 + 3120)}, {Key: AttrUsageOutput, Value: int64(71)},
			{Key: AttrUsageCacheRead, Value: int64(0)}, {Key: AttrUsageCacheCreation, Value: int64(3120)},
			{Key: AttrCostUSD, Value: math.Round(haikuCost*1e6) / 1e6}, {Key: AttrModels, Value: "claude-haiku-4-5"},
		},
	}
	want[KindSession] = slices.Clone(want[KindTurn][1:]) // the root names its request model from SessionStart
	for _, s := range spans {
		w, ok := want[s.Kind]
		if !ok {
			continue
		}
		if diff := cmp.Diff(w, usageOf(s)); diff != "" {
			t.Errorf("%s %s usage attributes (-want +got):\n%s", s.Kind, s.Key, diff)
		}
		delete(want, s.Kind)
	}
	if len(want) != 0 {
		t.Errorf("spans without usage: %v", slices.Collect(maps.Keys(want)))
	}
	tr.Read(func(s *Snapshot) {
		if got := s.Metrics.Cost["claude-opus-4-6"].Value; math.Abs(got-opusCost) > 1e-12 {
			t.Errorf("opus cost %v, want %v", got, opusCost)
		}
		if got := s.Metrics.Tokens["claude-haiku-4-5"].CacheCreation.Value; got != 3120 {
			t.Errorf("haiku cache creation tokens %v", got)
		}
	})
}

// usageOf returns a span's usage attributes.
func usageOf(s Span) []Attr {
	var out []Attr
	for _, a := range s.Attrs {
		switch a.Key {
		case AttrResponseModel, AttrUsageInput, AttrUsageOutput, AttrUsageCacheRead, AttrUsageCacheCreation, AttrCostUSD, AttrModels:
			out = append(out, a)
		case AttrRequestModel:
			if s.Kind != KindSession {
				out = append(out, a)
			}
		}
	}
	return out
}

func formatUsageMetrics(tr *Tracker) string {
	var lines []string
	tr.Read(func(s *Snapshot) {
		m := s.Metrics
		for model, tc := range m.Tokens {
			for _, typ := range TokenTypes {
				c := tc.ByType(typ)
				lines = append(lines, fmt.Sprintf("tokens{%s,%s} %v debt=%v", model, typ, c.Value, c.Debt))
			}
		}
		for model, c := range m.Cost {
			lines = append(lines, fmt.Sprintf("cost_usd{%s} %.9f debt=%v", model, c.Value, c.Debt))
		}
		for model, c := range m.UnpricedTokens {
			lines = append(lines, fmt.Sprintf("unpriced_tokens{%s} %v debt=%v", model, c.Value, c.Debt))
		}
		lines = append(lines, "models "+strings.Join(s.ModelLabels, ","))
	})
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

var t0 = base

func ev(name, session string, at int, mod func(*hookevent.Event)) *hookevent.Event {
	e := &hookevent.Event{Name: name, SessionID: session, Received: t0.Add(time.Duration(at) * time.Second)}
	if mod != nil {
		mod(e)
	}
	return e
}

func withPrompt(p string) func(*hookevent.Event) { return func(e *hookevent.Event) { e.PromptID = p } }

func withAgent(p, a string) func(*hookevent.Event) {
	return func(e *hookevent.Event) { e.PromptID, e.AgentID, e.AgentType = p, a, "Explore" }
}

func spanByKey(spans []Span, key string) *Span {
	for i := range spans {
		if spans[i].Key == key {
			return &spans[i]
		}
	}
	return nil
}

func attr(s *Span, key string) any {
	if s == nil {
		return nil
	}
	for _, a := range s.Attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return nil
}

// TestUsageAttribution: the rules for usage that arrives before its span
// opens, while it is open, and after it closed.
func TestUsageAttribution(t *testing.T) {
	u := func(prompt, agent string, out int64) transcript.Usage {
		return transcript.Usage{SessionID: "s", PromptID: prompt, AgentID: agent, Model: "claude-sonnet-4-5", MessageID: "m", Output: out}
	}
	tr := New(Options{})
	var spans []Span
	apply := func(e *hookevent.Event) { spans = append(spans, tr.Apply(e)...) }
	tr.ApplyUsage(u("p1", "", 1)) // no session yet: metrics only
	apply(ev("SessionStart", "s", 0, nil))
	tr.ApplyUsage(u("p1", "", 2))   // before the prompt's turn opened: waits
	tr.ApplyUsage(u("p1", "a1", 4)) // before the subagent opened: waits, for the turn too
	apply(ev("UserPromptSubmit", "s", 1, withPrompt("p1")))
	tr.ApplyUsage(u("", "", 8)) // no prompt id: the open turn
	apply(ev("SubagentStart", "s", 2, withAgent("p1", "a1")))
	tr.ApplyUsage(u("p1", "a1", 16))
	apply(ev("SubagentStop", "s", 3, withAgent("p1", "a1")))
	tr.ApplyUsage(u("p1", "a1", 32)) // after the subagent closed: turn and root
	apply(ev("Stop", "s", 4, withPrompt("p1")))
	tr.ApplyUsage(u("p1", "", 64)) // after the turn closed: root only
	apply(ev("UserPromptSubmit", "s", 5, withPrompt("p2")))
	tr.ApplyUsage(u("p3", "", 128)) // another prompt than the open turn's: waits for p3
	apply(ev("Stop", "s", 6, withPrompt("p2")))
	apply(ev("SessionEnd", "s", 7, nil))
	tr.ApplyUsage(u("p1", "", 256)) // after the session closed: metrics only

	for _, tc := range []struct {
		key  string
		want any
	}{
		{"agent:a1", int64(4 + 16)},
		{"turn:p1", int64(2 + 4 + 8 + 16 + 32)},
		{"turn:p2", nil},
		{"session", int64(2 + 4 + 8 + 16 + 32 + 64 + 128)},
	} {
		if got := attr(spanByKey(spans, tc.key), AttrUsageOutput); got != tc.want {
			t.Errorf("%s output tokens = %v, want %v", tc.key, got, tc.want)
		}
	}
	tr.Read(func(s *Snapshot) {
		if got := s.Metrics.Tokens["claude-sonnet-4-5"].Output.Value; got != 511 {
			t.Errorf("output tokens metric = %v, want 511", got)
		}
	})
}

// TestUsageNegativeChange: a later line lowering a figure lowers the spans'
// figures but never a Prometheus counter; the counter catches up.
func TestUsageNegativeChange(t *testing.T) {
	tr := New(Options{})
	tr.Apply(ev("UserPromptSubmit", "s", 0, withPrompt("p")))
	for _, out := range []int64{100, -30, 10} {
		tr.ApplyUsage(transcript.Usage{SessionID: "s", PromptID: "p", Model: "claude-haiku-4-5", Output: out})
	}
	var checks []float64
	tr.Read(func(s *Snapshot) {
		c := s.Metrics.Tokens["claude-haiku-4-5"].Output
		checks = append(checks, c.Value, c.Debt, s.Metrics.Cost["claude-haiku-4-5"].Value)
	})
	if diff := cmp.Diff([]float64{100, 20, 100 * 5 / 1e6}, checks); diff != "" {
		t.Errorf("value, debt, cost (-want +got):\n%s", diff)
	}
	tr.ApplyUsage(transcript.Usage{SessionID: "s", PromptID: "p", Model: "claude-haiku-4-5", Output: 25})
	spans := tr.Apply(ev("Stop", "s", 1, withPrompt("p")))
	if got := attr(spanByKey(spans, "turn:p"), AttrUsageOutput); got != int64(105) {
		t.Errorf("turn output = %v, want 105", got)
	}
	tr.Read(func(s *Snapshot) {
		if c := s.Metrics.Tokens["claude-haiku-4-5"].Output; c.Value != 105 || c.Debt != 0 {
			t.Errorf("counter %+v, want 105 without debt", c)
		}
	})
}

func TestCounter(t *testing.T) {
	tests := []struct {
		adds        []float64
		value, debt float64
	}{
		{[]float64{1, 2}, 3, 0},
		{[]float64{10, -3}, 10, 3},
		{[]float64{10, -3, 2}, 10, 1},
		{[]float64{10, -3, 5}, 12, 0},
		{[]float64{-5, 5, 1}, 1, 0},
	}
	for _, tc := range tests {
		var c Counter
		for _, a := range tc.adds {
			c.add(a)
		}
		if c.Value != tc.value || c.Debt != tc.debt {
			t.Errorf("%v: %+v, want value %v debt %v", tc.adds, c, tc.value, tc.debt)
		}
	}
}

// TestUsageModelLabels: model labels are capped; unknown models cost nothing
// and count as unpriced.
func TestUsageModelLabels(t *testing.T) {
	tr := New(Options{MaxModels: 2})
	for _, m := range []string{"claude-opus-4-6", "gpt-9", "claude-haiku-4-5", "", "claude-opus-4-6"} {
		tr.ApplyUsage(transcript.Usage{SessionID: "s", Model: m, Input: 10})
	}
	tr.Read(func(s *Snapshot) {
		m := s.Metrics
		if diff := cmp.Diff([]string{"claude-opus-4-6", "gpt-9"}, s.ModelLabels); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		got := map[string]float64{}
		for l, tc := range m.Tokens {
			got[l] = tc.Input.Value
		}
		if diff := cmp.Diff(map[string]float64{"claude-opus-4-6": 20, "gpt-9": 10, LabelOther: 10, LabelUnknown: 10}, got); diff != "" {
			t.Errorf("input tokens by label (-want +got):\n%s", diff)
		}
		if m.Overflow[OverflowModelLabels] != 1 {
			t.Errorf("model label overflow = %d", m.Overflow[OverflowModelLabels])
		}
		if m.Cost["gpt-9"].Value != 0 || m.UnpricedTokens["gpt-9"].Value != 10 || m.UnpricedTokens[LabelUnknown].Value != 10 {
			t.Errorf("unknown models: cost %+v, unpriced %+v", m.Cost["gpt-9"], m.UnpricedTokens)
		}
		if m.UnpricedTokens[LabelOther] != nil || m.Cost[LabelOther].Value == 0 {
			t.Errorf("haiku folded into other must still be priced: %+v %+v", m.UnpricedTokens[LabelOther], m.Cost[LabelOther])
		}
	})
}

// TestUsagePendingBound: usage for more not yet opened prompts than the cap
// is counted but left off their spans.
func TestUsagePendingBound(t *testing.T) {
	tr := New(Options{})
	tr.Apply(ev("SessionStart", "s", 0, nil))
	for i := range maxPendingUsage + 3 {
		tr.ApplyUsage(transcript.Usage{SessionID: "s", PromptID: fmt.Sprint("p", i), Model: "x", Output: 1})
	}
	tr.Read(func(s *Snapshot) {
		if n := s.Metrics.Overflow[OverflowPendingUsage]; n != 3 {
			t.Errorf("pending overflow = %d, want 3", n)
		}
	})
	spans := tr.Apply(ev("UserPromptSubmit", "s", 1, withPrompt("p0")))
	spans = append(spans, tr.Apply(ev("SessionEnd", "s", 2, nil))...)
	if got := attr(spanByKey(spans, "turn:p0"), AttrUsageOutput); got != int64(1) {
		t.Errorf("turn p0 output = %v, want 1", got)
	}
	if got := attr(spanByKey(spans, "session"), AttrUsageOutput); got != int64(maxPendingUsage+3) {
		t.Errorf("root output = %v, want %d", got, maxPendingUsage+3)
	}
}

// TestUsageRestartAnywhere: the sample scenario with its transcripts, with
// the tracker and the follower serialised and restored at every step (the
// pipeline checkpoints both together), yields the same spans and metrics as
// an uninterrupted run.
func TestUsageRestartAnywhere(t *testing.T) {
	steps, appendAt := usageScenario(t)
	whole := New(Options{})
	want := runWired(t, whole, transcript.NewFollower(transcript.Options{}), steps, appendAt)
	wantState, err := whole.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	for k := range len(steps) + 1 {
		steps, appendAt := usageScenario(t)
		tr, f := New(Options{}), transcript.NewFollower(transcript.Options{})
		got := runWired(t, tr, f, steps[:k], appendAt)
		tb, err := tr.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		fb, err := f.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		tr, f = New(Options{}), transcript.NewFollower(transcript.Options{})
		if err := tr.UnmarshalState(tb); err != nil {
			t.Fatal(err)
		}
		if err := f.UnmarshalState(fb); err != nil {
			t.Fatal(err)
		}
		got = append(got, runWired(t, tr, f, steps[k:], func(i int) { appendAt(i + k) })...)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("split %d: spans differ (-uninterrupted +restarted):\n%s", k, diff)
		}
		gotState, err := tr.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wantState, gotState) {
			t.Fatalf("split %d: state differs:\nwant %s\ngot  %s", k, wantState, gotState)
		}
	}
}

// BenchmarkApplyUsage: one usage change applied to an open turn and
// subagent of one of 64 open sessions: metrics, price lookup, three spans.
func BenchmarkApplyUsage(b *testing.B) {
	tr := New(Options{})
	var us []transcript.Usage
	for i := range 64 {
		s := fmt.Sprintf("s%d", i)
		tr.Apply(ev("UserPromptSubmit", s, 0, withPrompt("p")))
		tr.Apply(ev("SubagentStart", s, 1, withAgent("p", "a")))
		us = append(us,
			transcript.Usage{SessionID: s, PromptID: "p", Model: "claude-opus-4-6", MessageID: "m", Input: 3, Output: 187, CacheRead: 14250, CacheCreation: 5139, CacheCreation1h: 5139},
			transcript.Usage{SessionID: s, PromptID: "p", AgentID: "a", Model: "claude-haiku-4-5", MessageID: "n", Input: 9, Output: 71, CacheCreation: 3120})
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		tr.ApplyUsage(us[i])
		if i++; i == len(us) {
			i = 0
		}
	}
}

// TestUsageFamilyPrice: a model the price table does not list yet, but whose
// family it knows, costs what the newest listed model of the family costs and
// is counted as estimated, not as unknown; the models Claude Code 2.1.337 uses
// are listed.
func TestUsageFamilyPrice(t *testing.T) {
	tr := New(Options{})
	for _, m := range []string{"claude-opus-6", "claude-opus-5-5", "claude-haiku-4-5"} {
		tr.ApplyUsage(transcript.Usage{SessionID: "s", Model: m, Input: 1000, Output: 100})
	}
	tr.Read(func(s *Snapshot) {
		m := s.Metrics
		// claude-opus-5-5: $4 input, $20 output per million tokens.
		const opus55 = (1000*4 + 100*20) / 1e6
		if got := m.Cost["claude-opus-6"].Value; math.Abs(got-opus55) > 1e-12 {
			t.Errorf("cost of claude-opus-6 = %v, want %v (priced as claude-opus-5-5)", got, opus55)
		}
		if got := m.EstimatedTokens["claude-opus-6"]; got == nil || got.Value != 1100 {
			t.Errorf("estimated tokens of claude-opus-6 = %+v, want 1100", got)
		}
		if len(m.UnpricedTokens) != 0 {
			t.Errorf("unpriced tokens %+v, want none", m.UnpricedTokens)
		}
		for _, listed := range []string{"claude-opus-5-5", "claude-haiku-4-5"} {
			if m.EstimatedTokens[listed] != nil || m.Cost[listed].Value == 0 {
				t.Errorf("%s: estimated %+v, cost %+v; want listed and priced", listed, m.EstimatedTokens[listed], m.Cost[listed])
			}
		}
	})
}
