package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corrupt overwrites every page of the database file but the first with
// garbage: the schema still reads, the events' b-trees do not.
func corrupt(tb testing.TB, path string) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	const page = 4096
	if fi.Size() < 3*page {
		tb.Fatalf("%s: %d bytes, too small to corrupt past its schema", path, fi.Size())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xa5garbage", page/8))
	for off := int64(page); off < fi.Size(); off += page {
		if _, err := f.WriteAt(junk, off); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestOpenMovesCorruptDatabaseAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	s := openStore(t, Options{Path: path})
	evs := insertScripts(t, s, false, 64)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	corrupt(t, path)

	s2 := openStore(t, Options{Path: path})
	if !s2.NeedsRebuild() {
		t.Fatal("NeedsRebuild = false after opening a corrupt database")
	}
	aside := s2.MovedAside()
	if !strings.HasPrefix(aside, path+".corrupt-") {
		t.Fatalf("MovedAside = %q, want %s.corrupt-<time>", aside, path)
	}
	if _, err := os.Stat(aside); err != nil {
		t.Fatalf("the corrupt database is not kept: %v", err)
	}
	if _, err := os.Stat(path + RebuildSuffix); err != nil {
		t.Fatalf("no rebuild marker: %v", err)
	}
	// The rebuild stores the events again.
	re := append(evs[:0:0], evs...)
	for i := range re {
		re[i].Seq = 0
	}
	insertAll(t, s2, re, 100)
	if err := s2.RebuildDone(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s2.NeedsRebuild() {
		t.Fatal("NeedsRebuild still true after RebuildDone")
	}
	if _, err := os.Stat(path + RebuildSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rebuild marker left: %v", err)
	}
	if _, n, _ := s2.Stats(context.Background()); n != int64(len(evs)) {
		t.Fatalf("rebuilt store holds %d events, want %d", n, len(evs))
	}
}

func TestCorruptionWhileRunningFailsTheStoreWithoutStalling(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.db")
	// No background checkpoints from the cache: the writer must read the
	// damaged pages.
	s := openStore(t, Options{Path: path, CommitDelay: -1})
	evs := insertScripts(t, s, false, 64)
	ctx := context.Background()
	// Fold the log into the file so that the damage is what SQLite reads.
	s.ckmu.Lock()
	if _, err := s.cdb.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	s.ckmu.Unlock()
	corrupt(t, path)
	// Drop the writer's page cache: another connection's write would.
	s.wmu.Lock()
	if _, err := s.w.ExecContext(ctx, "PRAGMA cache_size(0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
		t.Fatal(err)
	}
	s.wmu.Unlock()

	// Enqueue goes on returning (the pipeline never stalls on the store),
	// whatever the writer finds.
	more := append(evs[:0:0], evs...)
	for i := range more {
		more[i].ID = "again-" + more[i].ID
		more[i].Time = more[i].Time.Add(24 * time.Hour)
		more[i].Seq = 0
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; s.Health() == nil || !strings.Contains(s.Health().Error(), "failed"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("store not declared failed; health: %v", s.Health())
		}
		b := more[(i*8)%len(more) : min((i*8)%len(more)+8, len(more))]
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.Enqueue(wctx, b, nil, nil)
		cancel()
		if err != nil && !errors.Is(err, ErrFailed) {
			t.Fatalf("Enqueue: %v", err)
		}
		wctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		err = s.WaitDurable(wctx, s.Mark())
		cancel()
		if err != nil && s.Health() == nil {
			t.Fatalf("WaitDurable: %v", err)
		}
	}
	if err := s.Enqueue(ctx, more[:1], nil, nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("Enqueue after failure: %v, want ErrFailed", err)
	}
	// The checkpoint may move on: the marker says the store misses events.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.WaitDurable(wctx, s.Mark()); err != nil {
		t.Fatalf("WaitDurable after failure: %v", err)
	}
	if _, err := os.Stat(path + RebuildSuffix); err != nil {
		t.Fatalf("no rebuild marker: %v", err)
	}
	if failed, _ := s.FaultStats(); !failed {
		t.Fatal("FaultStats: not failed")
	}
}
