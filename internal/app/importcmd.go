package app

import (
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
type legacyMark struct {
	Last string `json:"last"`
}

// watchLegacy imports new files of the legacy raw_json directory as they
// appear, remembering the last one imported in markPath.
func watchLegacy(ctx context.Context, dir, markPath string, w *spool.Writer, maxBytes int, every time.Duration, logger *slog.Logger) error {
	var mark legacyMark
	if cp, ok, err := checkpoint.Load(markPath); err != nil {
		return fmt.Errorf("legacy import mark: %w", err)
	} else if ok {
		if err := json.Unmarshal(cp.State["legacy"], &mark); err != nil {
			return fmt.Errorf("legacy import mark %s: %w", markPath, err)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		files, err := legacy.Scan(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			logger.Warn("scan legacy raw_json dir", "dir", dir, "err", err)
		}
		var fresh []legacy.File
		for _, f := range files {
			if filepath.Base(f.Path) > mark.Last {
				fresh = append(fresh, f)
			}
		}
		if len(fresh) > 0 {
			if _, err := importFiles(ctx, fresh, w, maxBytes, nil); err != nil {
				logger.Warn("import legacy raw_json files", "dir", dir, "err", err)
			} else {
				mark.Last = filepath.Base(fresh[len(fresh)-1].Path)
				b, _ := json.Marshal(mark)
				if err := checkpoint.Save(markPath, checkpoint.Checkpoint{Version: 1, State: map[string]json.RawMessage{"legacy": b}}); err != nil {
					logger.Error("write legacy import mark", "path", markPath, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
