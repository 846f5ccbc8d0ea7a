package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/claudehooks/claude-hooks-exporter/internal/metrics"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/tracing"
)

// newCollectors builds the collectors over the daemon's state: the tracker and
// ingest metrics, and the trace sink's export counters.
func newCollectors(tracker *session.Tracker, pl *pipeline.Pipeline, traces *tracing.Sink) ([]prometheus.Collector, error) {
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
	return []prometheus.Collector{c, &spanCollector{traces}}, nil
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
)

// spanCollector exposes the trace sink's counters; they are process-local
// (traces are at most once, see docs/traces.md).
type spanCollector struct{ s *tracing.Sink }

var _ prometheus.Collector = (*spanCollector)(nil)

func (c *spanCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- spansExportedDesc
	ch <- spansDroppedDesc
}

func (c *spanCollector) Collect(ch chan<- prometheus.Metric) {
	exported, dropped := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(spansExportedDesc, prometheus.CounterValue, float64(exported))
	ch <- prometheus.MustNewConstMetric(spansDroppedDesc, prometheus.CounterValue, float64(dropped))
}
