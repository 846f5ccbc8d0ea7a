package store

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// TestReplayIsIdempotent inserts the same log twice, batched differently the
// second time, as a daemon replaying after a crash would: every event keeps
// its seq and nothing is counted twice.
func TestReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	first := insertScripts(t, s, false, 4)
	before := answers(t, s)
	_, n, _ := s.Stats(ctx)
	maxSeq, _ := s.MaxSeq(ctx)

	again := insertScripts(t, s, false, 7)
	if diff := cmp.Diff(seqsOf(first), seqsOf(again)); diff != "" {
		t.Errorf("replayed events got other seqs (-first +replay):\n%s", diff)
	}
	if diff := diffJSON(t, before, answers(t, s)); diff != "" {
		t.Errorf("answers changed by the replay:\n%s", diff)
	}
	_, n2, _ := s.Stats(ctx)
	maxSeq2, _ := s.MaxSeq(ctx)
	if n2 != n || maxSeq2 != maxSeq {
		t.Errorf("after replay: %d events, max seq %d; want %d, %d", n2, maxSeq2, n, maxSeq)
	}
	if want := int64(len(first)); n != want || maxSeq != want {
		t.Errorf("stored %d events, max seq %d; want %d", n, maxSeq, want)
	}
}

// TestDuplicateWithinBatch: an event repeated in one batch is stored once and
// both copies report its seq.
func TestDuplicateWithinBatch(t *testing.T) {
	s := openStore(t, Options{MaxAge: -1})
	evs := newGenerator(1).generate(3)
	batch := []wire.Event{evs[0], evs[1], evs[0], evs[2]}
	if err := s.Insert(context.Background(), batch, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := seqsOf(batch), []int64{1, 2, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("seqs %v, want %v", got, want)
	}
	if _, n, _ := s.Stats(context.Background()); n != 3 {
		t.Errorf("%d events stored, want 3", n)
	}
}

// TestFilters checks every filter of Events against wire.Filter.Match, the
// stream's filter, over the scripted sessions, newest and oldest first.
func TestFilters(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{CaptureContent: true})
	all := insertScripts(t, s, true, 5)
	at := func(sec int) time.Time { return storetest.Base.Add(time.Duration(sec) * time.Second) }
	filters := []struct {
		name string
		f    wire.Filter
		min  int // at least this many events must match, so the case means something
	}{
		{"none", wire.Filter{}, len(all)},
		{"session", wire.Filter{SessionID: storetest.SessionCJK}, 17},
		{"event", wire.Filter{Events: []string{"PreToolUse"}}, 8},
		{"events", wire.Filter{Events: []string{"PreToolUse", "PostToolUse", "PostToolUseFailure"}}, 15},
		{"tool", wire.Filter{Tool: "Bash"}, 8},
		{"mcp tool", wire.Filter{Tool: "mcp__github__create_issue"}, 3},
		{"agent id", wire.Filter{Agent: "b7e1f0a2c3d4e5f6"}, 4},
		{"agent type", wire.Filter{Agent: "Explore"}, 6},
		{"outcome success", wire.Filter{Outcome: "success"}, 6},
		{"outcome failure", wire.Filter{Outcome: "failure"}, 3},
		{"outcome interrupted", wire.Filter{Outcome: "interrupted"}, 1},
		{"outcome denied", wire.Filter{Outcome: "denied"}, 1},
		{"from", wire.Filter{From: at(300)}, 20},
		{"to", wire.Filter{To: at(300)}, 31},
		{"from to", wire.Filter{From: at(10), To: at(3005)}, 20},
		{"text command", wire.Filter{Text: "npm test"}, 3},
		{"text path substring", wire.Filter{Text: "ling/invo"}, 2},
		{"text case", wire.Filter{Text: "NPM INSTALL"}, 2},
		{"text cjk prompt", wire.Filter{Text: "原因を調べて"}, 1},
		{"text chinese command", wire.Filter{Text: "增值税"}, 2},
		{"text short cjk", wire.Filter{Text: "舍入"}, 2},
		{"text two letters", wire.Filter{Text: "rm"}, 2},
		{"text error", wire.Filter{Text: "未合并"}, 1},
		{"text tool", wire.Filter{Text: "create_issue"}, 3},
		{"text notification", wire.Filter{Text: "waiting for your"}, 0},
		{"text none", wire.Filter{Text: "no such text anywhere"}, 0},
		{"text and session", wire.Filter{Text: "git", SessionID: storetest.SessionCJK}, 4},
		{"text and outcome", wire.Filter{Text: "git", Outcome: "failure"}, 1},
		{"everything", wire.Filter{SessionID: storetest.SessionCJK, Events: []string{"PostToolUse"}, Tool: "Bash", Agent: "Explore", Outcome: "success", Text: "log", From: at(3000), To: at(3100)}, 1},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			var want []int64
			for i := range all {
				if tc.f.Match(&all[i]) {
					want = append(want, all[i].Seq)
				}
			}
			if len(want) < tc.min {
				t.Fatalf("the oracle matches %d events, the case expects at least %d", len(want), tc.min)
			}
			asc, err := s.Events(ctx, tc.f, MaxLimit, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, seqsOf(asc.Events), cmpEmpty); diff != "" {
				t.Errorf("oldest first (-want +got):\n%s", diff)
			}
			desc, err := s.Events(ctx, tc.f, MaxLimit, "", false)
			if err != nil {
				t.Fatal(err)
			}
			slices.Reverse(want)
			if diff := cmp.Diff(want, seqsOf(desc.Events), cmpEmpty); diff != "" {
				t.Errorf("newest first (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.Comparer(func(a, b []int64) bool { return slices.Equal(a, b) })

// TestPagination pages through all events both ways with a small limit and
// with filters, and rejects malformed cursors.
func TestPagination(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	all := insertScripts(t, s, false, 16)
	for _, tc := range []struct {
		name string
		f    wire.Filter
	}{
		{"all", wire.Filter{}},
		{"text", wire.Filter{Text: "src/"}},
		{"tool", wire.Filter{Tool: "Bash"}},
	} {
		for _, asc := range []bool{true, false} {
			var want []int64
			for i := range all {
				if tc.f.Match(&all[i]) {
					want = append(want, all[i].Seq)
				}
			}
			if !asc {
				slices.Reverse(want)
			}
			var got []int64
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("%s asc=%v: no end of pages", tc.name, asc)
				}
				page, err := s.Events(ctx, tc.f, 3, cursor, asc)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Events) > 3 {
					t.Fatalf("page of %d events, limit 3", len(page.Events))
				}
				got = append(got, seqsOf(page.Events)...)
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s asc=%v: paged seqs (-want +got):\n%s", tc.name, asc, diff)
			}
		}
	}

	sessions, err := s.Sessions(ctx, SessionQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"x", "!!!", base64.RawURLEncoding.EncodeToString([]byte("ez")), sessions.NextCursor} {
		var pe *wire.ParamError
		if _, err := s.Events(ctx, wire.Filter{}, 10, c, false); !errors.As(err, &pe) || pe.Param != "cursor" {
			t.Errorf("events cursor %q: err %v, want a ParamError for cursor", c, err)
		}
	}
	for _, c := range []string{"x", eventCursor(5)} {
		var pe *wire.ParamError
		if _, err := s.Sessions(ctx, SessionQuery{Cursor: c}); !errors.As(err, &pe) || pe.Param != "cursor" {
			t.Errorf("sessions cursor %q: err %v, want a ParamError for cursor", c, err)
		}
	}

	// Sessions page newest first.
	var ids []string
	cursor := ""
	for {
		page, err := s.Sessions(ctx, SessionQuery{Limit: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, ss := range page.Sessions {
			ids = append(ids, ss.SessionID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if want := []string{storetest.SessionCJK, storetest.SessionExpiry, storetest.SessionCurrent}; !slices.Equal(ids, want) {
		t.Errorf("sessions paged %v, want %v", ids, want)
	}
}

// TestSessionsQuery checks each session filter.
func TestSessionsQuery(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{CaptureContent: true})
	insertScripts(t, s, true, 8)
	yes, no := true, false
	at := func(sec int) time.Time { return storetest.Base.Add(time.Duration(sec) * time.Second) }
	for _, tc := range []struct {
		name string
		q    SessionQuery
		want []string
	}{
		{"all", SessionQuery{}, []string{storetest.SessionCJK, storetest.SessionExpiry, storetest.SessionCurrent}},
		{"active", SessionQuery{Active: &yes}, []string{storetest.SessionCJK}},
		{"inactive", SessionQuery{Active: &no}, []string{storetest.SessionExpiry, storetest.SessionCurrent}},
		{"from", SessionQuery{From: at(31)}, []string{storetest.SessionCJK, storetest.SessionExpiry}},
		{"to", SessionQuery{To: at(300)}, []string{storetest.SessionCurrent}},
		{"from to", SessionQuery{From: at(30), To: at(301)}, []string{storetest.SessionExpiry, storetest.SessionCurrent}},
		{"cwd", SessionQuery{CWD: "acme"}, []string{storetest.SessionExpiry, storetest.SessionCurrent}},
		{"cwd cjk", SessionQuery{CWD: "請求"}, []string{storetest.SessionCJK}},
		{"cwd wildcard is literal", SessionQuery{CWD: "acme_"}, nil},
		{"text", SessionQuery{Text: "lodash"}, []string{storetest.SessionExpiry}},
		{"text short", SessionQuery{Text: "rm"}, []string{storetest.SessionCJK, storetest.SessionCurrent}},
		{"text prompt", SessionQuery{Text: "修正して"}, []string{storetest.SessionCJK}},
		{"text and active", SessionQuery{Text: "npm", Active: &yes}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.Sessions(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ss := range page.Sessions {
				got = append(got, ss.SessionID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, ok, err := s.Session(ctx, "no-such-session"); ok || err != nil {
		t.Errorf("unknown session: found %v, err %v", ok, err)
	}
}

// TestPromptsOnlyWithCapture: without content capture no prompt reaches the
// store, even from events built with capture on, and none is searchable.
func TestPromptsOnlyWithCapture(t *testing.T) {
	ctx := context.Background()
	const prompt = "原因を調べて"
	for _, storeCapture := range []bool{false, true} {
		s := openStore(t, Options{CaptureContent: storeCapture})
		insertScripts(t, s, true, 8) // built with capture on
		page, err := s.Events(ctx, wire.Filter{Text: prompt}, 10, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(page.Events) > 0; got != storeCapture {
			t.Errorf("capture %v: prompt found %v", storeCapture, got)
		}
		all, err := s.Events(ctx, wire.Filter{SessionID: storetest.SessionCJK}, MaxLimit, "", true)
		if err != nil {
			t.Fatal(err)
		}
		var kept bool
		for _, ev := range all.Events {
			kept = kept || strings.Contains(ev.Summary, prompt) || strings.Contains(string(ev.Payload), prompt)
		}
		if kept != storeCapture {
			t.Errorf("capture %v: prompt stored %v", storeCapture, kept)
		}
		d, _, err := s.Session(ctx, storetest.SessionCJK)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range d.Spans {
			if _, ok := sp.Attrs[session.AttrPrompt]; ok && !storeCapture {
				t.Errorf("capture off: span %s keeps the prompt", sp.Key)
			}
		}
	}
}

// TestFTSQuerySyntaxIsLiteral: query syntax in the text is searched for, not
// obeyed, and never an error.
func TestFTSQuerySyntaxIsLiteral(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	evs := []wire.Event{
		{ID: "a", Time: testNow, SessionID: "s", Event: "PreToolUse", Tool: "Bash", Summary: `grep -n "x OR y" file`},
		{ID: "b", Time: testNow, SessionID: "s", Event: "PreToolUse", Tool: "Bash", Summary: `echo x; echo y`},
		{ID: "c", Time: testNow, SessionID: "s", Event: "PreToolUse", Tool: "Bash", Summary: `ls 100%_done\files`},
	}
	insertAll(t, s, evs, 10)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{`"x OR y"`, []string{"a"}},
		{`x OR y`, []string{"a"}},
		{`x AND y`, nil},
		{`NEAR(x y)`, nil},
		{`summary:echo`, nil},
		{`ech*`, nil},
		{`"`, []string{"a"}},
		{`""""`, nil},
		{`%_d`, []string{"c"}},
		{`%`, []string{"c"}},
		{`_`, []string{"c"}},
		{`\f`, []string{"c"}},
		{`0%_done\fi`, []string{"c"}},
		{"x\x00y", nil},
	} {
		page, err := s.Events(ctx, wire.Filter{Text: tc.q}, 10, "", true)
		if err != nil {
			t.Errorf("q=%q: %v", tc.q, err)
			continue
		}
		var got []string
		for _, ev := range page.Events {
			got = append(got, ev.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("q=%q: got %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestSearch20k inserts 20,000 generated events and checks that text and
// per-session queries return exactly the rows a scan finds.
func TestSearch20k(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{MaxAge: -1})
	all := newGenerator(7).generate(20000)
	insertAll(t, s, all, 1024)
	sessions := map[string]bool{}
	for _, ev := range all {
		sessions[ev.SessionID] = true
	}
	sid := all[len(all)/2].SessionID
	for _, f := range []wire.Filter{
		{Text: "npm test -- src/billing"},
		{Text: "消費税.ts"},
		{Text: "增值税"},
		{Text: "TIMED OUT"},
		{Text: "no such text"},
		{SessionID: sid},
		{SessionID: sid, Events: []string{"PostToolUse"}},
		{Tool: "Edit", Text: "web/components/index"},
		{Outcome: "failure", Text: "exit code 128"},
	} {
		var want []int64
		for i := len(all) - 1; i >= 0 && len(want) < DefaultLimit; i-- {
			if f.Match(&all[i]) {
				want = append(want, all[i].Seq)
			}
		}
		page, err := s.Events(ctx, f, 0, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, seqsOf(page.Events), cmpEmpty); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", f, diff)
		}
	}
	page, err := s.Sessions(ctx, SessionQuery{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Sessions) != len(sessions) {
		t.Errorf("%d sessions, want %d", len(page.Sessions), len(sessions))
	}
}

// TestRetentionByAge removes the events older than MaxAge and the sessions
// with nothing left, and keeps the rest.
func TestRetentionByAge(t *testing.T) {
	ctx := context.Background()
	now := testNow
	var mu sync.Mutex
	s := openStore(t, Options{MaxAge: 24 * time.Hour, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	insertScripts(t, s, false, 8)
	_, before, _ := s.Stats(ctx)

	mu.Lock()
	now = storetest.Base.Add(24*time.Hour + 100*time.Second) // the first session (0-30 s) is older
	mu.Unlock()
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := s.Events(ctx, wire.Filter{}, MaxLimit, "", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Events {
		if ev.SessionID == storetest.SessionCurrent {
			t.Errorf("event %d of the old session survived", ev.Seq)
		}
	}
	_, after, _ := s.Stats(ctx)
	if after != before-31 || len(page.Events) != int(after) {
		t.Errorf("%d events before, %d after (%d listed); want 31 fewer", before, after, len(page.Events))
	}
	if _, ok, _ := s.Session(ctx, storetest.SessionCurrent); ok {
		t.Error("the old session survived")
	}
	if _, ok, _ := s.Session(ctx, storetest.SessionCJK); !ok {
		t.Error("a recent session was removed")
	}
	var spans int
	if err := s.r.QueryRow(`SELECT count(*) FROM spans WHERE session_id = ?`, storetest.SessionCurrent).Scan(&spans); err != nil || spans != 0 {
		t.Errorf("%d spans of the old session left (%v)", spans, err)
	}
	// Old events arriving now are not stored.
	old := storetest.Events(t, "current")
	evs := []wire.Event{eventview.Of(&old[0], 0, false)}
	if err := s.Insert(ctx, evs, nil, nil); err != nil || evs[0].Seq != 0 {
		t.Errorf("inserting an expired event: seq %d, err %v", evs[0].Seq, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

// TestRetentionBySize writes far more than a tiny size limit: after every
// insert the database and its log are under the limit, the events left are
// the newest, and sequence numbers go on from where they were.
func TestRetentionBySize(t *testing.T) {
	ctx := context.Background()
	const limit = 512 << 10
	s := openStore(t, Options{MaxBytes: limit, MaxAge: -1})
	all := newGenerator(3).generate(5000)
	for i := 0; i < len(all); i += 250 {
		if err := s.Insert(ctx, all[i:min(i+250, len(all))], nil, nil); err != nil {
			t.Fatal(err)
		}
		size, _, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if size > limit {
			t.Fatalf("after %d events: %d bytes, limit %d", i+250, size, limit)
		}
	}
	if s.sizeRuns.Load() < 2 {
		t.Fatalf("size retention ran %d times; the test writes too little", s.sizeRuns.Load())
	}
	_, n, _ := s.Stats(ctx)
	var minSeq, maxSeq, count int64
	if err := s.r.QueryRow(`SELECT min(seq), max(seq), count(*) FROM events`).Scan(&minSeq, &maxSeq, &count); err != nil {
		t.Fatal(err)
	}
	if count != n || maxSeq != int64(len(all)) || maxSeq-minSeq+1 != count || count < 250 {
		t.Errorf("left %d events (counted %d), seqs %d..%d; want the newest, ending at %d", count, n, minSeq, maxSeq, len(all))
	}
	// The sessions left are those with events left.
	var orphans int
	if err := s.r.QueryRow(`SELECT count(*) FROM sessions WHERE session_id NOT IN (SELECT session_id FROM events)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("%d sessions without events (%v)", orphans, err)
	}
	// Every event left is found by text.
	last := all[len(all)-1]
	page, err := s.Events(ctx, wire.Filter{SessionID: last.SessionID, Text: "/"}, MaxLimit, "", false)
	if err != nil || len(page.Events) == 0 {
		t.Errorf("search after retention: %d events, %v", len(page.Events), err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	// Sequence numbers never repeat, even when retention removed every event.
	if err := s.deleteOldest(ctx, count); err != nil {
		t.Fatal(err)
	}
	evs := newGenerator(99).generate(1)
	if err := s.Insert(ctx, evs, nil, nil); err != nil {
		t.Fatal(err)
	}
	if evs[0].Seq != int64(len(all))+1 {
		t.Errorf("first seq after emptying: %d, want %d", evs[0].Seq, len(all)+1)
	}
}

// TestSeqSurvivesReopen: the last seq is remembered across Close and Open,
// also when retention removed the newest events' predecessors.
func TestSeqSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(ctx, Options{Path: path, MaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	insertAll(t, s, newGenerator(1).generate(10), 10)
	if err := s.deleteOldest(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, Options{Path: path, MaxAge: -1})
	if seq, _ := s.MaxSeq(ctx); seq != 10 {
		t.Errorf("max seq after reopen %d, want 10", seq)
	}
	evs := newGenerator(2).generate(1)
	evs[0].ID = "new"
	if err := s.Insert(ctx, evs, nil, nil); err != nil || evs[0].Seq != 11 {
		t.Errorf("seq after reopen %d (%v), want 11", evs[0].Seq, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode %v, want 0600", perm)
	}
}

// TestMigrateFromVersion1 opens a database written by the first schema
// version: it is migrated, its events are indexed for search, and the
// migrations are recorded.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	db, conn := openAtVersion(t, path, 1)
	if _, err := conn.ExecContext(ctx, `INSERT INTO events (seq, id, time, session_id, event, tool, summary)
		VALUES (1, 'old', ?, 's', 'PreToolUse', 'Bash', 'make 古いビルド')`, testNow.UnixNano()); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	db.Close()

	s := openStore(t, Options{Path: path, MaxAge: -1})
	var versions []int
	rows, err := s.r.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	rows.Close()
	if want := []int{1, 2, 3, 4}; !slices.Equal(versions, want) || SchemaVersion != 4 {
		t.Errorf("migrations %v (schema %d), want %v", versions, SchemaVersion, want)
	}
	page, err := s.Events(ctx, wire.Filter{Text: "古いビルド"}, 10, "", false)
	if err != nil || len(page.Events) != 1 || page.Events[0].ID != "old" {
		t.Errorf("search in a migrated event: %+v, %v", page.Events, err)
	}
	evs := newGenerator(1).generate(1)
	if err := s.Insert(ctx, evs, nil, nil); err != nil || evs[0].Seq != 2 {
		t.Errorf("insert after migration: seq %d, %v; want 2", evs[0].Seq, err)
	}
}

// TestNewerSchemaRefused: a database from a newer build is not touched.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, Options{Path: path}); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Errorf("open of a newer schema: %v", err)
	}
}

// TestIntegrityCheck passes on a healthy store and fails on a damaged one.
func TestIntegrityCheck(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(ctx, Options{Path: path, MaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	insertAll(t, s, newGenerator(5).generate(1500), 500)
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Overwrite a few pages in the middle of the file.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := []byte(strings.Repeat("\xa5", 3*4096))
	if _, err := f.WriteAt(junk, fi.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// SkipCheck: Open would move the damaged database aside.
	s, err = Open(ctx, Options{Path: path, MaxAge: -1, SkipCheck: true})
	if err != nil {
		return // refusing to open a damaged database is a failed check too
	}
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err == nil {
		t.Error("integrity check passed on a damaged database")
	}
}

// TestConcurrentReadersDuringWrites queries while batches are inserted: every
// answer is a consistent snapshot (a committed prefix of the log).
func TestConcurrentReadersDuringWrites(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{MaxAge: -1})
	all := newGenerator(11).generate(4000)
	sid := all[len(all)-1].SessionID
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				page, err := s.Events(ctx, wire.Filter{}, 200, "", false)
				if err != nil {
					errs <- err
					return
				}
				// Newest first and gap-free: a committed prefix.
				for i := 1; i < len(page.Events); i++ {
					if page.Events[i].Seq != page.Events[i-1].Seq-1 {
						errs <- errors.New("events page is not a prefix of the log")
						return
					}
				}
				if _, err := s.Events(ctx, wire.Filter{Text: "src/auth", SessionID: sid}, 50, "", false); err != nil {
					errs <- err
					return
				}
				if _, err := s.Sessions(ctx, SessionQuery{Text: "make build"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	insertAll(t, s, all, 100)
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, n, _ := s.Stats(ctx); n != int64(len(all)) {
		t.Errorf("%d events stored, want %d", n, len(all))
	}
}

// TestClosedStore answers errors, not panics.
func TestClosedStore(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "events.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(context.Background(), newGenerator(1).generate(1), nil, nil); err == nil {
		t.Error("insert into a closed store succeeded")
	}
	if _, err := s.Events(context.Background(), wire.Filter{}, 1, "", false); err == nil {
		t.Error("query of a closed store succeeded")
	}
}

// TestEventsAfter returns what a stream subscriber resuming after a seq
// missed: later events passing the filter, oldest first, at most limit.
func TestEventsAfter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	all := insertScripts(t, s, false, 8)
	for _, tc := range []struct {
		after int64
		f     wire.Filter
		limit int
	}{
		{0, wire.Filter{}, 1000},
		{30, wire.Filter{}, 1000},
		{30, wire.Filter{}, 5},
		{10, wire.Filter{Tool: "Bash"}, 1000},
		{10, wire.Filter{Text: "git"}, 2},
		{int64(len(all)), wire.Filter{}, 10},
	} {
		var want []int64
		for i := range all {
			if all[i].Seq > tc.after && tc.f.Match(&all[i]) && len(want) < tc.limit {
				want = append(want, all[i].Seq)
			}
		}
		got, err := s.EventsAfter(ctx, tc.after, tc.f, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, seqsOf(got), cmpEmpty); diff != "" {
			t.Errorf("after %d %+v limit %d (-want +got):\n%s", tc.after, tc.f, tc.limit, diff)
		}
	}
}

// signalHandler sends each log message on a channel.
type signalHandler struct{ msgs chan string }

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.msgs <- r.Message:
	default:
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestRunRetention enforces retention at once when started and returns nil
// when its context ends.
func TestRunRetention(t *testing.T) {
	msgs := make(chan string, 16)
	var mu sync.Mutex
	now := testNow
	s := openStore(t, Options{MaxAge: 24 * time.Hour, Logger: slog.New(signalHandler{msgs}),
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	insertScripts(t, s, false, 8)
	mu.Lock()
	now = testNow.Add(48 * time.Hour) // every event is now too old
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.RunRetention(ctx, time.Hour) }()
	for msg := range msgs {
		if msg == "store age retention" {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunRetention returned %v", err)
	}
	if _, n, _ := s.Stats(context.Background()); n != 0 {
		t.Errorf("%d events left, want 0", n)
	}
	if err := s.RunRetention(context.Background(), 0); err == nil {
		t.Error("RunRetention with no interval succeeded")
	}
}

// TestIndexMaintenance: an index written by many small transactions is
// merged, in steps, once the store is idle, and answers the same afterwards.
func TestIndexMaintenance(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := openStore(t, Options{MaxAge: -1, Now: clock})
	s.mergeAfter = 100
	all := newGenerator(4).generate(2000)
	insertAll(t, s, all, 10)
	before, err := s.indexPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	query := wire.Filter{Text: "src/auth"}
	want, err := s.Events(ctx, query, MaxLimit, "", false)
	if err != nil || len(want.Events) == 0 {
		t.Fatalf("query before: %d events, %v", len(want.Events), err)
	}

	// Not idle yet: nothing happens.
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.mergeSteps.Load(); n != 0 {
		t.Fatalf("%d merge steps while inserts were recent", n)
	}
	mu.Lock()
	now = now.Add(idleBeforeMerge)
	mu.Unlock()
	for i := 0; i < 10 && (i == 0 || s.merging); i++ {
		if err := s.EnforceRetention(ctx); err != nil {
			t.Fatal(err)
		}
	}
	after, err := s.indexPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("index directory %d rows before, %d after %d steps", before, after, s.mergeSteps.Load())
	if s.merging || s.mergeSteps.Load() < 2 || after >= before {
		t.Errorf("merging %v after %d steps; index directory %d rows, was %d", s.merging, s.mergeSteps.Load(), after, before)
	}
	got, err := s.Events(ctx, query, MaxLimit, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seqsOf(want.Events), seqsOf(got.Events)); diff != "" {
		t.Errorf("answer changed by the merge (-before +after):\n%s", diff)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	// Done: the next rounds start nothing until enough new events came.
	steps := s.mergeSteps.Load()
	if err := s.EnforceRetention(ctx); err != nil || s.mergeSteps.Load() != steps {
		t.Errorf("a merged index was merged again (%v)", err)
	}
}
