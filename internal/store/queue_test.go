package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Enqueue numbers events at once; the writer holds them for CommitDelay and
// commits every queued batch in one transaction (here forced by Close).
func TestEnqueueNumbersAtOnceAndCommitsTogether(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(ctx, Options{Path: path, Now: benchNow, CommitDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	all := newGenerator(7).generate(30)
	var want []int64
	for i := 0; i < 30; i += 10 {
		b := append([]wire.Event(nil), all[i:i+10]...)
		if err := s.Enqueue(ctx, b, nil, nil); err != nil {
			t.Fatal(err)
		}
		got := seqsOf(b)
		for j := range got {
			want = append(want, int64(i+j+1))
		}
		if diff := cmp.Diff(want[i:], got); diff != "" {
			t.Fatalf("seqs at enqueue (-want +got):\n%s", diff)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.WaitDurable(short, s.Mark()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitDurable within the commit delay: %v, want a deadline error", err)
	}
	if n := s.commits.Load(); n != 0 {
		t.Fatalf("commits = %d within the commit delay, want 0", n)
	}
	// A query commits what is queued at once and sees it (read your writes).
	if got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 100); err != nil || len(got) != 30 {
		t.Fatalf("a query after Enqueue: %d events, err %v; want all 30", len(got), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.commits.Load(); n != 1 {
		t.Errorf("commits = %d, want 1 (three batches in one transaction)", n)
	}
	s = openStore(t, Options{Path: path, Now: benchNow})
	got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, seqsOf(got)); diff != "" {
		t.Errorf("stored seqs (-want +got):\n%s", diff)
	}
}

// A batch queued again while pending, or after it was committed and the
// store reopened, keeps its seqs and is stored once.
func TestEnqueueRepeatsKeepTheirSeqs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(ctx, Options{Path: path, Now: benchNow, CommitDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	evs := newGenerator(3).generate(20)
	first := append([]wire.Event(nil), evs...)
	if err := s.Enqueue(ctx, first, nil, nil); err != nil {
		t.Fatal(err)
	}
	again := append([]wire.Event(nil), evs[5:]...)
	if err := s.Enqueue(ctx, again, nil, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seqsOf(first[5:]), seqsOf(again)); diff != "" {
		t.Errorf("pending repeat seqs (-first +again):\n%s", diff)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, Options{Path: path, Now: benchNow})
	// Stored repeats, mixed with one new event after them.
	more := newGenerator(4).generate(1)[0]
	more.ID, more.Time = "ffffffffffffffffffffffffffffffff", evs[len(evs)-1].Time.Add(time.Second)
	third := append(append([]wire.Event(nil), evs[:3]...), more)
	if err := s.Enqueue(ctx, third, nil, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 21}, seqsOf(third)); diff != "" {
		t.Errorf("stored repeat seqs (-want +got):\n%s", diff)
	}
	if err := s.WaitDurable(ctx, s.Mark()); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitSeq(ctx, 21); err != nil {
		t.Fatal(err)
	}
	if _, n, err := s.Stats(ctx); err != nil || n != 21 {
		t.Errorf("events stored = %d (err %v), want 21", n, err)
	}
	got, err := s.EventsAfter(ctx, 20, wire.Filter{}, 10)
	if err != nil || len(got) != 1 || got[0].ID != more.ID {
		t.Errorf("after WaitSeq(21): %v %v, want the new event", got, err)
	}
}

// Closing with batches queued commits them; Enqueue after Close fails.
func TestEnqueueAfterClose(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "events.db"), Now: benchNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, newGenerator(1).generate(1), nil, nil); err == nil {
		t.Error("Enqueue after Close: no error")
	}
}

// A commit that fails is retried until it succeeds; meanwhile the batch is
// pending, counted, and not durable.
func TestEnqueueRetriesAFailedCommit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{Now: benchNow, CommitDelay: -1})
	exec := func(q string) {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON events BEGIN SELECT RAISE(FAIL, 'disk full'); END`)
	evs := newGenerator(11).generate(5)
	if err := s.Enqueue(ctx, evs, nil, nil); err != nil {
		t.Fatal(err)
	}
	mark := s.Mark()
	deadline := time.Now().Add(30 * time.Second)
	for _, _, failures := s.CommitStats(); failures < 2; _, _, failures = s.CommitStats() {
		if time.Now().After(deadline) {
			t.Fatal("no failed commit counted in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.WaitDurable(short, mark); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitDurable while commits fail = %v, want a deadline error", err)
	}
	if pending, _, _ := s.CommitStats(); pending != 5 {
		t.Errorf("pending = %d while commits fail, want 5", pending)
	}
	exec(`DROP TRIGGER fail_insert`)
	wait, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if err := s.WaitDurable(wait, mark); err != nil {
		t.Fatalf("WaitDurable after the disk recovered: %v", err)
	}
	if pending, commits, _ := s.CommitStats(); pending != 0 || commits != 1 {
		t.Errorf("after recovery pending = %d, commits = %d; want 0 and 1", pending, commits)
	}
	got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 10)
	if err != nil || len(got) != 5 {
		t.Fatalf("stored after the retry: %d events, err %v; want 5", len(got), err)
	}
}

// The queue is bounded by the memory it holds: once a commit failed, a batch
// that does not fit declares the store failed rather than block the pipeline;
// an empty queue takes a batch of any size.
func TestEnqueueFailsTheStoreWhenFullWhileCommitsFail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, Options{Path: filepath.Join(dir, "events.db"), Now: benchNow, CommitDelay: -1})
	s.wmu.Lock()
	_, err := s.w.ExecContext(ctx, `CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON events BEGIN SELECT RAISE(FAIL, 'disk full'); END`)
	s.wmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(13)
	big := g.generate(4)
	for i := range big {
		// Incompressible: the queue holds payloads compressed.
		noise := make([]byte, DefaultQueueBytes/4)
		for j := range noise {
			noise[j] = byte(rand.Uint32())
		}
		big[i].Payload = fmt.Appendf(nil, "%q", base64.StdEncoding.EncodeToString(noise))
	}
	if err := s.Enqueue(ctx, big, nil, nil); err != nil {
		t.Fatalf("an empty queue refused a batch of %d bytes: %v", queuedBytes(big), err)
	}
	// Once a commit has failed, a full queue fails the store instead of
	// stalling the pipeline (and with it metrics and the stream).
	waitUnhealthy(t, s)
	small := g.generate(1)
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Enqueue(short, small, nil, nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("Enqueue with %d bytes queued and commits failing = %v, want ErrFailed", queuedBytes(big), err)
	}
	if err := s.WaitDurable(short, s.Mark()); err != nil {
		t.Fatalf("WaitDurable after the failure: %v (the checkpoint must move on once the rebuild marker is written)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db"+RebuildSuffix)); err != nil {
		t.Fatalf("rebuild marker: %v", err)
	}
	if failed, dropped := s.FaultStats(); !failed || dropped != 5 {
		t.Fatalf("FaultStats = %v, %d; want true, 5", failed, dropped)
	}
}

// waitUnhealthy waits, on the queue's broadcasts, until Health reports a problem.
func waitUnhealthy(tb testing.TB, s *Store) {
	tb.Helper()
	timeout := time.After(30 * time.Second)
	for {
		s.q.mu.Lock()
		bad, ch := s.q.fault.lastErr != nil || s.q.fault.failed != nil, s.q.changed
		s.q.mu.Unlock()
		if bad {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			tb.Fatal("the store never reported a failing commit")
		}
	}
}
