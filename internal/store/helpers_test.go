package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		for _, dir := range benchDirs {
			_ = os.RemoveAll(dir)
		}
	}))
}

// testNow is the clock of stores in tests: an hour after the scripts end.
var testNow = storetest.Base.Add(2 * time.Hour)

// openStore opens a store in a temporary directory; zero fields of opts take
// test defaults (path, clock), and it is closed when the test ends.
func openStore(tb testing.TB, opts Options) *Store {
	tb.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(tb.TempDir(), "events.db")
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// insertScripts runs the scripted sessions through a tracker and inserts
// them in batches of n events, as the daemon's store sink would, and returns
// the inserted events with their seqs.
func insertScripts(tb testing.TB, s *Store, capture bool, n int) []wire.Event {
	tb.Helper()
	var all []wire.Event
	for _, b := range storetest.Batches(storetest.Run(tb, session.Options{CaptureContent: capture}), n) {
		evs := make([]wire.Event, len(b.Events))
		for i := range b.Events {
			evs[i] = eventview.Of(&b.Events[i], 0, capture)
		}
		if err := s.Insert(context.Background(), evs, b.Spans, b.Sessions); err != nil {
			tb.Fatalf("insert: %v", err)
		}
		all = append(all, evs...)
	}
	return all
}

// insertAll inserts events in batches of n, each with a summary of every
// session it names (active, from its first to its last event), as a tracker
// would send for generated events.
func insertAll(tb testing.TB, s *Store, evs []wire.Event, n int) {
	tb.Helper()
	sums := map[string]*timeline.Summary{}
	for i := 0; i < len(evs); i += n {
		batch := evs[i:min(i+n, len(evs))]
		var order []string
		for _, ev := range batch {
			sum := sums[ev.SessionID]
			if sum == nil {
				sum = &timeline.Summary{SessionID: ev.SessionID, Status: timeline.StatusActive, Start: ev.Time, LastActivity: ev.Time}
				sums[ev.SessionID] = sum
			}
			if !slices.Contains(order, ev.SessionID) {
				order = append(order, ev.SessionID)
			}
			if ev.Time.After(sum.LastActivity) {
				sum.LastActivity = ev.Time
			}
			if ev.Time.Before(sum.Start) {
				sum.Start = ev.Time
			}
		}
		var out []timeline.Summary
		for _, id := range order {
			out = append(out, *sums[id])
		}
		if err := s.Insert(context.Background(), batch, nil, out); err != nil {
			tb.Fatalf("insert: %v", err)
		}
	}
}

// eventView shows a payload as text in goldens.
type eventView struct {
	wire.Event
	Payload string `json:"payload,omitempty"`
}

func views(evs []wire.Event) []eventView {
	out := make([]eventView, len(evs))
	for i, ev := range evs {
		out[i] = eventView{Event: ev, Payload: string(ev.Payload)}
	}
	return out
}

// golden compares v, as indented JSON, with testdata/name (rewritten with -update).
func golden(tb testing.TB, name string, v any) {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		tb.Fatalf("encode %s: %v", name, err)
	}
	goldentest.Compare(tb, filepath.Join("testdata", name), buf.Bytes())
}

// seqsOf lists the seqs of events.
func seqsOf(evs []wire.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// diffJSON compares two values by their JSON form.
func diffJSON(tb testing.TB, want, got any) string {
	tb.Helper()
	w, err := json.MarshalIndent(want, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	g, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return cmp.Diff(string(w), string(g))
}

// openAtVersion creates a database at path with the schema migrated only up
// to version, as an older release left it, for migration tests to fill and
// then open with the current code. The caller closes conn, then db.
func openAtVersion(tb testing.TB, path string, version int) (*sql.DB, *sql.Conn) {
	tb.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := migrateTo(ctx, conn, testNow, version); err != nil {
		tb.Fatal(err)
	}
	return db, conn
}
