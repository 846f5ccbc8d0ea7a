package legacy

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const sid = "0b6f3c2e-6a3d-4c1e-9f0a-2d5b7e8c9a10"

func TestParseName(t *testing.T) {
	tests := []struct {
		name string
		want File
		ok   bool
	}{
		{
			name: "2025-07-14_09-05-33-042_PreToolUse_" + sid + ".json",
			want: File{Path: "2025-07-14_09-05-33-042_PreToolUse_" + sid + ".json",
				Received: time.Date(2025, 7, 14, 9, 5, 33, 42e6, time.UTC), Event: "PreToolUse", SessionID: sid},
			ok: true,
		},
		{
			name: "2025-12-31_23-59-59-999_Stop_" + sid + ".json",
			want: File{Path: "2025-12-31_23-59-59-999_Stop_" + sid + ".json",
				Received: time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC), Event: "Stop", SessionID: sid},
			ok: true,
		},
		{
			name: "2025-01-02_03-04-05-000_SessionStart_x.json",
			want: File{Path: "2025-01-02_03-04-05-000_SessionStart_x.json",
				Received: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Event: "SessionStart", SessionID: "x"},
			ok: true,
		},
		{
			// Any non-empty tail is a session id, underscores included.
			name: "2025-01-02_03-04-05-006_Notification_not_a_uuid.json",
			want: File{Path: "2025-01-02_03-04-05-006_Notification_not_a_uuid.json",
				Received: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC), Event: "Notification", SessionID: "not_a_uuid"},
			ok: true,
		},
		{name: "2025-07-14_09-05-33-042_PreToolUse_" + sid + "_pretty.json"}, // twin
		{name: "2025-07-14_09-05-33-042_PreToolUse_" + sid + ".json.tmp"},    // not .json
		{name: "2025-07-14_09-05-33-042_PreToolUse_" + sid + ".JSON"},        // not .json
		{name: "2025-07-14_09-05-33-042_PreToolUse_.json"},                   // no session
		{name: "2025-07-14_09-05-33-042__" + sid + ".json"},                  // no event
		{name: "2025-07-14_09-05-33-042_PreToolUse.json"},                    // no session separator
		{name: "2025-07-14_09-05-33_PreToolUse_" + sid + ".json"},            // no milliseconds
		{name: "2025-07-14_09-05-33-42_PreToolUse_" + sid + ".json"},         // two-digit milliseconds
		{name: "2025-07-14_09-05-33-04x_PreToolUse_" + sid + ".json"},        // bad milliseconds
		{name: "2025-07-14_09-05-33.042_PreToolUse_" + sid + ".json"},        // dot before milliseconds
		{name: "2025-13-14_09-05-33-042_PreToolUse_" + sid + ".json"},        // month 13
		{name: "2025-02-30_09-05-33-042_PreToolUse_" + sid + ".json"},        // 30 February
		{name: "2025-07-14_24-05-33-042_PreToolUse_" + sid + ".json"},        // hour 24
		{name: "2025-07-14T09-05-33-042_PreToolUse_" + sid + ".json"},        // T separator
		{name: "2025-07-14_09-05-33-042-PreToolUse_" + sid + ".json"},        // dash after stamp
		{name: "session_log.json"},
		{name: "notifier.log"},
		{name: ".json"},
		{name: ""},
	}
	for _, tt := range tests {
		got, ok := ParseName(tt.name)
		if ok != tt.ok {
			t.Errorf("ParseName(%q) ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseName(%q) (-want +got):\n%s", tt.name, diff)
		}
		if ok && got.Received.Location() != time.UTC {
			t.Errorf("ParseName(%q) time zone = %v, want UTC", tt.name, got.Received.Location())
		}
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"2025-07-14_09-05-33-042_PostToolUse_" + sid + ".json",
		"2025-07-14_09-05-33-042_PostToolUse_" + sid + "_pretty.json",
		"2025-07-14_09-05-33-042_PreToolUse_" + sid + ".json", // same millisecond: by name
		"2025-07-14_09-05-33-041_Stop_b.json",
		"2025-07-14_09-05-33-041_Stop_a.json",
		"2024-12-31_23-59-59-999_SessionStart_" + sid + ".json",
		"2025-07-14_10-00-00-000_Notification_" + sid + ".json",
		"README.md",
		"events.jsonl",
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(`{}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with a matching name is not an event file.
	if err := os.Mkdir(filepath.Join(dir, "2025-07-14_09-05-33-000_Stop_dir.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	files, err := Scan(dir)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var got []string
	for _, f := range files {
		if filepath.Dir(f.Path) != dir {
			t.Errorf("Path %q is not in %s", f.Path, dir)
		}
		got = append(got, filepath.Base(f.Path))
	}
	want := []string{
		"2024-12-31_23-59-59-999_SessionStart_" + sid + ".json",
		"2025-07-14_09-05-33-041_Stop_a.json",
		"2025-07-14_09-05-33-041_Stop_b.json",
		"2025-07-14_09-05-33-042_PostToolUse_" + sid + ".json",
		"2025-07-14_09-05-33-042_PreToolUse_" + sid + ".json",
		"2025-07-14_10-00-00-000_Notification_" + sid + ".json",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan order (-want +got):\n%s", diff)
	}
	if files[0].Event != "SessionStart" || !files[0].Received.Equal(time.Date(2024, 12, 31, 23, 59, 59, 999e6, time.UTC)) {
		t.Errorf("first file = %+v", files[0])
	}
}

func TestScanMissingDir(t *testing.T) {
	_, err := Scan(filepath.Join(t.TempDir(), "raw_json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Scan of a missing directory: err = %v, want one wrapping fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "raw_json") {
		t.Errorf("error %q does not name the directory", err)
	}
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestID(t *testing.T) {
	name := "2025-07-14_09-05-33-042_PreToolUse_" + sid + ".json"
	f, ok := ParseName(name)
	if !ok {
		t.Fatal("ParseName failed")
	}
	id := ID(f)
	// Pinned (sha256sum of the name, first 32 hex digits): a change here changes the ids of every imported event, and a
	// re-import would then duplicate them downstream.
	if want := "69c442219b180560d4e5c6d7f491561c"; id != want {
		t.Errorf("ID = %q, want %q", id, want)
	}
	if !hexID.MatchString(id) {
		t.Errorf("ID %q is not 32 lowercase hex characters", id)
	}
	// The same name in another directory has the same id.
	moved := f
	moved.Path = filepath.Join("home", "someone", ".claude", "hooks", "logs", "raw_json", name)
	if got := ID(moved); got != id {
		t.Errorf("ID depends on the directory: %q vs %q", got, id)
	}
	other, _ := ParseName("2025-07-14_09-05-33-043_PreToolUse_" + sid + ".json")
	if ID(other) == id {
		t.Errorf("two names share the id %q", id)
	}
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name  string
		total int
		isTTY bool
		adds  []int
		want  string
	}{
		{
			name: "tty", total: 4, isTTY: true, adds: []int{1, 1, 2},
			want: "\r[#######.......................]  25% 1/4" +
				"\r[###############...............]  50% 2/4" +
				"\r[##############################] 100% 4/4" +
				"\r[##############################] 100% 4/4\n" +
				"4 of 4 files done\n",
		},
		{
			// Redrawn only when the percentage changes.
			name: "tty many", total: 1000, isTTY: true, adds: []int{1, 1, 1, 7, 990},
			want: "\r[..............................]   0% 1/1000" +
				"\r[..............................]   1% 10/1000" +
				"\r[##############################] 100% 1000/1000" +
				"\r[##############################] 100% 1000/1000\n" +
				"1000 of 1000 files done\n",
		},
		{
			name: "tty interrupted", total: 10, isTTY: true, adds: []int{3},
			want: "\r[#########.....................]  30% 3/10" +
				"\r[#########.....................]  30% 3/10\n" +
				"3 of 10 files done\n",
		},
		{name: "tty nothing to do", total: 0, isTTY: true, want: "0 of 0 files done\n"},
		{name: "not a tty", total: 4, adds: []int{1, 1, 2}, want: "4 of 4 files done\n"},
		{name: "not a tty, interrupted", total: 1000, adds: []int{256}, want: "256 of 1000 files done\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewProgress(&buf, tt.total, tt.isTTY)
			for _, n := range tt.adds {
				p.Add(n)
			}
			p.Done()
			p.Done()
			p.Add(1)
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

// lockedBuffer lets the race detector see Progress's own locking, not the buffer's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestProgressConcurrent(t *testing.T) {
	var buf lockedBuffer
	p := NewProgress(&buf, 800, true)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				p.Add(1)
			}
		})
	}
	wg.Wait()
	p.Done()
	if !strings.HasSuffix(buf.b.String(), "100% 800/800\n800 of 800 files done\n") {
		t.Errorf("output ends %q", buf.b.String()[max(0, buf.b.Len()-80):])
	}
}

func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	base := time.Date(2025, 7, 14, 9, 0, 0, 0, time.UTC)
	for i := range 2000 {
		name := base.Add(time.Duration(i)*time.Second).Format("2006-01-02_15-04-05") + "-000_PreToolUse_" + sid + ".json"
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		files, err := Scan(dir)
		if err != nil || len(files) != 2000 {
			b.Fatalf("Scan: %d files, %v", len(files), err)
		}
	}
}
