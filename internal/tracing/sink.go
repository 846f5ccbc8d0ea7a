package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

// Defaults for Options.
const (
	// DefaultAttributeValueLengthLimit caps string attribute values on spans. The SDK
	// keeps them unlimited by default, and a tool input or output can be megabytes.
	DefaultAttributeValueLengthLimit = 4096
	// DefaultQueueSize bounds the spans accepted but not yet handed to the exporter.
	DefaultQueueSize = 2048
)

// scopeName is the instrumentation scope of every span this package creates.
const scopeName = "github.com/claudehooks/claude-hooks-exporter/internal/tracing"

// Attribute keys the sink guarantees on every span (it adds them only when the
// tracker did not).
const (
	attrSessionID = "session.id"
	attrErrorType = "error.type"
)

// errShutDown is returned by Export after Shutdown.
var errShutDown = errors.New("trace sink shut down")

// Options configure a Sink. The zero value is a disabled sink.
type Options struct {
	// Env looks up the variables that decide whether and how to export
	// (OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT,
	// _PROTOCOL, _HEADERS, checked here): it must be the process environment's
	// view, since the SDK reads the rest of OTEL_* from the process itself
	// (endpoint, headers, TLS, timeout, compression, OTEL_RESOURCE_ATTRIBUTES,
	// OTEL_SERVICE_NAME, OTEL_BSP_*). Nil means an empty environment.
	Env func(string) string
	// Endpoint overrides the environment: host:port, or a URL whose scheme says
	// whether to use TLS. For HTTP a URL without a path gets /v1/traces.
	Endpoint string
	// Protocol is grpc, http/protobuf (the default, as the OTLP specification
	// recommends) or http/json; it overrides the environment.
	Protocol string
	// Insecure disables TLS for an endpoint given as host:port.
	Insecure bool
	// Headers are sent with every export; when set, they replace the headers of
	// the environment.
	Headers map[string]string
	// Exporter replaces the OTLP exporter (tests use tracetest.InMemoryExporter).
	// Setting it enables the sink.
	Exporter sdktrace.SpanExporter
	// Version is this program's version, exported as telemetry.distro.version and
	// as the instrumentation scope version. service.version is left alone: it would
	// have to be Claude Code's version, which hooks do not reveal.
	Version string
	// AttributeValueLengthLimit caps attribute values, in bytes (UTF-8 safe, applied by
	// the SDK); 0 means DefaultAttributeValueLengthLimit, negative means unlimited.
	AttributeValueLengthLimit int
	// QueueSize bounds the spans waiting for export; 0 means DefaultQueueSize.
	QueueSize int
	// Logger receives export failures and recoveries; nil discards.
	Logger *slog.Logger
}

// Sink exports session spans over OTLP. Its methods are safe for concurrent use.
//
// Export never waits for the backend: spans go into a bounded queue and a span that
// finds the queue full is dropped and counted. Blocking instead would hand a dead or
// slow backend the power to stall the whole pipeline (metrics, checkpoints) behind
// it; traces are the one output that may lose data, and Stats says how much.
type Sink struct {
	// tp is nil when the sink is disabled.
	tp     *sdktrace.TracerProvider
	bsp    sdktrace.SpanProcessor
	tracer trace.Tracer
	exp    *countingExporter
	log    *slog.Logger

	// limit bounds inflight, the spans accepted by Export and not yet handed to the
	// exporter. The batch processor's queue has the same capacity and holds a subset
	// of them, so it never fills up and never drops a span behind our back.
	limit    int64
	inflight atomic.Int64
	// dropped counts spans refused by Export (queue full, invalid, after shutdown);
	// the exporter counts the ones that failed to export.
	dropped  atomic.Uint64
	dropping atomic.Bool

	mu     sync.RWMutex // held for reading while spans are started, for writing by Shutdown
	closed bool
}

// New builds a Sink. Without Options.Exporter, an endpoint flag or an OTLP endpoint
// in the environment it returns a disabled Sink: no exporter configured means no
// export, and nothing else changes.
func New(ctx context.Context, opts Options) (*Sink, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	env := opts.Env
	if env == nil {
		env = func(string) string { return "" }
	}

	next := opts.Exporter
	if next == nil {
		ep, ok, err := resolveEndpoint(opts, env)
		if err != nil {
			return nil, fmt.Errorf("configure trace export: %w", err)
		}
		if !ok {
			return &Sink{log: log}, nil
		}
		if next, err = newOTLPExporter(ctx, ep); err != nil {
			return nil, fmt.Errorf("configure trace export: %w", err)
		}
		log.Debug("trace export configured", "protocol", ep.protocol, "endpoint", redactEndpoint(ep.raw))
	}

	res, err := newResource(ctx, opts.Version)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("configure trace resource: %w", err), next.Shutdown(ctx))
	}

	limit := opts.QueueSize
	if limit <= 0 {
		limit = DefaultQueueSize
	}
	limits := sdktrace.NewSpanLimits()
	switch {
	case opts.AttributeValueLengthLimit == 0:
		limits.AttributeValueLengthLimit = DefaultAttributeValueLengthLimit
	case opts.AttributeValueLengthLimit < 0:
		limits.AttributeValueLengthLimit = -1
	default:
		limits.AttributeValueLengthLimit = opts.AttributeValueLengthLimit
	}

	s := &Sink{log: log, limit: int64(limit)}
	s.exp = &countingExporter{
		next:         next,
		log:          log,
		inflight:     &s.inflight,
		abort:        make(chan struct{}),
		shutdownDone: make(chan struct{}),
	}
	// Dropping, not blocking (WithBlocking is deliberately absent): see Sink.
	s.bsp = sdktrace.NewBatchSpanProcessor(s.exp,
		sdktrace.WithMaxQueueSize(limit),
		sdktrace.WithMaxExportBatchSize(min(sdktrace.DefaultMaxExportBatchSize, limit)),
	)
	s.tp = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(idGenerator{}),
		// Sampling part of a session would leave holes in its tree, and the volume is
		// one span per tool call: export everything, whatever OTEL_TRACES_SAMPLER says.
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithRawSpanLimits(limits),
		sdktrace.WithSpanProcessor(s.bsp),
	)
	s.tracer = s.tp.Tracer(scopeName, trace.WithInstrumentationVersion(opts.Version))
	return s, nil
}

// Enabled reports whether the sink exports anything.
func (s *Sink) Enabled() bool { return s.tp != nil }

// Export turns closed session spans into OTel spans and queues them for export. It
// does not wait for the backend. Spans that find the queue full are dropped and
// counted, not reported as an error: the caller must not hold up the pipeline for
// traces. The only error is a call after Shutdown.
func (s *Sink) Export(ctx context.Context, spans []session.Span) error {
	if s.tp == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(uint64(len(spans)))
		return fmt.Errorf("export %d spans: %w", len(spans), errShutDown)
	}
	for i := range spans {
		sp := &spans[i]
		if sp.Start.IsZero() && sp.End.IsZero() {
			// The SDK would stamp the current time: the ids would replay, the times not.
			s.dropped.Add(1)
			s.log.Debug("span without times dropped", "session_id", sp.SessionID, "key", sp.Key)
			continue
		}
		if s.inflight.Add(1) > s.limit {
			s.inflight.Add(-1)
			s.dropped.Add(1)
			if !s.dropping.Swap(true) {
				s.log.Warn("trace export queue full, dropping spans", "queue_size", s.limit)
			}
			continue
		}
		if s.dropping.Swap(false) {
			s.log.Info("trace export queue has room again", "dropped_total", s.dropped.Load())
		}
		s.emit(ctx, sp)
	}
	return nil
}

// emit starts and ends one SDK span with the ids, times and parent the session span
// dictates. The batch processor receives it on End.
func (s *Sink) emit(ctx context.Context, sp *session.Span) {
	tid := TraceID(sp.SessionID)
	// An invalid (empty) parent makes a root even if ctx carries a span of the caller.
	var parent trace.SpanContext
	if sp.ParentKey != "" && sp.ParentKey != sp.Key {
		parent = trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    tid,
			SpanID:     SpanID(sp.SessionID, sp.ParentKey),
			TraceFlags: trace.FlagsSampled,
		})
	}
	ctx = trace.ContextWithSpanContext(ctx, parent)
	ctx = withWantedIDs(ctx, wantedIDs{trace: tid, span: SpanID(sp.SessionID, sp.Key)})

	start, end := sp.Start, sp.End
	if start.IsZero() {
		start = end
	}
	if end.Before(start) {
		end = start
	}
	name := sp.Name
	if name == "" {
		name = string(sp.Kind)
	}
	_, span := s.tracer.Start(ctx, name,
		trace.WithTimestamp(start),
		trace.WithSpanKind(spanKind(sp.Kind)),
		trace.WithAttributes(attributes(sp)...),
	)
	for _, e := range sp.Events {
		span.AddEvent(e.Name, trace.WithTimestamp(e.Time), trace.WithAttributes(eventAttributes(e.Attrs)...))
	}
	if sp.ErrorType != "" {
		span.SetStatus(codes.Error, sp.ErrorType)
	}
	span.End(trace.WithTimestamp(end))
}

// eventAttributes maps a span event's attributes.
func eventAttributes(attrs []session.Attr) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		if kv, ok := keyValue(a); ok {
			out = append(out, kv)
		}
	}
	return out
}

// spanKind is INTERNAL for every span. The GenAI conventions ask for INTERNAL on
// execute_tool spans and on invoke_agent spans of agents running in the same process
// (Claude Code's subagents do); turns, permission waits and compactions are steps
// inside one process too. CLIENT would promise a matching SERVER span that no
// backend will ever receive.
func spanKind(session.Kind) trace.SpanKind { return trace.SpanKindInternal }

// attributes converts the tracker's attributes in their order, then adds session.id
// and error.type when the tracker did not set them.
func attributes(sp *session.Span) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(sp.Attrs)+2)
	var haveSession, haveError bool
	for _, a := range sp.Attrs {
		kv, ok := keyValue(a)
		if !ok {
			continue
		}
		switch a.Key {
		case attrSessionID:
			haveSession = true
		case attrErrorType:
			haveError = true
		}
		out = append(out, kv)
	}
	if !haveSession && sp.SessionID != "" {
		out = append(out, attribute.String(attrSessionID, sp.SessionID))
	}
	if !haveError && sp.ErrorType != "" {
		out = append(out, attribute.String(attrErrorType, sp.ErrorType))
	}
	return out
}

// keyValue converts one attribute. The tracker promises string, int64, float64 or
// bool; other types are accepted rather than lost, as their closest OTel type or as
// text.
func keyValue(a session.Attr) (attribute.KeyValue, bool) {
	if a.Key == "" || a.Value == nil {
		return attribute.KeyValue{}, false
	}
	k := attribute.Key(a.Key)
	switch v := a.Value.(type) {
	case string:
		return k.String(v), true
	case int64:
		return k.Int64(v), true
	case float64:
		return k.Float64(v), true
	case bool:
		return k.Bool(v), true
	case int:
		return k.Int(v), true
	case int32:
		return k.Int64(int64(v)), true
	case uint32:
		return k.Int64(int64(v)), true
	case float32:
		return k.Float64(float64(v)), true
	case []string:
		return k.StringSlice(v), true
	case []int64:
		return k.Int64Slice(v), true
	case fmt.Stringer:
		return k.String(v.String()), true
	default:
		return k.String(fmt.Sprint(v)), true
	}
}

// Shutdown flushes the queue and stops the exporter, waiting at most until ctx is
// done. When ctx ends first, exports still running are cancelled and what was not
// delivered is counted as dropped, so Shutdown returns promptly even with a dead
// backend and leaves no export running behind it. Later calls do nothing.
func (s *Sink) Shutdown(ctx context.Context) error {
	if s.tp == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	err := s.tp.Shutdown(ctx)
	if ctx.Err() != nil {
		s.exp.abortExports()
		// The provider skips processors once ctx is done, and the batch processor
		// returns on ctx while its drain goes on: finish both with exports aborted,
		// which makes every remaining export fail at once.
		_ = s.bsp.Shutdown(context.WithoutCancel(ctx))
		<-s.exp.shutdownDone
	}
	// Spans that never reached the exporter are lost.
	if n := s.inflight.Swap(0); n > 0 {
		s.dropped.Add(uint64(n))
	}
	if err != nil {
		return fmt.Errorf("shut down trace export: %w", err)
	}
	return nil
}

// Stats returns the spans exported successfully and the spans lost: dropped on a
// full queue, failed to export, or still queued when Shutdown gave up. Spans waiting
// in the queue are in neither.
func (s *Sink) Stats() (exported, dropped uint64) {
	if s.tp == nil {
		return 0, 0
	}
	return s.exp.exported.Load(), s.dropped.Load() + s.exp.failed.Load()
}
