package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// hookRun is the outcome of one RunHook call.
type hookRun struct {
	Code           int
	Stdout, Stderr string
}

func runHook(tb testing.TB, args []string, env map[string]string, stdin io.Reader) hookRun {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	code := RunHook(args, func(k string) string { return env[k] }, stdin, &stdout, &stderr)
	return hookRun{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// onlyRecord returns the single record in dir's spool files.
func onlyRecord(tb testing.TB, dir string) Record {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	var recs []Record
	for _, name := range names {
		got := readSpool(tb, name)
		if len(got.fragments) != 0 {
			tb.Errorf("%s holds fragments: %q", name, got.fragments)
		}
		recs = append(recs, got.recs...)
	}
	if len(recs) != 1 {
		tb.Fatalf("spool holds %d records, want 1", len(recs))
	}
	return recs[0]
}

func TestRunHookCaptures(t *testing.T) {
	pretty := readTestdata(t, "posttooluse-2k.json")
	garbage := []byte("\x00\xff not json {")
	big := bytes.Repeat([]byte(`{"a":1}`), 1000)
	tests := []struct {
		name  string
		args  []string
		stdin []byte
		want  Record // ID and Received are checked apart
	}{
		{name: "payload", stdin: pretty, want: Record{Payload: compact(t, pretty), Size: len(pretty)}},
		{name: "empty", stdin: nil, want: Record{Bad: BadEmpty}},
		{name: "blank", stdin: []byte("\n"), want: Record{Bad: BadEmpty, Size: 1, Raw: []byte("\n")}},
		{name: "garbage", stdin: garbage, want: Record{Bad: BadInvalidJSON, Size: len(garbage), Raw: garbage}},
		{name: "oversized", args: []string{"--spool.max-record-bytes", "100"}, stdin: big, want: Record{Bad: BadOversized, Size: len(big), Raw: big[:100]}},
		{name: "exactly max", args: []string{"-spool.max-record-bytes=7"}, stdin: big[:7], want: Record{Payload: big[:7], Size: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new", "spool")
			before := time.Now()
			got := runHook(t, append([]string{"--spool.dir", dir}, tt.args...), nil, iotest.HalfReader(bytes.NewReader(tt.stdin)))
			if diff := cmp.Diff(hookRun{}, got); diff != "" {
				t.Fatalf("RunHook (-want +got):\n%s", diff)
			}
			rec := onlyRecord(t, dir)
			if rec.Received < before.UnixNano() || rec.Received > time.Now().UnixNano() {
				t.Errorf("Received %d is not the time of the call", rec.Received)
			}
			tt.want.ID, tt.want.Received, tt.want.Source = rec.ID, rec.Received, SourceHook
			if diff := cmp.Diff(tt.want, rec, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("spooled record (-want +got):\n%s", diff)
			}
			if want := FileName(time.Unix(0, rec.Received)); !fileExists(filepath.Join(dir, want)) {
				t.Errorf("record is not in %s, the file of its receive day", want)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestRunHookDefaultDir(t *testing.T) {
	state := t.TempDir()
	home := t.TempDir()
	got := runHook(t, nil, map[string]string{"XDG_STATE_HOME": state, "HOME": home}, strings.NewReader(`{"a":1}`))
	if diff := cmp.Diff(hookRun{}, got); diff != "" {
		t.Fatalf("RunHook (-want +got):\n%s", diff)
	}
	if rec := onlyRecord(t, filepath.Join(state, "claude-hooks-exporter", "spool")); string(rec.Payload) != `{"a":1}` {
		t.Errorf("payload = %s", rec.Payload)
	}
	got = runHook(t, nil, map[string]string{"HOME": home}, strings.NewReader(`{"b":2}`))
	if diff := cmp.Diff(hookRun{}, got); diff != "" {
		t.Fatalf("RunHook (-want +got):\n%s", diff)
	}
	if rec := onlyRecord(t, filepath.Join(home, ".local", "state", "claude-hooks-exporter", "spool")); string(rec.Payload) != `{"b":2}` {
		t.Errorf("payload = %s", rec.Payload)
	}
}

func TestRunHookFailures(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		stdin   io.Reader
		message string // a part of the one stderr line
	}{
		{name: "unknown flag", args: []string{"--bogus"}, message: "flag provided but not defined: -bogus"},
		{name: "flag without value", args: []string{"--spool.dir"}, message: "flag needs an argument"},
		{name: "bad number", args: []string{"--spool.max-record-bytes", "lots"}, message: "invalid value"},
		{name: "zero max", args: []string{"--spool.dir", dir, "--spool.max-record-bytes", "0"}, message: "must be positive"},
		{name: "argument", args: []string{"--spool.dir", dir, "extra"}, message: `unexpected argument "extra"`},
		{name: "no dir, no home", env: map[string]string{}, message: "no spool directory"},
		{name: "unwritable dir", args: []string{"--spool.dir", filepath.Join(file, "spool")}, message: "not a directory"},
		{name: "stdin fails", args: []string{"--spool.dir", dir}, stdin: iotest.ErrReader(errors.New("broken pipe\nreally")), message: "read stdin: broken pipe really"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin := tt.stdin
			if stdin == nil {
				stdin = strings.NewReader(`{"a":1}`)
			}
			got := runHook(t, tt.args, tt.env, stdin)
			if got.Code != 1 || got.Stdout != "" {
				t.Errorf("RunHook = %d, stdout %q; want 1 and nothing on stdout", got.Code, got.Stdout)
			}
			if !strings.HasPrefix(got.Stderr, "claude-hooks-hook: ") || !strings.HasSuffix(got.Stderr, "\n") ||
				strings.Count(got.Stderr, "\n") != 1 || !strings.Contains(got.Stderr, tt.message) {
				t.Errorf("stderr = %q, want one line containing %q", got.Stderr, tt.message)
			}
		})
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("failed runs wrote %d files to the spool (err %v)", len(entries), err)
	}
}

func TestRunHookHelp(t *testing.T) {
	got := runHook(t, []string{"-h"}, nil, strings.NewReader(""))
	if got.Code != 0 || got.Stdout != "" || !strings.Contains(got.Stderr, "-spool.dir") {
		t.Errorf("RunHook -h = %d, stdout %q, stderr %q; want 0, nothing, usage", got.Code, got.Stdout, got.Stderr)
	}
}

func TestReadCapped(t *testing.T) {
	in := bytes.Repeat([]byte("0123456789"), 10000)
	tests := []struct {
		name     string
		maxBytes int
		wantKept int
	}{
		{"all fits", 200000, 100000},
		{"exactly max", 100000, 100000},
		{"one over", 99999, 100000},
		{"far over", 10, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, size, err := readCapped(iotest.OneByteReader(bytes.NewReader(in)), tt.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if size != len(in) || !bytes.Equal(data, in[:tt.wantKept]) {
				t.Errorf("readCapped kept %d bytes, size %d; want the first %d, size %d", len(data), size, tt.wantKept, len(in))
			}
			if cap(data) > tt.maxBytes+1 {
				t.Errorf("readCapped held %d bytes, more than max+1 = %d", cap(data), tt.maxBytes+1)
			}
		})
	}
}
