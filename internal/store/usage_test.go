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
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
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
	if err := s.r.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != SchemaVersion {
		t.Errorf("schema version %d (%v), want %d", version, err, SchemaVersion)
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
	// The tracker's summary replaces what the migration derived.
	sum := timeline.Summary{SessionID: "s1", Status: timeline.StatusActive, Start: testNow, LastActivity: testNow,
		Usage: timeline.Usage{Input: 20, Output: 200, CacheRead: 2000, CacheCreation: 300, CostUSD: 0.4, Models: []string{"claude-opus-4-6"}}}
	if err := s.Insert(ctx, nil, nil, []timeline.Summary{sum}); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.Session(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(usageFigures{20, 200, 2000, 300, 0.4, []string{"claude-opus-4-6"}}, figuresOf(d.Session)); diff != "" {
		t.Errorf("after a summary (-want +got):\n%s", diff)
	}
}

// BenchmarkTurnSpanInsert measures storing one closed turn span and its
// session's summary in a session that already holds 500 turns of 10 tool
// calls each, the tool spans with 2 KiB of attributes.
func BenchmarkTurnSpanInsert(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(b.TempDir(), "events.db"), Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := wire.Event{ID: "u-start", Time: storetest.Base, SessionID: "s1", Event: "SessionStart", Payload: []byte(`{}`)}
	if err := s.Insert(ctx, []wire.Event{start}, nil, nil); err != nil {
		b.Fatal(err)
	}
	big := strings.Repeat("x", 2048)
	for t := range 500 {
		spans := []session.Span{turnSpanOf(fmt.Sprintf("turn:%d", t))}
		for c := range 10 {
			spans = append(spans, session.Span{Kind: session.KindTool, SessionID: "s1", Key: fmt.Sprintf("tool:%d:%d", t, c),
				ParentKey: fmt.Sprintf("turn:%d", t), Name: "execute_tool Bash", Start: storetest.Base, End: storetest.Base,
				Attrs: []session.Attr{{Key: session.AttrToolResult, Value: big}}})
		}
		if err := s.Insert(ctx, nil, spans, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		sp := turnSpanOf(fmt.Sprintf("turn:new:%d", n))
		sum := timeline.Summary{SessionID: "s1", Status: timeline.StatusActive, Start: storetest.Base, LastActivity: storetest.Base,
			Counts: timeline.Counts{Turns: timeline.Outcomes{Success: int64(501 + n)}}}
		if err := s.Insert(ctx, nil, []session.Span{sp}, []timeline.Summary{sum}); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// turnSpanOf is a closed turn span of session s1 with usage attributes.
func turnSpanOf(key string) session.Span {
	at := storetest.Base
	return session.Span{Kind: session.KindTurn, SessionID: "s1", Key: key, ParentKey: "session", Name: "turn",
		Start: at, End: at.Add(time.Second), Outcome: "success", Attrs: []session.Attr{
			{Key: session.AttrSessionID, Value: "s1"},
			{Key: session.AttrUsageInput, Value: int64(1210)},
			{Key: session.AttrUsageOutput, Value: int64(100)},
			{Key: session.AttrCostUSD, Value: 0.01},
		}}
}
