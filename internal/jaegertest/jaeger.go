package jaegertest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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
)

// Timeouts for Jaeger to start and for a trace to appear in it.
const (
	readyTimeout = 60 * time.Second
	traceTimeout = 30 * time.Second
)

// Jaeger is a running Jaeger v2 all-in-one process with in-memory storage.
type Jaeger struct {
	// OTLPGRPC is the host:port of the OTLP/gRPC receiver.
	OTLPGRPC string
	// OTLPHTTP is the host:port of the OTLP/HTTP receiver.
	OTLPHTTP string
	// QueryURL is the base URL of the query service (http://host:port).
	QueryURL string

	logs *lockedBuffer
}

// Binary returns $JAEGER_BIN, or the binary scripts/jaeger.sh builds or finds in
// its cache. It fails the test when neither works: a trace backend is part of the
// test, not an optional extra.
func Binary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("JAEGER_BIN"); bin != "" {
		return bin
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "jaeger.sh")
	var stderr bytes.Buffer
	cmd := exec.Command(script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("get Jaeger with %s (set JAEGER_BIN to use another binary): %v\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// moduleRoot walks up from the working directory (a test's package directory) to
// the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find module root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
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

// config is a minimal Jaeger v2 (v1.76.0) configuration: an OTLP receiver
// straight into memory storage and the query service, all on loopback ports of
// our choosing, no self-telemetry listener. The shape follows
// cmd/jaeger/internal/all-in-one.yaml and the jaeger_query extension's Config
// (http and grpc are confighttp/configgrpc server settings).
const config = `service:
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

// Start runs Jaeger in its own process group and waits for the collector's
// "Everything is ready" log line. The test's cleanup kills the group and waits for
// the process and its log reader.
func Start(tb testing.TB) *Jaeger {
	tb.Helper()
	bin := Binary(tb)
	p := freePorts(tb, 4)
	cfg := filepath.Join(tb.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, config, p[0], p[1], p[2], p[3]), 0o600); err != nil {
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

	logs := &lockedBuffer{}
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

	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	select {
	case <-ready:
	case err := <-exited:
		exited <- err // for the cleanup
		tb.Fatalf("Jaeger exited before it was ready: %v\n%s", err, logs.String())
	case <-timeout.C:
		tb.Fatalf("Jaeger not ready after %s:\n%s", readyTimeout, logs.String())
	}
	return &Jaeger{
		OTLPGRPC: "127.0.0.1:" + strconv.Itoa(p[2]),
		OTLPHTTP: "127.0.0.1:" + strconv.Itoa(p[3]),
		QueryURL: "http://127.0.0.1:" + strconv.Itoa(p[0]),
		logs:     logs,
	}
}

// Logs returns what Jaeger has logged so far, for failure messages.
func (j *Jaeger) Logs() string { return j.logs.String() }

// Trace polls the query API until the trace holds at least minSpans spans and
// returns it; it fails the test after 30 s. Polling is the only way: nothing tells
// a client that Jaeger has stored a span.
func (j *Jaeger) Trace(tb testing.TB, traceID string, minSpans int) Trace {
	tb.Helper()
	deadline := time.Now().Add(traceTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		tr, body, err := j.fetch(traceID)
		switch {
		case err != nil:
			last = err.Error()
		case len(tr.Spans) >= minSpans:
			return tr
		default:
			last = fmt.Sprintf("%d spans, want %d: %s", len(tr.Spans), minSpans, body)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("trace %s not complete in Jaeger after %s: %s", traceID, traceTimeout, last)
		}
		<-tick.C
	}
}

// fetch reads a trace once; a trace Jaeger does not know yet is empty, not an error.
func (j *Jaeger) fetch(traceID string) (Trace, string, error) {
	resp, err := http.Get(j.QueryURL + "/api/traces/" + traceID)
	if err != nil {
		return Trace{}, "", fmt.Errorf("get trace %s: %w", traceID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Trace{}, "", fmt.Errorf("read trace %s: %w", traceID, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return Trace{}, string(body), nil
	}
	if resp.StatusCode != http.StatusOK {
		return Trace{}, "", fmt.Errorf("get trace %s: %s: %s", traceID, resp.Status, body)
	}
	var out struct {
		Data []Trace `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return Trace{}, "", fmt.Errorf("decode trace %s: %w", traceID, err)
	}
	if len(out.Data) != 1 {
		return Trace{}, string(body), nil
	}
	return out.Data[0], string(body), nil
}
