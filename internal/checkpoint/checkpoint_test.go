package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sample() Checkpoint {
	return Checkpoint{
		Version:   1,
		Positions: json.RawMessage(`[{"fp":"abc","path":"spool-20260101.jsonl","offset":42}]`),
		State:     map[string]json.RawMessage{"tracker": json.RawMessage(`{"sessions":3}`)},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	if _, ok, err := Load(path); ok || err != nil {
		t.Fatalf("Load of a missing checkpoint = ok %v err %v, want false, nil", ok, err)
	}
	want := sample()
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := Load(path)
	if err != nil || !ok {
		t.Fatalf("Load = ok %v err %v", ok, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	want.State["tracker"] = json.RawMessage(`{"sessions":4}`)
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, _, _ = Load(path)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("overwrite (-want +got):\n%s", diff)
	}
}

func TestCrashLeftovers(t *testing.T) {
	tests := []struct {
		name     string
		withMain bool
		wantOK   bool
	}{
		{"temp file only: died before the first rename", false, false},
		{"temp file and main: died before replacing", true, true},
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
			leftover := filepath.Join(dir, "checkpoint.json"+tmpSuffix+"123")
			if err := os.WriteFile(leftover, []byte(`{"version":1,"sta`), 0o600); err != nil {
				t.Fatal(err)
			}
			cp, ok, err := Load(path)
			if err != nil || ok != tt.wantOK {
				t.Fatalf("Load = ok %v err %v, want ok %v", ok, err, tt.wantOK)
			}
			if ok && cp.Version != 1 {
				t.Fatalf("Load gave %+v", cp)
			}
			if _, err := os.Stat(leftover); !os.IsNotExist(err) {
				t.Fatalf("leftover temp file still there: %v", err)
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"positions":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ok, err := Load(path)
	if err == nil || ok || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load of a corrupt file = ok %v err %v, want an error naming the path", ok, err)
	}
}

func TestSaveFailure(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions: use a path whose parent is a file.
		parent := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(parent, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Save(filepath.Join(parent, "checkpoint.json"), sample()); err == nil {
			t.Fatal("Save under a file succeeded")
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if err := Save(filepath.Join(dir, "checkpoint.json"), sample()); err == nil {
		t.Fatal("Save into a read-only dir succeeded")
	}
}

// TestReadersNeverSeePartial: concurrent loads during many saves always decode.
func TestReadersNeverSeePartial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	big := sample()
	big.State["blob"] = json.RawMessage(`"` + strings.Repeat("x", 200_000) + `"`)
	if err := Save(path, big); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				continue // between unlink and rename is impossible: rename is atomic
			}
			var cp Checkpoint
			if err := json.Unmarshal(b, &cp); err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
		}
	}()
	for range 50 {
		if err := Save(path, big); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a reader saw a partial checkpoint: %v", err)
	default:
	}
}

func BenchmarkSave(b *testing.B) {
	path := filepath.Join(b.TempDir(), "checkpoint.json")
	cp := sample()
	cp.State["blob"] = json.RawMessage(`"` + strings.Repeat("x", 100_000) + `"`)
	b.ReportAllocs()
	for b.Loop() {
		if err := Save(path, cp); err != nil {
			b.Fatal(err)
		}
	}
}
