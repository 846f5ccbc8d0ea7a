package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/claudehooks/claude-hooks-exporter/internal/live"
	"github.com/claudehooks/claude-hooks-exporter/internal/metrics"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/tracing"
)

// newCollectors builds the collectors over the daemon's state: the tracker and
// ingest metrics, and the trace sink's export counters.
func newCollectors(tracker *session.Tracker, pl *pipeline.Pipeline, traces *tracing.Sink, st *store.Store, broker *live.Broker, spoolDir string) ([]prometheus.Collector, error) {
	c, err := metrics.New(metrics.Options{
		Tracker:       tracker,
		Ingest:        ingestSnapshot(pl),
		RejectReasons: pipeline.RejectReasons,
		Version:       Version,
		Revision:      revision(),
	})
	if err != nil {
		return nil, err
	}
	return []prometheus.Collector{c, &runtimeCollector{traces: traces, store: st, broker: broker}, repairCollector{pl}, hookFailureCollector{spoolDir}}, nil
}

// ingestSnapshot copies the pipeline's ingest state for a scrape.
func ingestSnapshot(pl *pipeline.Pipeline) func() metrics.IngestSnapshot {
	return func() metrics.IngestSnapshot {
		var s metrics.IngestSnapshot
		pl.Snapshot(func(st pipeline.Stats) {
			rejected := make(map[string]uint64, len(st.Rejected))
			for k, v := range st.Rejected {
				rejected[k] = v
			}
			s = metrics.IngestSnapshot{
				RejectedByReason:        rejected,
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

var (
	spansExportedDesc = prometheus.NewDesc(metrics.Namespace+"_spans_exported_total",
		"Spans handed to the OTLP exporter and accepted by the backend.", nil, nil)
	spansDroppedDesc = prometheus.NewDesc(metrics.Namespace+"_spans_dropped_total",
		"Spans lost because the export queue was full or the backend failed at shutdown.", nil, nil)
	storeBytesDesc = prometheus.NewDesc(metrics.Namespace+"_store_bytes",
		"Size of the event store on disk (database and write-ahead log).", nil, nil)
	storeEventsDesc = prometheus.NewDesc(metrics.Namespace+"_store_events",
		"Events held in the event store.", nil, nil)
	storePendingDesc = prometheus.NewDesc(metrics.Namespace+"_store_pending_events",
		"Events streamed and queued for the event store's next commit, not yet committed.", nil, nil)
	storeCommitsDesc = prometheus.NewDesc(metrics.Namespace+"_store_commits_total",
		"Transactions the event store committed (each holds every batch queued since the last).", nil, nil)
	storeFailuresDesc = prometheus.NewDesc(metrics.Namespace+"_store_commit_failures_total",
		"Event store commits that failed; each is retried with backoff and the checkpoint waits for it.", nil, nil)
	storeUpDesc = prometheus.NewDesc(metrics.Namespace+"_store_up",
		"1 while the event store commits; 0 while its commits fail or after it was declared failed (see /readyz and the log).", nil, nil)
	storeNotStoredDesc = prometheus.NewDesc(metrics.Namespace+"_store_events_not_stored_total",
		"Events the failed event store did not keep; the spool holds them and the next start rebuilds the store from it.", nil, nil)
	subscribersDesc = prometheus.NewDesc(metrics.Namespace+"_stream_subscribers",
		"Clients connected to the live event stream.", nil, nil)
	streamDroppedDesc = prometheus.NewDesc(metrics.Namespace+"_stream_subscribers_dropped_total",
		"Live stream clients disconnected because they fell behind.", nil, nil)
)

// runtimeCollector exposes process-local counters of the sinks: span export
// (traces are at most once, see docs/traces.md), the store's size and the
// live stream's subscribers.
type runtimeCollector struct {
	traces *tracing.Sink
	store  *store.Store // nil when the store is off
	broker *live.Broker
}

var _ prometheus.Collector = (*runtimeCollector)(nil)

func (c *runtimeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{spansExportedDesc, spansDroppedDesc, storeBytesDesc, storeEventsDesc,
		storePendingDesc, storeCommitsDesc, storeFailuresDesc, storeUpDesc, storeNotStoredDesc, subscribersDesc, streamDroppedDesc} {
		ch <- d
	}
}

func (c *runtimeCollector) Collect(ch chan<- prometheus.Metric) {
	exported, dropped := c.traces.Stats()
	ch <- prometheus.MustNewConstMetric(spansExportedDesc, prometheus.CounterValue, float64(exported))
	ch <- prometheus.MustNewConstMetric(spansDroppedDesc, prometheus.CounterValue, float64(dropped))
	if c.store != nil {
		if bytes, events, err := c.store.Stats(context.Background()); err == nil {
			ch <- prometheus.MustNewConstMetric(storeBytesDesc, prometheus.GaugeValue, float64(bytes))
			ch <- prometheus.MustNewConstMetric(storeEventsDesc, prometheus.GaugeValue, float64(events))
		}
		pending, commits, failures := c.store.CommitStats()
		ch <- prometheus.MustNewConstMetric(storePendingDesc, prometheus.GaugeValue, float64(pending))
		ch <- prometheus.MustNewConstMetric(storeCommitsDesc, prometheus.CounterValue, float64(commits))
		ch <- prometheus.MustNewConstMetric(storeFailuresDesc, prometheus.CounterValue, float64(failures))
		up := 1.0
		if c.store.Health() != nil {
			up = 0
		}
		_, notStored := c.store.FaultStats()
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
		ch <- prometheus.MustNewConstMetric(storeNotStoredDesc, prometheus.CounterValue, float64(notStored))
	}
	ch <- prometheus.MustNewConstMetric(subscribersDesc, prometheus.GaugeValue, float64(c.broker.Subscribers()))
	ch <- prometheus.MustNewConstMetric(streamDroppedDesc, prometheus.CounterValue, float64(c.broker.Dropped()))
}

var utf8ReplacedDesc = prometheus.NewDesc(metrics.Namespace+"_records_utf8_replaced_total",
	"Hook payloads holding invalid UTF-8, replaced by U+FFFD in what is served (the spool keeps the bytes received).", nil, nil)

// repairCollector exposes the pipeline's count of payloads it repaired (part
// of the checkpointed ingest state: counted once across restarts).
type repairCollector struct{ pl *pipeline.Pipeline }

var _ prometheus.Collector = repairCollector{}

func (c repairCollector) Describe(ch chan<- *prometheus.Desc) { ch <- utf8ReplacedDesc }

func (c repairCollector) Collect(ch chan<- prometheus.Metric) {
	var n uint64
	c.pl.Snapshot(func(s pipeline.Stats) { n = s.InvalidUTF8 })
	ch <- prometheus.MustNewConstMetric(utf8ReplacedDesc, prometheus.CounterValue, float64(n))
}

var hookFailuresDesc = prometheus.NewDesc(metrics.Namespace+"_hook_failures_total",
	"Hook runs that could not append their event to the spool (disk full, not writable), as the hooks count them in <spool.dir>/hook-failures.", nil, nil)

// hookFailureCollector reads the count the hooks keep in the spool directory.
type hookFailureCollector struct{ spoolDir string }

var _ prometheus.Collector = hookFailureCollector{}

func (c hookFailureCollector) Describe(ch chan<- *prometheus.Desc) { ch <- hookFailuresDesc }

func (c hookFailureCollector) Collect(ch chan<- prometheus.Metric) {
	n, _, err := spool.ReadFailures(c.spoolDir)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(hookFailuresDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(hookFailuresDesc, prometheus.CounterValue, float64(n))
}
