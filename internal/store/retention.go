package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// deleteChunk bounds the events one retention transaction removes, so that
// inserts wait for the writer at most that long.
const deleteChunk = 20000

// Size retention shrinks the files below MaxBytes by a margin, so that it
// does not run again on the next insert: a fifth of the limit, at most
// sizeMarginMax (a larger margin would stall inserts for longer at a time).
const sizeMarginMax = 64 << 20

// maxSizeRounds bounds the delete-and-measure rounds of one size retention.
const maxSizeRounds = 32

// RunRetention enforces retention now and then every interval until ctx ends;
// it returns nil then. A failed round is logged and retried at the next tick.
func (s *Store) RunRetention(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("run retention: interval %v", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.EnforceRetention(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("store retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// EnforceRetention removes the events older than MaxAge (by event time) with
// the sessions and spans that have no activity left, then, when the database
// and its log are over MaxBytes, the oldest events (by seq) until they are
// under it again. When no insert came for a while, it then advances the
// merge of the full-text index (see maintainIndex).
func (s *Store) EnforceRetention(ctx context.Context) error {
	if err := s.enforceRetention(ctx); err != nil {
		return err
	}
	return s.maintainIndex(ctx)
}

func (s *Store) enforceRetention(ctx context.Context) error {
	if s.opts.MaxAge > 0 {
		cutoff := s.opts.Now().Add(-s.opts.MaxAge).UnixNano()
		for {
			n, err := s.deleteOlderThan(ctx, cutoff)
			if err != nil {
				return err
			}
			if n < deleteChunk {
				break
			}
		}
	}
	if s.opts.MaxBytes > 0 {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		return s.enforceSize(ctx)
	}
	return nil
}

// deleteOlderThan removes up to deleteChunk events older than cutoff (unix
// ns) and everything of sessions whose last activity is older.
func (s *Store) deleteOlderThan(ctx context.Context, cutoff int64) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w == nil {
		return 0, errors.New("retention: store closed")
	}
	var n int64
	err := s.tx(ctx, func() error {
		if err := s.saveLastSeq(ctx); err != nil {
			return err
		}
		sel := `SELECT seq FROM events WHERE time < ? ORDER BY time, seq LIMIT ?`
		if _, err := s.w.ExecContext(ctx, `DELETE FROM events_fts WHERE rowid IN (`+sel+`)`, cutoff, deleteChunk); err != nil {
			return fmt.Errorf("delete index entries: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM payloads WHERE seq IN (`+sel+`)`, cutoff, deleteChunk); err != nil {
			return fmt.Errorf("delete payloads: %w", err)
		}
		res, err := s.w.ExecContext(ctx, `DELETE FROM events WHERE seq IN (`+sel+`)`, cutoff, deleteChunk)
		if err != nil {
			return fmt.Errorf("delete events: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return s.deleteSessionsBefore(ctx, cutoff)
	})
	if err != nil {
		return 0, fmt.Errorf("age retention: %w", err)
	}
	s.events.Add(-n)
	if n > 0 {
		s.opts.Logger.Debug("store age retention", "events", n)
	}
	return n, nil
}

// deleteSessionsBefore removes sessions, with their spans, whose last
// activity is before t (unix ns).
func (s *Store) deleteSessionsBefore(ctx context.Context, t int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM spans WHERE session_id IN
		(SELECT session_id FROM sessions WHERE last_activity < ?)`, t); err != nil {
		return fmt.Errorf("delete spans: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE last_activity < ?`, t); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// saveLastSeq records the highest seq assigned before events are removed:
// Open continues above it even when the newest events are gone.
func (s *Store) saveLastSeq(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('last_seq', ?)
		ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`, s.maxSeq.Load()); err != nil {
		return fmt.Errorf("record last seq: %w", err)
	}
	return nil
}

// tx runs fn in a write transaction on the writer connection (held by the caller).
func (s *Store) tx(ctx context.Context, fn func() error) (err error) {
	if _, err := s.w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(); err != nil {
		if _, rbErr := s.w.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if _, err := s.w.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// enforceSize removes the oldest events while the files are over MaxBytes,
// down to the margin below it, and gives the freed pages back to the file
// system. The caller holds wmu.
func (s *Store) enforceSize(ctx context.Context) error {
	size, err := s.size()
	if err != nil || size <= s.opts.MaxBytes {
		return err
	}
	s.sizeRuns.Add(1)
	target := s.opts.MaxBytes - min(s.opts.MaxBytes/5, sizeMarginMax)
	// A log not yet folded into the database may be all of the excess.
	if err := s.shrink(ctx); err != nil {
		return err
	}
	var removed int64
	for round := 0; round < maxSizeRounds; round++ {
		if size, err = s.size(); err != nil {
			return err
		}
		n := s.events.Load()
		if size <= target || n == 0 {
			break
		}
		var pages, pageSize int64
		if err := s.w.QueryRowContext(ctx, `SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages, &pageSize); err != nil {
			return fmt.Errorf("size retention: %w", err)
		}
		// Remove what the excess is worth at the average event size, at
		// least one event, at most one chunk per transaction.
		perEvent := max(float64(pages*pageSize)/float64(n), 1)
		k := int64(float64(size-target) / perEvent)
		k = min(max(k, 1, n/64), n, deleteChunk)
		if err := s.deleteOldest(ctx, k); err != nil {
			return err
		}
		removed += k
		if err := s.shrink(ctx); err != nil {
			return err
		}
	}
	s.opts.Logger.Debug("store size retention", "events", removed, "bytes", size, "max_bytes", s.opts.MaxBytes)
	if size > s.opts.MaxBytes {
		return fmt.Errorf("size retention: %d bytes left after removing %d events, limit %d", size, removed, s.opts.MaxBytes)
	}
	return nil
}

// deleteOldest removes the k oldest events by seq, and the sessions that have
// no events left.
func (s *Store) deleteOldest(ctx context.Context, k int64) error {
	var n int64
	err := s.tx(ctx, func() error {
		if err := s.saveLastSeq(ctx); err != nil {
			return err
		}
		var upto int64
		if err := s.w.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM (SELECT seq FROM events ORDER BY seq LIMIT ?)`, k).Scan(&upto); err != nil {
			return fmt.Errorf("find oldest events: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM events_fts WHERE rowid IN (SELECT seq FROM events WHERE seq <= ?)`, upto); err != nil {
			return fmt.Errorf("delete index entries: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM payloads WHERE seq <= ?`, upto); err != nil {
			return fmt.Errorf("delete payloads: %w", err)
		}
		res, err := s.w.ExecContext(ctx, `DELETE FROM events WHERE seq <= ?`, upto)
		if err != nil {
			return fmt.Errorf("delete events: %w", err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		// A session whose last activity predates every remaining event has none left.
		var oldest int64
		if err := s.w.QueryRowContext(ctx, `SELECT coalesce(min(time), 9223372036854775807) FROM events`).Scan(&oldest); err != nil {
			return fmt.Errorf("find oldest remaining event: %w", err)
		}
		return s.deleteSessionsBefore(ctx, oldest)
	})
	if err != nil {
		return fmt.Errorf("size retention: %w", err)
	}
	s.events.Add(-n)
	return nil
}

// shrink merges the full-text index (dropping the entries of deleted rows),
// hands free pages back and folds the log into the database file.
func (s *Store) shrink(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO events_fts(events_fts, rank) VALUES ('merge', 500)`); err != nil {
		return fmt.Errorf("merge full-text index: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA incremental_vacuum`); err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	// The background checkpointer would make this one give up.
	s.ckmu.Lock()
	defer s.ckmu.Unlock()
	var busy, logFrames, done int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		s.opts.Logger.Debug("store checkpoint busy", "log_frames", logFrames, "checkpointed", done)
	}
	return nil
}

// Index maintenance. Inserts leave the full-text index in many segments
// (automerge keeps their number bounded, not small); a query reads each, and
// one merged index answers text queries about twice as fast (1M events). The
// merge runs in steps of mergeStepPages pages, each holding the writer for
// ~0.1 s, only after idleBeforeMerge without inserts, so that live events do
// not wait behind it.
const (
	mergeStepPages   = 500
	maxMergeSteps    = 20
	idleBeforeMerge  = 5 * time.Second
	mergeAfterEvents = 10000 // new events that make a new merge worth it
)

// maintainIndex advances the merge of the index while the store is idle:
// it starts one when mergeAfter events came since the last, and continues it
// step by step until a step changes nothing.
func (s *Store) maintainIndex(ctx context.Context) error {
	for step := 0; step < maxMergeSteps; step++ {
		last := time.Unix(0, s.lastInsert.Load())
		if s.opts.Now().Sub(last) < idleBeforeMerge {
			return nil
		}
		done, err := s.mergeStep(ctx)
		if err != nil || done {
			return err
		}
	}
	return nil
}

// mergeStep runs one step; done when there is nothing (left) to merge.
func (s *Store) mergeStep(ctx context.Context) (done bool, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w == nil {
		return true, errors.New("index maintenance: store closed")
	}
	if !s.merging {
		if s.sinceMerge < s.mergeAfter {
			return true, nil
		}
		// A negative page count starts merging every segment into one.
		if _, err := s.w.ExecContext(ctx, `INSERT INTO events_fts(events_fts, rank) VALUES ('merge', ?)`, -mergeStepPages); err != nil {
			return true, fmt.Errorf("index maintenance: %w", err)
		}
		s.merging, s.sinceMerge = true, 0
		s.mergeSteps.Add(1)
		return false, nil
	}
	before, err := s.indexPages(ctx)
	if err != nil {
		return true, err
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO events_fts(events_fts, rank) VALUES ('merge', ?)`, mergeStepPages); err != nil {
		return true, fmt.Errorf("index maintenance: %w", err)
	}
	s.mergeSteps.Add(1)
	after, err := s.indexPages(ctx)
	if err != nil {
		return true, err
	}
	if after == before {
		s.merging = false
		s.pokeCheckpointer()
		return true, nil
	}
	return false, nil
}

// indexPages counts the rows of the index's segment directory, which a merge
// step changes while it has work left.
func (s *Store) indexPages(ctx context.Context) (int64, error) {
	var n int64
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM events_fts_idx`).Scan(&n); err != nil {
		return 0, fmt.Errorf("index maintenance: %w", err)
	}
	return n, nil
}
