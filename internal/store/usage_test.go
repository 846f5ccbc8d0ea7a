package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// usageFigures are the usage fields of a wire.Session.
type usageFigures struct {
	In, Out, CacheRead, CacheCreation int64
	Cost                              float64
	Models                            []string
}

func figuresOf(ss wire.Session) usageFigures {
	return usageFigures{ss.InputTokens, ss.OutputTokens, ss.CacheReadTokens, ss.CacheCreationTokens, ss.CostUSD, ss.Models}
}

// usageSpanOf is a closed span of session s1 with usage attributes as the
// tracker sets them: in is the uncached input, the attribute includes the
// cached parts.
func usageSpanOf(kind session.Kind, key, parent string, in, out, cr, cc int64, cost float64, models string) session.Span {
	at := storetest.Base
	attrs := []session.Attr{
		{Key: session.AttrSessionID, Value: "s1"},
		{Key: session.AttrUsageInput, Value: in + cr + cc},
		{Key: session.AttrUsageOutput, Value: out},
		{Key: session.AttrUsageCacheRead, Value: cr},
		{Key: session.AttrUsageCacheCreation, Value: cc},
		{Key: session.AttrCostUSD, Value: cost},
	}
	if models != "" {
		attrs = append(attrs, session.Attr{Key: session.AttrModels, Value: models})
	}
	return session.Span{Kind: kind, SessionID: "s1", Key: key, ParentKey: parent, Name: string(kind),
		Start: at, End: at.Add(time.Second), Outcome: "success", Attrs: attrs}
}

// TestSessionUsage: a session's figures are its root span's once stored, the
// sum of its closed turns before (subagents only through their turns), per
// generation of the session id; replays and batching change nothing.
func TestSessionUsage(t *testing.T) {
	var (
		turn1 = usageSpanOf(session.KindTurn, "turn:p1", "session", 10, 100, 1000, 200, 0.1, "claude-opus-4-6")
		turn2 = usageSpanOf(session.KindTurn, "turn:p2", "session", 5, 50, 500, 0, 0.2, "claude-haiku-4-5,claude-opus-4-6")
		// The subagent's usage is already in turn2.
		agent = usageSpanOf(session.KindSubagent, "agent:a1", "turn:p2", 3, 30, 300, 0, 0.05, "claude-haiku-4-5")
		tool  = session.Span{Kind: session.KindTool, SessionID: "s1", Key: "tool:t1", ParentKey: "turn:p1",
			Name: "execute_tool Bash", Start: storetest.Base, End: storetest.Base, Outcome: "success"}
		// The root holds the turns and what came between them.
		root1 = usageSpanOf(session.KindSession, "session", "", 20, 170, 2000, 200, 0.35, "claude-haiku-4-5,claude-opus-4-6")
		// A second generation (activity after expiry) under the same id.
		turn3 = usageSpanOf(session.KindTurn, "turn:p3#2", "session#2", 7, 70, 700, 70, 0.07, "claude-sonnet-4-5")
		root2 = usageSpanOf(session.KindSession, "session#2", "", 8, 80, 800, 80, 0.08, "claude-sonnet-4-5")
		bare  = session.Span{Kind: session.KindTurn, SessionID: "s1", Key: "turn:p4", ParentKey: "session",
			Name: "turn", Start: storetest.Base, End: storetest.Base, Outcome: "success"}
	)
	for _, tc := range []struct {
		name    string
		batches [][]session.Span
		want    usageFigures
	}{
		{"no spans", nil, usageFigures{}},
		{"turn without usage", [][]session.Span{{bare, tool}}, usageFigures{}},
		{"open: closed turns, subagent not again", [][]session.Span{{turn1, tool}, {agent}, {turn2}},
			usageFigures{15, 150, 1500, 200, 0.3, []string{"claude-haiku-4-5", "claude-opus-4-6"}}},
		{"open: turn replayed", [][]session.Span{{turn1}, {turn1, turn1}},
			usageFigures{10, 100, 1000, 200, 0.1, []string{"claude-opus-4-6"}}},
		{"ended: the root", [][]session.Span{{turn1}, {turn2, agent}, {root1}},
			usageFigures{20, 170, 2000, 200, 0.35, []string{"claude-haiku-4-5", "claude-opus-4-6"}}},
		{"ended: root before a replayed turn", [][]session.Span{{root1}, {turn1, turn2}},
			usageFigures{20, 170, 2000, 200, 0.35, []string{"claude-haiku-4-5", "claude-opus-4-6"}}},
		{"second generation open", [][]session.Span{{turn1, root1}, {turn3}},
			usageFigures{27, 240, 2700, 270, 0.42, []string{"claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-5"}}},
		{"second generation ended", [][]session.Span{{turn1, root1}, {turn3}, {root2}},
			usageFigures{28, 250, 2800, 280, 0.43, []string{"claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-5"}}},
		{"second generation ended, first still open", [][]session.Span{{turn1, turn3, root2}},
			usageFigures{18, 180, 1800, 280, 0.18, []string{"claude-opus-4-6", "claude-sonnet-4-5"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			// As batched, all in one batch, and replayed on top: each plan in
			// a session of its own, in one store.
			var all []session.Span
			for _, b := range tc.batches {
				all = append(all, b...)
			}
			s := openStore(t, Options{})
			plans := []struct {
				name    string
				batches [][]session.Span
			}{
				{"batched", tc.batches},
				{"one batch", [][]session.Span{all}},
				{"replayed", append(append([][]session.Span{}, tc.batches...), all)},
			}
			for _, plan := range plans {
				id := "s-" + plan.name
				start := wire.Event{ID: id, Time: storetest.Base, SessionID: id, Event: "SessionStart", Payload: []byte(`{}`)}
				if err := s.Insert(ctx, []wire.Event{start}, nil); err != nil {
					t.Fatal(err)
				}
				for _, b := range plan.batches {
					if err := s.Insert(ctx, nil, inSession(b, id)); err != nil {
						t.Fatal(err)
					}
				}
				d, ok, err := s.Session(ctx, id)
				if err != nil || !ok {
					t.Fatalf("%s: session: %v, %v", plan.name, ok, err)
				}
				if diff := cmp.Diff(tc.want, figuresOf(d.Session)); diff != "" {
					t.Errorf("%s: session detail (-want +got):\n%s", plan.name, diff)
				}
			}
			page, err := s.Sessions(ctx, SessionQuery{})
			if err != nil || len(page.Sessions) != len(plans) {
				t.Fatalf("sessions: %+v, %v", page.Sessions, err)
			}
			for _, ss := range page.Sessions {
				if diff := cmp.Diff(tc.want, figuresOf(ss)); diff != "" {
					t.Errorf("sessions list, %s (-want +got):\n%s", ss.SessionID, diff)
				}
			}
		})
	}
}

// inSession copies spans into session id.
func inSession(spans []session.Span, id string) []session.Span {
	out := make([]session.Span, len(spans))
	for i, sp := range spans {
		sp.SessionID = id
		out[i] = sp
	}
	return out
}

// TestUsageOfUnknownSession: spans of a session the store holds no row for
// (its events were too old to keep) are stored and create no session.
func TestUsageOfUnknownSession(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	sp := usageSpanOf(session.KindTurn, "turn:p1", "session", 1, 2, 3, 4, 0.5, "m")
	if err := s.Insert(ctx, nil, []session.Span{sp}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Session(ctx, "s1"); ok || err != nil {
		t.Errorf("session of spans only: found %v, %v; want none", ok, err)
	}
}

// TestUsageQueryUsesIndex: reading a session's usage walks the partial index
// of root and turn spans, not all of the session's spans.
func TestUsageQueryUsesIndex(t *testing.T) {
	s := openStore(t, Options{})
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+usageSQL, "s1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "spans_usage") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("usage query plan %q, want the spans_usage index in key order", got)
	}
}

// TestMigrateFromVersion2 opens a database of schema version 2 holding spans
// with usage attributes: the usage columns are added and filled from them.
func TestMigrateFromVersion2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	db, conn := openAtVersion(t, path, 2)
	for _, id := range []string{"s1", "s2"} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO sessions (session_id, start_time, last_activity, status,
			turns, tool_calls, failures, subagents, events) VALUES (?, ?, ?, 'active', 1, 0, 0, 0, 1)`,
			id, testNow.UnixNano(), testNow.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range []struct{ key, parent, kind, attrs string }{
		{"turn:p1", "session", "turn", `{"gen_ai.usage.input_tokens":1210,"gen_ai.usage.output_tokens":100,"gen_ai.usage.cache_read.input_tokens":1000,"gen_ai.usage.cache_creation.input_tokens":200,"claude_code.cost.usd":0.1,"claude_code.models":"claude-opus-4-6"}`},
		{"turn:p2", "session", "turn", `{"gen_ai.usage.input_tokens":555,"gen_ai.usage.output_tokens":50,"gen_ai.usage.cache_read.input_tokens":500,"gen_ai.usage.cache_creation.input_tokens":50,"claude_code.cost.usd":0.2,"claude_code.models":"claude-haiku-4-5"}`},
		{"agent:a1", "turn:p2", "subagent", `{"gen_ai.usage.input_tokens":9,"gen_ai.usage.output_tokens":9,"claude_code.cost.usd":9}`},
		{"tool:t1", "turn:p1", "tool", `{"gen_ai.tool.name":"Bash"}`},
	} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO spans (session_id, span_key, parent_key, kind, name, start_time, end_time, attrs)
			VALUES ('s1', ?, ?, ?, 'x', 0, 0, ?)`, sp.key, sp.parent, sp.kind, sp.attrs); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	db.Close()

	s := openStore(t, Options{Path: path, MaxAge: -1})
	var version int
	if err := s.r.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != 3 {
		t.Errorf("schema version %d (%v), want 3", version, err)
	}
	want := map[string]usageFigures{
		"s1": {15, 150, 1500, 250, 0.3, []string{"claude-haiku-4-5", "claude-opus-4-6"}},
		"s2": {},
	}
	for id, w := range want {
		d, ok, err := s.Session(ctx, id)
		if err != nil || !ok {
			t.Fatalf("session %s: %v, %v", id, ok, err)
		}
		if diff := cmp.Diff(w, figuresOf(d.Session)); diff != "" {
			t.Errorf("session %s after migration (-want +got):\n%s", id, diff)
		}
	}
	// New spans keep the figures current.
	if err := s.Insert(ctx, nil, []session.Span{
		usageSpanOf(session.KindSession, "session", "", 20, 200, 2000, 300, 0.4, "claude-opus-4-6"),
	}); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.Session(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(usageFigures{20, 200, 2000, 300, 0.4, []string{"claude-opus-4-6"}}, figuresOf(d.Session)); diff != "" {
		t.Errorf("after the root span (-want +got):\n%s", diff)
	}
}

// BenchmarkTurnSpanInsert measures storing one closed turn span (and so
// reading the session's usage again) in a session that already holds 500
// turns of 10 tool calls each, the tool spans with 2 KiB of attributes.
func BenchmarkTurnSpanInsert(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "events.db"), Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := wire.Event{ID: "u-start", Time: storetest.Base, SessionID: "s1", Event: "SessionStart", Payload: []byte(`{}`)}
	if err := s.Insert(ctx, []wire.Event{start}, nil); err != nil {
		b.Fatal(err)
	}
	big := strings.Repeat("x", 2048)
	for t := range 500 {
		spans := []session.Span{usageSpanOf(session.KindTurn, fmt.Sprintf("turn:%d", t), "session", 10, 100, 1000, 200, 0.01, "claude-opus-4-6")}
		for c := range 10 {
			spans = append(spans, session.Span{Kind: session.KindTool, SessionID: "s1", Key: fmt.Sprintf("tool:%d:%d", t, c),
				ParentKey: fmt.Sprintf("turn:%d", t), Name: "execute_tool Bash", Start: storetest.Base, End: storetest.Base,
				Attrs: []session.Attr{{Key: session.AttrToolResult, Value: big}}})
		}
		if err := s.Insert(ctx, nil, spans); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		sp := usageSpanOf(session.KindTurn, fmt.Sprintf("turn:new:%d", n), "session", 10, 100, 1000, 200, 0.01, "claude-opus-4-6")
		if err := s.Insert(ctx, nil, []session.Span{sp}); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
