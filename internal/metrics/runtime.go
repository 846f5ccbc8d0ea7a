package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// SpanStats reports the trace sink's export counters; *tracing.Sink is one.
type SpanStats interface {
	Stats() (exported, dropped uint64)
}

// StoreStats reports the event store's size and commits; *store.Store is one.
type StoreStats interface {
	Stats(ctx context.Context) (bytes, events int64, err error)
	CommitStats() (pending int, commits, failures int64)
	// Health is nil while commits succeed; FaultStats says whether the store
	// was declared failed and how many events it did not keep.
	Health() error
	FaultStats() (failed bool, notStored int64)
}

// StreamStats reports the live stream's subscribers; *live.Broker is one.
type StreamStats interface {
	Subscribers() int
	Dropped() uint64
}

// RuntimeOptions name the process-local counters RuntimeCollector exposes.
// A nil field leaves its metrics out.
type RuntimeOptions struct {
	Spans  SpanStats
	Store  StoreStats
	Stream StreamStats
	// UTF8Replaced counts the payloads whose invalid UTF-8 the pipeline
	// replaced (checkpointed: counted once across restarts).
	UTF8Replaced func() uint64
	// HookFailures reads the count of failed hook appends the hooks keep in
	// the spool directory.
	HookFailures func() (uint64, error)
}

// RuntimeCollector exposes process-local counters of the sinks: span export
// (traces are at most once, see docs/traces.md), the store's size and
// commits, and the live stream's subscribers. Unlike Collector's, these
// start from zero with every process: they describe this process's work,
// not the sessions.
type RuntimeCollector struct {
	opts RuntimeOptions

	spansExported, spansDropped, storeBytes, storeEvents, storePending *prometheus.Desc
	storeCommits, storeFailures, subscribers, streamDropped            *prometheus.Desc
	storeUp, storeNotStored, utf8Replaced, hookFailures                *prometheus.Desc
}

var _ prometheus.Collector = (*RuntimeCollector)(nil)

// NewRuntime returns a RuntimeCollector over opts.
func NewRuntime(opts RuntimeOptions) *RuntimeCollector {
	return &RuntimeCollector{
		opts:          opts,
		spansExported: desc("spans_exported_total", "Spans handed to the OTLP exporter and accepted by the backend."),
		spansDropped:  desc("spans_dropped_total", "Spans lost because the export queue was full or the backend failed at shutdown."),
		storeBytes:    desc("store_bytes", "Size of the event store on disk (database and write-ahead log)."),
		storeEvents:   desc("store_events", "Events held in the event store."),
		storePending:  desc("store_pending_events", "Events streamed and queued for the event store's next commit, not yet committed."),
		storeCommits:  desc("store_commits_total", "Transactions the event store committed (each holds every batch queued since the last)."),
		storeFailures: desc("store_commit_failures_total", "Event store commits that failed; each is retried with backoff and the checkpoint waits for it."),
		storeUp: desc("store_up",
			"1 while the event store commits; 0 while its commits fail or after it was declared failed (see /readyz and the log)."),
		storeNotStored: desc("store_events_not_stored_total",
			"Events the failed event store did not keep; the spool holds them and the next start rebuilds the store from it."),
		utf8Replaced: desc("records_utf8_replaced_total",
			"Hook payloads holding invalid UTF-8, replaced by U+FFFD in what is served (the spool keeps the bytes received)."),
		hookFailures: desc("hook_failures_total",
			"Hook runs that could not append their event to the spool (disk full, not writable), as the hooks count them in <spool.dir>/hook-failures."),
		subscribers:   desc("stream_subscribers", "Clients connected to the live event stream."),
		streamDropped: desc("stream_subscribers_dropped_total", "Live stream clients disconnected because they fell behind."),
	}
}

// Describe implements prometheus.Collector.
func (c *RuntimeCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.opts.Spans != nil {
		ch <- c.spansExported
		ch <- c.spansDropped
	}
	if c.opts.Store != nil {
		for _, d := range []*prometheus.Desc{c.storeBytes, c.storeEvents, c.storePending, c.storeCommits, c.storeFailures, c.storeUp, c.storeNotStored} {
			ch <- d
		}
	}
	if c.opts.Stream != nil {
		ch <- c.subscribers
		ch <- c.streamDropped
	}
	if c.opts.UTF8Replaced != nil {
		ch <- c.utf8Replaced
	}
	if c.opts.HookFailures != nil {
		ch <- c.hookFailures
	}
}

// Collect implements prometheus.Collector.
func (c *RuntimeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.opts.Spans != nil {
		exported, dropped := c.opts.Spans.Stats()
		ch <- prometheus.MustNewConstMetric(c.spansExported, prometheus.CounterValue, float64(exported))
		ch <- prometheus.MustNewConstMetric(c.spansDropped, prometheus.CounterValue, float64(dropped))
	}
	if c.opts.Store != nil {
		if bytes, events, err := c.opts.Store.Stats(context.Background()); err == nil {
			ch <- prometheus.MustNewConstMetric(c.storeBytes, prometheus.GaugeValue, float64(bytes))
			ch <- prometheus.MustNewConstMetric(c.storeEvents, prometheus.GaugeValue, float64(events))
		}
		pending, commits, failures := c.opts.Store.CommitStats()
		ch <- prometheus.MustNewConstMetric(c.storePending, prometheus.GaugeValue, float64(pending))
		ch <- prometheus.MustNewConstMetric(c.storeCommits, prometheus.CounterValue, float64(commits))
		ch <- prometheus.MustNewConstMetric(c.storeFailures, prometheus.CounterValue, float64(failures))
		up := 1.0
		if c.opts.Store.Health() != nil {
			up = 0
		}
		_, notStored := c.opts.Store.FaultStats()
		ch <- prometheus.MustNewConstMetric(c.storeUp, prometheus.GaugeValue, up)
		ch <- prometheus.MustNewConstMetric(c.storeNotStored, prometheus.CounterValue, float64(notStored))
	}
	if c.opts.Stream != nil {
		ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(c.opts.Stream.Subscribers()))
		ch <- prometheus.MustNewConstMetric(c.streamDropped, prometheus.CounterValue, float64(c.opts.Stream.Dropped()))
	}
	if c.opts.UTF8Replaced != nil {
		ch <- prometheus.MustNewConstMetric(c.utf8Replaced, prometheus.CounterValue, float64(c.opts.UTF8Replaced()))
	}
	if c.opts.HookFailures != nil {
		if n, err := c.opts.HookFailures(); err != nil {
			ch <- prometheus.NewInvalidMetric(c.hookFailures, err)
		} else {
			ch <- prometheus.MustNewConstMetric(c.hookFailures, prometheus.CounterValue, float64(n))
		}
	}
}
