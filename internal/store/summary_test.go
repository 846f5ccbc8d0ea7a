package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// feeder applies hook payloads to a real tracker and stores each as the
// daemon's store sink does: the event, the spans it closed, the summaries
// of the sessions it changed.
type feeder struct {
	tb testing.TB
	tr *session.Tracker
	s  *Store
	n  int
}

func newFeeder(tb testing.TB, s *Store, opts session.Options) *feeder {
	return &feeder{tb: tb, tr: session.New(opts), s: s}
}

// at is sec seconds after the scripts' base time.
func at(sec int) time.Time { return storetest.Base.Add(time.Duration(sec) * time.Second) }

// apply stores one event received at sec.
func (f *feeder) apply(sec int, payload string) {
	f.tb.Helper()
	ev, err := hookevent.Decode([]byte(payload))
	if err != nil {
		f.tb.Fatalf("decode %s: %v", payload, err)
	}
	f.n++
	ev.ID = fmt.Sprintf("%032x", f.n)
	ev.Received = at(sec)
	spans := f.tr.Apply(&ev)
	f.store([]wire.Event{eventview.Of(&ev, 0, false)}, spans)
}

// expire runs the tracker's expiry at sec and stores what it closed.
func (f *feeder) expire(sec int) {
	f.tb.Helper()
	f.store(nil, f.tr.Expire(at(sec)))
}

func (f *feeder) store(evs []wire.Event, spans []timeline.Span) {
	f.tb.Helper()
	if err := f.s.Insert(context.Background(), evs, spans, f.tr.TakeSummaries(nil)); err != nil {
		f.tb.Fatal(err)
	}
}

// TestSessionStatus follows a session through the states the tracker puts it
// in: the store shows the status, end and reason the tracker decided.
func TestSessionStatus(t *testing.T) {
	const start = `{"session_id":"s1","hook_event_name":"SessionStart","source":"startup"}`
	type want struct {
		status, reason string
		end            int // seconds, -1: none
		turns          int64
	}
	idle := int(session.DefaultIdleTimeout/time.Second) + int(session.ExpireGrace/time.Second)
	for _, tc := range []struct {
		name  string
		steps func(f *feeder)
		want  want
	}{
		{"started", func(*feeder) {}, want{timeline.StatusActive, "", -1, 0}},
		{"ended", func(f *feeder) {
			f.apply(20, `{"session_id":"s1","hook_event_name":"SessionEnd","reason":"logout"}`)
		}, want{timeline.StatusEnded, "logout", 20, 0}},
		{"expired", func(f *feeder) {
			f.apply(10, `{"session_id":"s1","hook_event_name":"Notification","notification_type":"idle_prompt"}`)
			f.expire(10 + idle)
		}, want{timeline.StatusExpired, "expired", 10, 0}},
		{"evicted", func(f *feeder) {
			f.apply(10, `{"session_id":"s2","hook_event_name":"SessionStart"}`)
		}, want{timeline.StatusExpired, "evicted", 0, 0}},
		{"activity after expiry", func(f *feeder) {
			f.expire(idle)
			f.apply(idle+50, `{"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt_id":"p1"}`)
		}, want{timeline.StatusActive, "", -1, 1}},
		{"late event after end", func(f *feeder) {
			f.apply(20, `{"session_id":"s1","hook_event_name":"SessionEnd","reason":"clear"}`)
			f.apply(25, `{"session_id":"s1","hook_event_name":"Notification"}`)
		}, want{timeline.StatusEnded, "clear", 20, 0}},
		{"resumed", func(f *feeder) {
			f.apply(5, `{"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt_id":"p1"}`)
			f.apply(6, `{"session_id":"s1","hook_event_name":"Stop","prompt_id":"p1"}`)
			f.apply(20, `{"session_id":"s1","hook_event_name":"SessionEnd","reason":"clear"}`)
			f.apply(30, `{"session_id":"s1","hook_event_name":"SessionStart","source":"resume"}`)
			f.apply(35, `{"session_id":"s1","hook_event_name":"UserPromptSubmit","prompt_id":"p2"}`)
		}, want{timeline.StatusActive, "", -1, 2}},
		{"daemon started mid-turn", func(f *feeder) {
			f.apply(5, `{"session_id":"s1","hook_event_name":"PreToolUse","prompt_id":"p0","tool_name":"Bash","tool_use_id":"t1"}`)
			f.apply(6, `{"session_id":"s1","hook_event_name":"PostToolUse","prompt_id":"p0","tool_name":"Bash","tool_use_id":"t1"}`)
			f.apply(7, `{"session_id":"s1","hook_event_name":"Stop","prompt_id":"p0"}`)
		}, want{timeline.StatusActive, "", -1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, Options{})
			f := newFeeder(t, s, session.Options{MaxSessions: 1})
			f.apply(0, start)
			tc.steps(f)
			d, ok, err := s.Session(context.Background(), "s1")
			if err != nil || !ok {
				t.Fatalf("session: %v, %v", ok, err)
			}
			got := want{d.Session.Status, d.Session.EndReason, -1, d.Session.Turns}
			if d.Session.End != nil {
				got.end = int(d.Session.End.Sub(storetest.Base) / time.Second)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSummaryStoredAsIs: every field of the tracker's summary comes back from
// the API as the tracker set it, and the store counts the session's events.
func TestSummaryStoredAsIs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	sum := timeline.Summary{
		SessionID: "s1", Status: timeline.StatusEnded, Start: at(0), End: at(90), LastActivity: at(90),
		Source: "resume", EndReason: "logout", Model: "claude-opus-4-6", CWD: "/w",
		Counts: timeline.Counts{
			Turns:     timeline.Outcomes{Success: 3, Failure: 1, Interrupted: 2, Expired: 1},
			ToolCalls: timeline.Outcomes{Success: 7, Failure: 2, Interrupted: 1, Denied: 4, Expired: 1},
			Subagents: 2, Compactions: 1, PermissionWaits: 5,
		},
		OpenTurn: true, OpenToolCalls: 2,
		Usage: timeline.Usage{Input: 1, Output: 2, CacheRead: 3, CacheCreation: 4, CostUSD: 0.5, Models: []string{"a", "b"}},
	}
	evs := []wire.Event{
		{ID: "aa", Time: at(0), SessionID: "s1", Event: "SessionStart"},
		{ID: "ab", Time: at(1), SessionID: "s1", Event: "Stop"},
	}
	if err := s.Insert(ctx, evs, nil, []timeline.Summary{sum}); err != nil {
		t.Fatal(err)
	}
	// A replay of the same batch changes nothing.
	evs[0].Seq, evs[1].Seq = 0, 0
	if err := s.Insert(ctx, evs, nil, []timeline.Summary{sum}); err != nil {
		t.Fatal(err)
	}
	d, ok, err := s.Session(ctx, "s1")
	if err != nil || !ok {
		t.Fatalf("session: %v, %v", ok, err)
	}
	end := at(90).UTC()
	want := wire.Session{
		SessionID: "s1", Start: at(0).UTC(), End: &end, LastActivity: at(90).UTC(), Status: "ended", EndReason: "logout",
		Source: "resume", Model: "claude-opus-4-6", CWD: "/w",
		Turns: 8, TurnsByOutcome: wire.OutcomeCounts{Success: 3, Failure: 1, Interrupted: 2, Expired: 1},
		ToolCalls: 17, ToolCallsByOutcome: wire.OutcomeCounts{Success: 7, Failure: 2, Interrupted: 1, Denied: 4, Expired: 1},
		Failures: 3, Subagents: 2, Compactions: 1, PermissionWaits: 5, Events: 2,
		InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheCreationTokens: 4, CostUSD: 0.5, Models: []string{"a", "b"},
		TraceID: d.Session.TraceID,
	}
	if diff := cmp.Diff(want, d.Session); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
}

// TestSummaryOfUnknownSession: a summary of a session the store holds no row
// for and no new event of (its events were too old to keep) creates none.
func TestSummaryOfUnknownSession(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	sum := timeline.Summary{SessionID: "s1", Status: timeline.StatusActive, Start: at(0), LastActivity: at(0)}
	if err := s.Insert(ctx, nil, nil, []timeline.Summary{sum}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Session(ctx, "s1"); ok || err != nil {
		t.Errorf("session of a summary only: found %v, %v; want none", ok, err)
	}
}

// TestMigrateFromVersion3: a database written by the previous release (schema
// 3, sessions derived by the store) opens, migrates and serves the same
// sessions; the first summary of a session then replaces its row.
func TestMigrateFromVersion3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	db, conn := openAtVersion(t, path, 3)
	if _, err := conn.ExecContext(ctx, `INSERT INTO sessions (session_id, start_time, end_time, last_activity, status,
		end_reason, source, model, cwd, turns, tool_calls, failures, subagents, events,
		input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, models)
		VALUES ('s1', ?, ?, ?, 'ended', 'logout', 'startup', 'claude-opus-4-6', '/w', 3, 5, 1, 1, 12, 10, 20, 30, 40, 0.25, 'claude-opus-4-6'),
		('s2', ?, NULL, ?, 'active', NULL, NULL, NULL, NULL, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, NULL)`,
		at(0).UnixNano(), at(60).UnixNano(), at(60).UnixNano(), at(10).UnixNano(), at(11).UnixNano()); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	db.Close()

	s := openStore(t, Options{Path: path, MaxAge: -1})
	end := at(60).UTC()
	want := []wire.Session{
		{SessionID: "s2", Start: at(10).UTC(), LastActivity: at(11).UTC(), Status: "active", Turns: 1, Events: 2},
		{SessionID: "s1", Start: at(0).UTC(), End: &end, LastActivity: at(60).UTC(), Status: "ended", EndReason: "logout",
			Source: "startup", Model: "claude-opus-4-6", CWD: "/w", Turns: 3, ToolCalls: 5, Failures: 1, Subagents: 1, Events: 12,
			InputTokens: 10, OutputTokens: 20, CacheReadTokens: 30, CacheCreationTokens: 40, CostUSD: 0.25, Models: []string{"claude-opus-4-6"}},
	}
	page, err := s.Sessions(ctx, SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, page.Sessions, cmp.Transformer("noTrace", func(ss wire.Session) wire.Session { ss.TraceID = ""; return ss })); diff != "" {
		t.Errorf("sessions after migration (-want +got):\n%s", diff)
	}
	sum := timeline.Summary{SessionID: "s2", Status: timeline.StatusActive, Start: at(10), LastActivity: at(20),
		Counts: timeline.Counts{Turns: timeline.Outcomes{Success: 1}, Compactions: 1}, OpenTurn: true}
	if err := s.Insert(ctx, []wire.Event{{ID: "new", Time: at(20), SessionID: "s2", Event: "PreCompact"}}, nil, []timeline.Summary{sum}); err != nil {
		t.Fatal(err)
	}
	d, _, err := s.Session(ctx, "s2")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Session; got.Turns != 2 || got.TurnsByOutcome.Success != 1 || got.Compactions != 1 || got.Events != 3 {
		t.Errorf("s2 after its first summary: turns %d (%+v), compactions %d, events %d; want 2 ({Success:1}), 1, 3",
			got.Turns, got.TurnsByOutcome, got.Compactions, got.Events)
	}
}

// TestRebuiltSummariesOnlyFill: summaries of a rebuild (a tracker of its own
// over the retained spool) create sessions the store lacks but never replace
// what the pipeline's tracker said; their events still count.
func TestRebuiltSummariesOnlyFill(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	live := timeline.Summary{SessionID: "s1", Status: timeline.StatusEnded, Start: at(0), End: at(50), LastActivity: at(50),
		Counts: timeline.Counts{Turns: timeline.Outcomes{Success: 7}}}
	if err := s.Insert(ctx, []wire.Event{{ID: "a1", Time: at(50), SessionID: "s1", Event: "SessionEnd"}}, nil, []timeline.Summary{live}); err != nil {
		t.Fatal(err)
	}
	rebuilt := []timeline.Summary{
		{SessionID: "s1", Status: timeline.StatusActive, Start: at(10), LastActivity: at(20), Counts: timeline.Counts{Turns: timeline.Outcomes{Success: 1}}},
		{SessionID: "s2", Status: timeline.StatusActive, Start: at(5), LastActivity: at(6), Counts: timeline.Counts{Turns: timeline.Outcomes{Failure: 1}}},
	}
	evs := []wire.Event{{ID: "b1", Time: at(20), SessionID: "s1", Event: "Stop"}, {ID: "b2", Time: at(6), SessionID: "s2", Event: "StopFailure"}}
	if err := s.EnqueueRebuilt(ctx, evs, nil, rebuilt); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitDurable(ctx, s.Mark()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		id     string
		status string
		turns  wire.OutcomeCounts
		events int64
	}{
		{"s1", "ended", wire.OutcomeCounts{Success: 7}, 2},
		{"s2", "active", wire.OutcomeCounts{Failure: 1}, 1},
	} {
		d, ok, err := s.Session(ctx, w.id)
		if err != nil || !ok {
			t.Fatalf("session %s: %v, %v", w.id, ok, err)
		}
		if d.Session.Status != w.status || d.Session.TurnsByOutcome != w.turns || d.Session.Events != w.events {
			t.Errorf("session %s: %s %+v %d events; want %s %+v %d", w.id, d.Session.Status, d.Session.TurnsByOutcome, d.Session.Events, w.status, w.turns, w.events)
		}
	}
}
