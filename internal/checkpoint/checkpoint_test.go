package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/claudehooks/claude-hooks-exporter/internal/atomicfile"
)

func sample() Checkpoint {
	return Checkpoint{
		Version:   1,
		Positions: json.RawMessage(`[{"fp":"abc","fp_size":3,"path":"spool-20260101.jsonl","offset":42}]`),
		State:     map[string]json.RawMessage{"tracker": json.RawMessage(`{"sessions":3}`)},
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		cp   Checkpoint
	}{
		{name: "positions and state", cp: sample()},
		{name: "empty", cp: Checkpoint{Version: 2}},
		{name: "several states", cp: Checkpoint{Version: 1, Positions: json.RawMessage(`[]`), State: map[string]json.RawMessage{
			"tracker": json.RawMessage(`{"a":[1,2,3]}`), "ingest": json.RawMessage(`"x"`), "legacy": json.RawMessage(`null`),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "checkpoint.json")
			if _, ok, err := Load(path); ok || err != nil {
				t.Fatalf("load before any save: ok %v, err %v; want false, nil", ok, err)
			}
			// Overwrite an older checkpoint, as every save but the first does.
			if err := Save(path, Checkpoint{Version: 9, Positions: json.RawMessage(`["old"]`)}); err != nil {
				t.Fatal(err)
			}
			if err := Save(path, tt.cp); err != nil {
				t.Fatal(err)
			}
			got, ok, err := Load(path)
			if err != nil || !ok {
				t.Fatalf("load: ok %v, err %v", ok, err)
			}
			if diff := cmp.Diff(tt.cp, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("file mode %v, want 0600", mode)
			}
			if left := temps(t, path); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}

// temps lists the temporary files next to path.
func temps(tb testing.TB, path string) []string {
	tb.Helper()
	m, err := filepath.Glob(atomicfile.TempPattern(path))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestCrashLeftovers(t *testing.T) {
	tests := []struct {
		name     string
		withMain bool // a checkpoint was saved before the crash
		temps    []string
		wantOK   bool
	}{
		{name: "died before the first rename", temps: []string{`{"version":1,"sta`}, wantOK: false},
		{name: "died before the first rename, temp complete", temps: []string{`{"version":5}`}, wantOK: false},
		{name: "died before replacing", withMain: true, temps: []string{`{"version":1,"sta`}, wantOK: true},
		{name: "several crashes", withMain: true, temps: []string{``, `{`, `{"version":7}`}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "checkpoint.json")
			if tt.withMain {
				if err := Save(path, sample()); err != nil {
					t.Fatal(err)
				}
			}
			for i, data := range tt.temps {
				name := fmt.Sprintf("%s.tmp-%d", path, 1000+i)
				if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			other := filepath.Join(dir, "other.json.tmp-1") // not ours
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			cp, ok, err := Load(path)
			if err != nil || ok != tt.wantOK {
				t.Fatalf("load: ok %v, err %v; want ok %v, no error", ok, err, tt.wantOK)
			}
			want := Checkpoint{}
			if tt.wantOK {
				want = sample()
			}
			if diff := cmp.Diff(want, cp, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("loaded (-want +got):\n%s", diff)
			}
			if left := temps(t, path); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
			if _, err := os.Stat(other); err != nil {
				t.Errorf("another file's temporary file was touched: %v", err)
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{name: "empty", data: ""},
		{name: "truncated", data: `{"version":1,"positions":[`},
		{name: "not JSON", data: "\x00\x01garbage"},
		{name: "trailing garbage", data: `{"version":1} {"version":2}`},
		{name: "wrong shape", data: `{"version":"one"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "checkpoint.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, ok, err := Load(path)
			if err == nil || ok || !strings.Contains(err.Error(), path) {
				t.Fatalf("load: ok %v, err %v; want an error naming %s", ok, err, path)
			}
		})
	}
}

func TestSaveFailure(t *testing.T) {
	tests := []struct {
		name string
		path func(dir string) string
	}{
		{name: "directory does not exist", path: func(dir string) string { return filepath.Join(dir, "missing", "cp.json") }},
		{name: "parent is a file", path: func(dir string) string { return filepath.Join(dir, "old", "cp.json") }},
		{name: "read-only pseudo file system", path: func(string) string { return "/proc/claude-hooks-checkpoint.json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			old := filepath.Join(dir, "old")
			if err := Save(old, sample()); err != nil {
				t.Fatal(err)
			}
			path := tt.path(dir)
			err := Save(path, Checkpoint{Version: 2})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("save: %v; want an error naming %s", err, path)
			}
			got, ok, err := Load(old)
			if err != nil || !ok {
				t.Fatalf("load after the failed save: ok %v, err %v", ok, err)
			}
			if diff := cmp.Diff(sample(), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("checkpoint after the failed save (-want +got):\n%s", diff)
			}
			if left := temps(t, old); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}

// TestConcurrentReaders: loads during many saves always see a whole
// checkpoint, one of those saved, and the saves never fail because of them.
func TestConcurrentReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	version := func(v int) Checkpoint {
		cp := sample()
		cp.Version = v
		cp.State["blob"] = json.RawMessage(`"` + strings.Repeat(fmt.Sprintf("%08d", v), 100_000/8) + `"`)
		return cp
	}
	if err := Save(path, version(0)); err != nil {
		t.Fatal(err)
	}
	const saves, readers = 40, 3
	done := make(chan struct{})
	errs := make(chan error, readers+1)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for loads := 0; ; loads++ {
				select {
				case <-done:
					if loads == 0 {
						errs <- errors.New("a reader never loaded")
					}
					return
				default:
				}
				cp, ok, err := Load(path)
				if err != nil || !ok {
					errs <- fmt.Errorf("load: ok %v, err %v", ok, err)
					return
				}
				got, err := json.Marshal(cp)
				if err != nil {
					errs <- fmt.Errorf("encode loaded checkpoint: %w", err)
					return
				}
				if want, _ := json.Marshal(version(cp.Version)); !bytes.Equal(got, want) {
					errs <- fmt.Errorf("load saw a checkpoint never saved (version %d)", cp.Version)
					return
				}
			}
		})
	}
	for v := 1; v <= saves; v++ {
		if err := Save(path, version(v)); err != nil {
			errs <- fmt.Errorf("save %d: %w", v, err)
			break
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkSave(b *testing.B) {
	path := filepath.Join(b.TempDir(), "checkpoint.json")
	cp := sample()
	cp.State["tracker"] = json.RawMessage(`"` + strings.Repeat("x", 100_000) + `"`)
	b.SetBytes(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Save(path, cp); err != nil {
			b.Fatal(err)
		}
	}
}
