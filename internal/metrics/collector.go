package metrics

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/claudehooks/claude-hooks-exporter/internal/histo"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

// Namespace prefixes every metric of the exporter.
const Namespace = "claude_hooks"

// IngestSnapshot is the ingest side of the derived state, read at scrape time.
// The histograms must be copies (histo.Histogram.Clone) or otherwise not
// change while the collector reads them.
type IngestSnapshot struct {
	// RejectedByReason counts records refused, by reason.
	RejectedByReason map[string]uint64
	// SpoolBacklogBytes is how much of the spool is not read yet.
	SpoolBacklogBytes int64
	// CheckpointWriteFailures counts failed checkpoint writes since start.
	CheckpointWriteFailures uint64
	// EventsApplied counts records that became events and reached the tracker.
	EventsApplied uint64
	// IngestLag is receive time to processed, in seconds (nil: not exposed).
	IngestLag *histo.Histogram
	// Processing is per-event processing time, in seconds (nil: not exposed).
	Processing *histo.Histogram
}

// Options configures the collector.
type Options struct {
	// Tracker holds the session state; required.
	Tracker *session.Tracker
	// Ingest returns the ingest state; nil leaves the ingest metrics out.
	Ingest func() IngestSnapshot
	// RejectReasons are the reason label values exposed from the start (at zero).
	RejectReasons []string
	// Version, Revision and GoVersion label claude_hooks_build_info;
	// GoVersion defaults to the running toolchain's.
	Version, Revision, GoVersion string
	// Now is the clock for claude_hooks_oldest_wait_age_seconds (default time.Now).
	Now func() time.Time
	// Logger reports metrics that could not be built (debug level).
	Logger *slog.Logger
}

// Collector is the exporter's prometheus.Collector.
type Collector struct {
	opts Options

	events, sessionsStarted, sessionsEnded, turns, toolCalls, permissionRequests *prometheus.Desc
	subagents, compactions, notifications, stopFailures, lateEvents, overflow    *prometheus.Desc
	interrupts, modelSwitches, skillShell, systemTurns                           *prometheus.Desc
	turnDuration, toolDuration, permissionWait, subagentDuration                 *prometheus.Desc
	sessionsActive, waitingOnUser, oldestWaitAge, buildInfo                      *prometheus.Desc
	tokens, cost, unpricedTokens, estimatedTokens                                *prometheus.Desc
	rejected, backlog, checkpointFailures, applied, ingestLag, processing        *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// New returns a collector over the tracker and ingest state.
func New(opts Options) (*Collector, error) {
	if opts.Tracker == nil {
		return nil, fmt.Errorf("metrics: no tracker")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.GoVersion == "" {
		opts.GoVersion = runtime.Version()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{
		opts:               opts,
		events:             desc("events_total", "Hook events applied, by hook event name (other for names this version does not know).", "event"),
		sessionsActive:     desc("sessions_active", "Claude Code sessions open now (started and neither ended nor expired)."),
		sessionsStarted:    desc("sessions_started_total", "Sessions opened, by SessionStart source (implicit: first seen without SessionStart).", "source"),
		sessionsEnded:      desc("sessions_ended_total", "Sessions closed, by SessionEnd reason (expired: idle timeout or evicted).", "reason"),
		turns:              desc("turns_total", "Turns (user prompt to Stop) ended, by outcome.", "outcome"),
		turnDuration:       desc("turn_duration_seconds", "Duration of turns from the user prompt to Stop, StopFailure or interruption."),
		toolCalls:          desc("tool_calls_total", "Tool calls ended, by tool (built-in tools, the first MCP tools, other) and outcome.", "tool", "outcome"),
		toolDuration:       desc("tool_duration_seconds", "Duration of tool calls (duration_ms when the payload has it, excluding permission waits).", "tool"),
		permissionRequests: desc("permission_requests_total", "Permission prompts shown to the user, by tool.", "tool"),
		permissionWait:     desc("permission_wait_seconds", "Time from a permission prompt to the tool starting, being denied or failing.", "tool"),
		waitingOnUser:      desc("sessions_waiting_on_user", "Open sessions blocked on the user: a permission prompt, a question, a plan approval or an MCP elicitation."),
		oldestWaitAge:      desc("oldest_wait_age_seconds", "Age of the longest current wait on the user; 0 when nobody waits."),
		subagents:          desc("subagents_total", "Subagents started, by agent type (built-in types, the first custom ones, other).", "agent_type"),
		subagentDuration:   desc("subagent_duration_seconds", "Duration of subagents from SubagentStart to SubagentStop.", "agent_type"),
		compactions:        desc("compactions_total", "Context compactions, by trigger.", "trigger"),
		notifications:      desc("notifications_total", "Notification events, by notification type.", "notification_type"),
		stopFailures:       desc("stop_failures_total", "Turns that ended with an API error (StopFailure), by error.", "error"),
		lateEvents:         desc("late_events_total", "Events for a session that had already ended or expired."),
		interrupts:         desc("interrupts_total", "Interrupt events (Claude Code 2.1.337+), by source (user, session, system) and reason (stop, permission_denied, rewind, other).", "source", "reason"),
		modelSwitches:      desc("model_switches_total", "Model switches (PostModelSwitch), by the model before and after (model labels, capped as for tokens).", "from_model", "to_model"),
		skillShell:         desc("skill_shell_commands_total", "Shell commands skills and slash commands ran before the model saw them (PreSkillShellCommand)."),
		systemTurns:        desc("system_turns_total", "Turns Claude Code started itself, by source (task_notification: a background agent's result handed back); they are also in turns_total.", "source"),
		overflow:           desc("tracker_overflow_total", "Things the tracker dropped or folded to stay within its caps, by kind.", "kind"),
		tokens:             desc("tokens_total", "Tokens used by Claude Code's API responses, from the transcripts, by model (the first models seen, other) and type (input: uncached input, output, cache_read, cache_creation).", "model", "type"),
		cost:               desc("cost_usd_total", "Cost of those tokens in US dollars at the price table's list prices, by model (0 for models the table does not know).", "model"),
		unpricedTokens:     desc("cost_unknown_model_tokens_total", "Tokens of models the price table does not know, not even by family (counted at a cost of 0), by model.", "model"),
		estimatedTokens:    desc("cost_estimated_tokens_total", "Tokens of models the price table does not list, priced as the newest listed model of their family (an estimate until the table lists them), by model.", "model"),
		buildInfo:          desc("build_info", "Build information of the exporter; the value is always 1.", "version", "revision", "goversion"),
		rejected:           desc("records_rejected_total", "Spool records refused, by reason.", "reason"),
		backlog:            desc("spool_backlog_bytes", "Bytes of the spool not read yet."),
		checkpointFailures: desc("checkpoint_write_failures_total", "Checkpoint writes that failed since the daemon started."),
		applied:            desc("records_applied_total", "Spool records that became events and reached the tracker."),
		ingestLag:          desc("ingest_lag_seconds", "Time from capturing an event to applying it."),
		processing:         desc("event_processing_seconds", "Processing time per event, from reading it to the sinks accepting its batch."),
	}, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.events, c.sessionsActive, c.sessionsStarted, c.sessionsEnded, c.turns, c.turnDuration,
		c.toolCalls, c.toolDuration, c.permissionRequests, c.permissionWait, c.waitingOnUser,
		c.oldestWaitAge, c.subagents, c.subagentDuration, c.compactions, c.notifications,
		c.stopFailures, c.lateEvents, c.overflow, c.buildInfo, c.tokens, c.cost, c.unpricedTokens, c.estimatedTokens,
		c.interrupts, c.modelSwitches, c.skillShell, c.systemTurns,
		c.rejected, c.backlog, c.checkpointFailures, c.applied, c.ingestLag, c.processing,
	} {
		ch <- d
	}
}

// batch accumulates metrics; a metric that cannot be built is logged and left
// out, so one bad value never fails a whole scrape.
type batch struct {
	out []prometheus.Metric
	log *slog.Logger
}

func (b *batch) add(m prometheus.Metric, err error) {
	if err != nil {
		b.log.Debug("metric left out of the scrape", "err", err)
		return
	}
	b.out = append(b.out, m)
}

func (b *batch) value(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	b.add(prometheus.NewConstMetric(d, t, v, labels...))
}

func (b *batch) histogram(d *prometheus.Desc, h *histo.Histogram, labels ...string) {
	if h == nil {
		return
	}
	b.add(h.Metric(d, labels...))
}

// counters exposes m by label: every member of closed (at zero when absent),
// then any other key, sorted.
func (b *batch) counters(d *prometheus.Desc, m map[string]uint64, closed []string) {
	for _, l := range closed {
		b.value(d, prometheus.CounterValue, float64(m[l]), l)
	}
	for _, l := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(closed, l) {
			b.value(d, prometheus.CounterValue, float64(m[l]), l)
		}
	}
}

func (b *batch) histograms(d *prometheus.Desc, hs map[string]*histo.Histogram) {
	for _, l := range slices.Sorted(maps.Keys(hs)) {
		b.histogram(d, hs[l], l)
	}
}

// Collect implements prometheus.Collector. The tracker's read lock is held only
// while the metrics are built, not while they are sent.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	b := batch{log: c.opts.Logger, out: make([]prometheus.Metric, 0, 256)}
	now := c.opts.Now()
	c.opts.Tracker.Read(func(s *session.Snapshot) {
		m := s.Metrics
		b.counters(c.events, m.Events, session.EventLabels)
		b.value(c.sessionsActive, prometheus.GaugeValue, float64(s.SessionsActive))
		b.counters(c.sessionsStarted, m.SessionsStarted, session.SourceLabels)
		b.counters(c.sessionsEnded, m.SessionsEnded, session.ReasonLabels)
		b.counters(c.turns, m.Turns, session.TurnOutcomes)
		b.histogram(c.turnDuration, m.TurnDuration)
		for _, tool := range slices.Sorted(maps.Keys(m.ToolCalls)) {
			tc := m.ToolCalls[tool]
			for _, o := range []struct {
				outcome string
				n       uint64
			}{
				{session.OutcomeSuccess, tc.Success}, {session.OutcomeFailure, tc.Failure},
				{session.OutcomeInterrupted, tc.Interrupted}, {session.OutcomeDenied, tc.Denied},
			} {
				b.value(c.toolCalls, prometheus.CounterValue, float64(o.n), tool, o.outcome)
			}
		}
		b.histograms(c.toolDuration, m.ToolDuration)
		b.counters(c.permissionRequests, m.PermissionRequests, nil)
		b.histograms(c.permissionWait, m.PermissionWait)
		b.value(c.waitingOnUser, prometheus.GaugeValue, float64(s.SessionsWaiting))
		var age float64
		if !s.OldestWait.IsZero() {
			age = max(now.Sub(s.OldestWait).Seconds(), 0)
		}
		b.value(c.oldestWaitAge, prometheus.GaugeValue, age)
		b.counters(c.subagents, m.Subagents, nil)
		b.histograms(c.subagentDuration, m.SubagentDuration)
		b.counters(c.compactions, m.Compactions, session.TriggerLabels)
		b.counters(c.notifications, m.Notifications, session.NotificationLabels)
		b.counters(c.stopFailures, m.StopFailures, session.StopErrorLabels)
		b.value(c.lateEvents, prometheus.CounterValue, float64(m.LateEvents))
		for _, src := range session.InterruptSourceLabels {
			for _, reason := range session.InterruptReasonLabels {
				b.value(c.interrupts, prometheus.CounterValue, float64(m.Interrupts[src][reason]), src, reason)
			}
		}
		for _, from := range slices.Sorted(maps.Keys(m.ModelSwitches)) {
			for _, to := range slices.Sorted(maps.Keys(m.ModelSwitches[from])) {
				b.value(c.modelSwitches, prometheus.CounterValue, float64(m.ModelSwitches[from][to]), from, to)
			}
		}
		b.value(c.skillShell, prometheus.CounterValue, float64(m.SkillShellCommands))
		b.counters(c.systemTurns, m.SystemTurns, session.SystemTurnSourceLabels)
		b.counters(c.overflow, m.Overflow, session.OverflowKinds)
		for _, model := range slices.Sorted(maps.Keys(m.Tokens)) {
			tc := m.Tokens[model]
			for _, typ := range session.TokenTypes {
				b.value(c.tokens, prometheus.CounterValue, tc.ByType(typ).Value, model, typ)
			}
		}
		for _, model := range slices.Sorted(maps.Keys(m.Cost)) {
			b.value(c.cost, prometheus.CounterValue, m.Cost[model].Value, model)
		}
		for _, model := range slices.Sorted(maps.Keys(m.UnpricedTokens)) {
			b.value(c.unpricedTokens, prometheus.CounterValue, m.UnpricedTokens[model].Value, model)
		}
		for _, model := range slices.Sorted(maps.Keys(m.EstimatedTokens)) {
			b.value(c.estimatedTokens, prometheus.CounterValue, m.EstimatedTokens[model].Value, model)
		}
	})
	b.value(c.buildInfo, prometheus.GaugeValue, 1, cmp.Or(c.opts.Version, "unknown"), cmp.Or(c.opts.Revision, "unknown"), c.opts.GoVersion)
	if c.opts.Ingest != nil {
		in := c.opts.Ingest()
		b.counters(c.rejected, in.RejectedByReason, c.opts.RejectReasons)
		b.value(c.backlog, prometheus.GaugeValue, float64(in.SpoolBacklogBytes))
		b.value(c.checkpointFailures, prometheus.CounterValue, float64(in.CheckpointWriteFailures))
		b.value(c.applied, prometheus.CounterValue, float64(in.EventsApplied))
		b.histogram(c.ingestLag, in.IngestLag)
		b.histogram(c.processing, in.Processing)
	}
	for _, m := range b.out {
		ch <- m
	}
}
