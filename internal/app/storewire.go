package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/live"
	"github.com/claudehooks/claude-hooks-exporter/internal/metrics"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// historySink numbers each batch in the store (when the store is on), hands
// it to the store's group commit and publishes it to the live stream at once,
// with the numbers the store gave it: the stream does not wait for the
// commit. A resuming client waits for it instead (live.Options.WaitStored),
// and the pipeline checkpoints a batch only once it is committed (Mark,
// WaitDurable), so a crash loses nothing the spool had.
type historySink struct {
	store      *store.Store // nil: no store, the broker numbers events itself
	broker     *live.Broker
	payloadMax int
	capture    bool
	buf        []wire.Event
}

func (h *historySink) Consume(ctx context.Context, b *pipeline.Batch) error {
	h.buf = h.buf[:0]
	for i := range b.Events {
		h.buf = append(h.buf, eventview.Of(&b.Events[i], h.payloadMax, h.capture))
	}
	if h.store != nil {
		err := h.store.Enqueue(ctx, h.buf, b.Spans, b.Sessions)
		if errors.Is(err, store.ErrFailed) {
			// The store is down for good (it says so in /readyz, the log
			// and claude_hooks_store_up): the stream goes on, numbered
			// above the last seq streamed.
			seq := h.broker.LastSeq()
			for i := range h.buf {
				seq++
				h.buf[i].Seq = seq
			}
		} else if err != nil {
			return fmt.Errorf("store batch: %w", err)
		}
	}
	h.broker.Publish(h.buf)
	return nil
}

// Mark implements pipeline.DurableSink.
func (h *historySink) Mark() uint64 {
	if h.store == nil {
		return 0
	}
	return h.store.Mark()
}

// WaitDurable implements pipeline.DurableSink.
func (h *historySink) WaitDurable(ctx context.Context, mark uint64) error {
	if h.store == nil {
		return nil
	}
	return h.store.WaitDurable(ctx, mark)
}

// statusFunc answers GET /api/v1/status from the daemon's parts.
func statusFunc(started time.Time, pl *pipeline.Pipeline, st *store.Store, broker *live.Broker) func(context.Context) wire.Status {
	return func(ctx context.Context) wire.Status {
		s := wire.Status{
			Service:           wire.ServiceName,
			Version:           Version,
			UptimeSeconds:     time.Since(started).Seconds(),
			StreamSubscribers: broker.Subscribers(),
			LastSeq:           broker.LastSeq(),
		}
		pl.Snapshot(func(ps pipeline.Stats) {
			s.EventsApplied = ps.Applied
			s.IngestLagSeconds = ps.LastLag.Seconds()
			s.SpoolBacklogBytes = ps.Backlog
		})
		if st != nil {
			if bytes, events, err := st.Stats(ctx); err == nil {
				s.StoreBytes, s.StoreEvents = bytes, events
			}
		}
		return s
	}
}

// ingestSnapshot copies the pipeline's ingest state for a scrape.
func ingestSnapshot(pl *pipeline.Pipeline) func() metrics.IngestSnapshot {
	return func() metrics.IngestSnapshot {
		var s metrics.IngestSnapshot
		pl.Snapshot(func(st pipeline.Stats) {
			s = metrics.IngestSnapshot{
				RejectedByReason:        maps.Clone(st.Rejected),
				SpoolBacklogBytes:       st.Backlog,
				CheckpointWriteFailures: st.CheckpointFailures,
				EventsApplied:           st.Applied,
				IngestLag:               st.Lag.Clone(),
				Processing:              st.Processing.Clone(),
			}
		})
		return s
	}
}
