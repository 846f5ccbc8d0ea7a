package app

import (
	"context"
	"fmt"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/live"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// historySink stores each batch (when the store is on) and then publishes its
// events to the live stream with the sequence numbers the store gave them, so
// a stream client can resume from the store without a gap.
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
		h.buf = append(h.buf, store.FromEvent(&b.Events[i], h.payloadMax, h.capture))
	}
	if h.store != nil {
		if err := h.store.Insert(ctx, h.buf, b.Spans); err != nil {
			return fmt.Errorf("store batch: %w", err)
		}
	}
	h.broker.Publish(h.buf)
	return nil
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
