package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// keepExporter is an in-memory exporter whose Shutdown keeps the spans, so a test
// can flush through Sink.Shutdown and read them afterwards.
type keepExporter struct{ *tracetest.InMemoryExporter }

func (keepExporter) Shutdown(context.Context) error { return nil }

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// exportAll sends spans through a sink built with opts plus an in-memory exporter,
// shuts it down and returns what reached the exporter.
func exportAll(tb testing.TB, opts Options, spans []session.Span) tracetest.SpanStubs {
	tb.Helper()
	mem := tracetest.NewInMemoryExporter()
	opts.Exporter = keepExporter{mem}
	s, err := New(context.Background(), opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := s.Export(context.Background(), spans); err != nil {
		tb.Fatalf("Export: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		tb.Fatalf("Shutdown: %v", err)
	}
	exported, dropped := s.Stats()
	if exported != uint64(len(spans)) || dropped != 0 {
		tb.Fatalf("Stats() = %d exported, %d dropped, want %d, 0", exported, dropped, len(spans))
	}
	return mem.GetSpans()
}

type renderedAttr struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type renderedSpan struct {
	Name              string         `json:"name"`
	TraceID           string         `json:"trace_id"`
	SpanID            string         `json:"span_id"`
	ParentSpanID      string         `json:"parent_span_id,omitempty"`
	Kind              string         `json:"kind"`
	Start             string         `json:"start"`
	End               string         `json:"end"`
	Status            string         `json:"status"`
	StatusDescription string         `json:"status_description,omitempty"`
	Scope             string         `json:"scope"`
	Attributes        []renderedAttr `json:"attributes"`
}

func render(stubs tracetest.SpanStubs) []renderedSpan {
	out := make([]renderedSpan, 0, len(stubs))
	for _, s := range stubs {
		r := renderedSpan{
			Name:              s.Name,
			TraceID:           s.SpanContext.TraceID().String(),
			SpanID:            s.SpanContext.SpanID().String(),
			Kind:              s.SpanKind.String(),
			Start:             s.StartTime.UTC().Format(time.RFC3339Nano),
			End:               s.EndTime.UTC().Format(time.RFC3339Nano),
			Status:            s.Status.Code.String(),
			StatusDescription: s.Status.Description,
			Scope:             s.InstrumentationScope.Name,
			Attributes:        []renderedAttr{},
		}
		if s.Parent.IsValid() {
			r.ParentSpanID = s.Parent.SpanID().String()
		}
		for _, a := range s.Attributes {
			r.Attributes = append(r.Attributes, renderedAttr{Key: string(a.Key), Type: a.Value.Type().String(), Value: a.Value.AsInterface()})
		}
		out = append(out, r)
	}
	return out
}

// TestExportGolden pins the whole mapping of the scripted session: names, ids,
// parents, kinds, times, status and attributes.
func TestExportGolden(t *testing.T) {
	got, err := json.MarshalIndent(render(exportAll(t, Options{}, scriptedSession())), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	goldentest.Compare(t, filepath.Join("testdata", "session.golden.json"), got)
}

func TestTraceID(t *testing.T) {
	tests := []struct {
		name, sessionID, want string
	}{
		{"uuid", "5f0c2a9e-3b7d-4c1e-9a8b-2d4e6f8a0b1c", "5f0c2a9e3b7d4c1e9a8b2d4e6f8a0b1c"},
		{"uuid upper case", "5F0C2A9E-3B7D-4C1E-9A8B-2D4E6F8A0B1C", "5f0c2a9e3b7d4c1e9a8b2d4e6f8a0b1c"},
		// Expected hashes from `printf %s <id> | sha256sum`, first 32 hex digits.
		{"not a uuid", "not-a-uuid", "2184a32a3bae6ad756d745ec8678ad6a"},
		{"nil uuid falls back to the hash", "00000000-0000-0000-0000-000000000000", "12b9377cbe7e5c94e8a70d9d23929523"},
		{"uuid shape, bad hex", "5f0c2a9e-3b7d-4c1e-9a8b-2d4e6f8a0bzz", "252b42f06d9a344f22c3e11044be2d2f"},
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb924"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TraceID(tt.sessionID)
			if !got.IsValid() {
				t.Fatalf("TraceID(%q) is invalid", tt.sessionID)
			}
			if got.String() != tt.want {
				t.Errorf("TraceID(%q) = %s, want %s", tt.sessionID, got, tt.want)
			}
		})
	}
}

func TestSpanID(t *testing.T) {
	tests := []struct {
		name, sessionID, key, want string
	}{
		// Expected ids from `printf 's\0k' | sha256sum`, first 16 hex digits.
		{"simple", "s", "k", "85e238288c85c328"},
		{"separator", "sa", "b", "272c7bb3ace4ac06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SpanID(tt.sessionID, tt.key)
			if !got.IsValid() {
				t.Fatalf("SpanID is invalid")
			}
			if got.String() != tt.want {
				t.Errorf("SpanID(%q, %q) = %s, want %s", tt.sessionID, tt.key, got, tt.want)
			}
			if again := SpanID(tt.sessionID, tt.key); again != got {
				t.Errorf("SpanID not deterministic: %s then %s", got, again)
			}
		})
	}
	if SpanID("sa", "b") == SpanID("s", "ab") {
		t.Error(`SpanID("sa", "b") == SpanID("s", "ab"): the separator is missing`)
	}
}

// TestExportMapping checks one property of the mapping per case.
func TestExportMapping(t *testing.T) {
	t0 := time.Date(2026, 8, 14, 9, 30, 0, 123456789, time.UTC)
	base := session.Span{
		Kind: session.KindTool, SessionID: fixtureSession, Key: "tool:x", ParentKey: "turn:p",
		Name: "execute_tool Bash", Start: t0, End: t0.Add(1500 * time.Millisecond),
	}
	with := func(f func(*session.Span)) session.Span {
		s := base
		f(&s)
		return s
	}
	attrsOf := func(s tracetest.SpanStub) map[string]any {
		m := map[string]any{}
		for _, a := range s.Attributes {
			if _, dup := m[string(a.Key)]; dup {
				t.Errorf("attribute %s appears twice", a.Key)
			}
			m[string(a.Key)] = a.Value.AsInterface()
		}
		return m
	}
	tests := []struct {
		name  string
		span  session.Span
		check func(t *testing.T, got tracetest.SpanStub)
	}{
		{"ids, parent, kind and exact times", base, func(t *testing.T, got tracetest.SpanStub) {
			if got.SpanContext.TraceID() != TraceID(fixtureSession) || got.SpanContext.SpanID() != SpanID(fixtureSession, "tool:x") {
				t.Errorf("ids = %s/%s", got.SpanContext.TraceID(), got.SpanContext.SpanID())
			}
			if got.Parent.TraceID() != TraceID(fixtureSession) || got.Parent.SpanID() != SpanID(fixtureSession, "turn:p") {
				t.Errorf("parent = %s/%s", got.Parent.TraceID(), got.Parent.SpanID())
			}
			if got.SpanKind != trace.SpanKindInternal {
				t.Errorf("kind = %v, want internal", got.SpanKind)
			}
			if !got.StartTime.Equal(base.Start) || !got.EndTime.Equal(base.End) {
				t.Errorf("times = %v..%v, want %v..%v", got.StartTime, got.EndTime, base.Start, base.End)
			}
			if got.Status.Code != codes.Unset {
				t.Errorf("status = %v, want unset on success", got.Status)
			}
			if diff := cmp.Diff(map[string]any{"session.id": fixtureSession}, attrsOf(got)); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		}},
		{"root has no parent", with(func(s *session.Span) { s.ParentKey = "" }), func(t *testing.T, got tracetest.SpanStub) {
			if got.Parent.IsValid() {
				t.Errorf("parent = %v, want none", got.Parent)
			}
			if got.SpanContext.TraceID() != TraceID(fixtureSession) {
				t.Errorf("trace id = %s", got.SpanContext.TraceID())
			}
		}},
		{"error sets status and error.type", with(func(s *session.Span) { s.ErrorType = "interrupted"; s.Outcome = "interrupted" }), func(t *testing.T, got tracetest.SpanStub) {
			if got.Status.Code != codes.Error || got.Status.Description != "interrupted" {
				t.Errorf("status = %+v, want error/interrupted", got.Status)
			}
			if diff := cmp.Diff(map[string]any{"session.id": fixtureSession, "error.type": "interrupted"}, attrsOf(got)); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		}},
		{"error.type from the tracker is kept, not doubled", with(func(s *session.Span) {
			s.ErrorType = "tool_error"
			s.Attrs = []session.Attr{{Key: "error.type", Value: "tool_error"}, {Key: "session.id", Value: fixtureSession}}
		}), func(t *testing.T, got tracetest.SpanStub) {
			want := []attribute.KeyValue{attribute.String("error.type", "tool_error"), attribute.String("session.id", fixtureSession)}
			if diff := cmp.Diff(want, got.Attributes, cmp.Comparer(func(a, b attribute.Value) bool { return a.Emit() == b.Emit() && a.Type() == b.Type() })); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		}},
		{"attribute types", with(func(s *session.Span) {
			s.Attrs = []session.Attr{
				{Key: "s", Value: "v"}, {Key: "i", Value: int64(-3)}, {Key: "f", Value: 1.5}, {Key: "b", Value: true},
				{Key: "int", Value: 7}, {Key: "list", Value: []string{"a", "b"}}, {Key: "d", Value: 2 * time.Second},
				{Key: "nil", Value: nil}, {Key: "", Value: "no key"},
			}
		}), func(t *testing.T, got tracetest.SpanStub) {
			want := map[string]any{
				"s": "v", "i": int64(-3), "f": 1.5, "b": true, "int": int64(7), "list": []string{"a", "b"}, "d": "2s",
				"session.id": fixtureSession,
			}
			if diff := cmp.Diff(want, attrsOf(got)); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		}},
		{"span events keep name, time and attributes", with(func(s *session.Span) {
			s.Events = []session.SpanEvent{{Name: session.EventModelSwitch, Time: s.Start.Add(time.Second), Attrs: []session.Attr{
				{Key: session.AttrSwitchFrom, Value: "claude-opus-5-5"}, {Key: session.AttrSwitchTo, Value: "claude-haiku-4-5"},
			}}}
		}), func(t *testing.T, got tracetest.SpanStub) {
			if len(got.Events) != 1 {
				t.Fatalf("events = %+v, want 1", got.Events)
			}
			e := got.Events[0]
			if e.Name != session.EventModelSwitch || !e.Time.Equal(base.Start.Add(time.Second)) || len(e.Attributes) != 2 ||
				e.Attributes[1].Value.AsString() != "claude-haiku-4-5" {
				t.Errorf("event = %+v", e)
			}
		}},
		{"end before start is clamped", with(func(s *session.Span) { s.End = s.Start.Add(-time.Second) }), func(t *testing.T, got tracetest.SpanStub) {
			if !got.EndTime.Equal(base.Start) || !got.StartTime.Equal(base.Start) {
				t.Errorf("times = %v..%v, want both %v", got.StartTime, got.EndTime, base.Start)
			}
		}},
		{"missing start takes the end", with(func(s *session.Span) { s.Start = time.Time{} }), func(t *testing.T, got tracetest.SpanStub) {
			if !got.StartTime.Equal(base.End) || !got.EndTime.Equal(base.End) {
				t.Errorf("times = %v..%v, want both %v", got.StartTime, got.EndTime, base.End)
			}
		}},
		{"empty name falls back to the kind", with(func(s *session.Span) { s.Name = "" }), func(t *testing.T, got tracetest.SpanStub) {
			if got.Name != "tool" {
				t.Errorf("name = %q, want tool", got.Name)
			}
		}},
		{"self parent is a root", with(func(s *session.Span) { s.ParentKey = s.Key }), func(t *testing.T, got tracetest.SpanStub) {
			if got.Parent.IsValid() {
				t.Errorf("parent = %v, want none", got.Parent)
			}
		}},
		{"non-uuid session", with(func(s *session.Span) { s.SessionID = "legacy-7" }), func(t *testing.T, got tracetest.SpanStub) {
			if got.SpanContext.TraceID() != TraceID("legacy-7") || got.Parent.SpanID() != SpanID("legacy-7", "turn:p") {
				t.Errorf("ids = %v parent %v", got.SpanContext, got.Parent)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exportAll(t, Options{}, []session.Span{tt.span})
			if len(got) != 1 {
				t.Fatalf("got %d spans, want 1", len(got))
			}
			tt.check(t, got[0])
		})
	}
}

// TestExportIgnoresCallerSpan makes sure a span in the caller's context does not
// become the parent of a session root.
func TestExportIgnoresCallerSpan(t *testing.T) {
	caller := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled})
	mem := tracetest.NewInMemoryExporter()
	s, err := New(context.Background(), Options{Exporter: keepExporter{mem}})
	if err != nil {
		t.Fatal(err)
	}
	root := scriptedSession()[len(scriptedSession())-1]
	if err := s.Export(trace.ContextWithSpanContext(context.Background(), caller), []session.Span{root}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := mem.GetSpans()
	if len(got) != 1 || got[0].Parent.IsValid() || got[0].SpanContext.TraceID() != TraceID(fixtureSession) {
		t.Fatalf("got %+v, want one root span in the session's trace", got)
	}
}

func TestExportReplayGivesSameIDs(t *testing.T) {
	ids := func(stubs tracetest.SpanStubs) []string {
		var out []string
		for _, s := range stubs {
			out = append(out, s.SpanContext.TraceID().String()+"/"+s.SpanContext.SpanID().String()+"<"+s.Parent.SpanID().String())
		}
		return out
	}
	first := ids(exportAll(t, Options{}, scriptedSession()))
	second := ids(exportAll(t, Options{}, scriptedSession()))
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("replay changed ids (-first +second):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, id := range first {
		if seen[id] {
			t.Errorf("id %s used twice in one session", id)
		}
		seen[id] = true
	}
}

func TestAttributeValueLengthLimit(t *testing.T) {
	long := strings.Repeat("é", 5000) // 10000 bytes
	tests := []struct {
		name  string
		limit int
		want  int // characters kept
	}{
		{"default", 0, DefaultAttributeValueLengthLimit},
		{"custom", 16, 16},
		{"unlimited", -1, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := scriptedSession()[0]
			sp.Attrs = []session.Attr{{Key: "gen_ai.tool.call.arguments", Value: long}}
			got := exportAll(t, Options{AttributeValueLengthLimit: tt.limit}, []session.Span{sp})
			v := got[0].Attributes[0].Value.AsString()
			if n := len([]rune(v)); n != tt.want {
				t.Errorf("value kept %d characters, want %d", n, tt.want)
			}
		})
	}
}

func TestResource(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"defaults", nil, map[string]string{
			"service.name": "claude-code", "telemetry.distro.name": "claude-hooks-exporter", "telemetry.distro.version": "1.2.3",
			"host.name": host,
		}},
		{"OTEL_RESOURCE_ATTRIBUTES adds and overrides", map[string]string{
			"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=dev, host.name=box%2C1,service.name=from-attrs",
		}, map[string]string{
			"service.name": "from-attrs", "telemetry.distro.name": "claude-hooks-exporter", "telemetry.distro.version": "1.2.3",
			"host.name": "box,1", "deployment.environment.name": "dev",
		}},
		{"OTEL_SERVICE_NAME wins", map[string]string{
			"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs", "OTEL_SERVICE_NAME": "cc-laptop",
		}, map[string]string{
			"service.name": "cc-laptop", "telemetry.distro.name": "claude-hooks-exporter", "telemetry.distro.version": "1.2.3",
			"host.name": host,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The SDK reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME from the process.
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got := exportAll(t, Options{Env: os.Getenv, Version: "1.2.3"}, scriptedSession()[:1])
			attrs := map[string]string{}
			for _, kv := range got[0].Resource.Attributes() {
				if strings.HasPrefix(string(kv.Key), "telemetry.sdk.") {
					continue
				}
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			if diff := cmp.Diff(tt.want, attrs); diff != "" {
				t.Errorf("resource (-want +got):\n%s", diff)
			}
			if v, _ := got[0].Resource.Set().Value("telemetry.sdk.language"); v.AsString() != "go" {
				t.Errorf("telemetry.sdk.language = %q, want go", v.AsString())
			}
			if got[0].InstrumentationScope.Version != "1.2.3" {
				t.Errorf("scope version = %q, want 1.2.3", got[0].InstrumentationScope.Version)
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"bad protocol", Options{Endpoint: "localhost:4317", Protocol: "thrift"}, `otlp protocol "thrift"`},
		{"bad protocol from env", Options{Env: mapEnv(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "udp",
		})}, `otlp protocol "udp"`},
		{"bad headers do not leak values", Options{Endpoint: "localhost:4317", Env: mapEnv(map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%zzsecret",
		})}, "otlp headers: OTEL_EXPORTER_OTLP_HEADERS: entry 1 (authorization): bad percent-encoding"},
		{"bad env headers without a flag", Options{Env: mapEnv(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-key",
		})}, "otlp headers: OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 1: want key=value"},
		{"unknown traces exporter", Options{Env: mapEnv(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_TRACES_EXPORTER": "zipkin",
		})}, `OTEL_TRACES_EXPORTER "zipkin": want otlp or none`},
		{"endpoint url without host", Options{Endpoint: "http:///v1/traces"}, "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), tt.opts)
			if err == nil {
				_ = s.Shutdown(context.Background())
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks a header value", err)
			}
		})
	}
}

// TestBadResourceAttributes: the SDK reads OTEL_RESOURCE_ATTRIBUTES from the
// process; a malformed list stops the start with the variable's name.
func TestBadResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "novalue")
	s, err := New(context.Background(), Options{Exporter: tracetest.NewInMemoryExporter(), Env: os.Getenv})
	if err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("New succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "OTEL_RESOURCE_ATTRIBUTES: ") {
		t.Errorf("error %q does not name OTEL_RESOURCE_ATTRIBUTES", err)
	}
}

// TestEnvConfiguredExport: with only the environment saying where, the SDK's
// exporter reads it: a generic endpoint gets /v1/traces appended, the headers
// are sent, OTEL_SERVICE_NAME names the service.
func TestEnvConfiguredExport(t *testing.T) {
	type request struct{ path, header, contentType string }
	got := make(chan request, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- request{r.URL.Path, r.Header.Get("X-Team"), r.Header.Get("Content-Type")}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want request
	}{
		{"generic endpoint is a base url", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/otlp", "OTEL_EXPORTER_OTLP_HEADERS": "x-team=a%20b",
		}, request{"/otlp/v1/traces", "a b", "application/x-protobuf"}},
		{"traces endpoint is used as is, json", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/ignored", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": srv.URL + "/custom",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-team=t",
		}, request{"/custom", "t", "application/json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s, err := New(context.Background(), Options{Env: os.Getenv})
			if err != nil {
				t.Fatal(err)
			}
			if !s.Enabled() {
				t.Fatal("sink disabled, want it configured by the environment")
			}
			if err := s.Export(context.Background(), scriptedSession()[:1]); err != nil {
				t.Fatal(err)
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-got:
				if r != tc.want {
					t.Errorf("request %+v, want %+v", r, tc.want)
				}
			default:
				t.Fatal("no export reached the collector")
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want bool
	}{
		{"nothing configured", Options{}, false},
		{"empty environment", Options{Env: mapEnv(map[string]string{"OTEL_SERVICE_NAME": "x"})}, false},
		{"exporter", Options{Exporter: tracetest.NewInMemoryExporter()}, true},
		{"endpoint flag", Options{Endpoint: "localhost:4317", Protocol: "grpc", Insecure: true}, true},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", Options{Env: mapEnv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"})}, true},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", Options{Env: mapEnv(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://localhost:4318/v1/traces"})}, true},
		{"OTEL_SDK_DISABLED", Options{Env: mapEnv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_SDK_DISABLED": "true"})}, false},
		{"OTEL_TRACES_EXPORTER=none", Options{Env: mapEnv(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_TRACES_EXPORTER": "none"})}, false},
		{"flag beats OTEL_SDK_DISABLED", Options{Endpoint: "http://localhost:4318", Env: mapEnv(map[string]string{"OTEL_SDK_DISABLED": "true"})}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(context.Background(), tt.opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := s.Enabled(); got != tt.want {
				t.Errorf("Enabled() = %v, want %v", got, tt.want)
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if tt.want {
				return
			}
			// A disabled sink accepts and forgets.
			if err := s.Export(context.Background(), scriptedSession()); err != nil {
				t.Errorf("Export on disabled sink: %v", err)
			}
			if e, d := s.Stats(); e != 0 || d != 0 {
				t.Errorf("Stats() = %d, %d, want 0, 0", e, d)
			}
		})
	}
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		env      map[string]string
		want     endpoint
		wantPath string // the HTTP path that results
	}{
		{"flag host:port defaults to http/protobuf", Options{Endpoint: "collector:4318"}, nil,
			endpoint{protocol: "http/protobuf", raw: "collector:4318"}, "/v1/traces"},
		{"flag wins over env", Options{Endpoint: "http://flag:4318", Protocol: "http/json", Insecure: true}, map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		}, endpoint{protocol: "http/json", raw: "http://flag:4318", insecure: true}, "/v1/traces"},
		{"flag url with a path is used as is", Options{Endpoint: "https://flag:4318/custom/traces"}, nil,
			endpoint{protocol: "http/protobuf", raw: "https://flag:4318/custom/traces"}, "/custom/traces"},
		{"env leaves the endpoint to the SDK", Options{}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://env:4318/otlp"},
			endpoint{protocol: "http/protobuf"}, "/v1/traces"},
		{"traces protocol wins", Options{}, map[string]string{
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom",
			"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
		}, endpoint{protocol: "grpc"}, "/v1/traces"},
		{"flag headers", Options{Endpoint: "x:1", Headers: map[string]string{"b": "flag"}}, map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=env%20value",
		}, endpoint{protocol: "http/protobuf", raw: "x:1", headers: map[string]string{"b": "flag"}}, "/v1/traces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := resolveEndpoint(tt.opts, mapEnv(tt.env))
			if err != nil || !ok {
				t.Fatalf("resolveEndpoint = %v, %v", ok, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(endpoint{})); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
			p := ""
			if i := strings.Index(got.raw, "://"); i >= 0 {
				if j := strings.Index(got.raw[i+3:], "/"); j >= 0 {
					p = got.raw[i+3+j:]
				}
			}
			if gotPath := httpTracesPath(p); gotPath != tt.wantPath {
				t.Errorf("http path = %q, want %q", gotPath, tt.wantPath)
			}
		})
	}
}

// blockingExporter holds every export until released (or its context ends), so a
// test can fill the queue deterministically.
type blockingExporter struct {
	entered chan int
	release chan struct{}
	mem     *tracetest.InMemoryExporter
}

func (e *blockingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.entered <- len(spans)
	select {
	case <-e.release:
		return e.mem.ExportSpans(ctx, spans)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *blockingExporter) Shutdown(context.Context) error { return nil }

// TestQueueFullDrops fills the bounded queue behind a stuck export: Export must
// neither block nor lose count, and Shutdown must either deliver the rest (backend
// recovers) or give up on time and count it (backend stays stuck).
func TestQueueFullDrops(t *testing.T) {
	tests := []struct {
		name         string
		recover      bool
		wantExported uint64
		wantDropped  uint64
	}{
		{"backend recovers", true, 8, 3},
		{"backend stays stuck", false, 0, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := &blockingExporter{entered: make(chan int, 10), release: make(chan struct{}), mem: tracetest.NewInMemoryExporter()}
			s, err := New(context.Background(), Options{Exporter: exp, QueueSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			spans := make([]session.Span, 11)
			for i := range spans {
				spans[i] = scriptedSession()[0]
				spans[i].Key = "tool:" + string(rune('a'+i))
			}
			ctx := context.Background()
			// A full batch (4 = queue size) goes to the exporter, which holds it.
			if err := s.Export(ctx, spans[:4]); err != nil {
				t.Fatal(err)
			}
			if n := <-exp.entered; n != 4 {
				t.Fatalf("first batch has %d spans, want 4", n)
			}
			// Four more fill the queue; the last three find it full.
			if err := s.Export(ctx, spans[4:]); err != nil {
				t.Fatal(err)
			}
			if e, d := s.Stats(); e != 0 || d != 3 {
				t.Fatalf("while stuck: Stats() = %d exported, %d dropped, want 0, 3", e, d)
			}

			if tt.recover {
				close(exp.release)
				if err := s.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
				if got := len(exp.mem.GetSpans()); got != 8 {
					t.Errorf("backend received %d spans, want 8", got)
				}
			} else {
				short, cancel := context.WithCancel(ctx)
				cancel()
				if err := s.Shutdown(short); !errors.Is(err, context.Canceled) {
					t.Fatalf("Shutdown = %v, want context.Canceled", err)
				}
			}
			if e, d := s.Stats(); e != tt.wantExported || d != tt.wantDropped {
				t.Errorf("Stats() = %d exported, %d dropped, want %d, %d", e, d, tt.wantExported, tt.wantDropped)
			}
			if err := s.Export(ctx, spans[:2]); err == nil {
				t.Error("Export after Shutdown succeeded")
			}
			if _, d := s.Stats(); d != tt.wantDropped+2 {
				t.Errorf("dropped after late Export = %d, want %d", d, tt.wantDropped+2)
			}
		})
	}
}

// deadEndpoint returns a loopback address where nothing listens.
func deadEndpoint(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

// TestDeadBackend exports to an address where nothing listens, over both
// protocols: Export returns at once, Shutdown with a short deadline returns, and
// every span is counted as dropped.
func TestDeadBackend(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			var logs bytes.Buffer
			s, err := New(context.Background(), Options{
				Endpoint: "http://" + deadEndpoint(t), Protocol: protocol, QueueSize: 4,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			const n = 100
			spans := make([]session.Span, n)
			for i := range spans {
				spans[i] = scriptedSession()[i%7]
				spans[i].Key = "k" + strconv.Itoa(i)
			}
			if err := s.Export(context.Background(), spans); err != nil {
				t.Fatalf("Export: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			// gRPC retries the refused connection until Shutdown gives up (an error);
			// HTTP fails at once (no error): either way Shutdown must return.
			_ = s.Shutdown(ctx)
			if e, d := s.Stats(); e != 0 || d != n {
				t.Errorf("Stats() = %d exported, %d dropped, want 0, %d", e, d, n)
			}
			if got := strings.Count(logs.String(), "trace export failing"); got != 1 {
				t.Errorf("export failure warned %d times, want once per outage:\n%s", got, logs.String())
			}
		})
	}
}

func TestRedactEndpoint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"collector:4317", "collector:4317"},
		{"https://collector:4318/v1/traces", "https://collector:4318/v1/traces"},
		{"https://user:hunter2@collector:4318", "https://user:xxxxx@collector:4318"},
	}
	for _, tt := range tests {
		if got := redactEndpoint(tt.in); got != tt.want {
			t.Errorf("redactEndpoint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
