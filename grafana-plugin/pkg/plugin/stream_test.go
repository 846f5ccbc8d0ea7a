package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/frametest"
	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sink collects what RunStream sends, as Grafana's side of the stream would.
type sink struct {
	frames chan []byte
	err    error // returned by every Send when set
}

func (s *sink) Send(p *backend.StreamPacket) error {
	if s.err != nil {
		return s.err
	}
	s.frames <- p.Data
	return nil
}

// frameReader reads a stream's frames as Grafana's frontend does
// (frametest.Reader), failing the test on a frame it cannot read.
type frameReader struct{ frametest.Reader }

// column returns the values of one field of a frame sent as JSON.
func (r *frameReader) column(tb testing.TB, b []byte, name string) []json.RawMessage {
	tb.Helper()
	cols, err := r.Columns(b)
	if err != nil {
		tb.Fatalf("%v: %s", err, b)
	}
	if !slices.Contains(r.Names, name) {
		tb.Fatalf("no field %q in %v", name, r.Names)
	}
	return cols[name] // nil: no rows
}

// seqs reads the seq column of a frame.
func (r *frameReader) seqs(tb testing.TB, b []byte) []int64 {
	tb.Helper()
	var out []int64
	for _, v := range r.column(tb, b, "seq") {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			tb.Fatalf("seq %s: %v", v, err)
		}
		out = append(out, n)
	}
	return out
}

// seqs reads the seq column of a frame that carries its schema.
func seqs(tb testing.TB, b []byte) []int64 {
	tb.Helper()
	return new(frameReader).seqs(tb, b)
}

func writeEvent(w http.ResponseWriter, ev wire.Event) {
	b, _ := json.Marshal(ev)
	fmt.Fprintf(w, "id: %d\nevent: hook\ndata: %s\n\n", ev.Seq, b)
	w.(http.Flusher).Flush()
}

func openStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func newStreamDatasource(tb testing.TB, url string, idle time.Duration) *plugin.Datasource {
	tb.Helper()
	js, _ := json.Marshal(map[string]any{"url": url, "liveHistory": 3})
	d := plugin.New(backend.DataSourceInstanceSettings{UID: testUID, JSONData: js}, plugin.Options{Backoff: fastBackoff, StreamIdleTimeout: idle})
	tb.Cleanup(d.Dispose)
	return d
}

// runStream starts RunStream and returns a function that ends it and
// returns its result.
func runStream(t *testing.T, d *plugin.Datasource, path string, s *sink) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.RunStream(ctx, &backend.RunStreamRequest{Path: path}, backend.NewStreamSender(s))
	}()
	var (
		once   sync.Once
		result error
	)
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(10 * time.Second):
				t.Error("RunStream did not return after its context ended")
			}
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

// collect reads frames until their seqs reach last. Only the first frame
// carries the schema.
func collect(t *testing.T, s *sink, last int64) (frames [][]byte, got []int64) {
	t.Helper()
	var r frameReader
	defer func() {
		if r.Schemas != 1 {
			t.Errorf("%d of %d frames carried the schema, want the first only", r.Schemas, r.Schemas+r.DataOnly)
		}
	}()
	timeout := time.After(10 * time.Second)
	for len(got) == 0 || got[len(got)-1] < last {
		select {
		case b := <-s.frames:
			frames = append(frames, b)
			got = append(got, r.seqs(t, b)...)
		case <-timeout:
			t.Fatalf("timed out waiting for seq %d; got %v", last, got)
		}
	}
	return frames, got
}

// RunStream resumes after the last event it sent, whatever way the upstream
// connection ends, and never sends an event twice.
func TestRunStreamResumes(t *testing.T) {
	fe := newFakeExporter(t)
	fe.status.LastSeq = 2
	bySeq := map[int64]wire.Event{}
	for _, ev := range fe.events {
		bySeq[ev.Seq] = ev
	}
	var conns atomic.Int32
	lastIDs := make(chan string, 10)
	params := make(chan string, 10)
	fe.stream = func(w http.ResponseWriter, r *http.Request) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		params <- r.URL.RawQuery
		fe.setLastSeq(7) // the exporter has published the events it sends below
		openStream(w)
		switch conns.Add(1) {
		case 1: // a heartbeat, two events, then the exporter goes away
			fmt.Fprint(w, ": heartbeat\n\n")
			writeEvent(w, bySeq[3])
			writeEvent(w, bySeq[4])
		case 2: // repeats one, then drops the subscriber with an error
			writeEvent(w, bySeq[4])
			writeEvent(w, bySeq[5])
			writeEvent(w, bySeq[6])
			fmt.Fprint(w, "event: error\ndata: subscriber fell behind\n\n")
		default:
			writeEvent(w, bySeq[7])
			<-r.Context().Done()
		}
	}
	d := newStreamDatasource(t, fe.srv.URL, 0)
	s := &sink{frames: make(chan []byte, 100)}
	stop := runStream(t, d, "events/t=Bash", s)
	frames, got := collect(t, s, 7)
	if err := stop(); err != nil {
		t.Errorf("RunStream returned %v after its context ended, want nil", err)
	}
	if diff := cmp.Diff([]int64{3, 4, 5, 6, 7}, got); diff != "" {
		t.Errorf("streamed seqs (-want +got):\n%s", diff)
	}
	close(lastIDs)
	var ids []string
	for id := range lastIDs {
		ids = append(ids, id)
	}
	if diff := cmp.Diff([]string{"2", "4", "6"}, ids); diff != "" {
		t.Errorf("Last-Event-ID of each connection (-want +got):\n%s", diff)
	}
	if p := <-params; p != "tool=Bash" {
		t.Errorf("stream query %q, want tool=Bash", p)
	}
	// How many events share the first frame depends on timing (events that
	// arrive together are sent together), so the golden holds its first row.
	checkGoldenBytes(t, "stream-frame.json", firstRow(t, frames[0]))
}

// firstRow cuts a frame's data down to its first row.
func firstRow(tb testing.TB, frame []byte) []byte {
	tb.Helper()
	var f map[string]any
	if err := json.Unmarshal(frame, &f); err != nil {
		tb.Fatal(err)
	}
	data, _ := f["data"].(map[string]any)
	values, _ := data["values"].([]any)
	for i, col := range values {
		if c, ok := col.([]any); ok && len(c) > 1 {
			values[i] = c[:1]
		}
	}
	if len(values) == 0 {
		tb.Fatalf("frame has no data values: %s", frame)
	}
	out, err := json.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// SubscribeStream hands out the newest matching events, oldest first, and the
// stream then starts right after the exporter's last event at that time.
func TestSubscribeThenRun(t *testing.T) {
	fe := newFakeExporter(t)
	lastIDs := make(chan string, 10)
	fe.stream = func(w http.ResponseWriter, r *http.Request) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		fe.setLastSeq(13)
		openStream(w)
		writeEvent(w, wire.Event{Seq: 13, ID: "x", Time: time.Date(2026, 5, 1, 10, 3, 0, 0, time.UTC), SessionID: "s", Event: "PreToolUse", Tool: "Bash"})
		<-r.Context().Done()
	}
	d := newStreamDatasource(t, fe.srv.URL, 0)
	const path = "events/t=Bash"
	resp, err := d.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != backend.SubscribeStreamStatusOK || resp.InitialData == nil {
		t.Fatalf("status %v, initial data %v", resp.Status, resp.InitialData)
	}
	if diff := cmp.Diff([]int64{4, 10, 11}, seqs(t, resp.InitialData.Data())); diff != "" {
		t.Errorf("initial data seqs (-want +got):\n%s", diff)
	}
	checkGoldenBytes(t, "subscribe-initial.json", resp.InitialData.Data())
	r := fe.requests("/api/v1/events")[0].URL.Query()
	if r.Get("limit") != "3" || r.Get("tool") != "Bash" || r.Get("order") != "desc" {
		t.Errorf("recent events request %q: want limit=3, tool=Bash, order=desc", r.Encode())
	}

	s := &sink{frames: make(chan []byte, 10)}
	stop := runStream(t, d, path, s)
	_, got := collect(t, s, 13)
	stop()
	if diff := cmp.Diff([]int64{13}, got); diff != "" {
		t.Errorf("streamed seqs (-want +got):\n%s", diff)
	}
	// The exporter's last seq when the initial data was read (12, not a
	// Bash event), not only the newest event of the initial data (11): the
	// initial data holds every match up to it.
	if id := <-lastIDs; id != "12" {
		t.Errorf("first Last-Event-ID %q, want 12 (the exporter's last seq before the initial data)", id)
	}
}

// When the exporter's numbering starts over (its store was removed), the
// stream resumes from the exporter's new last event instead of skipping
// every event numbered below the old resume point.
func TestRunStreamRenumbered(t *testing.T) {
	fe := newFakeExporter(t)
	fe.status.LastSeq = 99
	var conns atomic.Int32
	lastIDs := make(chan string, 10)
	ev := func(seq int64) wire.Event {
		return wire.Event{Seq: seq, ID: strconv.FormatInt(seq, 10), Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), SessionID: "s", Event: "Stop"}
	}
	fe.stream = func(w http.ResponseWriter, r *http.Request) {
		lastIDs <- r.Header.Get("Last-Event-ID")
		openStream(w)
		if conns.Add(1) == 1 {
			fe.setLastSeq(101)
			writeEvent(w, ev(100))
			writeEvent(w, ev(101))
			fe.setLastSeq(5) // the exporter restarts with a new store
			return
		}
		writeEvent(w, ev(6))
		writeEvent(w, ev(7))
		<-r.Context().Done()
	}
	d := newStreamDatasource(t, fe.srv.URL, 0)
	s := &sink{frames: make(chan []byte, 10)}
	stop := runStream(t, d, "events", s)
	var r frameReader
	var got []int64
	timeout := time.After(10 * time.Second)
	for len(got) < 4 {
		select {
		case b := <-s.frames:
			got = append(got, r.seqs(t, b)...)
		case <-timeout:
			t.Fatalf("timed out; got %v", got)
		}
	}
	stop()
	if diff := cmp.Diff([]int64{100, 101, 6, 7}, got); diff != "" {
		t.Errorf("streamed seqs (-want +got):\n%s", diff)
	}
	if first, second := <-lastIDs, <-lastIDs; first != "99" || second != "5" {
		t.Errorf("Last-Event-IDs %q, %q; want 99, then 5 (the new numbering)", first, second)
	}
}

func TestSubscribeStream(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		down       bool
		wantStatus backend.SubscribeStreamStatus
		wantRows   int
	}{
		{name: "all events", path: "events", wantStatus: backend.SubscribeStreamStatusOK, wantRows: 3},
		{name: "no match", path: "events/t=Write", wantStatus: backend.SubscribeStreamStatusOK, wantRows: 0},
		{name: "exporter down: schema only", path: "events", down: true, wantStatus: backend.SubscribeStreamStatusOK, wantRows: 0},
		{name: "not a channel of ours", path: "logs/x", wantStatus: backend.SubscribeStreamStatusNotFound},
		{name: "not canonical", path: "events/e=Stop.PreToolUse", wantStatus: backend.SubscribeStreamStatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := newFakeExporter(t).srv.URL
			if tt.down {
				url = closedURL(t)
			}
			d := newStreamDatasource(t, url, 0)
			resp, err := d.SubscribeStream(context.Background(), &backend.SubscribeStreamRequest{Path: tt.path})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus {
				t.Fatalf("status %v, want %v", resp.Status, tt.wantStatus)
			}
			if tt.wantStatus != backend.SubscribeStreamStatusOK {
				return
			}
			if got := len(seqs(t, resp.InitialData.Data())); got != tt.wantRows {
				t.Errorf("%d initial rows, want %d", got, tt.wantRows)
			}
		})
	}
}

func TestPublishStreamRefuses(t *testing.T) {
	d := newStreamDatasource(t, "http://127.0.0.1:1", 0)
	resp, err := d.PublishStream(context.Background(), &backend.PublishStreamRequest{Path: "events", Data: json.RawMessage(`{}`)})
	if err != nil || resp.Status != backend.PublishStreamStatusPermissionDenied {
		t.Errorf("PublishStream = %+v, %v; want permission denied", resp, err)
	}
}

// A stream that goes silent (no heartbeat) is dropped and reopened.
func TestRunStreamIdleReconnects(t *testing.T) {
	fe := newFakeExporter(t)
	var conns atomic.Int32
	fe.stream = func(w http.ResponseWriter, r *http.Request) {
		openStream(w)
		if conns.Add(1) >= 2 {
			fe.setLastSeq(12)
			writeEvent(w, fe.events[len(fe.events)-1])
		}
		<-r.Context().Done()
	}
	fe.status.LastSeq = 11
	d := newStreamDatasource(t, fe.srv.URL, 50*time.Millisecond)
	s := &sink{frames: make(chan []byte, 10)}
	stop := runStream(t, d, "events", s)
	_, got := collect(t, s, 12)
	stop()
	if diff := cmp.Diff([]int64{12}, got); diff != "" {
		t.Errorf("streamed seqs (-want +got):\n%s", diff)
	}
	if n := conns.Load(); n < 2 {
		t.Errorf("%d connections, want a reconnection after the silence", n)
	}
}

// While the exporter cannot say where to start, RunStream keeps asking, and
// it still ends with its context.
func TestRunStreamRetriesUntilCancelled(t *testing.T) {
	var statusCalls atomic.Int32
	reached := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if statusCalls.Add(1) == 3 {
			close(reached)
		}
		writeJSON(w, http.StatusServiceUnavailable, wire.Error{Error: "starting"})
	})
	d := newStreamDatasource(t, srv.URL, 0)
	stop := runStream(t, d, "events", &sink{frames: make(chan []byte, 1)})
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("RunStream did not retry the status call")
	}
	if err := stop(); err != nil {
		t.Errorf("RunStream = %v, want nil", err)
	}
}

// When Grafana's side of the stream fails, RunStream stops reading the
// exporter and returns the error.
func TestRunStreamSendError(t *testing.T) {
	fe := newFakeExporter(t)
	fe.stream = func(w http.ResponseWriter, r *http.Request) {
		openStream(w)
		for _, ev := range fe.events {
			writeEvent(w, ev)
		}
		<-r.Context().Done()
	}
	fe.status.LastSeq = 0
	d := newStreamDatasource(t, fe.srv.URL, 0)
	broken := errors.New("grafana went away")
	err := d.RunStream(context.Background(), &backend.RunStreamRequest{Path: "events"}, backend.NewStreamSender(&sink{err: broken}))
	if !errors.Is(err, broken) {
		t.Errorf("RunStream = %v, want %v", err, broken)
	}
}

func TestRunStreamBadPath(t *testing.T) {
	d := newStreamDatasource(t, "http://127.0.0.1:1", 0)
	if err := d.RunStream(context.Background(), &backend.RunStreamRequest{Path: "nope"}, backend.NewStreamSender(&sink{})); err == nil {
		t.Error("RunStream on a path of no channel: no error")
	}
}

// checkGoldenBytes compares JSON with testdata/name, rewriting it with -update.
func checkGoldenBytes(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	var pretty any
	if err := json.Unmarshal(got, &pretty); err != nil {
		tb.Fatal(err)
	}
	got, _ = json.MarshalIndent(pretty, "", "  ")
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s (-want +got):\n%s", path, diff)
	}
}
