package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/checkpoint"
	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/tail"
)

// samples reads the reference payloads.
func samples(tb testing.TB) [][]byte {
	tb.Helper()
	return proctest.ReadLines(tb, "testdata/events-current.jsonl", 1)
}

// writeSpool appends payloads as spool records in dir, one second apart.
func writeSpool(tb testing.TB, dir string, payloads [][]byte, start time.Time) {
	tb.Helper()
	w, err := spool.OpenWriter(spool.Options{Dir: dir, Now: func() time.Time { return start }})
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	recs := make([]spool.Record, 0, len(payloads))
	for i, p := range payloads {
		recs = append(recs, spool.Capture(p, start.Add(time.Duration(i)*time.Second), spool.SourceHook, spool.DefaultMaxRecordBytes))
	}
	if err := w.Append(recs...); err != nil {
		tb.Fatal(err)
	}
}

// recordingSink keeps copies of what it is handed; it can fail on demand.
type recordingSink struct {
	mu     sync.Mutex
	events []string
	spans  []string
	fail   int // refuse this many batches first
}

func (s *recordingSink) Consume(_ context.Context, b *Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("sink down")
	}
	for _, e := range b.Events {
		s.events = append(s.events, e.Name)
	}
	for _, sp := range b.Spans {
		s.spans = append(s.spans, sp.Key)
	}
	return nil
}

func (s *recordingSink) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events), len(s.spans)
}

// runUntil runs the pipeline until cond holds on its stats, then stops it.
func runUntil(tb testing.TB, p *Pipeline, src Source, cond func(Stats) bool) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, src) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok bool
		p.Snapshot(func(s Stats) { ok = cond(s) })
		if ok {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			tb.Fatal("pipeline did not reach the expected state in 30s")
		}
		select {
		case err := <-done:
			tb.Fatalf("pipeline stopped early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		tb.Fatalf("Run: %v", err)
	}
}

func newTailer(tb testing.TB, dir string, start []tail.Position) *tail.Tailer {
	tb.Helper()
	t, err := tail.New(tail.Options{Dir: dir, Match: spool.IsSpoolFile, Start: start, PollInterval: 20 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { t.Close() })
	return t
}

// TestRejectionsAreCounted: torn fragments, preserved bad input, non-hook JSON
// and payloads without a session are each counted once under their reason,
// and good records around them still arrive.
func TestRejectionsAreCounted(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	good := samples(t)[:3]
	writeSpool(t, dir, good, start)
	f := filepath.Join(dir, spool.FileName(start))
	fh, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(`{"v":1,"id":"torn`) // a writer that died mid-record
	fh.Close()
	bad := [][]byte{[]byte("{oops"), nil, []byte(`[1,2,3]`), []byte(`{"session_id":"s"}`), []byte(`{"hook_event_name":"Stop"}`)}
	writeSpool(t, dir, bad, start)
	writeSpool(t, dir, good, start)

	sink := &recordingSink{}
	p, err := New(Options{Tracker: session.New(session.Options{}), Sinks: []Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, newTailer(t, dir, nil), func(s Stats) bool {
		var n uint64
		for _, v := range s.Rejected {
			n += v
		}
		return s.Applied == 6 && n == 6
	})
	var got map[string]uint64
	p.Snapshot(func(s Stats) { got = s.Rejected })
	want := map[string]uint64{
		RejectMalformedRecord: 1,
		RejectInvalidJSON:     1,
		RejectEmpty:           1,
		RejectInvalidEvent:    2,
		RejectNoSession:       1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("rejections (-want +got):\n%s", diff)
	}
	if n, _ := sink.counts(); n != 6 {
		t.Fatalf("sink saw %d events, want 6", n)
	}
}

// TestCheckpointRestoreContinues: a second pipeline restored from the first's
// checkpoint reads only what came after it and continues its counters.
func TestCheckpointRestoreContinues(t *testing.T) {
	dir := t.TempDir()
	cpPath := filepath.Join(t.TempDir(), "checkpoint.json")
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	all := samples(t)
	writeSpool(t, dir, all[:10], start)

	p1, err := New(Options{Tracker: session.New(session.Options{}), CheckpointPath: cpPath})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p1, newTailer(t, dir, nil), func(s Stats) bool { return s.Applied == 10 })

	writeSpool(t, dir, all[10:], start.Add(time.Minute))
	sink := &recordingSink{}
	tracker := session.New(session.Options{})
	p2, err := New(Options{Tracker: tracker, CheckpointPath: cpPath, Sinks: []Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := p2.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) == 0 {
		t.Fatal("no positions restored")
	}
	want := uint64(len(all))
	runUntil(t, p2, newTailer(t, dir, pos), func(s Stats) bool { return s.Applied == want })
	if n, _ := sink.counts(); n != len(all)-10 {
		t.Fatalf("the restored pipeline handed %d events to its sink, want only the %d after the checkpoint", n, len(all)-10)
	}
	var events uint64
	tracker.Read(func(s *session.Snapshot) {
		for _, v := range s.Metrics.Events {
			events += v
		}
	})
	if events != want {
		t.Fatalf("tracker counted %d events after restore, want %d", events, want)
	}
}

// TestSinkFailureHoldsCheckpoint: a refusing sink is retried with the same
// batch, and nothing is lost.
func TestSinkFailureHoldsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	all := samples(t)
	writeSpool(t, dir, all, start)
	sink := &recordingSink{fail: 2}
	p, err := New(Options{Tracker: session.New(session.Options{}), Sinks: []Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, newTailer(t, dir, nil), func(Stats) bool {
		n, _ := sink.counts()
		return n == len(all)
	})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.events[0] != "Setup" || !strings.EqualFold(sink.events[len(sink.events)-1], "SessionEnd") {
		t.Fatalf("events after retries: first %s last %s", sink.events[0], sink.events[len(sink.events)-1])
	}
}

// TestOversizeLineCounted: a spool line longer than the tailer accepts is
// counted as oversized, and the records around it still arrive.
func TestOversizeLineCounted(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	all := samples(t)
	big := []byte(`{"hook_event_name":"Notification","session_id":"s","message":"` + strings.Repeat("x", 4096) + `"}`)
	writeSpool(t, dir, [][]byte{all[0], big, all[1]}, start)
	tl, err := tail.New(tail.Options{Dir: dir, Match: spool.IsSpoolFile, MaxLineBytes: 2048, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	p, err := New(Options{Tracker: session.New(session.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, tl, func(s Stats) bool { return s.Applied == 2 && s.Rejected[RejectOversized] == 1 })
}

// durableSink records batches and makes them durable only when allowed.
type durableSink struct {
	recordingSink
	mu       sync.Mutex
	marks    uint64
	durable  bool // every batch consumed so far is durable
	released chan struct{}
}

func (s *durableSink) Consume(ctx context.Context, b *Batch) error {
	s.mu.Lock()
	s.marks++
	s.mu.Unlock()
	return s.recordingSink.Consume(ctx, b)
}

func (s *durableSink) Mark() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marks
}

func (s *durableSink) WaitDurable(ctx context.Context, mark uint64) error {
	s.mu.Lock()
	ok := s.durable
	s.mu.Unlock()
	if ok {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.released:
		return nil
	}
}

// TestCheckpointWaitsForDurableSinks: a checkpoint is written only once the
// durable sinks hold what it covers; at shutdown it is given up after
// DurableTimeout, so the next start replays those events.
func TestCheckpointWaitsForDurableSinks(t *testing.T) {
	dir := t.TempDir()
	cpPath := filepath.Join(t.TempDir(), "checkpoint.json")
	all := samples(t)
	writeSpool(t, dir, all, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))

	never := &durableSink{released: make(chan struct{})}
	p1, err := New(Options{Tracker: session.New(session.Options{}), CheckpointPath: cpPath, CheckpointInterval: time.Millisecond,
		DurableTimeout: 50 * time.Millisecond, Sinks: []Sink{never}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p1.Run(ctx, newTailer(t, dir, nil)) }()
	for n, _ := never.counts(); n < len(all); n, _ = never.counts() {
		select {
		case err := <-done:
			t.Fatalf("Run stopped early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "final checkpoint") {
		t.Errorf("Run = %v, want an error about the final checkpoint", err)
	}
	if _, ok, err := checkpoint.Load(cpPath); ok || err != nil {
		t.Fatalf("a checkpoint was written (err %v) although the sink made nothing durable", err)
	}
	var failures uint64
	p1.Snapshot(func(s Stats) { failures = s.CheckpointFailures })
	if failures == 0 {
		t.Error("the final checkpoint given up is not counted as a failure")
	}

	// The next start replays everything, then checkpoints once it is durable.
	later := &durableSink{released: make(chan struct{})}
	p2, err := New(Options{Tracker: session.New(session.Options{}), CheckpointPath: cpPath, Sinks: []Sink{later}})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := p2.Restore()
	if err != nil || pos != nil {
		t.Fatalf("restore: %v %v, want nothing", pos, err)
	}
	close(later.released)
	runUntil(t, p2, newTailer(t, dir, nil), func(s Stats) bool { return s.Applied == uint64(len(all)) })
	if n, _ := later.counts(); n != len(all) {
		t.Fatalf("replayed %d events, want %d", n, len(all))
	}
	if _, ok, err := checkpoint.Load(cpPath); !ok || err != nil {
		t.Fatalf("no checkpoint after the sink made the events durable (err %v)", err)
	}
}
