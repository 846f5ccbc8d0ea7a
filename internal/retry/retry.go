package retry

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Default bounds of the waits between tries.
const (
	DefaultMin = 50 * time.Millisecond
	DefaultMax = 5 * time.Second
)

// Backoff returns the policy: waits from lo doubling to hi, each jittered by
// up to a fifth, without end. Zero bounds take DefaultMin and DefaultMax.
func Backoff(lo, hi time.Duration) *backoff.ExponentialBackOff {
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     lo,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         max(hi, lo),
	}
	b.Reset()
	return b
}

// Do calls op until it returns nil or ctx ends, waiting as Backoff(0, 0)
// says between tries; notify, when not nil, is told each failure and the
// wait before the next try. It returns nil or the context's error.
func Do(ctx context.Context, op func() error, notify func(err error, wait time.Duration)) error {
	opts := []backoff.RetryOption{backoff.WithBackOff(Backoff(0, 0)), backoff.WithMaxElapsedTime(0)}
	if notify != nil {
		opts = append(opts, backoff.WithNotify(notify))
	}
	_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, op() }, opts...)
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
