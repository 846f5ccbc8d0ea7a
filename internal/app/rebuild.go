package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// storeRebuild stores every record the spool still holds again, for a store
// that misses some (store.NeedsRebuild: a corrupt database was moved aside,
// or the store failed while the daemon ran and the checkpoint moved on
// without it). It runs beside the pipeline: the store keeps each event once
// (by record id), so what the pipeline stores meanwhile is not doubled, and
// nothing it counts (metrics come from the checkpointed tracker) is counted
// again. Spans come from a tracker of its own over the same records.
type storeRebuild struct {
	store      *store.Store
	spoolDir   string
	tracker    session.Options
	payloadMax int
	capture    bool
	logger     *slog.Logger
}

// maxRebuildLine is the longest line the rebuild reads: longer than any
// record a writer produces (see docs/architecture.md).
const maxRebuildLine = 16 << 20

func (r *storeRebuild) run(ctx context.Context) error {
	start := time.Now()
	entries, err := os.ReadDir(r.spoolDir)
	if err != nil {
		return fmt.Errorf("rebuild store: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && spool.IsSpoolFile(e.Name()) {
			files = append(files, e.Name())
		}
	}
	slices.Sort(files) // spool-YYYYMMDD: oldest first
	oldest := ""
	if len(files) > 0 {
		oldest = files[0]
	}
	r.logger.Warn("event store: rebuilding from the spool", "files", len(files), "oldest", oldest)
	tracker := session.New(r.tracker)
	var events int
	for _, name := range files {
		n, err := r.file(ctx, tracker, filepath.Join(r.spoolDir, name))
		events += n
		if err != nil {
			return fmt.Errorf("rebuild store from %s: %w", name, err)
		}
	}
	if err := r.store.RebuildDone(ctx); err != nil {
		return fmt.Errorf("rebuild store: %w", err)
	}
	r.logger.Warn("event store: rebuilt from the spool", "events", events, "oldest", oldest, "seconds", time.Since(start).Seconds())
	return nil
}

// file stores the records of one spool file up to its size now: what is
// appended later reaches the store through the pipeline.
func (r *storeRebuild) file(ctx context.Context, tracker *session.Tracker, path string) (events int, err error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // removed meanwhile
		}
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(io.LimitReader(f, fi.Size()), 1<<20)
	var (
		evs   []hookevent.Event
		line  []byte
		long  bool
		batch []wire.Event
		spans []session.Span
	)
	flush := func() error {
		if len(evs) == 0 && len(spans) == 0 {
			return nil
		}
		batch = batch[:0]
		for i := range evs {
			batch = append(batch, eventview.Of(&evs[i], r.payloadMax, r.capture))
		}
		err := r.store.EnqueueRebuilt(ctx, batch, spans, tracker.TakeSummaries(nil))
		events += len(evs)
		evs, spans = evs[:0], spans[:0]
		return err
	}
	for {
		chunk, rerr := br.ReadSlice('\n')
		if !long {
			line = append(line, chunk...)
		}
		if len(line) > maxRebuildLine {
			long, line = true, line[:0]
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			continue
		}
		if !long && rerr == nil {
			if ev, ok := decodeLine(bytes.TrimSpace(line)); ok {
				evs = append(evs, ev)
				spans = append(spans, tracker.Apply(&evs[len(evs)-1])...)
				if len(evs) >= 256 {
					if err := flush(); err != nil {
						return events, err
					}
				}
			}
		}
		line, long = line[:0], false
		if rerr != nil {
			break // io.EOF: a last line without its newline is not whole yet
		}
	}
	return events, flush()
}

// decodeLine turns a spool line into an event as the pipeline does; lines it
// would reject are skipped (the pipeline counted them).
func decodeLine(b []byte) (hookevent.Event, bool) {
	if len(b) == 0 {
		return hookevent.Event{}, false
	}
	rec, err := spool.Decode(b)
	if err != nil || rec.Bad != "" {
		return hookevent.Event{}, false
	}
	payload, replaced := hookevent.ValidUTF8(rec.Payload)
	if !replaced {
		payload = bytes.Clone(payload) // rec.Payload aliases the reused line buffer
	}
	ev, err := hookevent.Decode(payload)
	if err != nil || ev.SessionID == "" {
		return hookevent.Event{}, false
	}
	ev.ID = rec.ID
	ev.Received = time.Unix(0, rec.Received).UTC()
	return ev, true
}
