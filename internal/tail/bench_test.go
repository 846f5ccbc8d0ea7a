package tail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
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
