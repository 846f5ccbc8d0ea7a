package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/checkpoint"
	"github.com/claudehooks/claude-hooks-exporter/internal/legacy"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

func runImport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	spoolDir := fs.String("spool.dir", filepath.Join(stateDir(env), "spool"), "spool directory to append the imported events to")
	maxBytes := fs.Int("spool.max-record-bytes", spool.DefaultMaxRecordBytes, "largest payload kept whole")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("import: name at least one raw_json directory")
	}
	w, err := spool.OpenWriter(spool.Options{Dir: *spoolDir, MaxRecordBytes: *maxBytes})
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	defer w.Close()
	var files []legacy.File
	for _, dir := range fs.Args() {
		fl, err := legacy.Scan(dir)
		if err != nil {
			return err
		}
		files = append(files, fl...)
	}
	progress := legacy.NewProgress(stderr, len(files), isTerminal(stderr))
	n, err := importFiles(ctx, files, w, *maxBytes, progress.Add)
	progress.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d events into %s\n", n, *spoolDir)
	return nil
}

// importFiles appends one spool record per legacy file, in batches, with the
// capture time taken from the file name and a record id derived from it, so a
// repeated import yields the same ids.
func importFiles(ctx context.Context, files []legacy.File, w *spool.Writer, maxBytes int, progress func(int)) (int, error) {
	const batch = 256
	recs := make([]spool.Record, 0, batch)
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
		rec := spool.Capture(payload, f.Received, "import", maxBytes)
		rec.ID = legacy.ID(f)
		recs = append(recs, rec)
		if len(recs) == batch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// legacyMark is the watcher's persisted progress: the newest file imported.
// Legacy file names sort by capture time, so everything up to it is done.
// Pending is the newest file of an import started and not yet confirmed: a
// crash in between may have spooled some of the files up to it.
type legacyMark struct {
	Last    string `json:"last"`
	Pending string `json:"pending,omitempty"`
}

// legacyWatcher imports new files of the legacy raw_json directory into the
// spool, each once, also across a crash in the middle of an import.
type legacyWatcher struct {
	dir, markPath, spoolDir string
	w                       *spool.Writer
	maxBytes                int
	logger                  *slog.Logger
	mark                    legacyMark
}

// watchLegacy imports new files of the legacy raw_json directory as they
// appear, every interval, until ctx ends.
func watchLegacy(ctx context.Context, lw *legacyWatcher, every time.Duration) error {
	if err := lw.load(); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := lw.step(ctx); err != nil {
			lw.logger.Warn("import legacy raw_json files", "dir", lw.dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (lw *legacyWatcher) load() error {
	cp, ok, err := checkpoint.Load(lw.markPath)
	if err != nil {
		return fmt.Errorf("legacy import mark: %w", err)
	}
	if ok {
		if err := json.Unmarshal(cp.State["legacy"], &lw.mark); err != nil {
			return fmt.Errorf("legacy import mark %s: %w", lw.markPath, err)
		}
	}
	return nil
}

func (lw *legacyWatcher) save() error {
	b, err := json.Marshal(lw.mark)
	if err != nil {
		return err
	}
	if err := checkpoint.Save(lw.markPath, checkpoint.Checkpoint{Version: 1, State: map[string]json.RawMessage{"legacy": b}}); err != nil {
		return fmt.Errorf("write legacy import mark: %w", err)
	}
	return nil
}

// step imports the files newer than the mark. The mark names the newest of
// them as pending before the import and as done after it; a pending mark
// found at the next step means the import may have been cut short, and the
// files up to it that the spool already holds (by record id) are skipped.
func (lw *legacyWatcher) step(ctx context.Context) error {
	files, err := legacy.Scan(lw.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var fresh []legacy.File
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
				ids[legacy.ID(f)] = true
			}
		}
		have, err := spooledIDs(lw.spoolDir, ids)
		if err != nil {
			return fmt.Errorf("check an interrupted import: %w", err)
		}
		todo = todo[:0:0]
		for _, f := range fresh {
			if !have[legacy.ID(f)] {
				todo = append(todo, f)
			}
		}
		if skipped := len(fresh) - len(todo); skipped > 0 {
			lw.logger.Info("legacy import: files of an interrupted import already spooled", "files", skipped)
		}
	}
	lw.mark.Pending = max(lw.mark.Pending, newest)
	if err := lw.save(); err != nil {
		return err
	}
	if _, err := importFiles(ctx, todo, lw.w, lw.maxBytes, nil); err != nil {
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
