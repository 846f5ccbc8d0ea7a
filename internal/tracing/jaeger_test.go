package tracing

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

// jaegerBinary returns $JAEGER_BIN, or the binary scripts/jaeger.sh builds or finds
// in its cache. It fails the test when neither works: a trace backend is part of
// the test, not an optional extra.
func jaegerBinary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("JAEGER_BIN"); bin != "" {
		return bin
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "jaeger.sh"))
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("get Jaeger with %s (set JAEGER_BIN to use another binary): %v\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// freePorts reserves n loopback ports by listening on port 0, then frees them for
// Jaeger. Another process could take one in between; that would fail the start
// loudly, not silently test the wrong thing.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	ports := make([]int, 0, n)
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		if err := l.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return ports
}

// jaegerConfig is a minimal Jaeger v2 (v1.76.0) configuration: an OTLP receiver
// straight into memory storage and the query service, all on loopback ports of
// our choosing, no self-telemetry listener. The shape follows
// cmd/jaeger/internal/all-in-one.yaml and the jaeger_query extension's Config
// (http and grpc are confighttp/configgrpc server settings).
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 1000
  jaeger_query:
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

type jaeger struct {
	otlpGRPC, otlpHTTP string // host:port
	queryURL           string
}

// lockedBuffer collects Jaeger's log for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startJaeger runs Jaeger in its own process group and waits for the collector's
// "Everything is ready" log line. Cleanup kills the group and waits for the process
// and the log reader.
func startJaeger(tb testing.TB) *jaeger {
	tb.Helper()
	bin := jaegerBinary(tb)
	p := freePorts(tb, 4)
	cfg := filepath.Join(tb.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, jaegerConfig, p[0], p[1], p[2], p[3]), 0o600); err != nil {
		tb.Fatal(err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = r.Close()
		_ = w.Close()
		tb.Fatalf("start %s: %v", bin, err)
	}
	_ = w.Close() // the child holds its own copy

	var logs lockedBuffer
	ready := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			logs.WriteString(line + "\n")
			if !signalled && strings.Contains(line, "Everything is ready") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		<-readerDone
	})

	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	select {
	case <-ready:
	case err := <-exited:
		exited <- err // for the cleanup
		tb.Fatalf("Jaeger exited before it was ready: %v\n%s", err, logs.String())
	case <-timeout.C:
		tb.Fatalf("Jaeger not ready after 60s:\n%s", logs.String())
	}
	return &jaeger{
		otlpGRPC: "127.0.0.1:" + strconv.Itoa(p[2]),
		otlpHTTP: "127.0.0.1:" + strconv.Itoa(p[3]),
		queryURL: "http://127.0.0.1:" + strconv.Itoa(p[0]),
	}
}

// The parts of Jaeger's query API (v1 JSON) the test reads.
type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"` // microseconds
	Duration  int64       `json:"duration"`  // microseconds
	Tags      []jaegerTag `json:"tags"`
	ProcessID string      `json:"processID"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jaegerTag `json:"tags"`
}

func tagMap(tags []jaegerTag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = fmt.Sprint(t.Value)
	}
	return m
}

// getTrace polls the query API until the trace holds at least want spans. Polling
// is the only way: nothing tells a client that Jaeger has stored a span.
func (j *jaeger) getTrace(tb testing.TB, traceID string, want int) jaegerTrace {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		tr, body, err := j.fetchTrace(traceID)
		switch {
		case err != nil:
			last = err.Error()
		case len(tr.Spans) >= want:
			return tr
		default:
			last = fmt.Sprintf("%d spans, want %d: %s", len(tr.Spans), want, body)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("trace %s not complete in Jaeger after 30s: %s", traceID, last)
		}
		<-tick.C
	}
}

func (j *jaeger) fetchTrace(traceID string) (jaegerTrace, string, error) {
	resp, err := http.Get(j.queryURL + "/api/traces/" + traceID)
	if err != nil {
		return jaegerTrace{}, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return jaegerTrace{}, "", err
	}
	if resp.StatusCode == http.StatusNotFound {
		return jaegerTrace{}, string(body), nil
	}
	if resp.StatusCode != http.StatusOK {
		return jaegerTrace{}, "", fmt.Errorf("GET trace: %s: %s", resp.Status, body)
	}
	var out struct {
		Data []jaegerTrace `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return jaegerTrace{}, "", fmt.Errorf("decode trace: %w", err)
	}
	if len(out.Data) != 1 {
		return jaegerTrace{}, string(body), nil
	}
	return out.Data[0], string(body), nil
}

// exportTo sends spans to Jaeger through a real OTLP sink and flushes it.
func exportTo(tb testing.TB, opts Options, spans []session.Span) {
	tb.Helper()
	opts.Version = "0.0.0-test"
	s, err := New(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	if !s.Enabled() {
		tb.Fatal("sink with an endpoint is disabled")
	}
	if err := s.Export(context.Background(), spans); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		tb.Fatalf("Shutdown: %v", err)
	}
	if e, d := s.Stats(); e != uint64(len(spans)) || d != 0 {
		tb.Fatalf("Stats() = %d exported, %d dropped, want %d, 0", e, d, len(spans))
	}
}

// TestJaeger exports the scripted session to a real Jaeger v2 over OTLP/HTTP, reads
// it back from the query API, then replays it over OTLP/gRPC and checks that the
// replay lands on the same span ids.
func TestJaeger(t *testing.T) {
	j := startJaeger(t)
	spans := scriptedSession()
	traceID := TraceID(fixtureSession).String()

	exportTo(t, Options{Endpoint: "http://" + j.otlpHTTP, Protocol: ProtocolHTTPProtobuf}, spans)
	tr := j.getTrace(t, traceID, len(spans))
	if len(tr.Spans) != len(spans) {
		t.Fatalf("Jaeger has %d spans, want %d", len(tr.Spans), len(spans))
	}

	type want struct {
		name, parent string
		start, dur   int64
	}
	wantByID := map[string]want{}
	for _, sp := range spans {
		w := want{name: sp.Name, start: sp.Start.UnixMicro(), dur: sp.End.Sub(sp.Start).Microseconds()}
		if sp.ParentKey != "" {
			w.parent = SpanID(fixtureSession, sp.ParentKey).String()
		}
		wantByID[SpanID(fixtureSession, sp.Key).String()] = w
	}
	gotByID := map[string]want{}
	for _, s := range tr.Spans {
		w := want{name: s.OperationName, start: s.StartTime, dur: s.Duration}
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && r.TraceID == traceID {
				w.parent = r.SpanID
			}
		}
		gotByID[s.SpanID] = w
	}
	if diff := cmp.Diff(wantByID, gotByID, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("spans in Jaeger (names, parents, times) (-want +got):\n%s", diff)
	}

	// Attributes as tags, the failing tool's status, the resource as the process.
	for _, s := range tr.Spans {
		var sp session.Span
		for _, c := range spans {
			if SpanID(fixtureSession, c.Key).String() == s.SpanID {
				sp = c
			}
		}
		tags := tagMap(s.Tags)
		for _, a := range sp.Attrs {
			if got := tags[a.Key]; got != fmt.Sprint(a.Value) {
				t.Errorf("span %q tag %s = %q, want %q", s.OperationName, a.Key, got, fmt.Sprint(a.Value))
			}
		}
		failed := sp.ErrorType != ""
		if got := tags["error"] == "true"; got != failed {
			t.Errorf("span %q error tag = %v, want %v (tags %v)", s.OperationName, got, failed, tags)
		}
		if failed {
			wantTags := map[string]string{"otel.status_code": "ERROR", "otel.status_description": sp.ErrorType, "error.type": sp.ErrorType}
			for k, v := range wantTags {
				if tags[k] != v {
					t.Errorf("span %q tag %s = %q, want %q", s.OperationName, k, tags[k], v)
				}
			}
		}
		if tags["otel.scope.name"] != scopeName {
			t.Errorf("span %q otel.scope.name = %q, want %q", s.OperationName, tags["otel.scope.name"], scopeName)
		}
		proc := tr.Processes[s.ProcessID]
		ptags := tagMap(proc.Tags)
		if proc.ServiceName != ServiceName || ptags["telemetry.distro.name"] != DistroName || ptags["telemetry.distro.version"] != "0.0.0-test" {
			t.Errorf("span %q process = %+v", s.OperationName, proc)
		}
	}

	// A replay after a restart, over gRPC this time: the same spans again plus one
	// that closed after the restart. The replayed spans carry the same ids and are
	// byte-identical, so Jaeger's query service (its span-hash deduplication) shows
	// each once; the new span proves the gRPC export arrived.
	late := spans[0]
	late.Key, late.Name = "tool:toolu_05", "execute_tool Write"
	late.Start, late.End = late.Start.Add(9*time.Second), late.End.Add(9*time.Second)
	exportTo(t, Options{Endpoint: j.otlpGRPC, Protocol: ProtocolGRPC, Insecure: true}, append(scriptedSession(), late))
	tr = j.getTrace(t, traceID, len(spans)+1)
	count := map[string]int{}
	for _, s := range tr.Spans {
		count[s.SpanID]++
	}
	wantCount := map[string]int{SpanID(fixtureSession, late.Key).String(): 1}
	for id := range wantByID {
		wantCount[id] = 1
	}
	if diff := cmp.Diff(wantCount, count); diff != "" {
		t.Errorf("after the replay each span id should appear once (-want +got):\n%s", diff)
	}
}
