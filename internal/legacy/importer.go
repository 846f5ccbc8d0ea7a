package legacy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/checkpoint"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// Appender takes spool records; *spool.Writer is one.
type Appender interface {
	Append(recs ...spool.Record) error
}

// importBatch is how many records one Append carries.
const importBatch = 256

// Import appends one spool record per legacy file, in batches, with the
// capture time taken from the file name and the record id from ID, so a
// repeated import yields the same ids. progress, when not nil, is told how
// many files each batch held. It returns the number of records appended.
func Import(ctx context.Context, files []File, w Appender, maxRecordBytes int, progress func(int)) (int, error) {
	recs := make([]spool.Record, 0, importBatch)
	n := 0
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		if err := w.Append(recs...); err != nil {
			return fmt.Errorf("append to spool: %w", err)
		}
		n += len(recs)
		if progress != nil {
			progress(len(recs))
		}
		recs = recs[:0]
		return nil
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		payload, err := os.ReadFile(f.Path)
		if err != nil {
			return n, fmt.Errorf("read %s: %w", f.Path, err)
		}
		rec := spool.Capture(payload, f.Received, "import", maxRecordBytes)
		rec.ID = ID(f)
		recs = append(recs, rec)
		if len(recs) == importBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

// mark is the watcher's persisted progress: the newest file imported.
// Legacy file names sort by capture time, so everything up to it is done.
// Pending is the newest file of an import started and not yet confirmed: a
// crash in between may have spooled some of the files up to it.
type mark struct {
	Last    string `json:"last"`
	Pending string `json:"pending,omitempty"`
}

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	// Dir is the legacy raw_json directory to watch. It may appear later.
	Dir string
	// MarkPath is the file that keeps the watcher's progress across restarts.
	MarkPath string
	// SpoolDir is the spool directory Spool appends to; after an interrupted
	// import it is searched for the record ids already spooled.
	SpoolDir string
	// Spool takes the imported records.
	Spool Appender
	// MaxRecordBytes is the largest payload kept whole.
	MaxRecordBytes int
	// Interval is how often Dir is scanned.
	Interval time.Duration
	// Logger receives the failures of a scan, which do not stop the watcher.
	Logger *slog.Logger
}

// Watcher imports the new files of a legacy raw_json directory into the
// spool as they appear, each once, also across a crash in the middle of an
// import.
type Watcher struct {
	opts WatcherOptions
	mark mark
}

// NewWatcher returns a Watcher after reading its progress from
// opts.MarkPath.
func NewWatcher(opts WatcherOptions) (*Watcher, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	lw := &Watcher{opts: opts}
	if err := lw.load(); err != nil {
		return nil, err
	}
	return lw, nil
}

// Run imports new files every Interval until ctx ends. A failed scan or
// import is logged and tried again at the next tick.
func (lw *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(lw.opts.Interval)
	defer t.Stop()
	for {
		if err := lw.step(ctx); err != nil && ctx.Err() == nil {
			lw.opts.Logger.Warn("import legacy raw_json files", "dir", lw.opts.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (lw *Watcher) load() error {
	cp, ok, err := checkpoint.Load(lw.opts.MarkPath)
	if err != nil {
		return fmt.Errorf("legacy import mark: %w", err)
	}
	if ok {
		if err := json.Unmarshal(cp.State["legacy"], &lw.mark); err != nil {
			return fmt.Errorf("legacy import mark %s: %w", lw.opts.MarkPath, err)
		}
	}
	return nil
}

func (lw *Watcher) save() error {
	b, err := json.Marshal(lw.mark)
	if err != nil {
		return err
	}
	if err := checkpoint.Save(lw.opts.MarkPath, checkpoint.Checkpoint{Version: 1, State: map[string]json.RawMessage{"legacy": b}}); err != nil {
		return fmt.Errorf("write legacy import mark: %w", err)
	}
	return nil
}

// step imports the files newer than the mark. The mark names the newest of
// them as pending before the import and as done after it; a pending mark
// found at the next step means the import may have been cut short, and the
// files up to it that the spool already holds (by record id) are skipped.
func (lw *Watcher) step(ctx context.Context) error {
	files, err := Scan(lw.opts.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var fresh []File
	for _, f := range files {
		if filepath.Base(f.Path) > lw.mark.Last {
			fresh = append(fresh, f)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	newest := filepath.Base(fresh[len(fresh)-1].Path)
	todo := fresh
	if lw.mark.Pending != "" {
		ids := map[string]bool{}
		for _, f := range fresh {
			if filepath.Base(f.Path) <= lw.mark.Pending {
				ids[ID(f)] = true
			}
		}
		have, err := spooledIDs(lw.opts.SpoolDir, ids)
		if err != nil {
			return fmt.Errorf("check an interrupted import: %w", err)
		}
		todo = todo[:0:0]
		for _, f := range fresh {
			if !have[ID(f)] {
				todo = append(todo, f)
			}
		}
		if skipped := len(fresh) - len(todo); skipped > 0 {
			lw.opts.Logger.Info("legacy import: files of an interrupted import already spooled", "files", skipped)
		}
	}
	lw.mark.Pending = max(lw.mark.Pending, newest)
	if err := lw.save(); err != nil {
		return err
	}
	if _, err := Import(ctx, todo, lw.opts.Spool, lw.opts.MaxRecordBytes, nil); err != nil {
		return err
	}
	lw.mark.Last, lw.mark.Pending = newest, ""
	return lw.save()
}

// spooledIDs returns which of ids the spool files in dir hold as record ids.
func spooledIDs(dir string, ids map[string]bool) (map[string]bool, error) {
	have := map[string]bool{}
	if len(ids) == 0 {
		return have, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !spool.IsSpoolFile(e.Name()) {
			continue
		}
		if err := scanIDs(filepath.Join(dir, e.Name()), ids, have); err != nil {
			return nil, err
		}
	}
	return have, nil
}

// scanIDs adds to have the ids of the records of one spool file found in ids.
func scanIDs(path string, ids, have map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // the longest record is ~11.2 MiB
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		if rec, err := spool.Decode(line); err == nil && ids[rec.ID] {
			have[rec.ID] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
