package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestScenarios(t *testing.T) {
	tests := []struct {
		name      string
		noDir     bool // the spool directory does not exist at start
		configure func(*Options)
		run       func(h *harness)
	}{
		{
			name: "complete lines, empty lines skipped",
			run: func(h *harness) {
				h.write("a", "\n{\"n\":1}\n\n{\"n\":2}\n")
				h.expect(`{"n":1}`, `{"n":2}`)
				h.write("a", "\n\n\n")
				h.expectNothing()
			},
		},
		{
			name: "partial last line waits for its end, also across a restart",
			run: func(h *harness) {
				h.write("a", "one\ntw")
				h.expect("one")
				h.restart()
				h.expectNothing()
				h.write("a", "o\nthr")
				h.expect("two")
				h.write("a", "ee\n")
				h.expect("three")
			},
		},
		{
			name: "files in name order, lines in file order",
			run: func(h *harness) {
				h.write("c", "c1\nc2\n")
				h.write("a", "a1\na2\n")
				h.write("b", "b1\n")
				h.expect("a1", "a2", "b1", "c1", "c2")
				h.write("b", "b2\n")
				h.write("a", "a3\n")
				h.expect("a3", "b2")
			},
		},
		{
			name:      "only matching names",
			configure: func(o *Options) { o.Match = func(n string) bool { return strings.HasSuffix(n, ".jsonl") } },
			run: func(h *harness) {
				h.write("x.tmp", "no\n")
				h.write("spool-1.jsonl", "yes\n")
				h.expect("yes")
			},
		},
		{
			// Issue 14, item 8: a spool file renamed while the daemon is down
			// to a name Match refuses is still read to its end; a file under
			// such a name that no reader knows is not followed.
			name:      "renamed while stopped to a name Match refuses: read to its end",
			configure: func(o *Options) { o.Match = func(n string) bool { return strings.HasSuffix(n, ".jsonl") } },
			run: func(h *harness) {
				h.write("spool-1.jsonl", "a1\na2\n")
				h.expect("a1", "a2")
				h.write("spool-1.jsonl", "a3\n")
				pos := h.tl.Positions()
				if err := h.tl.Close(); err != nil {
					h.tb.Fatal(err)
				}
				h.write("spool-1.jsonl", "a4\n")
				h.rename("spool-1.jsonl", "spool-1.jsonl.1")
				h.write("notes.txt", "not ours\n")
				h.write("spool-2.jsonl", "b1\n")
				h.start(pos)
				h.expect("a3", "a4", "b1")
				h.write("spool-1.jsonl.1", "a5\n")
				h.expect("a5")
			},
		},
		{
			name: "rename within the directory, new file under the old name",
			run: func(h *harness) {
				h.write("a", "a1\na2\n")
				h.expect("a1", "a2")
				h.write("a", "a3\n")
				h.rename("a", "a.1")
				h.write("a", "new1\n")
				h.write("a.1", "a4\n")
				h.expect("new1", "a3", "a4")
				h.restart()
				h.write("a.1", "a5\n")
				h.write("a", "new2\n")
				h.expect("new2", "a5")
			},
		},
		{
			name:      "rename out of the directory: unread lines are read first",
			configure: func(o *Options) { o.idleScans = 1000 },
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.expect("a1")
				h.write("a", "a2\na3\npart")
				h.rename("a", "out/a")
				h.write("a", "new1\n")
				h.expect("a2", "a3", "new1")
				if got := len(h.tl.Positions()); got != 1 {
					h.tb.Fatalf("positions after the moved file was drained: %d, want 1", got)
				}
			},
		},
		{
			name:      "deleted file with unread lines is read to the end, then forgotten",
			configure: func(o *Options) { o.idleScans = 1000 },
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.write("b", "b1\n")
				h.expect("a1", "b1")
				h.write("a", "a2\na3\n")
				h.remove("a")
				h.expect("a2", "a3")
				want := []string{filepath.Join(h.dir, "b")}
				if diff := cmp.Diff(want, positionPaths(h.tl.Positions())); diff != "" {
					h.tb.Fatalf("positions (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "copy-truncate with the copy in the directory",
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.expect("a1")
				h.write("a", "a2\n")
				h.copy("a", "a.1")
				h.truncate("a")
				h.write("a", "b1\n")
				h.expect("b1", "a2")
			},
		},
		{
			name: "copy-truncate with the copy elsewhere: new content from 0",
			run: func(h *harness) {
				h.write("a", "a1-long-line\na2-long-line\n")
				h.expect("a1-long-line", "a2-long-line")
				h.copy("a", "out/a")
				h.truncate("a")
				h.write("a", "b1\n")
				h.expect("b1")
			},
		},
		{
			name: "truncated and grown past the offset: detected by fingerprint",
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.expect("a1")
				h.truncate("a")
				h.write("a", "b1-longer-than-before\nb2\n")
				h.expect("b1-longer-than-before", "b2")
			},
		},
		{
			name:      "copy of a followed file is not read twice",
			configure: func(o *Options) { o.fingerprintSize = 8 },
			run: func(h *harness) {
				h.write("b", "line-1\nline-2\n")
				h.expect("line-1", "line-2")
				h.copy("b", "a")
				h.expectNothing()
				h.write("b", "line-3\n")
				h.expect("line-3")
			},
		},
		{
			name: "truncated while stopped, new content: from 0",
			run: func(h *harness) {
				h.write("a", "a1\na2\n")
				h.expect("a1", "a2")
				pos := h.tl.Positions()
				if err := h.tl.Close(); err != nil {
					h.tb.Fatal(err)
				}
				h.truncate("a")
				h.write("a", "b1\nb2\nb3\n")
				h.start(pos)
				h.expect("b1", "b2", "b3")
			},
		},
		{
			// Issue 14, item 4: it still starts with what was read, so it was
			// cut, not rewritten; reading it from 0 again counted its lines twice.
			name:      "cut while stopped below the offset: on from its new end, nothing twice",
			configure: func(o *Options) { o.fingerprintSize = 4 },
			run: func(h *harness) {
				h.write("a", "a1\na2\na3\n")
				h.expect("a1", "a2", "a3")
				pos := h.tl.Positions()
				if err := h.tl.Close(); err != nil {
					h.tb.Fatal(err)
				}
				h.truncate("a")
				h.write("a", "a1\na2") // the tail cut mid-line
				h.start(pos)
				h.expectNothing()
				h.write("a", "\na9\n") // records start on a fresh line
				h.expect("a9")
			},
		},
		{
			name: "truncated while stopped, shorter than the fingerprint: from 0",
			run: func(h *harness) {
				h.write("a", "a1\na2\na3\n")
				h.expect("a1", "a2", "a3")
				pos := h.tl.Positions()
				if err := h.tl.Close(); err != nil {
					h.tb.Fatal(err)
				}
				h.truncate("a")
				h.write("a", "a1\n")
				h.start(pos)
				h.expect("a1")
			},
		},
		{
			name: "deleted while stopped: position forgotten, other files resume",
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.write("b", "b1\n")
				h.expect("a1", "b1")
				pos := h.tl.Positions()
				if err := h.tl.Close(); err != nil {
					h.tb.Fatal(err)
				}
				h.remove("a")
				h.write("b", "b2\n")
				h.start(pos)
				h.expect("b2")
				want := []string{filepath.Join(h.dir, "b")}
				if diff := cmp.Diff(want, positionPaths(h.tl.Positions())); diff != "" {
					h.tb.Fatalf("positions (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "renamed while stopped: found by fingerprint",
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.expect("a1")
				pos := h.tl.Positions()
				if err := h.tl.Close(); err != nil {
					h.tb.Fatal(err)
				}
				h.write("a", "a2\n")
				h.rename("a", "z")
				h.write("a", "new1\n")
				h.start(pos)
				h.expect("new1", "a2")
			},
		},
		{
			name: "small file grows past its fingerprint across a restart",
			run: func(h *harness) {
				h.write("a", "\nx\n")
				h.expect("x")
				h.restart()
				var want []string
				for i := range 5 {
					line := fmt.Sprintf("%d%s", i, strings.Repeat("y", 300))
					h.write("a", "\n"+line+"\n")
					want = append(want, line)
				}
				h.expect(want...)
				pos := h.tl.Positions()
				if len(pos) != 1 || pos[0].FingerprintSize != FingerprintSize {
					h.tb.Fatalf("positions %+v: want one with a full fingerprint", pos)
				}
			},
		},
		{
			name:  "directory created after start",
			noDir: true,
			run: func(h *harness) {
				h.expectNothing()
				if err := os.Mkdir(h.dir, 0o755); err != nil {
					h.tb.Fatal(err)
				}
				h.write("a", "a1\n")
				h.expect("a1")
			},
		},
		{
			name:  "directory created after start, polling only",
			noDir: true,
			configure: func(o *Options) {
				o.noWatch = true
				o.PollInterval = 5 * time.Millisecond
			},
			run: func(h *harness) {
				h.expectNothing()
				if err := os.Mkdir(h.dir, 0o755); err != nil {
					h.tb.Fatal(err)
				}
				h.write("a", "a1\n")
				h.expect("a1")
			},
		},
		{
			name: "directory removed and created again",
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.expect("a1")
				if err := os.RemoveAll(h.dir); err != nil {
					h.tb.Fatal(err)
				}
				h.expectNothing()
				if err := os.Mkdir(h.dir, 0o755); err != nil {
					h.tb.Fatal(err)
				}
				h.write("b", "b1\n")
				h.expect("b1")
			},
		},
		{
			name:      "oversize lines skipped and reported, neighbours intact",
			configure: func(o *Options) { o.MaxLineBytes = 10; o.readSize = 16 },
			run: func(h *harness) {
				h.write("a", "ok1\n"+strings.Repeat("x", 11)+"\nok2\n"+strings.Repeat("y", 100))
				h.expect("ok1", "xxxxxxxxxxx", "ok2")
				h.write("a", strings.Repeat("y", 100)+"\nok3\n")
				got := h.next(2, 10)
				if s := string(got[0].Data); s == "" || strings.Trim(s, "y") != "" || len(s) > sampleSize {
					h.tb.Errorf("oversize sample %q: want up to %d bytes of y", s, sampleSize)
				}
				got[0].Data = nil
				want := []Line{
					{Path: filepath.Join(h.dir, "a"), Offset: 20, Len: 200, Oversize: true},
					{Path: filepath.Join(h.dir, "a"), Offset: 221, Len: 3, Data: []byte("ok3")},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					h.tb.Fatalf("lines (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "line offsets and lengths",
			run: func(h *harness) {
				h.write("a", "\nab\n\ncde\n")
				got := h.next(2, 5)
				p := filepath.Join(h.dir, "a")
				want := []Line{
					{Path: p, Offset: 1, Len: 2, Data: []byte("ab")},
					{Path: p, Offset: 5, Len: 3, Data: []byte("cde")},
				}
				if diff := cmp.Diff(want, got); diff != "" {
					h.tb.Fatalf("lines (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:      "missed notification: the poll finds the line",
			configure: func(o *Options) { o.noWatch = true; o.PollInterval = 5 * time.Millisecond },
			run: func(h *harness) {
				h.write("a", "a1\n")
				h.expect("a1")
				h.write("b", "b1\n")
				h.expect("b1")
			},
		},
		{
			name: "open files bounded, idle files closed and reopened on change",
			configure: func(o *Options) {
				o.maxOpen, o.idleScans, o.noWatch, o.PollInterval = 2, 1, true, 5*time.Millisecond
			},
			run: func(h *harness) {
				var want []string
				for _, f := range []string{"a", "b", "c", "d", "e"} {
					h.write(f, f+"1\n"+f+"2\n")
					want = append(want, f+"1", f+"2")
				}
				var got []string
				for range 20 {
					got = append(got, h.pollNow(1)...)
					if n := h.openFiles(); n > 2 {
						h.tb.Fatalf("%d files open, want at most 2", n)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					h.tb.Fatalf("lines (-want +got):\n%s", diff)
				}
				h.expectNothing()
				h.expectNothing()
				if n := h.openFiles(); n != 0 {
					h.tb.Fatalf("%d files open after idle scans, want 0", n)
				}
				h.write("c", "c3\n")
				h.expect("c3")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, !tt.noDir, tt.configure)
			tt.run(h)
		})
	}
}

func positionPaths(ps []Position) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Path)
	}
	return s
}

func TestPositionsAndBacklog(t *testing.T) {
	h := newHarness(t, true, nil)
	h.write("a", "a1\na2\npart")
	h.write("b", "b1\n")
	if got := h.next(1, 1); string(got[0].Data) != "a1" {
		t.Fatalf("first line %q, want a1", got[0].Data)
	}
	// Backlog counts a2, the partial line and b1: 3+4+3 bytes.
	if got, want := h.tl.Backlog(), int64(10); got != want {
		t.Errorf("backlog %d, want %d", got, want)
	}
	want := []Position{
		{Fingerprint: sha("a1\na2\npart"), FingerprintSize: 10, Path: filepath.Join(h.dir, "a"), Offset: 3},
		{Fingerprint: sha("b1\n"), FingerprintSize: 3, Path: filepath.Join(h.dir, "b"), Offset: 0},
	}
	if diff := cmp.Diff(want, h.tl.Positions()); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	h.expect("a2", "b1")
	if got, want := h.tl.Backlog(), int64(4); got != want {
		t.Errorf("backlog after reading %d, want %d", got, want)
	}
}

func TestNextErrors(t *testing.T) {
	h := newHarness(t, true, nil)
	if _, err := h.tl.Next(context.Background(), 0); err == nil {
		t.Error("next with max 0: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.tl.Next(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("next with a cancelled context: %v, want context.Canceled", err)
	}
	done := make(chan error)
	go func() {
		_, err := h.tl.Next(context.Background(), 1)
		done <- err
	}()
	if err := h.tl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("next blocked during close: %v, want ErrClosed", err)
	}
	if _, err := h.tl.Next(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Errorf("next after close: %v, want ErrClosed", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("new without a directory: no error")
	}
}

// TestNextDoesNotBusyLoop counts the scans of a Next that waits: one at the
// start and one per poll tick, none in between.
func TestNextDoesNotBusyLoop(t *testing.T) {
	tests := []struct {
		name    string
		noWatch bool
	}{
		{name: "poll only", noWatch: true},
		{name: "with fsnotify", noWatch: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tick := make(chan time.Time)
			h := newHarness(t, true, func(o *Options) { o.tick = tick; o.noWatch = tt.noWatch })
			h.write("a", "a1\npartial")
			h.expect("a1")
			h.tl.mu.Lock()
			before := h.tl.scans
			h.tl.mu.Unlock()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() {
				_, err := h.tl.Next(ctx, 1)
				done <- err
			}()
			const ticks = 3
			for range ticks {
				tick <- time.Time{} // received only by a Next that waits
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("next: %v, want context.Canceled", err)
			}
			h.tl.mu.Lock()
			scans := h.tl.scans - before
			h.tl.mu.Unlock()
			// Each tick causes one scan; notifications of the writes above
			// may add one.
			if scans > ticks+2 {
				t.Errorf("%d scans while waiting for %d ticks, want at most %d", scans, ticks, ticks+2)
			}
		})
	}
}
