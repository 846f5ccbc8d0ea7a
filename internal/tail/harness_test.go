package tail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness drives one Tailer over a spool directory, with helpers that fail
// the test on any error.
type harness struct {
	tb   testing.TB
	root string // holds dir and out
	dir  string // the followed directory
	out  string // a directory outside it
	opts Options
	tl   *Tailer
}

func newHarness(tb testing.TB, createDir bool, mutate func(*Options)) *harness {
	tb.Helper()
	root := tb.TempDir()
	h := &harness{tb: tb, root: root, dir: filepath.Join(root, "spool"), out: filepath.Join(root, "out")}
	for _, d := range []string{h.out, h.dir} {
		if d == h.dir && !createDir {
			continue
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	h.opts = Options{Dir: h.dir}
	if mutate != nil {
		mutate(&h.opts)
	}
	h.start(nil)
	tb.Cleanup(func() {
		if err := h.tl.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return h
}

func (h *harness) start(pos []Position) {
	h.tb.Helper()
	o := h.opts
	o.Start = pos
	tl, err := New(o)
	if err != nil {
		h.tb.Fatal(err)
	}
	h.tl = tl
}

// restart closes the Tailer and starts another from its Positions, as the
// daemon does after writing a checkpoint.
func (h *harness) restart() {
	h.tb.Helper()
	pos := h.tl.Positions()
	if err := h.tl.Close(); err != nil {
		h.tb.Fatal(err)
	}
	h.start(pos)
}

// path names a file in the spool directory; "out/x" names one outside it.
func (h *harness) path(name string) string {
	if rest, ok := strings.CutPrefix(name, "out/"); ok {
		return filepath.Join(h.out, rest)
	}
	return filepath.Join(h.dir, name)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (h *harness) write(name, data string) {
	h.tb.Helper()
	f, err := os.OpenFile(h.path(name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		h.tb.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		h.tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		h.tb.Fatal(err)
	}
}

func (h *harness) rename(from, to string) {
	h.tb.Helper()
	if err := os.Rename(h.path(from), h.path(to)); err != nil {
		h.tb.Fatal(err)
	}
}

func (h *harness) remove(name string) {
	h.tb.Helper()
	if err := os.Remove(h.path(name)); err != nil {
		h.tb.Fatal(err)
	}
}

func (h *harness) truncate(name string) {
	h.tb.Helper()
	if err := os.Truncate(h.path(name), 0); err != nil {
		h.tb.Fatal(err)
	}
}

func (h *harness) copy(from, to string) {
	h.tb.Helper()
	src, err := os.Open(h.path(from))
	if err != nil {
		h.tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(h.path(to))
	if err != nil {
		h.tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		h.tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		h.tb.Fatal(err)
	}
}

// next reads exactly n lines with Next, max lines per call.
func (h *harness) next(n, max int) []Line {
	h.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []Line
	for len(got) < n {
		lines, err := h.tl.Next(ctx, min(max, n-len(got)))
		if err != nil {
			h.tb.Fatalf("next after %d of %d lines (%q): %v", len(got), n, texts(got), err)
		}
		for _, l := range lines {
			l.Data = append([]byte(nil), l.Data...)
			got = append(got, l)
		}
	}
	return got
}

// expect reads the given lines, then checks that nothing more is available.
func (h *harness) expect(want ...string) {
	h.tb.Helper()
	got := h.next(len(want), 3)
	if diff := cmp.Diff(want, texts(got)); diff != "" {
		h.tb.Fatalf("lines (-want +got):\n%s", diff)
	}
	h.expectNothing()
}

// expectNothing scans and reads once without waiting and fails on any line.
func (h *harness) expectNothing() {
	h.tb.Helper()
	if got := h.pollNow(100); len(got) > 0 {
		h.tb.Fatalf("unexpected lines %q", got)
	}
}

// pollNow forces a scan and one read pass, without waiting, and returns
// copies of the lines.
func (h *harness) pollNow(max int) []string {
	h.tl.mu.Lock()
	defer h.tl.mu.Unlock()
	return texts(h.tl.poll(max, true))
}

func (h *harness) openFiles() int {
	h.tl.mu.Lock()
	defer h.tl.mu.Unlock()
	n := 0
	for _, r := range h.tl.readers {
		if r.file != nil {
			n++
		}
	}
	return n
}

func texts(lines []Line) []string {
	s := make([]string, 0, len(lines))
	for _, l := range lines {
		s = append(s, string(l.Data))
	}
	return s
}
