package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// execsPerIteration is how many hook calls one benchmark iteration times.
const execsPerIteration = 200

// BenchmarkHookExec measures the wall time of one hook call, from fork to
// exit, with a 2 KB PostToolUse payload on stdin: /bin/true (the floor), an
// empty Go program (the Go runtime's floor, testdata/goempty), a Python script
// doing the same job (testdata/hook.py) and claude-hooks-hook.
// It reports the median and 99th percentile of the individual calls.
//
//	go test -run '^$' -bench HookExec -benchtime 1x ./cmd/hook
func BenchmarkHookExec(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "posttooluse-2k.json"))
	if err != nil {
		b.Fatal(err)
	}
	python := pythonInterpreter(b)
	script, err := filepath.Abs(filepath.Join("testdata", "hook.py"))
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		argv func(dir string) []string
		// lines counts the records the calls left in dir, to check the work
		// was done; nil for the floors, which do nothing.
		lines func(tb testing.TB, dir string) int
	}{
		{
			name: "true",
			argv: func(string) []string { return []string{"/bin/true"} },
		},
		{
			name: "go-empty",
			argv: func(string) []string { return []string{goEmptyBin} },
		},
		{
			name:  "python",
			argv:  func(dir string) []string { return []string{python, script, filepath.Join(dir, "python.jsonl")} },
			lines: func(tb testing.TB, dir string) int { return countLines(tb, filepath.Join(dir, "python.jsonl")) },
		},
		{
			name: "claude-hooks-hook",
			argv: func(dir string) []string { return []string{hookBin, "--spool.dir", dir} },
			lines: func(tb testing.TB, dir string) int {
				recs, fragments := spoolContent(tb, dir)
				if fragments != 0 {
					tb.Fatalf("%d fragments in the spool", fragments)
				}
				return len(recs)
			},
		},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			argv := c.argv(dir)
			var samples []time.Duration
			for b.Loop() {
				for range execsPerIteration {
					cmd := exec.Command(argv[0], argv[1:]...)
					cmd.Stdin = bytes.NewReader(payload)
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					start := time.Now()
					err := cmd.Run()
					samples = append(samples, time.Since(start))
					if err != nil {
						b.Fatalf("%s: %v: %s", argv[0], err, stderr.Bytes())
					}
				}
			}
			if c.lines != nil {
				if got := c.lines(b, dir); got != len(samples) {
					b.Fatalf("%d calls left %d lines, want one each", len(samples), got)
				}
			}
			slices.Sort(samples)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(samples[len(samples)/2]), "median-ms")
			b.ReportMetric(ms(samples[len(samples)*99/100]), "p99-ms")
		})
	}
}

// pythonInterpreter returns the real python3 executable, resolved once so
// that version-manager shims (pyenv) do not count against Python.
func pythonInterpreter(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		tb.Fatalf("python3 is needed for the baseline: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func countLines(tb testing.TB, path string) int {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}
