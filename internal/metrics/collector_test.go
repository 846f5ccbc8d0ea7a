package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/claudehooks/claude-hooks-exporter/internal/histo"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

var update = flag.Bool("update", false, "rewrite golden files")

var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// loadEvents reads testdata/sessions.jsonl: {"t": seconds, "p": payload} lines.
func loadEvents(tb testing.TB) []*hookevent.Event {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sessions.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var evs []*hookevent.Event
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			T float64         `json:"t"`
			P json.RawMessage `json:"p"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatal(err)
		}
		ev, err := hookevent.Decode(l.P)
		if err != nil {
			tb.Fatalf("decode %s: %v", l.P, err)
		}
		ev.Received = base.Add(time.Duration(math.Round(l.T*1000)) * time.Millisecond)
		evs = append(evs, &ev)
	}
	return evs
}

// usageFixture is transcript usage of the sample session: two Opus responses
// (one counted in two steps), a Haiku subagent, a model without a price, and
// a correction downwards that the counter absorbs.
func usageFixture() []transcript.Usage {
	return []transcript.Usage{
		{SessionID: "s1", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m1", Input: 3, Output: 20, CacheRead: 14250, CacheCreation: 5139, CacheCreation1h: 5139},
		{SessionID: "s1", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m1", Output: 167},
		{SessionID: "s1", PromptID: "p1", Model: "claude-opus-4-6", MessageID: "m2", Input: 1, Output: 96, CacheRead: 19389, CacheCreation: 412, CacheCreation1h: 412},
		{SessionID: "s1", PromptID: "p1", AgentID: "a1", Model: "claude-haiku-4-5", MessageID: "m3", Input: 9, Output: 71, CacheCreation: 3120},
		{SessionID: "s1", Model: "claude-experimental-9", MessageID: "m4", Input: 5, Output: 7},
		{SessionID: "s1", Model: "claude-experimental-9", MessageID: "m4", Output: -2},
	}
}

func ingestFixture() IngestSnapshot {
	lag := histo.New([]float64{0.001, 0.01, 0.1, 1})
	for _, v := range []float64{0.0004, 0.002, 0.002, 0.03, 2} {
		lag.Observe(v)
	}
	return IngestSnapshot{
		RejectedByReason:        map[string]uint64{"invalid_json": 2, "malformed_record": 1},
		SpoolBacklogBytes:       4096,
		CheckpointWriteFailures: 1,
		EventsApplied:           47,
		IngestLag:               lag,
	}
}

var rejectReasons = []string{"malformed_record", "invalid_json", "empty", "oversized", "invalid_event", "no_session_id"}

func registry(tb testing.TB, tr *session.Tracker, ingest func() IngestSnapshot) *prometheus.Registry {
	tb.Helper()
	c, err := New(Options{
		Tracker:       tr,
		Ingest:        ingest,
		RejectReasons: rejectReasons,
		Version:       "1.2.3",
		Revision:      "abc1234",
		GoVersion:     "go1.26.8",
		Now:           func() time.Time { return base.Add(400 * time.Second) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		tb.Fatalf("register: %v", err)
	}
	return reg
}

// format renders everything reg gathers in the text format. (testutil's
// GatherAndFormat returns nothing when given no metric names.)
func format(tb testing.TB, reg prometheus.Gatherer) []byte {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			tb.Fatalf("encode: %v", err)
		}
	}
	return b.Bytes()
}

func TestMetricsGolden(t *testing.T) {
	tests := []struct {
		name   string
		events bool
		usage  bool
		ingest func() IngestSnapshot
	}{
		{"empty", false, false, nil},
		{"sessions", true, false, ingestFixture},
		{"usage", true, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := session.New(session.Options{})
			if tc.events {
				for _, ev := range loadEvents(t) {
					tr.Apply(ev)
				}
			}
			if tc.usage {
				for _, u := range usageFixture() {
					tr.ApplyUsage(u)
				}
			}
			reg := registry(t, tr, tc.ingest)
			path := filepath.Join("testdata", tc.name+".prom")
			if *update {
				if err := os.WriteFile(path, format(t, reg), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("open golden (run with -update to create): %v", err)
			}
			defer f.Close()
			if err := testutil.GatherAndCompare(reg, f); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			problems, err := testutil.GatherAndLint(reg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}

// TestNativeHistograms checks that the protobuf side carries native buckets
// next to the classic ones.
func TestNativeHistograms(t *testing.T) {
	tr := session.New(session.Options{})
	for _, ev := range loadEvents(t) {
		tr.Apply(ev)
	}
	mfs, err := registry(t, tr, ingestFixture).Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if !strings.HasSuffix(mf.GetName(), "_seconds") || mf.GetType().String() != "HISTOGRAM" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleCount() == 0 {
				continue
			}
			seen[mf.GetName()] = true
			if h.GetSchema() != histo.Schema || len(h.GetPositiveSpan()) == 0 || len(h.GetBucket()) == 0 {
				t.Errorf("%s%v: schema %d, %d spans, %d classic buckets", mf.GetName(), m.GetLabel(), h.GetSchema(), len(h.GetPositiveSpan()), len(h.GetBucket()))
			}
		}
	}
	for _, name := range []string{"claude_hooks_tool_duration_seconds", "claude_hooks_turn_duration_seconds", "claude_hooks_permission_wait_seconds", "claude_hooks_subagent_duration_seconds", "claude_hooks_ingest_lag_seconds"} {
		if !seen[name] {
			t.Errorf("%s has no observations", name)
		}
	}
}

// TestMetricsSurviveRestart: a scrape after restoring a checkpoint taken half
// way and applying the rest equals a scrape of an uninterrupted run.
func TestMetricsSurviveRestart(t *testing.T) {
	evs := loadEvents(t)
	us := usageFixture()
	// Usage is applied after the event of the same index, as the pipeline
	// interleaves transcript polls with events.
	apply := func(tr *session.Tracker, i int) {
		tr.Apply(evs[i])
		if i < len(us) {
			tr.ApplyUsage(us[i])
		}
	}
	whole := session.New(session.Options{})
	for i := range evs {
		apply(whole, i)
	}
	for _, split := range []int{1, len(evs) / 3, len(evs) / 2, len(evs) - 1} {
		first := session.New(session.Options{})
		for i := range split {
			apply(first, i)
		}
		b, err := first.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		second := session.New(session.Options{})
		if err := second.UnmarshalState(b); err != nil {
			t.Fatal(err)
		}
		for i := split; i < len(evs); i++ {
			apply(second, i)
		}
		want := format(t, registry(t, whole, nil))
		if err := testutil.GatherAndCompare(registry(t, second, nil), bytes.NewReader(want)); err != nil {
			t.Errorf("split %d: %v", split, err)
		}
	}
}

// TestBadLabelValueDoesNotFailScrape: a label value that is not valid UTF-8
// is left out; the scrape still succeeds.
func TestBadLabelValueDoesNotFailScrape(t *testing.T) {
	ingest := func() IngestSnapshot {
		s := ingestFixture()
		s.RejectedByReason["bad\xffreason"] = 3
		return s
	}
	reg := registry(t, session.New(session.Options{}), ingest)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "claude_hooks_records_rejected_total" {
			continue
		}
		if n := len(mf.GetMetric()); n != len(rejectReasons) {
			t.Errorf("rejected series: got %d, want %d", n, len(rejectReasons))
		}
		return
	}
	t.Error("claude_hooks_records_rejected_total missing")
}

func TestNewNeedsTracker(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a tracker succeeded")
	}
}

func TestOldestWaitAge(t *testing.T) {
	tr := session.New(session.Options{})
	tr.Apply(&hookevent.Event{Name: "PermissionRequest", SessionID: "s", ToolName: "Bash", Received: base.Add(100 * time.Second)})
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"five minutes later", base.Add(400 * time.Second), "300"},
		{"clock behind the wait", base, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Options{Tracker: tr, Now: func() time.Time { return tc.now }})
			if err != nil {
				t.Fatal(err)
			}
			want := `# HELP claude_hooks_oldest_wait_age_seconds Age of the longest current wait on the user; 0 when nobody waits.
# TYPE claude_hooks_oldest_wait_age_seconds gauge
claude_hooks_oldest_wait_age_seconds ` + tc.want + `
# HELP claude_hooks_sessions_waiting_on_user Open sessions blocked on the user: a permission prompt, a question, a plan approval or an MCP elicitation.
# TYPE claude_hooks_sessions_waiting_on_user gauge
claude_hooks_sessions_waiting_on_user 1
`
			if err := testutil.CollectAndCompare(c, strings.NewReader(want), "claude_hooks_oldest_wait_age_seconds", "claude_hooks_sessions_waiting_on_user"); err != nil {
				t.Error(err)
			}
		})
	}
}
