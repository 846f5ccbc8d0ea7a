package plugin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"golang.org/x/sync/errgroup"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/exporterapi"
	"github.com/claudehooks/claude-hooks-exporter/internal/retry"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// maxBatch bounds the events of one stream frame: events that arrive while a
// frame is being sent go out together in the next one.
const maxBatch = 500

// SubscribeStream admits a subscriber to a channel this data source can
// serve, and hands it the frame schema with the newest matching events.
func (d *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	f, err := ParseChannelPath(req.Path)
	if err != nil {
		d.log.Debug("subscribe refused", "path", req.Path, "err", err)
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	if d.settingsErr != nil {
		return nil, fmt.Errorf("data source settings: %w", d.settingsErr)
	}
	// The exporter's last sequence number before the query: the query sees
	// every event up to it (the exporter's queries wait for its store to
	// commit what it streamed), so the stream resumes after it, or after the
	// newest event of the initial data, with no gap even when no event matched.
	var events []wire.Event
	var resumeAfter int64
	known := false
	if st, err := d.client.Status(ctx); err == nil {
		resumeAfter, known = st.LastSeq, true
	}
	page, err := d.client.Events(ctx, exporterapi.EventsQuery{Filter: f, Limit: d.settings.LiveHistory})
	if err != nil {
		// The schema alone still lets the panel start; RunStream retries the exporter.
		d.log.Warn("read recent events for a new subscriber", "path", req.Path, "err", err)
	} else {
		events = page.Events
		slices.Reverse(events) // the exporter answers newest first
		if len(events) > 0 {
			resumeAfter, known = max(resumeAfter, events[len(events)-1].Seq), true
		}
		if known {
			d.resume.set(req.Path, resumeAfter, time.Now())
		}
	}
	initial, err := backend.NewInitialFrame(d.eventsFrame(events), data.IncludeAll)
	if err != nil {
		return nil, fmt.Errorf("encode initial frame: %w", err)
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK, InitialData: initial}, nil
}

// PublishStream refuses: the channels carry the exporter's events only.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream follows the exporter's event stream for one channel until ctx
// ends, sending the matching events as frames. One goroutine reads the
// exporter (reconnecting with backoff and resuming after the last event it
// passed on, so none is lost or repeated); this one sends every frame.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	f, err := ParseChannelPath(req.Path)
	if err != nil {
		return fmt.Errorf("run stream %q: %w", req.Path, err)
	}
	if d.settingsErr != nil {
		return fmt.Errorf("data source settings: %w", d.settingsErr)
	}
	after, hinted := d.resume.take(req.Path, time.Now())
	d.log.Debug("stream started", "path", req.Path, "resume_after", after, "hinted", hinted)

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan *wire.Event, 4*maxBatch)
	var g errgroup.Group
	g.Go(func() error {
		defer close(events)
		return d.follow(ctx, req.Path, f, after, hinted, events)
	})

	var sendErr error
	batch := make([]wire.Event, 0, maxBatch)
	// The schema goes with the first frame only: subscribers have it from
	// SubscribeStream's initial data, and encoding it (field configs with
	// links) was most of the work of a one-event frame.
	include := data.IncludeAll
	for ev := range events {
		if sendErr != nil {
			continue // drain until the follower sees the cancellation
		}
		batch = append(batch[:0], *ev)
	drain:
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-events:
				if !ok {
					break drain
				}
				batch = append(batch, *ev)
			default:
				break drain
			}
		}
		if err := sender.SendFrame(d.eventsFrame(batch), include); err != nil {
			sendErr = fmt.Errorf("send stream frame: %w", err)
			cancel()
		}
		include = data.IncludeDataOnly
	}
	err = g.Wait()
	d.log.Debug("stream ended", "path", req.Path, "send_err", sendErr)
	switch {
	case parent.Err() != nil:
		return nil // Grafana ended the stream: the last subscriber left
	case sendErr != nil:
		return sendErr
	default:
		return err
	}
}

// follow reads the exporter's stream for f into out until ctx ends. It
// starts after seq `after` when known (hinted), else at the exporter's
// current last sequence number, and on every reconnection resumes after the
// last event it passed on, skipping any it already passed on. Before each
// connection it reads the exporter's last sequence number: one below the
// resume point means the exporter's numbering started over (its store was
// removed), and the stream then resumes from there instead of waiting for
// numbers it will not see again.
func (d *Datasource) follow(ctx context.Context, path string, f wire.Filter, after int64, known bool, out chan<- *wire.Event) error {
	wait := retry.Backoff(d.backoff.Min, d.backoff.Max)
	for {
		st, err := d.client.Status(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				d.log.Debug("stream: read exporter status", "path", path, "err", err)
			}
		case !known:
			after, known = st.LastSeq, true
		case st.LastSeq < after:
			d.log.Warn("stream: the exporter's sequence numbers started over; resuming at its last event",
				"path", path, "after", after, "last_seq", st.LastSeq)
			after = st.LastSeq
		}
		if known {
			err := d.client.Stream(ctx, exporterapi.StreamOptions{
				Filter:      f,
				After:       after,
				IdleTimeout: d.idle,
				OnOpen:      wait.Reset,
			}, func(ev *wire.Event) error {
				if ev.Seq <= after {
					return nil // already passed on before a reconnection
				}
				after = ev.Seq
				select {
				case out <- ev:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if ctx.Err() == nil {
				d.log.Debug("stream: upstream connection ended", "path", path, "after", after, "err", err)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		t := time.NewTimer(wait.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
