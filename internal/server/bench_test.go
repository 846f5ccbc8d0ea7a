package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// hookPayload is a PostToolUse payload of about 2 KB, as Claude Code POSTs it.
func hookPayload() []byte {
	return fmt.Appendf(nil, `{"session_id":"0b9c4f3e-6a8d-4e21-9f55-2d7c1a3b8e90","transcript_path":"/home/u/.claude/projects/p/0b9c4f3e.jsonl","cwd":"/home/u/src/p","permission_mode":"default","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"go test ./...","description":"Run the tests"},"tool_response":{"stdout":%q,"stderr":"","interrupted":false,"isImage":false},"tool_use_id":"toolu_01ABCDEFGHIJKLMNOPQRSTUV"}`,
		strings.Repeat("ok  \tgithub.com/example/p/internal/x\t0.123s\n", 40))
}

// newBenchServer returns a Server appending to a real spool writer in a
// temporary directory.
func newBenchServer(b *testing.B) *Server {
	b.Helper()
	w, err := spool.OpenWriter(spool.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	s, err := New(Options{Spool: w}, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkHook measures the handler alone for one POST /v1/hooks of a 2 KB
// payload: request body read, validation, capture, spool append, response.
func BenchmarkHook(b *testing.B) {
	s := newBenchServer(b)
	payload := hookPayload()
	body := bytes.NewReader(payload)
	req := httptest.NewRequest(http.MethodPost, "/v1/hooks", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("Content-Type", "application/json")
	rec := &statusWriter{header: http.Header{}}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(payload)
		req.Body = io.NopCloser(body)
		req.ContentLength = int64(len(payload))
		clear(rec.header)
		rec.code = 0
		s.ServeHTTP(rec, req)
		if rec.code != http.StatusNoContent {
			b.Fatalf("status %d", rec.code)
		}
	}
}

// statusWriter is a ResponseWriter that keeps only the status, so that the
// benchmark counts the handler's allocations, not a recorder's.
type statusWriter struct {
	header http.Header
	code   int
}

func (w *statusWriter) Header() http.Header { return w.header }

func (w *statusWriter) WriteHeader(code int) { w.code = code }

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}

// BenchmarkHookHTTP POSTs 2 KB payloads to /v1/hooks of a real HTTP server
// from 16 keep-alive clients at once, as the daemon's load test does.
// cpu-ns/op is the process's user+system CPU per request, clients included;
// ns/op is wall time.
func BenchmarkHookHTTP(b *testing.B) {
	const clients = 16
	ts := httptest.NewServer(newBenchServer(b))
	defer ts.Close()
	payload := hookPayload()
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var failed atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	cpu := int64(proctest.CPUTime(b))
	b.RunParallel(func(pb *testing.PB) {
		body := bytes.NewReader(payload)
		for pb.Next() {
			body.Reset(payload)
			resp, err := client.Post(ts.URL+"/v1/hooks", "application/json", body)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(int64(proctest.CPUTime(b))-cpu)/float64(b.N), "cpu-ns/op")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
}
