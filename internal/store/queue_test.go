package store

import (
	"context"
	"errors"
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
		if err := s.Enqueue(ctx, b, nil); err != nil {
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
	if got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 100); err != nil || len(got) != 0 {
		t.Fatalf("queries before the commit: %d events, err %v; want none", len(got), err)
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
	if err := s.Enqueue(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	again := append([]wire.Event(nil), evs[5:]...)
	if err := s.Enqueue(ctx, again, nil); err != nil {
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
	if err := s.Enqueue(ctx, third, nil); err != nil {
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
	if err := s.Enqueue(ctx, newGenerator(1).generate(1), nil); err == nil {
		t.Error("Enqueue after Close: no error")
	}
}
