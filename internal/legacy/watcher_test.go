package legacy

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// writeLegacyFiles writes n legacy raw_json files, one second apart.
func writeLegacyFiles(t *testing.T, dir string, from, n int) {
	t.Helper()
	base := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for i := from; i < from+n; i++ {
		at := base.Add(time.Duration(i) * time.Second)
		name := fmt.Sprintf("%s-%03d_Notification_sess-%d.json", at.Format("2006-01-02_15-04-05"), 0, i)
		p := fmt.Sprintf(`{"session_id":"sess-%d","hook_event_name":"Notification","message":"m%d"}`, i, i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// spoolIDCounts counts the record ids in the spool files of dir.
func spoolIDCounts(t *testing.T, dir string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			rec, err := spool.Decode(sc.Bytes())
			if err != nil {
				t.Fatalf("spool line %q: %v", sc.Bytes(), err)
			}
			counts[rec.ID]++
		}
		f.Close()
	}
	return counts
}

// TestLegacyWatcherImportsEachFileOnce: the watcher imports new files once,
// and after a crash in the middle of an import (the mark still pending, part
// of the files spooled) it spools only the files that are missing.
func TestLegacyWatcherImportsEachFileOnce(t *testing.T) {
	ctx := context.Background()
	legacyDir, spoolDir, stateDir := t.TempDir(), t.TempDir(), t.TempDir()
	w, err := spool.OpenWriter(spool.Options{Dir: spoolDir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	newWatcher := func() *Watcher {
		lw, err := NewWatcher(WatcherOptions{Dir: legacyDir, MarkPath: filepath.Join(stateDir, "legacy-import.json"), SpoolDir: spoolDir,
			Spool: w, MaxRecordBytes: spool.DefaultMaxRecordBytes, Interval: time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return lw
	}
	writeLegacyFiles(t, legacyDir, 0, 10)
	if err := newWatcher().step(ctx); err != nil {
		t.Fatal(err)
	}
	// Ten more files; the import of the first six of them is cut short by
	// a crash after the pending mark was written.
	writeLegacyFiles(t, legacyDir, 10, 10)
	files, err := Scan(legacyDir)
	if err != nil {
		t.Fatal(err)
	}
	lw := newWatcher()
	lw.mark.Pending = filepath.Base(files[19].Path)
	if err := lw.save(); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, files[10:16], w, spool.DefaultMaxRecordBytes, nil); err != nil {
		t.Fatal(err)
	}
	// The restarted watcher, then one more step with nothing new.
	for range 2 {
		if err := newWatcher().step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	counts := spoolIDCounts(t, spoolDir)
	if len(counts) != 20 {
		t.Errorf("spool holds %d distinct ids, want 20", len(counts))
	}
	for _, f := range files {
		if n := counts[ID(f)]; n != 1 {
			t.Errorf("%s spooled %d times, want once", filepath.Base(f.Path), n)
		}
	}
	if lw := newWatcher(); lw.mark.Pending != "" || lw.mark.Last != filepath.Base(files[19].Path) {
		t.Errorf("mark after the imports = %+v, want the last file done and nothing pending", lw.mark)
	}
}
