package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/claudehooks/claude-hooks-exporter/internal/metrics"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

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
