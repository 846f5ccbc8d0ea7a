package plugin

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// TraceServiceName is the serviceName of session-trace spans, the
// service.name the exporter's OTLP spans carry.
const TraceServiceName = "claude-code"

// Names of the fields of an events frame, in order.
var eventFields = []string{"time", "session", "event", "tool", "agent", "summary", "duration", "outcome", "seq"}

// traceLink is a data link that opens a session's trace with this data source.
func (d *Datasource) traceLink() data.DataLink {
	return data.DataLink{
		Title: "Session trace",
		Internal: &data.InternalDataLink{
			Query: map[string]any{
				"refId":     "A",
				"queryType": QuerySessionTrace,
				"session":   "${__value.raw}",
			},
			DatasourceUID:  d.uid,
			DatasourceName: d.name,
		},
	}
}

// eventsFrame is the table of events: the events query's result and the
// live stream's frames share it.
func (d *Datasource) eventsFrame(events []wire.Event) *data.Frame {
	n := len(events)
	var (
		times    = make([]time.Time, n)
		sessions = make([]string, n)
		names    = make([]string, n)
		tools    = make([]string, n)
		agents   = make([]string, n)
		sums     = make([]string, n)
		durs     = make([]*float64, n)
		outcomes = make([]string, n)
		seqs     = make([]int64, n)
	)
	for i := range events {
		ev := &events[i]
		times[i] = ev.Time
		sessions[i] = ev.SessionID
		names[i] = ev.Event
		tools[i] = ev.Tool
		agents[i] = ev.AgentType
		if agents[i] == "" {
			agents[i] = ev.AgentID
		}
		sums[i] = ev.Summary
		if sums[i] == "" && ev.Error != "" {
			sums[i] = ev.Error
		}
		durs[i] = ev.DurationMS
		outcomes[i] = ev.Outcome
		seqs[i] = ev.Seq
	}
	sessionField := data.NewField(eventFields[1], nil, sessions)
	sessionField.Config = &data.FieldConfig{Links: []data.DataLink{d.traceLink()}}
	durField := data.NewField(eventFields[6], nil, durs)
	durField.Config = &data.FieldConfig{Unit: "ms"}
	f := data.NewFrame("events",
		data.NewField(eventFields[0], nil, times),
		sessionField,
		data.NewField(eventFields[2], nil, names),
		data.NewField(eventFields[3], nil, tools),
		data.NewField(eventFields[4], nil, agents),
		data.NewField(eventFields[5], nil, sums),
		durField,
		data.NewField(eventFields[7], nil, outcomes),
		data.NewField(eventFields[8], nil, seqs),
	)
	f.Meta = &data.FrameMeta{}
	return f
}

// sessionsFrame is the table of sessions, each linked to its trace.
func (d *Datasource) sessionsFrame(sessions []wire.Session) *data.Frame {
	n := len(sessions)
	var (
		ids      = make([]string, n)
		status   = make([]string, n)
		start    = make([]time.Time, n)
		end      = make([]*time.Time, n)
		last     = make([]time.Time, n)
		model    = make([]string, n)
		cwd      = make([]string, n)
		turns    = make([]int64, n)
		tools    = make([]int64, n)
		failures = make([]int64, n)
		subs     = make([]int64, n)
		compacts = make([]int64, n)
		waits    = make([]int64, n)
		events   = make([]int64, n)
		input    = make([]int64, n)
		output   = make([]int64, n)
		cacheR   = make([]int64, n)
		cacheW   = make([]int64, n)
		cost     = make([]float64, n)
		models   = make([]string, n)
		traceIDs = make([]string, n)
	)
	for i, s := range sessions {
		ids[i], status[i], start[i], end[i], last[i] = s.SessionID, s.Status, s.Start, s.End, s.LastActivity
		model[i], cwd[i] = s.Model, s.CWD
		turns[i], tools[i], failures[i], subs[i], events[i] = s.Turns, s.ToolCalls, s.Failures, s.Subagents, s.Events
		compacts[i], waits[i] = s.Compactions, s.PermissionWaits
		input[i], output[i], cacheR[i], cacheW[i] = s.InputTokens, s.OutputTokens, s.CacheReadTokens, s.CacheCreationTokens
		cost[i], models[i] = s.CostUSD, strings.Join(s.Models, ", ")
		traceIDs[i] = s.TraceID
	}
	costField := data.NewField("cost_usd", nil, cost)
	costField.Config = &data.FieldConfig{Unit: "currencyUSD"}
	idField := data.NewField("session", nil, ids)
	idField.Config = &data.FieldConfig{Links: []data.DataLink{d.traceLink()}}
	f := data.NewFrame("sessions",
		idField,
		data.NewField("status", nil, status),
		data.NewField("start", nil, start),
		data.NewField("end", nil, end),
		data.NewField("last_activity", nil, last),
		data.NewField("model", nil, model),
		data.NewField("cwd", nil, cwd),
		data.NewField("turns", nil, turns),
		data.NewField("tool_calls", nil, tools),
		data.NewField("failures", nil, failures),
		data.NewField("subagents", nil, subs),
		data.NewField("compactions", nil, compacts),
		data.NewField("permission_waits", nil, waits),
		data.NewField("events", nil, events),
		data.NewField("input_tokens", nil, input),
		data.NewField("output_tokens", nil, output),
		data.NewField("cache_read_tokens", nil, cacheR),
		data.NewField("cache_creation_tokens", nil, cacheW),
		costField,
		data.NewField("models", nil, models),
		data.NewField("trace_id", nil, traceIDs),
	)
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable}
	return f
}

// keyValue is one tag of Grafana's trace format.
type keyValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func tagsJSON(kvs []keyValue) json.RawMessage {
	if len(kvs) == 0 {
		return json.RawMessage("[]")
	}
	b, err := json.Marshal(kvs)
	if err != nil { // an attribute value JSON cannot encode: keep the keys
		for i := range kvs {
			kvs[i].Value = nil
		}
		b, _ = json.Marshal(kvs)
	}
	return b
}

// traceFrame is one session in the data frame format of Grafana's trace view:
// one row per span, with the span tree in spanID/parentSpanID and times in
// milliseconds.
func traceFrame(sd *wire.SessionDetail) *data.Frame {
	s := &sd.Session
	var service []keyValue
	service = append(service, keyValue{"service.name", TraceServiceName}, keyValue{"session.id", s.SessionID})
	if s.Model != "" {
		service = append(service, keyValue{"model", s.Model})
	}
	if s.CWD != "" {
		service = append(service, keyValue{"cwd", s.CWD})
	}
	serviceTags := tagsJSON(service)

	spans := withOpenRoot(sd)
	n := len(spans)
	var (
		traceIDs   = make([]string, n)
		spanIDs    = make([]string, n)
		parents    = make([]*string, n)
		ops        = make([]string, n)
		services   = make([]string, n)
		svcTags    = make([]json.RawMessage, n)
		starts     = make([]float64, n)
		durations  = make([]float64, n)
		tags       = make([]json.RawMessage, n)
		kinds      = make([]string, n)
		codes      = make([]int64, n)
		statusMsgs = make([]string, n)
	)
	for i := range spans {
		sp := &spans[i]
		traceIDs[i], spanIDs[i], ops[i], services[i], svcTags[i] = s.TraceID, sp.SpanID, sp.Name, TraceServiceName, serviceTags
		if sp.ParentID != "" {
			p := sp.ParentID
			parents[i] = &p
		}
		starts[i] = float64(sp.Start.UnixNano()) / 1e6
		if !sp.End.IsZero() && sp.End.After(sp.Start) {
			durations[i] = float64(sp.End.Sub(sp.Start).Nanoseconds()) / 1e6
		}
		kv := []keyValue{{"kind", sp.Kind}, {"key", sp.Key}}
		if sp.Outcome != "" {
			kv = append(kv, keyValue{"outcome", sp.Outcome})
		}
		if sp.ErrorType != "" {
			kv = append(kv, keyValue{"error.type", sp.ErrorType})
		}
		for _, k := range slices.Sorted(maps.Keys(sp.Attrs)) {
			kv = append(kv, keyValue{k, sp.Attrs[k]})
		}
		tags[i] = tagsJSON(kv)
		kinds[i] = "internal"
		if sp.ErrorType != "" || sp.Outcome == "failure" {
			codes[i] = 2 // OpenTelemetry status Error
			statusMsgs[i] = sp.ErrorType
		}
	}
	f := data.NewFrame("trace",
		data.NewField("traceID", nil, traceIDs),
		data.NewField("spanID", nil, spanIDs),
		data.NewField("parentSpanID", nil, parents),
		data.NewField("operationName", nil, ops),
		data.NewField("serviceName", nil, services),
		data.NewField("serviceTags", nil, svcTags),
		data.NewField("startTime", nil, starts),
		data.NewField("duration", nil, durations),
		data.NewField("tags", nil, tags),
		data.NewField("kind", nil, kinds),
		data.NewField("statusCode", nil, codes),
		data.NewField("statusMessage", nil, statusMsgs),
	)
	f.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTrace}
	return f
}

// rootSpanName is the name the exporter gives a session's root span.
const rootSpanName = "invoke_agent claude-code"

// withOpenRoot returns the session's spans, with a stand-in root first when
// the session is still open: the exporter has no root span for it yet, but
// its children already name the root's id, and the trace view draws a tree
// only from a root.
func withOpenRoot(sd *wire.SessionDetail) []wire.Span {
	ids := make(map[string]bool, len(sd.Spans))
	for _, sp := range sd.Spans {
		ids[sp.SpanID] = true
	}
	missing := ""
	for _, sp := range sd.Spans {
		switch {
		case sp.ParentID == "":
			return sd.Spans // the root is there
		case ids[sp.ParentID]:
		case missing == "":
			missing = sp.ParentID
		case missing != sp.ParentID:
			return sd.Spans // orphans of several parents: not a missing root
		}
	}
	if missing == "" {
		return sd.Spans
	}
	end := sd.Session.LastActivity
	if sd.Session.End != nil {
		end = *sd.Session.End
	}
	root := wire.Span{
		SpanID: missing, Key: "session", Kind: "session", Name: rootSpanName,
		Start: sd.Session.Start, End: end,
		Attrs: map[string]any{"session.id": sd.Session.SessionID, "claude_code.session.open": true},
	}
	return append([]wire.Span{root}, sd.Spans...)
}

// buckets hold the events per interval and event name (or tool) of an
// event-rate query, as the exporter counted them.
type buckets struct {
	start  time.Time
	step   time.Duration
	n      int
	counts map[string][]float64
	// label is the series' label name: event or tool.
	label string
}

// maxBuckets bounds the points of an event-rate series.
const maxBuckets = 10000

func newBuckets(from, to time.Time, interval time.Duration, maxPoints int64) *buckets {
	if !to.After(from) {
		to = from.Add(time.Minute)
	}
	if maxPoints <= 0 || maxPoints > maxBuckets {
		maxPoints = maxBuckets
	}
	step := max(interval, time.Second)
	span := to.Sub(from)
	if minStep := (span + time.Duration(maxPoints) - 1) / time.Duration(maxPoints); step < minStep {
		step = minStep
	}
	step = step.Round(time.Second)
	if step < time.Second {
		step = time.Second
	}
	start := from.Truncate(step)
	n := int((to.Sub(start) + step - 1) / step)
	return &buckets{start: start, step: step, n: n, counts: map[string][]float64{}}
}

// query is the exporter's count of the events f selects into these buckets.
func (b *buckets) query(f wire.Filter, by string) wire.RateQuery {
	f.From, f.To = b.start, b.start.Add(time.Duration(b.n)*b.step)
	return wire.RateQuery{Filter: f, Step: b.step, By: by}
}

// fill takes the exporter's counts, labelled by what they are grouped by.
func (b *buckets) fill(r *wire.EventRates) {
	b.label = r.By
	for _, s := range r.Series {
		c := make([]float64, b.n)
		for i, v := range s.Counts[:min(len(s.Counts), b.n)] {
			c[i] = float64(v)
		}
		b.counts[s.Name] = c
	}
}

func (b *buckets) frame() *data.Frame {
	times := make([]time.Time, b.n)
	for i := range times {
		times[i] = b.start.Add(time.Duration(i) * b.step).UTC()
	}
	f := data.NewFrame("event-rate", data.NewField("time", nil, times))
	for _, name := range slices.Sorted(maps.Keys(b.counts)) {
		fld := data.NewField("events", data.Labels{b.label: name}, b.counts[name])
		fld.Config = &data.FieldConfig{DisplayNameFromDS: name, Unit: "short", Interval: float64(b.step.Milliseconds())}
		f.Fields = append(f.Fields, fld)
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return f
}
