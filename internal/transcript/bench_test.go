package transcript

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchData is a long generated main transcript (about 30 MB), made once.
var benchData = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	for seed := uint64(100); b.Len() < 30<<20; seed++ {
		b.Write(generate(seed, 2000).main)
	}
	return b.Bytes()
})

func benchLines(tb testing.TB) [][]byte {
	tb.Helper()
	return bytes.SplitAfter(bytes.TrimSuffix(benchData(), []byte("\n")), []byte("\n"))
}

// BenchmarkParse: the targeted parser alone, on one line of each kind.
func BenchmarkParse(b *testing.B) {
	samples := sampleLines(b)
	toolResult := []byte(`{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_x","type":"tool_result","content":"` +
		string(bytes.Repeat([]byte(`PASS src/billing/invoice.test.ts \"ok\"\n`), 256)) + `","is_error":false}]},"toolUseResult":{"stdout":"ok","stderr":"","interrupted":false},"promptId":"0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60"}`)
	for _, tc := range []struct {
		name string
		line []byte
	}{
		{"assistant", samples[1]},
		{"user_prompt", samples[0]},
		{"tool_result_10KB", toolResult},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var p parser
			var r record
			b.SetBytes(int64(len(tc.line)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.parse(tc.line, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLine: the cost per transcript line of the follower's line handling
// (pre-filter, parse, de-duplication, Usage), over the mix of a generated
// transcript: prompts, tool results up to ~16 KB, assistant lines, synthetic
// and unknown lines, replays.
func BenchmarkLine(b *testing.B) {
	lines := benchLines(b)
	var total int
	for _, l := range lines {
		total += len(l)
	}
	f := NewFollower(Options{})
	fl := &file{Path: "/bench.jsonl", Session: "s"}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		l := lines[i]
		f.line(fl, l[:len(l)-1])
		if i++; i == len(lines) {
			i = 0
			f = NewFollower(Options{})
			fl = &file{Path: "/bench.jsonl", Session: "s"}
		}
		f.out = f.out[:0]
	}
	b.ReportMetric(float64(total)/float64(len(lines)), "bytes/line")
}

// BenchmarkPoll: the whole follower reading a 30 MB transcript from disk (page
// cache) from its start: syscalls, line splitting, parsing, Usage.
func BenchmarkPoll(b *testing.B) {
	data := benchData()
	path := filepath.Join(b.TempDir(), "s.jsonl")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f := NewFollower(Options{})
		f.Track(start("s", path))
		for len(f.Poll()) > 0 {
		}
		if f.Stats().BytesRead != uint64(len(data)) {
			b.Fatalf("read %d of %d bytes", f.Stats().BytesRead, len(data))
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pacedWrite appends data to path at rate bytes per second in 10 ms steps
// until it is all written or stop is closed.
func pacedWrite(tb testing.TB, path string, data []byte, rate int, stop <-chan struct{}) {
	tb.Helper()
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		tb.Error(err)
		return
	}
	defer fd.Close()
	step := rate / 100
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(data) > 0 {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		n := min(step, len(data))
		if _, err := fd.Write(data[:n]); err != nil {
			tb.Error(err)
			return
		}
		data = data[n:]
	}
}

// BenchmarkFollowerPaced10MBps: a transcript grows at 10 MB/s (appended every
// 10 ms, lines cut anywhere) for 3 s while the follower polls every 50 ms.
// cpu-%/core is the process's CPU time (getrusage: user + system, GC
// included, the writer included) over the wall time; writer-cpu-%/core is the
// writer alone, measured first for 1 s. The target is under 10% of one core.
func BenchmarkFollowerPaced10MBps(b *testing.B) {
	const rate, seconds = 10 << 20, 3
	data := benchData()[:rate*seconds]
	for b.Loop() {
		dir := b.TempDir()

		// The writer alone.
		c0, w0 := cpuTime(), time.Now()
		pacedWrite(b, filepath.Join(dir, "baseline.jsonl"), data[:rate], rate, nil)
		writerCPU := float64(cpuTime()-c0) / float64(time.Since(w0))

		path := filepath.Join(dir, "s.jsonl")
		f := NewFollower(Options{})
		f.Track(start("s", path))
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		c0, w0 = cpuTime(), time.Now()
		go func() {
			defer wg.Done()
			defer close(done)
			pacedWrite(b, path, data, rate, nil)
		}()
		tick := time.NewTicker(50 * time.Millisecond)
		var usages int
		for running := true; running; {
			select {
			case <-done:
				running = false
			case <-tick.C:
			}
			usages += len(f.Poll())
		}
		tick.Stop()
		wg.Wait()
		usages += len(f.Poll())
		cpu := float64(cpuTime()-c0) / float64(time.Since(w0))
		if got := f.Stats().BytesRead; got < uint64(len(data))-64<<10 {
			b.Fatalf("read %d of %d bytes", got, len(data))
		}
		b.ReportMetric(100*cpu, "cpu-%/core")
		b.ReportMetric(100*writerCPU, "writer-cpu-%/core")
		b.ReportMetric(float64(usages), "usages")
	}
}
