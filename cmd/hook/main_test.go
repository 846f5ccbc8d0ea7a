package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// hookBin is the claude-hooks-hook binary built once for all tests and
// benchmarks; goEmptyBin is an empty Go program, the benchmark's Go floor.
var hookBin, goEmptyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "claude-hooks-hook-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hookBin = filepath.Join(dir, "claude-hooks-hook")
	goEmptyBin = filepath.Join(dir, "goempty")
	for bin, pkg := range map[string]string{hookBin: ".", goEmptyBin: "./testdata/goempty"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestDependencies keeps the hook lean: it runs once per hook call, so it
// links only the standard library and internal/spool.
func TestDependencies(t *testing.T) {
	const module = "github.com/claudehooks/claude-hooks-exporter"
	tests := map[string][]string{
		".":                    {module + "/cmd/hook", module + "/internal/spool"},
		"../../internal/spool": {module + "/internal/spool"},
	}
	for pkg, want := range tests {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			got := strings.Fields(string(out))
			sort.Strings(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("non-standard dependencies of %s (-want +got):\n%s", pkg, diff)
			}
		})
	}
}

// execResult is the outcome of one run of the binary.
type execResult struct {
	Code           int
	Stdout, Stderr string
}

func runBinary(tb testing.TB, stdin []byte, args ...string) execResult {
	tb.Helper()
	cmd := exec.Command(hookBin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		tb.Fatalf("run %s: %v", hookBin, err)
	}
	return execResult{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
}

// spoolContent decodes every spool file in dir: records, and the non-blank
// lines that are not records.
func spoolContent(tb testing.TB, dir string) (recs []spool.Record, fragments int) {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			if len(sc.Bytes()) == 0 {
				continue
			}
			// Decode aliases the scanner's buffer: copy what must outlive it.
			r, err := spool.Decode(bytes.Clone(sc.Bytes()))
			if err != nil {
				fragments++
				continue
			}
			recs = append(recs, r)
		}
		if err := sc.Err(); err != nil {
			tb.Fatalf("read %s: %v", name, err)
		}
		f.Close()
	}
	return recs, fragments
}

// TestConcurrentHooks is the acceptance test for concurrent capture: 64
// workers each run the hook 100 times at once, with payloads of 100 B to
// 20 KiB and one in fifty of 1 MiB. Every event must be in the spool once,
// intact.
func TestConcurrentHooks(t *testing.T) {
	const workers, perWorker = 64, 100
	dir := t.TempDir()
	want := make(map[string][sha256.Size]byte, workers*perWorker)
	for w := range workers {
		for i := range perWorker {
			marker, payload := eventPayload(w, i)
			want[marker] = sha256.Sum256(payload)
		}
	}

	// Files rather than pipes for the hooks' stdio: the kernel hands them to
	// the child directly, so the test spends no goroutines or copies per exec.
	ioDir := t.TempDir()
	start := make(chan struct{})
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := range perWorker {
				if err := runWorkerEvent(ioDir, dir, w, i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	recs, fragments := spoolContent(t, dir)
	if fragments != 0 {
		t.Errorf("spool holds %d undecodable lines, want 0", fragments)
	}
	if len(recs) != workers*perWorker {
		t.Errorf("spool holds %d records, want %d", len(recs), workers*perWorker)
	}
	seen := make(map[string]bool, len(recs))
	ids := make(map[string]bool, len(recs))
	for _, r := range recs {
		marker := payloadMarker(r.Payload)
		sum, ok := want[marker]
		switch {
		case r.Bad != "" || r.Source != spool.SourceHook:
			t.Errorf("record %s: bad %q, source %q", marker, r.Bad, r.Source)
		case !ok:
			t.Errorf("record with unknown marker %q", marker)
		case seen[marker]:
			t.Errorf("event %s is in the spool twice", marker)
		case sha256.Sum256(r.Payload) != sum:
			t.Errorf("event %s: payload (%d bytes) differs from what was sent", marker, len(r.Payload))
		case r.Size != len(r.Payload):
			t.Errorf("event %s: size %d, want %d", marker, r.Size, len(r.Payload))
		case ids[r.ID]:
			t.Errorf("event %s: record id %s repeated", marker, r.ID)
		}
		seen[marker] = true
		ids[r.ID] = true
	}
}

// runWorkerEvent runs the hook for worker w's event i, with stdin, stdout and
// stderr in files of ioDir, and fails unless it exits 0 silently.
func runWorkerEvent(ioDir, spoolDir string, w, i int) error {
	_, payload := eventPayload(w, i)
	in := filepath.Join(ioDir, fmt.Sprintf("w%02d.in", w))
	if err := os.WriteFile(in, payload, 0o600); err != nil {
		return err
	}
	stdin, err := os.Open(in)
	if err != nil {
		return err
	}
	defer stdin.Close()
	out, err := os.Create(filepath.Join(ioDir, fmt.Sprintf("w%02d.out", w)))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(hookBin, "--spool.dir", spoolDir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, out
	runErr := cmd.Run()
	st, err := out.Stat()
	if err != nil {
		return err
	}
	if runErr != nil || st.Size() > 0 {
		output, _ := os.ReadFile(out.Name())
		return fmt.Errorf("worker %d event %d: %v, output %q", w, i, runErr, output)
	}
	return nil
}

// eventPayload returns the compact JSON payload of worker w's event i and its
// unique marker. The padding repeats the marker, so a payload mixed with
// another one's bytes cannot match its checksum.
func eventPayload(w, i int) (marker string, payload []byte) {
	marker = fmt.Sprintf("w%02d-e%03d", w, i)
	size := 100 + (w*7919+i*6271)%(20<<10-100)
	if i%50 == 49 {
		size = 1 << 20
	}
	head := fmt.Sprintf(`{"hook_event_name":"PostToolUse","session_id":"s-%02d","marker":%q,"pad":"`, w, marker)
	pad := strings.Repeat(marker+".", size/len(marker+".")+1)[:max(0, size-len(head)-2)]
	return marker, []byte(head + pad + `"}`)
}

// payloadMarker extracts the marker from a payload made by eventPayload.
func payloadMarker(p []byte) string {
	const key = `"marker":"`
	i := bytes.Index(p, []byte(key))
	if i < 0 {
		return ""
	}
	rest := p[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}

// TestHookInputs feeds the binary what Claude Code should never send: every
// input is kept, flagged, with its original size and a capped copy.
func TestHookInputs(t *testing.T) {
	huge := bytes.Repeat([]byte("\x00garbage{\"\xff"), 2<<20) // 20 MiB
	tests := []struct {
		name     string
		args     []string
		stdin    []byte
		wantBad  string
		wantKept int // bytes of the input kept in Raw
	}{
		{name: "garbage", stdin: []byte("this is not {json"), wantBad: spool.BadInvalidJSON, wantKept: 17},
		{name: "binary", stdin: []byte{0, 1, 2, 0xfe, 0xff, '\n'}, wantBad: spool.BadInvalidJSON, wantKept: 6},
		{name: "empty", stdin: nil, wantBad: spool.BadEmpty},
		{name: "20 MiB", stdin: huge, wantBad: spool.BadOversized, wantKept: spool.DefaultMaxRecordBytes},
		{name: "20 MiB, 1 MiB cap", args: []string{"--spool.max-record-bytes=1048576"}, stdin: huge, wantBad: spool.BadOversized, wantKept: 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got := runBinary(t, tt.stdin, append([]string{"--spool.dir", dir}, tt.args...)...)
			if diff := cmp.Diff(execResult{}, got); diff != "" {
				t.Fatalf("hook run (-want +got):\n%s", diff)
			}
			recs, fragments := spoolContent(t, dir)
			if len(recs) != 1 || fragments != 0 {
				t.Fatalf("spool holds %d records and %d fragments, want 1 and 0", len(recs), fragments)
			}
			r := recs[0]
			if r.Bad != tt.wantBad || r.Size != len(tt.stdin) || !bytes.Equal(r.Raw, tt.stdin[:tt.wantKept]) || r.Payload != nil {
				t.Errorf("record: bad %q, size %d, %d bytes kept (equal to the input's start: %v), payload %d bytes; want %q, %d, %d, true, none",
					r.Bad, r.Size, len(r.Raw), bytes.Equal(r.Raw, tt.stdin[:min(len(r.Raw), len(tt.stdin))]), len(r.Payload),
					tt.wantBad, len(tt.stdin), tt.wantKept)
			}
		})
	}
}

// TestHookFailures checks that failures never exit 2 (which would block
// Claude Code's action) and explain themselves in one stderr line.
func TestHookFailures(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		"unwritable spool dir": {"--spool.dir", filepath.Join(file, "spool")},
		"unknown flag":         {"--no-such-flag"},
		"bad flag value":       {"--spool.max-record-bytes", "many"},
		"missing flag value":   {"--spool.dir"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			got := runBinary(t, []byte(`{"hook_event_name":"Stop"}`), args...)
			if got.Code != 1 || got.Stdout != "" {
				t.Errorf("exit %d, stdout %q; want 1, nothing", got.Code, got.Stdout)
			}
			if !strings.HasPrefix(got.Stderr, "claude-hooks-hook: ") || strings.Count(got.Stderr, "\n") != 1 || !strings.HasSuffix(got.Stderr, "\n") {
				t.Errorf("stderr = %q, want one line", got.Stderr)
			}
		})
	}
}
