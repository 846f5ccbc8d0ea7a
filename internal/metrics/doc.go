// Package metrics owns the Prometheus collector of the exporter: it exposes, at
// scrape time, the counters, gauges and histograms held in the session
// tracker's state and in the ingest state, plus build information
// (Collector), and the process-local counters of the sinks: span export,
// store size and commits, live stream subscribers (RuntimeCollector).
//
// It must not keep counters of its own apart from that state (they would not
// survive a restart or would count a replay twice), register itself anywhere,
// or put data-derived values into labels other than through the tracker's
// capped label sets. docs/metrics.md lists every metric.
package metrics
