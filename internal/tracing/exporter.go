package tracing

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// countingExporter sits between the batch processor and the real exporter. It
// releases queue room (inflight), counts delivered and failed spans, logs failures
// once per outage instead of once per batch, and can abort every export at once so
// Shutdown never waits on a dead backend's retries.
//
// It returns nil to the batch processor even when an export failed: the failure is
// counted and logged here, and the processor would otherwise pass it to the global
// OpenTelemetry error handler, which this package leaves alone.
type countingExporter struct {
	next     sdktrace.SpanExporter
	log      *slog.Logger
	inflight *atomic.Int64

	exported atomic.Uint64
	failed   atomic.Uint64
	failing  atomic.Bool

	abortOnce    sync.Once
	abort        chan struct{}
	shutdownOnce sync.Once
	shutdownDone chan struct{}
}

var _ sdktrace.SpanExporter = (*countingExporter)(nil)

// ExportSpans forwards one batch.
func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := uint64(len(spans))
	// The batch has left the processor's queue.
	e.inflight.Add(-int64(len(spans)))

	select {
	case <-e.abort:
		e.failed.Add(n)
		return nil
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-e.abort:
			cancel()
		case <-stop:
		}
	}()
	err := e.next.ExportSpans(ctx, spans)
	close(stop)
	<-exited

	if err != nil {
		e.failed.Add(n)
		if !e.failing.Swap(true) {
			e.log.Warn("trace export failing, spans dropped until it recovers", "spans", n, "err", err)
		} else {
			e.log.Debug("trace export failed", "spans", n, "err", err)
		}
		return nil
	}
	e.exported.Add(n)
	if e.failing.Swap(false) {
		e.log.Info("trace export recovered", "failed_total", e.failed.Load())
	}
	return nil
}

// Shutdown stops the real exporter and signals that the batch processor is done.
func (e *countingExporter) Shutdown(ctx context.Context) error {
	err := e.next.Shutdown(ctx)
	e.shutdownOnce.Do(func() { close(e.shutdownDone) })
	return err
}

// abortExports cancels running exports and fails later ones immediately.
func (e *countingExporter) abortExports() {
	e.abortOnce.Do(func() { close(e.abort) })
}
