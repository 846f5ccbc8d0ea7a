package metrics

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeSpans struct{ exported, dropped uint64 }

func (f fakeSpans) Stats() (uint64, uint64) { return f.exported, f.dropped }

type fakeStore struct{}

func (fakeStore) Stats(context.Context) (int64, int64, error) { return 4096, 12, nil }
func (fakeStore) CommitStats() (int, int64, int64)            { return 3, 7, 1 }
func (fakeStore) Health() error                               { return errors.New("commits failing") }
func (fakeStore) FaultStats() (bool, int64)                   { return true, 9 }

type fakeStream struct{}

func (fakeStream) Subscribers() int { return 2 }
func (fakeStream) Dropped() uint64  { return 5 }

// TestRuntimeGolden pins the runtime metrics, with every source and with the
// store off.
func TestRuntimeGolden(t *testing.T) {
	tests := []struct {
		name   string
		opts   RuntimeOptions
		golden string
	}{
		{"all", RuntimeOptions{Spans: fakeSpans{10, 2}, Store: fakeStore{}, Stream: fakeStream{},
			UTF8Replaced: func() uint64 { return 4 }, HookFailures: func() (uint64, error) { return 2, nil }}, "runtime.prom"},
		{"store off", RuntimeOptions{Spans: fakeSpans{10, 2}, Stream: fakeStream{}}, "runtime-nostore.prom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(NewRuntime(tt.opts))
			f, err := os.Open(filepath.Join("testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := testutil.GatherAndCompare(reg, f); err != nil {
				t.Error(err)
			}
			problems, err := testutil.GatherAndLint(reg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint %s: %s", p.Metric, p.Text)
			}
		})
	}
}
