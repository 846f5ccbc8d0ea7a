package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// readSpoolEvents decodes every record of a spool dir into normalised events.
func readSpoolEvents(tb testing.TB, dir string) []hookevent.Event {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var evs []hookevent.Event
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			rec, err := spool.Decode(bytes.Clone(line))
			if err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			ev, err := hookevent.Decode(rec.Payload)
			if err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			ev.ID = rec.ID
			ev.Received = time.Unix(0, rec.Received).UTC()
			evs = append(evs, ev)
		}
		fh.Close()
	}
	return evs
}

// TestImportMatchesLive: importing a legacy raw_json directory yields the same
// normalised events as sending the same payloads through the live hook, with
// the capture time taken from the file names; importing twice gives the same ids.
func TestImportMatchesLive(t *testing.T) {
	payloads := samplePayloads(t)
	legacyDir := t.TempDir()
	base := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	for i, p := range payloads {
		ev, err := hookevent.Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * 1500 * time.Millisecond)
		name := fmt.Sprintf("%s-%03d_%s_%s", at.Format("2006-01-02_15-04-05"), at.Nanosecond()/1e6, ev.Name, ev.SessionID)
		if err := os.WriteFile(filepath.Join(legacyDir, name+".json"), p, 0o600); err != nil {
			t.Fatal(err)
		}
		// The notifier's pretty twin must be ignored.
		if err := os.WriteFile(filepath.Join(legacyDir, name+"_pretty.json"), p, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	liveSpool := t.TempDir()
	for _, p := range payloads {
		if _, serr, code, err := runHook(context.Background(), hookBin, []string{"--spool.dir", liveSpool}, p); err != nil || code != 0 {
			t.Fatalf("hook: code %d err %v stderr %s", code, err, serr)
		}
	}
	importSpool := t.TempDir()
	for range 2 {
		out, serr, code, err := runHook(context.Background(), exporterBin, []string{"import", "--spool.dir", importSpool, legacyDir}, nil)
		if err != nil || code != 0 {
			t.Fatalf("import: code %d err %v stderr %s", code, err, serr)
		}
		if want := fmt.Sprintf("imported %d events", len(payloads)); !bytes.Contains(out, []byte(want)) {
			t.Fatalf("import printed %q, want %q", out, want)
		}
	}

	live := readSpoolEvents(t, liveSpool)
	imported := readSpoolEvents(t, importSpool)
	if len(imported) != 2*len(payloads) {
		t.Fatalf("imported %d events, want %d", len(imported), 2*len(payloads))
	}
	first, second := imported[:len(payloads)], imported[len(payloads):]
	ignore := cmpopts.IgnoreFields(hookevent.Event{}, "ID", "Received")
	if diff := cmp.Diff(live, first, ignore); diff != "" {
		t.Fatalf("imported events differ from live ones (-live +import):\n%s", diff)
	}
	for i := range first {
		if want := base.Add(time.Duration(i) * 1500 * time.Millisecond); !first[i].Received.Equal(want) {
			t.Errorf("event %d received %v, want %v from its file name", i, first[i].Received, want)
		}
		if first[i].ID != second[i].ID {
			t.Errorf("event %d: ids differ between two imports: %s vs %s", i, first[i].ID, second[i].ID)
		}
	}
}
