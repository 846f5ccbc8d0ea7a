package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/claudehooks/claude-hooks-exporter/internal/legacy"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

func runImport(ctx context.Context, c *importConfig, env func(string) string, stdout, stderr io.Writer) error {
	spoolDir := expandTilde(env, c.spoolDir)
	w, err := spool.OpenWriter(spool.Options{Dir: spoolDir, MaxRecordBytes: int(c.maxBytes)})
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	defer w.Close()
	var files []legacy.File
	for _, dir := range c.dirs {
		fl, err := legacy.Scan(expandTilde(env, dir))
		if err != nil {
			return err
		}
		files = append(files, fl...)
	}
	progress := legacy.NewProgress(stderr, len(files), isTerminal(stderr))
	n, err := legacy.Import(ctx, files, w, int(c.maxBytes), progress.Add)
	progress.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d events into %s\n", n, spoolDir)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
