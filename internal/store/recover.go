package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrFailed is returned by Enqueue and Insert once the store has been
// declared failed: nothing more is stored until the daemon restarts and
// rebuilds it from the spool (NeedsRebuild).
var ErrFailed = errors.New("event store failed")

// errCorrupt marks a database SQLite's checks or commits found damaged.
var errCorrupt = errors.New("database is corrupt")

// RebuildSuffix names the marker file beside the database that says the store
// misses events the spool holds: it is written when the store is declared
// failed (the checkpoint then moves on without it) and removed by
// RebuildDone. While it exists, NeedsRebuild reports true at every Open.
const RebuildSuffix = ".rebuild"

// faultState is the store's health, kept under q.mu.
type faultState struct {
	lastErr   error     // the last commit error; nil after a commit succeeds
	failingAt time.Time // when commits started failing
	failed    error     // set once the store is declared failed
	// released is set once the rebuild marker is on disk: from then on the
	// durable marks count as reached, and the checkpoint moves past events
	// the store did not keep (the marker says a rebuild must add them).
	released bool
	rebuild  bool   // Open found the marker or moved a corrupt database aside
	aside    string // where a corrupt database was moved, if it was
	dropped  int64  // events handed to Enqueue after the failure, not stored
}

// isCorrupt reports whether err says the database file is damaged.
func isCorrupt(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errCorrupt) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return true
		}
	}
	// The driver does not wrap every error it gets from SQLite in *sqlite.Error.
	msg := err.Error()
	return strings.Contains(msg, "malformed") || strings.Contains(msg, "file is not a database")
}

// quickCheck runs PRAGMA quick_check on the writer's connection: it reads
// every page once (an O(N) pass, without the index cross-checks of
// integrity_check) and fails with errCorrupt on what it finds.
func (s *Store) quickCheck(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("quick check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("quick check: %w", err)
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, line)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("quick check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("quick check: %w: %s", errCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// moveAside renames a corrupt database and its -wal and -shm files to
// <path>.corrupt-<UTC time> (never deleted: they may still be read with
// sqlite3's .recover) and returns the new name of the database.
func moveAside(path string, now time.Time) (string, error) {
	aside := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	for _, ext := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+ext, aside+ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("move corrupt database aside: %w", err)
		}
	}
	return aside, nil
}

// writeMarker records that the store misses events the spool holds.
func writeMarker(path, reason string, now time.Time) error {
	body := fmt.Sprintf("%s %s\n", now.UTC().Format(time.RFC3339), reason)
	f, err := os.OpenFile(path+RebuildSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write rebuild marker: %w", err)
	}
	_, err = f.WriteString(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write rebuild marker: %w", err)
	}
	return nil
}

// NeedsRebuild reports whether the store misses events the spool holds: Open
// moved a corrupt database aside (MovedAside names it) or found the marker a
// failure left. The caller then stores the spool's retained records again
// (idempotent by id) and calls RebuildDone.
func (s *Store) NeedsRebuild() bool {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.fault.rebuild
}

// MovedAside returns where Open moved a corrupt database, or "".
func (s *Store) MovedAside() string {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.fault.aside
}

// RebuildDone waits until everything queued so far is committed and removes
// the rebuild marker.
func (s *Store) RebuildDone(ctx context.Context) error {
	if err := s.WaitDurable(ctx, s.Mark()); err != nil {
		return err
	}
	s.q.mu.Lock()
	failed := s.q.fault.failed
	s.q.mu.Unlock()
	if failed != nil {
		return fmt.Errorf("rebuild: %w", failed)
	}
	if err := os.Remove(s.path + RebuildSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rebuild: remove marker: %w", err)
	}
	s.q.mu.Lock()
	s.q.fault.rebuild = false
	s.q.mu.Unlock()
	return nil
}

// Health returns nil while the store commits, else what is wrong: commits
// failing (retried; the checkpoint waits) or the store declared failed.
func (s *Store) Health() error {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	f := &s.q.fault
	switch {
	case f.failed != nil:
		return fmt.Errorf("event store failed (restart the daemon to rebuild it from the spool): %w", f.failed)
	case f.lastErr != nil:
		return fmt.Errorf("event store commits failing since %s: %w", f.failingAt.UTC().Format(time.RFC3339), f.lastErr)
	}
	return nil
}

// FaultStats reports whether the store was declared failed and how many
// events it was handed since and did not store.
func (s *Store) FaultStats() (failed bool, dropped int64) {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.fault.failed != nil, s.q.fault.dropped
}

// declareFailed stops the store for good: Enqueue refuses with ErrFailed, the
// writer drops what is queued, and once the rebuild marker is on disk the
// durable marks count as reached, so the pipeline's checkpoint moves on
// without the store. Metrics, traces and the stream do not depend on it. The
// next Open sees the marker and asks for a rebuild from the spool.
// It is safe to call more than once and from any goroutine.
func (s *Store) declareFailed(err error) {
	q := &s.q
	q.mu.Lock()
	if q.fault.failed != nil {
		q.mu.Unlock()
		return
	}
	q.fault.failed = err
	q.broadcast()
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	s.opts.Logger.Error("event store failed; metrics, traces and the live stream go on without it. Restart the daemon: it moves a corrupt database aside and rebuilds the store from the spool",
		"path", s.path, "err", err)
	if merr := writeMarker(s.path, err.Error(), s.opts.Now()); merr != nil {
		// Without the marker the next start would not know events are
		// missing: the checkpoint keeps waiting instead, and a restart
		// replays from it into the store.
		s.opts.Logger.Error("event store: the checkpoint stays at the last committed events", "err", merr)
		return
	}
	q.mu.Lock()
	q.fault.released = true
	q.broadcast()
	q.mu.Unlock()
}

// openChecked opens the store, checking the database first (quickCheck). A
// database SQLite finds damaged, at the check or on opening, is moved aside
// and a new one created in its place; the store then reports NeedsRebuild, as
// it does when a failure left the rebuild marker. The new database numbers
// events above the highest seq the old one still tells, so that a stream
// client's Last-Event-ID is not reused.
func openChecked(ctx context.Context, opts Options, path string) (*Store, error) {
	s, err := openOnce(ctx, opts, path)
	aside := ""
	var floor int64
	if err != nil {
		if !isCorrupt(err) {
			return nil, err
		}
		floor = salvageSeq(ctx, path)
		if aside, err = moveAside(path, opts.Now()); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		opts.Logger.Error("event store: the database is corrupt; moved it aside and rebuilding the store from the spool",
			"path", path, "moved_to", aside, "err", err)
		if err := writeMarker(path, "corrupt database moved to "+aside, opts.Now()); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
		if s, err = openOnce(ctx, opts, path); err != nil {
			return nil, err
		}
		if floor > 0 {
			if err := s.raiseSeq(ctx, floor); err != nil {
				s.Close()
				return nil, fmt.Errorf("open store %s: %w", path, err)
			}
		}
	}
	_, statErr := os.Stat(path + RebuildSuffix)
	s.q.mu.Lock()
	s.q.fault.rebuild = statErr == nil
	s.q.fault.aside = aside
	s.q.mu.Unlock()
	return s, nil
}

// salvageSeq reads the highest seq a damaged database still tells (0 when it
// tells nothing).
func salvageSeq(ctx context.Context, path string) int64 {
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"query_only(1)"}}))
	if err != nil {
		return 0
	}
	defer db.Close()
	var seq int64
	for _, q := range []string{`SELECT coalesce(max(value), 0) FROM meta WHERE key = 'last_seq'`, `SELECT coalesce(max(seq), 0) FROM events`} {
		var n int64
		if db.QueryRowContext(ctx, q).Scan(&n) == nil {
			seq = max(seq, n)
		}
	}
	return seq
}

// raiseSeq makes the store number events above seq.
func (s *Store) raiseSeq(ctx context.Context, seq int64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('last_seq', ?)
		ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`, seq); err != nil {
		return fmt.Errorf("keep seq %d: %w", seq, err)
	}
	s.maxSeq.Store(max(s.maxSeq.Load(), seq))
	s.q.mu.Lock()
	s.q.reserved = max(s.q.reserved, seq)
	s.q.mu.Unlock()
	return nil
}
