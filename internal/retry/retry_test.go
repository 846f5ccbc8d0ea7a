package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBackoffDoublesToCap(t *testing.T) {
	b := Backoff(100*time.Millisecond, time.Second)
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		got := b.NextBackOff()
		lo, hi := time.Duration(float64(w)*0.8), time.Duration(float64(w)*1.2)
		if got < lo || got > hi {
			t.Errorf("wait %d = %v, want %v ±20%%", i, got, w)
		}
	}
	b.Reset()
	if got := b.NextBackOff(); got > 120*time.Millisecond {
		t.Errorf("wait after Reset = %v, want about 100ms", got)
	}
	if d := Backoff(0, 0); d.InitialInterval != DefaultMin || d.MaxInterval != DefaultMax {
		t.Errorf("zero bounds = %v..%v, want %v..%v", d.InitialInterval, d.MaxInterval, DefaultMin, DefaultMax)
	}
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	calls := 0
	var waits []time.Duration
	err := Do(context.Background(), func() error {
		calls++
		if calls < 3 {
			return errors.New("refused")
		}
		return nil
	}, func(err error, wait time.Duration) { waits = append(waits, wait) })
	if err != nil || calls != 3 || len(waits) != 2 {
		t.Fatalf("Do: err %v after %d calls and %d notifications; want nil after 3 calls and 2", err, calls, len(waits))
	}
}

// TestDoStopsWithContext: a failing op is not retried past the context's
// end, and Do says why it stopped.
func TestDoStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Do(ctx, func() error {
		calls++
		if calls == 2 {
			cancel()
		}
		return errors.New("refused")
	}, nil)
	if !errors.Is(err, context.Canceled) || calls != 2 {
		t.Fatalf("Do: err %v after %d calls; want context.Canceled after 2", err, calls)
	}
}
