package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var day1 = time.Date(2026, 3, 4, 23, 59, 59, 0, time.UTC)

// fixedNow returns a clock stuck at t.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// testRecord returns a good record whose payload carries marker.
func testRecord(tb testing.TB, marker string, padding int) Record {
	tb.Helper()
	payload := fmt.Sprintf(`{"hook_event_name":"PreToolUse","marker":%q,"pad":%q}`, marker, bytes.Repeat([]byte("p"), padding))
	r := Capture([]byte(payload), day1, SourceHook, 0)
	if r.Bad != "" {
		tb.Fatalf("test payload is bad: %s", r.Bad)
	}
	return r
}

// spoolLines is what a reader sees in a spool file: the records it decodes
// and the non-blank lines it cannot.
type spoolLines struct {
	recs      []Record
	fragments []string
}

func readSpool(tb testing.TB, path string) spoolLines {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		tb.Errorf("%s does not end with a newline", path)
	}
	var out spoolLines
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		r, err := Decode(line)
		if err != nil {
			out.fragments = append(out.fragments, string(line))
			continue
		}
		out.recs = append(out.recs, r)
	}
	return out
}

func TestFileName(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), "spool-20260102.jsonl"},
		{time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC), "spool-20261231.jsonl"},
		// 01:30 in UTC+2 is still the previous UTC day.
		{time.Date(2026, 1, 2, 1, 30, 0, 0, time.FixedZone("UTC+2", 2*3600)), "spool-20260101.jsonl"},
	}
	for _, tt := range tests {
		if got := FileName(tt.t); got != tt.want {
			t.Errorf("FileName(%v) = %q, want %q", tt.t, got, tt.want)
		}
		if !IsSpoolFile(tt.want) {
			t.Errorf("IsSpoolFile(%q) = false, want true", tt.want)
		}
	}
}

func TestIsSpoolFile(t *testing.T) {
	tests := map[string]bool{
		"spool-20260102.jsonl":      true,
		"spool-2026010.jsonl":       false,
		"spool-202601023.jsonl":     false,
		"spool-2026010x.jsonl":      false,
		"spool-20260102.json":       false,
		"spool-20260102.jsonl.tmp":  false,
		"xspool-20260102.jsonl":     false,
		"spool-20260102.jsonl.gz":   false,
		"dir/spool-20260102.jsonl":  false,
		"checkpoint-20260102.jsonl": false,
		"":                          false,
	}
	for name, want := range tests {
		if got := IsSpoolFile(name); got != want {
			t.Errorf("IsSpoolFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"xdg", map[string]string{"XDG_STATE_HOME": "/state", "HOME": "/home/u"}, "/state/claude-hooks-exporter/spool"},
		{"relative xdg is ignored", map[string]string{"XDG_STATE_HOME": "state", "HOME": "/home/u"}, "/home/u/.local/state/claude-hooks-exporter/spool"},
		{"home", map[string]string{"HOME": "/home/u"}, "/home/u/.local/state/claude-hooks-exporter/spool"},
		{"nothing", map[string]string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultDir(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("DefaultDir = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendCreatesDirAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "spool")
	recs := []Record{testRecord(t, "one", 10), testRecord(t, "two", 0)}
	if err := Append(Options{Dir: dir, Now: fixedNow(day1)}, recs...); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o700 {
		t.Errorf("spool dir mode = %v, want 0700", got)
	}
	path := filepath.Join(dir, "spool-20260304.jsonl")
	st, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("spool file mode = %v, want 0600", got)
	}
	got := readSpool(t, path)
	if diff := cmp.Diff(spoolLines{recs: recs}, got, cmp.AllowUnexported(spoolLines{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("spool content (-want +got):\n%s", diff)
	}
}

// countingWrites wraps syscall.Write and counts the calls.
type countingWrites struct {
	mu    sync.Mutex
	calls int
}

func (c *countingWrites) write(fd int, p []byte) (int, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return syscall.Write(fd, p)
}

func TestAppendIsOneWrite(t *testing.T) {
	dir := t.TempDir()
	var cw countingWrites
	opts := Options{Dir: dir, Now: fixedNow(day1), write: cw.write}
	recs := []Record{testRecord(t, "a", 100), testRecord(t, "b", 70000), testRecord(t, "c", 1)}
	if err := Append(opts, recs...); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(recs...); err != nil {
		t.Fatal(err)
	}
	if cw.calls != 2 {
		t.Errorf("write(2) calls = %d, want 2 (one per Append of 3 records)", cw.calls)
	}
	got := readSpool(t, filepath.Join(dir, FileName(day1)))
	if len(got.recs) != 6 || len(got.fragments) != 0 {
		t.Errorf("spool holds %d records and %d fragments, want 6 and 0", len(got.recs), len(got.fragments))
	}
}

func TestAppendRejectsInvalidRecords(t *testing.T) {
	good := testRecord(t, "good", 0)
	tests := map[string]func(r *Record){
		"short id":           func(r *Record) { r.ID = "abc" },
		"upper-case id":      func(r *Record) { r.ID = "0123456789ABCDEF0123456789ABCDEF" },
		"no source":          func(r *Record) { r.Source = "" },
		"no payload":         func(r *Record) { r.Payload = nil },
		"payload with lines": func(r *Record) { r.Payload = []byte("{\n}") },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			bad := good
			mutate(&bad)
			if err := Append(Options{Dir: dir}, good, bad); err == nil {
				t.Error("Append accepted an invalid record")
			}
			w, err := OpenWriter(Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := w.Append(good, bad); err == nil {
				t.Error("Writer.Append accepted an invalid record")
			}
			// Nothing of the batch may have been written.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if info, err := e.Info(); err != nil || info.Size() != 0 {
					t.Errorf("%s has %d bytes after rejected appends, want 0 (err %v)", e.Name(), info.Size(), err)
				}
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	rec := testRecord(t, "x", 0)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]Options{
		"no dir":             {},
		"dir below a file":   {Dir: filepath.Join(file, "spool")},
		"dir is a file":      {Dir: file},
		"write fails":        {Dir: t.TempDir(), write: func(int, []byte) (int, error) { return -1, syscall.EIO }},
		"write makes no way": {Dir: t.TempDir(), write: func(int, []byte) (int, error) { return 0, nil }},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			if err := Append(opts, rec); err == nil {
				t.Error("Append succeeded, want an error")
			}
		})
	}
	if _, err := OpenWriter(Options{Dir: filepath.Join(file, "spool")}); err == nil {
		t.Error("OpenWriter below a file succeeded, want an error")
	}
	if _, err := OpenWriter(Options{}); err == nil {
		t.Error("OpenWriter without a dir succeeded, want an error")
	}
}

// TestTornWrites covers writers that die or hit a full disk mid-record: the
// fragment they leave stays a line of its own and every later record is intact.
func TestTornWrites(t *testing.T) {
	victim := testRecord(t, "victim", 3000)
	enc := Encode(nil, victim)
	tests := []struct {
		name string
		// tear leaves a torn record in the file at path; it may use opts.
		tear func(t *testing.T, opts Options, path string)
		// fragments are the undecodable lines expected in the end.
		fragments []string
		// victimKept says whether the torn record also landed whole.
		victimKept bool
	}{
		{
			name: "writer died after half a record",
			tear: func(t *testing.T, _ Options, path string) {
				appendRaw(t, path, enc[:len(enc)/2])
			},
			fragments: []string{string(enc[1 : len(enc)/2])},
		},
		{
			name: "writer died inside the header",
			tear: func(t *testing.T, _ Options, path string) {
				appendRaw(t, path, enc[:20])
			},
			fragments: []string{string(enc[1:20])},
		},
		{
			name: "writer died after the payload, before the closing brace",
			tear: func(t *testing.T, _ Options, path string) {
				appendRaw(t, path, enc[:len(enc)-2])
			},
			fragments: []string{string(enc[1 : len(enc)-2])},
		},
		{
			name: "disk full mid-record",
			tear: func(t *testing.T, opts Options, _ string) {
				opts.write = func(fd int, p []byte) (int, error) {
					n, err := syscall.Write(fd, p[:len(p)/2])
					if err != nil {
						return n, err
					}
					return n, syscall.ENOSPC
				}
				if err := Append(opts, victim); !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("Append on a full disk = %v, want ENOSPC", err)
				}
			},
			fragments: []string{string(enc[1 : len(enc)/2])},
		},
		{
			name: "short writes under the lock are continued",
			tear: func(t *testing.T, opts Options, _ string) {
				opts.write = func(fd int, p []byte) (int, error) { return syscall.Write(fd, p[:min(len(p), 700)]) }
				if err := Append(opts, victim); err != nil {
					t.Fatal(err)
				}
			},
			victimKept: true,
		},
		{
			name: "a short write without the lock restarts the cut record",
			tear: func(t *testing.T, opts Options, path string) {
				defer holdLock(t, path)()
				short := true
				opts.LockTimeout = time.Millisecond
				opts.write = func(fd int, p []byte) (int, error) {
					if short {
						short = false
						return syscall.Write(fd, p[:1000])
					}
					return syscall.Write(fd, p)
				}
				if err := Append(opts, victim); err != nil {
					t.Fatal(err)
				}
			},
			fragments:  []string{string(enc[1:1000])},
			victimKept: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, Now: fixedNow(day1)}
			path := filepath.Join(dir, FileName(day1))
			before := testRecord(t, "before", 50)
			if err := Append(opts, before); err != nil {
				t.Fatal(err)
			}
			tt.tear(t, opts, path)
			after := []Record{testRecord(t, "after-1", 10), testRecord(t, "after-2", 5000)}
			if err := Append(opts, after[0]); err != nil {
				t.Fatal(err)
			}
			w, err := OpenWriter(opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Append(after[1]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			want := spoolLines{recs: []Record{before}, fragments: tt.fragments}
			if tt.victimKept {
				want.recs = append(want.recs, victim)
			}
			want.recs = append(want.recs, after...)
			got := readSpool(t, path)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(spoolLines{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("spool after a torn write (-want +got):\n%s", diff)
			}
		})
	}
}

// appendRaw appends b to path as a dying writer would have.
func appendRaw(tb testing.TB, path string, b []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// holdLock takes the flock of path through a file of its own, as a stuck hook
// would hold it, until release is called or the test ends.
func holdLock(tb testing.TB, path string) (release func()) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	release = sync.OnceFunc(func() { f.Close() })
	tb.Cleanup(release)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		tb.Fatal(err)
	}
	return release
}

func TestLockTimeoutWritesAnyway(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Now: fixedNow(day1), LockTimeout: 5 * time.Millisecond}
	path := filepath.Join(dir, FileName(day1))
	holdLock(t, path)
	recs := []Record{testRecord(t, "one-shot", 10), testRecord(t, "writer", 10)}
	if err := Append(opts, recs[0]); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(recs[1]); err != nil {
		t.Fatal(err)
	}
	if got := w.LockTimeouts(); got != 1 {
		t.Errorf("LockTimeouts() = %d, want 1", got)
	}
	got := readSpool(t, path)
	if diff := cmp.Diff(spoolLines{recs: recs}, got, cmp.AllowUnexported(spoolLines{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("spool (-want +got):\n%s", diff)
	}
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestWriterFollowsDayAndFile moves to the next day's file at midnight UTC
// and to a new file once the path no longer names the open one (removed or
// replaced), which the Writer checks every recheckInterval by Options.Now, and
// at once when that clock goes back.
func TestWriterFollowsDayAndFile(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: day1}
	w, err := OpenWriter(Options{Dir: dir, Now: clk.Now, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	day2Path := filepath.Join(dir, "spool-20260305.jsonl")
	replace := func(suffix string) {
		t.Helper()
		if err := os.Rename(day2Path, day2Path+suffix); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(day2Path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		before func() // changes the clock or the files before the append
	}{
		{"day1", func() { clk.Set(day1.Add(950 * time.Millisecond)) }},
		// Only 50ms later, within the recheck interval, but a new UTC day.
		{"day2", func() { clk.Set(day1.Add(time.Second)) }},
		{"after-removal", func() {
			if err := os.Remove(day2Path); err != nil {
				t.Fatal(err)
			}
			clk.Set(clk.Now().Add(recheckInterval))
		}},
		{"after-replace", func() {
			replace(".old")
			clk.Set(clk.Now().Add(recheckInterval))
		}},
		{"after-clock-went-back", func() {
			replace(".old2")
			clk.Set(clk.Now().Add(-time.Millisecond))
		}},
	}
	recs := map[string]Record{}
	for _, st := range steps {
		st.before()
		recs[st.name] = testRecord(t, st.name, 1)
		if err := w.Append(recs[st.name]); err != nil {
			t.Fatalf("append %s: %v", st.name, err)
		}
	}
	files := map[string][]Record{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files[e.Name()] = readSpool(t, filepath.Join(dir, e.Name())).recs
	}
	want := map[string][]Record{
		"spool-20260304.jsonl":      {recs["day1"]},
		"spool-20260305.jsonl.old":  {recs["after-removal"]},
		"spool-20260305.jsonl.old2": {recs["after-replace"]},
		"spool-20260305.jsonl":      {recs["after-clock-went-back"]},
	}
	if diff := cmp.Diff(want, files, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("spool files (-want +got):\n%s", diff)
	}
}

func TestWriterClose(t *testing.T) {
	w, err := OpenWriter(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := w.Append(testRecord(t, "late", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
}

// TestConcurrentAppends has goroutines append through one shared Writer,
// through Writers of their own and one-shot, all at once.
func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, Now: fixedNow(day1)}
	shared, err := OpenWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	const workers, perWorker = 12, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := range workers {
		wg.Go(func() {
			own, err := OpenWriter(opts)
			if err != nil {
				errs <- err
				return
			}
			defer own.Close()
			for i := range perWorker {
				rec := testRecord(t, fmt.Sprintf("g%02d-%03d", g, i), (g*7919+i*104729)%30000)
				switch i % 3 {
				case 0:
					err = shared.Append(rec)
				case 1:
					err = own.Append(rec)
				default:
					err = Append(opts, rec)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := readSpool(t, filepath.Join(dir, FileName(day1)))
	if len(got.fragments) != 0 {
		t.Errorf("%d fragments, want none", len(got.fragments))
	}
	var markers []string
	for _, r := range got.recs {
		var p struct{ Marker, Pad string }
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			t.Fatalf("payload %s: %v", r.Payload, err)
		}
		var g, i int
		if _, err := fmt.Sscanf(p.Marker, "g%d-%d", &g, &i); err != nil || len(p.Pad) != (g*7919+i*104729)%30000 {
			t.Errorf("record %s has %d bytes of padding (%v)", p.Marker, len(p.Pad), err)
		}
		markers = append(markers, p.Marker)
	}
	sort.Strings(markers)
	var want []string
	for g := range workers {
		for i := range perWorker {
			want = append(want, fmt.Sprintf("g%02d-%03d", g, i))
		}
	}
	if diff := cmp.Diff(want, markers); diff != "" {
		t.Errorf("record markers (-want +got):\n%s", diff)
	}
}

func TestOnNetworkFS(t *testing.T) {
	// The test's temporary directory is on a local filesystem.
	if nfs, err := OnNetworkFS(t.TempDir()); nfs || err != nil {
		t.Errorf("OnNetworkFS(temp dir) = %v, %v; want false, nil", nfs, err)
	}
	if _, err := OnNetworkFS(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("OnNetworkFS(missing dir) succeeded, want an error")
	}
}

// gatedWriter opens a Writer whose first write(2) waits until release is
// closed. started is closed when that write begins; waiting receives a value
// whenever a caller starts waiting for a write in progress. Later writes go
// through then (nil: syscall.Write), numbered from 2.
type gatedWriter struct {
	w       *Writer
	path    string
	started chan struct{}
	release chan struct{}
	waiting chan struct{}
	calls   atomic.Int32
}

func newGatedWriter(tb testing.TB, mutate func(*Options), then func(call int32, fd int, p []byte) (int, error)) *gatedWriter {
	tb.Helper()
	dir := tb.TempDir()
	g := &gatedWriter{
		path:    filepath.Join(dir, FileName(day1)),
		started: make(chan struct{}),
		release: make(chan struct{}),
		waiting: make(chan struct{}, 64),
	}
	opts := Options{
		Dir: dir,
		Now: fixedNow(day1),
		write: func(fd int, p []byte) (int, error) {
			call := g.calls.Add(1)
			if call == 1 {
				close(g.started)
				<-g.release
			}
			if then != nil && call > 1 {
				return then(call, fd, p)
			}
			return syscall.Write(fd, p)
		},
		waiting: func() { g.waiting <- struct{}{} },
	}
	if mutate != nil {
		mutate(&opts)
	}
	w, err := OpenWriter(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close() })
	g.w = w
	return g
}

// appendAsync starts w.Append(recs...) and returns where its result will come.
func appendAsync(w *Writer, recs ...Record) <-chan error {
	done := make(chan error, 1)
	go func() { done <- w.Append(recs...) }()
	return done
}

// callerRecords returns n records of caller c, of varying sizes.
func callerRecords(tb testing.TB, c, n int) []Record {
	tb.Helper()
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = testRecord(tb, fmt.Sprintf("c%02d-%d", c, i), (c*7919+i*104729)%3000)
	}
	return recs
}

// TestWriterGroupCommit holds the first write while other callers queue
// behind it: they must share one write, and each caller's records must land
// whole, in order and next to each other.
func TestWriterGroupCommit(t *testing.T) {
	tests := []struct {
		name      string
		followers int
		perCaller int
		lockHeld  bool // another process holds the flock: every write goes without it
	}{
		{name: "one follower", followers: 1, perCaller: 1},
		{name: "many followers, several records each", followers: 12, perCaller: 3},
		{name: "lock timeouts count every append", followers: 5, perCaller: 2, lockHeld: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGatedWriter(t, func(o *Options) {
				if tt.lockHeld {
					o.LockTimeout = time.Millisecond
				}
			}, nil)
			if tt.lockHeld {
				holdLock(t, g.path)
			}
			callers := make([][]Record, 1+tt.followers)
			for c := range callers {
				callers[c] = callerRecords(t, c, tt.perCaller)
			}
			results := []<-chan error{appendAsync(g.w, callers[0]...)}
			<-g.started
			for c := 1; c < len(callers); c++ {
				results = append(results, appendAsync(g.w, callers[c]...))
				<-g.waiting
			}
			close(g.release)
			for c, res := range results {
				if err := <-res; err != nil {
					t.Errorf("caller %d: %v", c, err)
				}
			}
			if got := g.calls.Load(); got != 2 {
				t.Errorf("write(2) calls = %d, want 2 (the first caller's, then one for all %d followers)", got, tt.followers)
			}
			wantTimeouts := uint64(0)
			if tt.lockHeld {
				wantTimeouts = uint64(len(callers))
			}
			if got := g.w.LockTimeouts(); got != wantTimeouts {
				t.Errorf("LockTimeouts() = %d, want %d", got, wantTimeouts)
			}
			var want []Record
			for _, recs := range callers {
				want = append(want, recs...) // queued in this order, so written in it
			}
			got := readSpool(t, g.path)
			if diff := cmp.Diff(spoolLines{recs: want}, got, cmp.AllowUnexported(spoolLines{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("spool (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriterGroupCommitErrors fails a shared write part-way: the callers whose
// records were written whole succeed, the others get the error.
func TestWriterGroupCommitErrors(t *testing.T) {
	callers := [][]Record{
		callerRecords(t, 0, 1), // leads alone
		callerRecords(t, 1, 2), // written whole
		callerRecords(t, 2, 2), // its second record is cut
		callerRecords(t, 3, 1), // not written
	}
	cut := len(Encode(Encode(Encode(nil, callers[1][0]), callers[1][1]), callers[2][0])) + 100
	g := newGatedWriter(t, nil, func(call int32, fd int, p []byte) (int, error) {
		if call == 2 {
			n, err := syscall.Write(fd, p[:cut])
			if err != nil {
				return n, err
			}
			return n, syscall.ENOSPC
		}
		return syscall.Write(fd, p)
	})
	results := []<-chan error{appendAsync(g.w, callers[0]...)}
	<-g.started
	for _, recs := range callers[1:] {
		results = append(results, appendAsync(g.w, recs...))
		<-g.waiting
	}
	close(g.release)
	wantErr := []bool{false, false, true, true}
	for c, res := range results {
		err := <-res
		if got := err != nil; got != wantErr[c] {
			t.Errorf("caller %d: Append = %v, want error %v", c, err, wantErr[c])
		}
		if err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("caller %d: Append = %v, want ENOSPC", c, err)
		}
	}
	after := testRecord(t, "after", 10)
	if err := g.w.Append(after); err != nil {
		t.Fatal(err)
	}
	enc := Encode(nil, callers[2][1])
	want := spoolLines{
		recs:      []Record{callers[0][0], callers[1][0], callers[1][1], callers[2][0], after},
		fragments: []string{string(enc[1:100])},
	}
	got := readSpool(t, g.path)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(spoolLines{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("spool (-want +got):\n%s", diff)
	}
}

// TestWriterCloseWaitsForQueuedAppends closes the Writer while a write is in
// progress and others wait behind it: they are written, then the file closes.
func TestWriterCloseWaitsForQueuedAppends(t *testing.T) {
	g := newGatedWriter(t, nil, nil)
	callers := [][]Record{callerRecords(t, 0, 1), callerRecords(t, 1, 2), callerRecords(t, 2, 1)}
	results := []<-chan error{appendAsync(g.w, callers[0]...)}
	<-g.started
	for _, recs := range callers[1:] {
		results = append(results, appendAsync(g.w, recs...))
		<-g.waiting
	}
	closed := make(chan error, 1)
	go func() { closed <- g.w.Close() }()
	<-g.waiting // Close waits for the write in progress
	if err := g.w.Append(testRecord(t, "late", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append while closing = %v, want ErrClosed", err)
	}
	close(g.release)
	for c, res := range results {
		if err := <-res; err != nil {
			t.Errorf("caller %d: %v", c, err)
		}
	}
	if err := <-closed; err != nil {
		t.Errorf("Close = %v", err)
	}
	var want []Record
	for _, recs := range callers {
		want = append(want, recs...)
	}
	got := readSpool(t, g.path)
	if diff := cmp.Diff(spoolLines{recs: want}, got, cmp.AllowUnexported(spoolLines{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("spool (-want +got):\n%s", diff)
	}
}
