package spool

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
)

// benchRecord is a captured 2 KB PostToolUse payload.
func benchRecord(b *testing.B) Record {
	b.Helper()
	r := Capture(readTestdata(b, "posttooluse-2k.json"), time.Now(), SourceHook, 0)
	if r.Bad != "" {
		b.Fatalf("benchmark payload is bad: %s", r.Bad)
	}
	return r
}

func BenchmarkEncode(b *testing.B) {
	r := benchRecord(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Payload)))
	var buf []byte
	for b.Loop() {
		buf = Encode(buf[:0], r)
	}
}

func BenchmarkDecode(b *testing.B) {
	r := benchRecord(b)
	enc := Encode(nil, r)
	line := enc[1 : len(enc)-1]
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := Decode(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCapture(b *testing.B) {
	payload := readTestdata(b, "posttooluse-2k.json")
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		Capture(payload, now, SourceHook, 0)
	}
}

// BenchmarkAppend measures what one hook process does after capturing:
// open, lock, write and close.
func BenchmarkAppend(b *testing.B) {
	r := benchRecord(b)
	opts := Options{Dir: b.TempDir()}
	b.ReportAllocs()
	for b.Loop() {
		if err := Append(opts, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriterAppend measures a long-lived writer (HTTP ingest, import).
func BenchmarkWriterAppend(b *testing.B) {
	r := benchRecord(b)
	w, err := OpenWriter(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriterAppendParallel measures one shared Writer under concurrent
// appenders, as the HTTP handlers use it: each appends one 2 KB record at a
// time. writes/op is write(2) calls per Append: below 1 when appends share a
// write; cpu-ns/op is the process's user+system CPU time per Append (ns/op
// is wall time, shared by the parallel appenders).
func BenchmarkWriterAppendParallel(b *testing.B) {
	for _, appenders := range []int{2, 16} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			r := benchRecord(b)
			var cw countingWrites
			w, err := OpenWriter(Options{Dir: b.TempDir(), write: cw.write})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			cpu := int64(proctest.CPUTime(b))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := w.Append(r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(int64(proctest.CPUTime(b))-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(cw.calls)/float64(b.N), "writes/op")
		})
	}
}
