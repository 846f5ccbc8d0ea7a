package tail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
)

// BenchmarkNext reads a pre-written 32 MiB file of 2 KB lines from the start,
// 1000 lines per Next, as the pipeline does while catching up.
func BenchmarkNext(b *testing.B) {
	const (
		lineLen = 2048 // with its newline
		lines   = 16384
	)
	dir := b.TempDir()
	line := append(bytes.Repeat([]byte("x"), lineLen-1), '\n')
	content := bytes.Repeat(line, lines)
	if err := os.WriteFile(filepath.Join(dir, "spool-20260101.jsonl"), content, 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	iterations := 0
	start := time.Now()
	for b.Loop() {
		tl, err := New(Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < lines; {
			got, err := tl.Next(ctx, 1000)
			if err != nil {
				b.Fatal(err)
			}
			for _, l := range got {
				if len(l.Data) != lineLen-1 {
					b.Fatalf("line of %d bytes", len(l.Data))
				}
			}
			n += len(got)
		}
		if err := tl.Close(); err != nil {
			b.Fatal(err)
		}
		iterations++
	}
	b.ReportMetric(float64(iterations*lines)/time.Since(start).Seconds(), "lines/s")
}

// BenchmarkFollowAppend appends one small line at a time to a followed file
// and waits for Next to return it, with fsnotify on, as the daemon follows the
// spool while hooks come in one by one. files is how many files the directory
// holds (older days' spool files besides today's, read to their end and
// closed as idle). cpu-ns/op is the process's
// user+system CPU per line, writing it included; ns/op is wall time.
func BenchmarkFollowAppend(b *testing.B) {
	for _, files := range []int{1, 30} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			dir := b.TempDir()
			for i := 1; i < files; i++ {
				// Distinct first bytes: files that start alike are copies to the tailer.
				old := bytes.Repeat(fmt.Appendf(nil, "an older record of day %02d\n", i), 64)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("spool-202601%02d.jsonl", i)), old, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			f, err := os.OpenFile(filepath.Join(dir, "spool-20260201.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			tl, err := New(Options{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			defer tl.Close()
			ctx := context.Background()
			// Read the older files first.
			for n := 0; n < (files-1)*64; {
				got, err := tl.Next(ctx, 1000)
				if err != nil {
					b.Fatal(err)
				}
				n += len(got)
			}
			// The daemon's steady state: files read to their end and left
			// unchanged are closed after a few scans.
			tl.mu.Lock()
			for range tl.idleMax {
				tl.poll(1, true)
			}
			tl.mu.Unlock()
			line := append(bytes.Repeat([]byte("y"), 199), '\n')
			b.ReportAllocs()
			cpu := int64(proctest.CPUTime(b))
			scans := tl.scanCount()
			for b.Loop() {
				if _, err := f.Write(line); err != nil {
					b.Fatal(err)
				}
				got, err := tl.Next(ctx, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != 1 || len(got[0].Data) != len(line)-1 {
					b.Fatalf("got %d lines, want the one appended", len(got))
				}
			}
			b.ReportMetric(float64(int64(proctest.CPUTime(b))-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(tl.scanCount()-scans)/float64(b.N), "scans/op")
		})
	}
}

func (t *Tailer) scanCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.scans
}
