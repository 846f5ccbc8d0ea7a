package agreement

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/api"
	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookscript"
	"github.com/claudehooks/claude-hooks-exporter/internal/metrics"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/tracing"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// keepExporter keeps the spans through Shutdown, which the in-memory
// exporter would clear.
type keepExporter struct{ *tracetest.InMemoryExporter }

func (keepExporter) Shutdown(context.Context) error { return nil }

// daemon is the part of the exporter that derives views from the log: a
// tracker whose state is checkpointed with the log position, the store, the
// trace sink and the metrics collector over the tracker.
type daemon struct {
	tb    testing.TB
	opts  session.Options
	tr    *session.Tracker
	st    *store.Store
	sink  *tracing.Sink
	mem   *tracetest.InMemoryExporter
	items []hookscript.Item
	// ckState and ckNext are the last checkpoint: the tracker's state and the
	// index of the first item it does not cover.
	ckState []byte
	ckNext  int
	// batch collects what the items since the last delivery produced.
	events []wire.Event
	spans  []timeline.Span
	nextID int
}

func newDaemon(tb testing.TB, items []hookscript.Item) *daemon {
	tb.Helper()
	st, err := store.Open(context.Background(), store.Options{
		Path: filepath.Join(tb.TempDir(), "events.db"), MaxAge: -1,
		Now: func() time.Time { return base.Add(1000 * time.Hour) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	mem := tracetest.NewInMemoryExporter()
	sink, err := tracing.New(context.Background(), tracing.Options{Exporter: keepExporter{mem}, QueueSize: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	d := &daemon{tb: tb, opts: session.Options{}, st: st, sink: sink, mem: mem, items: items}
	d.tr = session.New(d.opts)
	state, err := d.tr.MarshalState()
	if err != nil {
		tb.Fatal(err)
	}
	d.ckState = state
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Error(err)
		}
	})
	return d
}

// apply applies item i; expiry runs in event time, as the daemon's periodic
// expiry does on its wall clock.
func (d *daemon) apply(i int) {
	it := d.items[i]
	if it.Usage != nil {
		d.tr.ApplyUsage(*it.Usage)
		return
	}
	ev, err := hookevent.Decode(it.Payload)
	if err != nil {
		d.tb.Fatalf("decode %s: %v", it.Payload, err)
	}
	ev.ID = fmt.Sprintf("%032x", i+1) // the record id: a replay repeats it
	ev.Received = it.At
	d.spans = append(d.spans, d.tr.Expire(it.At)...)
	d.spans = append(d.spans, d.tr.Apply(&ev)...)
	d.events = append(d.events, eventview.Of(&ev, 0, false))
}

// deliver hands the batch to the store and the trace sink, as the pipeline does.
func (d *daemon) deliver() {
	sums := d.tr.TakeSummaries(nil)
	if err := d.st.Insert(context.Background(), d.events, d.spans, sums); err != nil {
		d.tb.Fatal(err)
	}
	if err := d.sink.Export(context.Background(), d.spans); err != nil {
		d.tb.Fatal(err)
	}
	d.events, d.spans = d.events[:0], d.spans[:0]
}

// checkpoint records the tracker's state as covering items before next.
func (d *daemon) checkpoint(next int) {
	state, err := d.tr.MarshalState()
	if err != nil {
		d.tb.Fatal(err)
	}
	d.ckState, d.ckNext = state, next
}

// crash loses the tracker and the undelivered batch; the restarted daemon
// restores the checkpoint and returns where to replay from.
func (d *daemon) crash() int {
	d.events, d.spans = d.events[:0], d.spans[:0]
	d.tr = session.New(d.opts)
	if err := d.tr.UnmarshalState(d.ckState); err != nil {
		d.tb.Fatal(err)
	}
	return d.ckNext
}

// run applies every item in random batches, checkpointing some deliveries
// and crashing at random points, then expires everything.
func (d *daemon) run(r *rand.Rand) (crashes int) {
	for i := 0; i < len(d.items); {
		n := 1 + r.IntN(12)
		end := min(i+n, len(d.items))
		for j := i; j < end; j++ {
			d.apply(j)
		}
		if crashes < 5 && r.IntN(10) == 0 {
			crashes++
			i = d.crash() // before delivery: the batch is lost, the log is not
			continue
		}
		d.deliver()
		if r.IntN(3) == 0 {
			d.checkpoint(end)
		}
		i = end
	}
	last := d.items[len(d.items)-1].At
	d.spans = append(d.spans, d.tr.Expire(last.Add(48*time.Hour))...)
	d.deliver()
	return crashes
}

// view is what one view says of a session.
type view struct {
	Status          string
	Turns           wire.OutcomeCounts
	ToolCalls       wire.OutcomeCounts
	Subagents       int64
	Compactions     int64
	PermissionWaits int64
	Input, Output   int64
	CacheRead       int64
	CacheCreation   int64
	CostMicros      int64
}

func add(o *wire.OutcomeCounts, outcome string) {
	switch outcome {
	case "success":
		o.Success++
	case "failure":
		o.Failure++
	case "interrupted":
		o.Interrupted++
	case "denied":
		o.Denied++
	case "expired":
		o.Expired++
	}
}

// apiViews reads every session from the query API over the store.
func apiViews(tb testing.TB, st *store.Store, ids []string) map[string]view {
	tb.Helper()
	h := api.New(api.Options{Store: st})
	out := map[string]view{}
	for _, id := range ids {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/sessions/"+id, nil))
		if rec.Code == http.StatusNotFound {
			continue
		}
		if rec.Code != http.StatusOK {
			tb.Fatalf("GET session %s: %d %s", id, rec.Code, rec.Body)
		}
		var d wire.SessionDetail
		if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
			tb.Fatal(err)
		}
		s := d.Session
		if s.Turns != total(s.TurnsByOutcome) || s.ToolCalls != total(s.ToolCallsByOutcome) {
			tb.Errorf("session %s: %d turns, %d tool calls started, all closed: want %+v and %+v", id, s.Turns, s.ToolCalls, s.TurnsByOutcome, s.ToolCallsByOutcome)
		}
		out[id] = view{
			Status: s.Status, Turns: s.TurnsByOutcome, ToolCalls: s.ToolCallsByOutcome,
			Subagents: s.Subagents, Compactions: s.Compactions, PermissionWaits: s.PermissionWaits,
			Input: s.InputTokens, Output: s.OutputTokens, CacheRead: s.CacheReadTokens, CacheCreation: s.CacheCreationTokens,
			CostMicros: int64(math.Round(s.CostUSD * 1e6)),
		}
	}
	return out
}

func total(o wire.OutcomeCounts) int64 {
	return o.Success + o.Failure + o.Interrupted + o.Denied + o.Expired
}

// spanViews reads every session from the exported spans, each span id once
// (replays export a span again under the same id).
func spanViews(tb testing.TB, stubs tracetest.SpanStubs) map[string]view {
	tb.Helper()
	type root struct {
		end    time.Time
		status string
	}
	out := map[string]view{}
	roots := map[string]root{}
	seen := map[string]bool{}
	for _, s := range stubs {
		sid := s.SpanContext.SpanID().String()
		if seen[sid] {
			continue
		}
		seen[sid] = true
		attrs := map[string]any{}
		for _, kv := range s.Attributes {
			attrs[string(kv.Key)] = kv.Value.AsInterface()
		}
		id, _ := attrs["session.id"].(string)
		v := out[id]
		errType, _ := attrs["error.type"].(string)
		outcome := "success"
		switch errType {
		case "":
		case "interrupted", "denied", "expired":
			outcome = errType
		case "evicted":
			outcome = "expired"
		default:
			outcome = "failure"
		}
		switch {
		case !s.Parent.IsValid():
			status := timeline.StatusEnded
			if outcome == "expired" {
				status = timeline.StatusExpired
			}
			if r, ok := roots[id]; !ok || s.EndTime.After(r.end) {
				roots[id] = root{s.EndTime, status}
			}
			in, _ := attrs["gen_ai.usage.input_tokens"].(int64)
			cr, _ := attrs["gen_ai.usage.cache_read.input_tokens"].(int64)
			cc, _ := attrs["gen_ai.usage.cache_creation.input_tokens"].(int64)
			o, _ := attrs["gen_ai.usage.output_tokens"].(int64)
			cost, _ := attrs["claude_code.cost.usd"].(float64)
			v.Input += in - cr - cc
			v.CacheRead += cr
			v.CacheCreation += cc
			v.Output += o
			v.CostMicros += int64(math.Round(cost * 1e6))
		case s.Name == "turn":
			add(&v.Turns, outcome)
		case strings.HasPrefix(s.Name, "execute_tool"):
			add(&v.ToolCalls, outcome)
		case strings.HasPrefix(s.Name, "invoke_agent"):
			v.Subagents++
		case strings.HasPrefix(s.Name, "compaction"):
			v.Compactions++
		case strings.HasPrefix(s.Name, "permission_wait"):
			v.PermissionWaits++
		case strings.HasPrefix(s.Name, "skill_shell"):
			// Counted by its own metric, not in the summary.
		default:
			tb.Errorf("span %q of session %s: unknown kind", s.Name, id)
		}
		out[id] = v
	}
	for id, r := range roots {
		v := out[id]
		v.Status = r.status
		out[id] = v
	}
	return out
}

// metricTotals sums the collector's counters over their labels: turns and
// tool calls by outcome, subagents, compactions, permission requests,
// tokens by type and cost.
func metricTotals(tb testing.TB, tr *session.Tracker) view {
	tb.Helper()
	c, err := metrics.New(metrics.Options{Tracker: tr})
	if err != nil {
		tb.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		tb.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var v view
	var cost float64
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			n := int64(m.GetCounter().GetValue())
			switch mf.GetName() {
			case "claude_hooks_turns_total":
				for range n {
					add(&v.Turns, label(m, "outcome"))
				}
			case "claude_hooks_tool_calls_total":
				for range n {
					add(&v.ToolCalls, label(m, "outcome"))
				}
			case "claude_hooks_subagents_total":
				v.Subagents += n
			case "claude_hooks_compactions_total":
				v.Compactions += n
			case "claude_hooks_permission_requests_total":
				v.PermissionWaits += n
			case "claude_hooks_tokens_total":
				switch label(m, "type") {
				case "input":
					v.Input += n
				case "output":
					v.Output += n
				case "cache_read":
					v.CacheRead += n
				case "cache_creation":
					v.CacheCreation += n
				}
			case "claude_hooks_cost_usd_total":
				cost += m.GetCounter().GetValue()
			}
		}
	}
	v.CostMicros = int64(math.Round(cost * 1e6))
	return v
}

// sum adds the views of every session, as the metrics count them: expired
// tool calls are not counted (nobody knows how they ended) and the status
// is not a counter.
func sum(views map[string]view) view {
	var t view
	for _, v := range views {
		t.Turns = plus(t.Turns, v.Turns)
		tc := v.ToolCalls
		tc.Expired = 0
		t.ToolCalls = plus(t.ToolCalls, tc)
		t.Subagents += v.Subagents
		t.Compactions += v.Compactions
		t.PermissionWaits += v.PermissionWaits
		t.Input += v.Input
		t.Output += v.Output
		t.CacheRead += v.CacheRead
		t.CacheCreation += v.CacheCreation
		t.CostMicros += v.CostMicros
	}
	return t
}

func plus(a, b wire.OutcomeCounts) wire.OutcomeCounts {
	return wire.OutcomeCounts{Success: a.Success + b.Success, Failure: a.Failure + b.Failure,
		Interrupted: a.Interrupted + b.Interrupted, Denied: a.Denied + b.Denied, Expired: a.Expired + b.Expired}
}

// check runs items through a daemon and compares the views.
func check(t *testing.T, items []hookscript.Item, r *rand.Rand) {
	d := newDaemon(t, items)
	crashes := d.run(r)
	if err := d.sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := hookscript.SessionIDs(items)
	apiV := apiViews(t, d.st, ids)
	spanV := spanViews(t, d.mem.GetSpans())
	for _, id := range ids {
		if diff := cmp.Diff(spanV[id], apiV[id]); diff != "" {
			t.Errorf("session %s (%d crashes): API summary differs from the exported spans (-spans +api):\n%s", id, crashes, diff)
		}
	}
	// The cost of a session is rounded per generation; the metrics keep it
	// unrounded: they may differ by a micro-dollar per generation.
	got, want := metricTotals(t, d.tr), sum(apiV)
	if math.Abs(float64(got.CostMicros-want.CostMicros)) <= float64(2*len(items)) {
		got.CostMicros = want.CostMicros
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%d crashes: metrics differ from the sum of the API summaries (-api +metrics):\n%s", crashes, diff)
	}
}

// TestViewsAgree is the property: for generated scripts, the query API's
// session summaries, the exported spans and the metrics agree on turns and
// tool calls by outcome, subagents, compactions, permission waits, status,
// tokens and cost, through crashes and replays.
func TestViewsAgree(t *testing.T) {
	runs := 60
	if testing.Short() {
		runs = 15
	}
	for seed := range uint64(runs) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			check(t, hookscript.Generate(r, hookscript.Options{Base: base}), r)
		})
	}
}

// TestMidTurnStart is the case that made two session models disagree: the
// daemon's first event of a session is a tool call of a prompt it never saw.
func TestMidTurnStart(t *testing.T) {
	const id = "3a9d7c21-5e4b-4f8a-b1c2-9d8e7f6a5b40"
	var items []hookscript.Item
	for i, p := range []string{
		`{"session_id":"` + id + `","hook_event_name":"PreToolUse","prompt_id":"p0","tool_name":"Bash","tool_use_id":"t1"}`,
		`{"session_id":"` + id + `","hook_event_name":"PostToolUse","prompt_id":"p0","tool_name":"Bash","tool_use_id":"t1"}`,
		`{"session_id":"` + id + `","hook_event_name":"Stop","prompt_id":"p0"}`,
	} {
		items = append(items, hookscript.Item{At: base.Add(time.Duration(i) * time.Second), Payload: []byte(p)})
	}
	d := newDaemon(t, items)
	d.run(rand.New(rand.NewPCG(1, 1)))
	if err := d.sink.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	apiV := apiViews(t, d.st, []string{id})[id]
	if apiV.Turns != (wire.OutcomeCounts{Success: 1}) || apiV.ToolCalls != (wire.OutcomeCounts{Success: 1}) {
		t.Errorf("API: turns %+v, tool calls %+v; want one successful turn and call", apiV.Turns, apiV.ToolCalls)
	}
	if spanV := spanViews(t, d.mem.GetSpans())[id]; !cmp.Equal(spanV, apiV) {
		t.Errorf("spans %+v, API %+v", spanV, apiV)
	}
	if m := metricTotals(t, d.tr); m.Turns != apiV.Turns {
		t.Errorf("metrics turns %+v, API %+v", m.Turns, apiV.Turns)
	}
}
