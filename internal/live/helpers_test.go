package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// baseTime is the receive time of event 1 in every fixture.
var baseTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

var (
	fixtureSessions = []string{"sess-a", "sess-b", "sess-c"}
	fixtureEvents   = []string{"PreToolUse", "PostToolUse", "UserPromptSubmit", "Notification", "PostToolUseFailure"}
	fixtureTools    = []string{"Bash", "Read", "mcp__github__create_issue", ""}
	fixtureOutcomes = []string{"success", "failure", "", "denied"}
	fixtureSummary  = []string{"go test ./internal/live/...", "/src/app/main.go", "日本語のプロンプトを検索", "Claude needs your permission", "rm -rf /tmp/x && echo <done>"}
)

// testEvent returns the i-th event of a varied, deterministic stream; Seq is
// left to the caller.
func testEvent(i int, payloadSize int) wire.Event {
	ev := wire.Event{
		ID:        fmt.Sprintf("%032x", i),
		Time:      baseTime.Add(time.Duration(i) * time.Millisecond),
		SessionID: fixtureSessions[i%len(fixtureSessions)],
		Event:     fixtureEvents[i%len(fixtureEvents)],
		Tool:      fixtureTools[i%len(fixtureTools)],
		Outcome:   fixtureOutcomes[i%len(fixtureOutcomes)],
		Summary:   fixtureSummary[i%len(fixtureSummary)],
		CWD:       "/src/app",
	}
	if i%7 == 0 {
		ev.AgentID, ev.AgentType = "agent-"+strconv.Itoa(i%3), "Explore"
	}
	if ev.Outcome == "failure" {
		ev.Error = "Exit code 1: FAIL TestThing"
	}
	if payloadSize > 0 {
		ev.Payload = payload(i, payloadSize)
	}
	return ev
}

// payload is a hook-shaped JSON object of about size bytes.
func payload(i, size int) []byte {
	pad := max(size-120, 1)
	return fmt.Appendf(nil, `{"session_id":"sess","hook_event_name":"PostToolUse","tool_name":"Bash","n":%d,"tool_response":{"stdout":%q}}`,
		i, strings.Repeat("x", pad))
}

// feed numbers events, stores them (when a store is set) and publishes them,
// as the pipeline does: the store insert happens before Publish.
type feed struct {
	mu    sync.Mutex
	b     *Broker
	store *memStore
	n     int // events produced so far
	size  int // payload size
}

// publish produces n more events in one batch and returns them.
func (f *feed) publish(n int) []wire.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	evs := make([]wire.Event, n)
	for i := range evs {
		f.n++
		evs[i] = testEvent(f.n, f.size)
		evs[i].Seq = int64(f.n)
	}
	if f.store != nil {
		f.store.add(evs)
	}
	f.b.Publish(evs)
	return evs
}

// publishUpTo publishes at most k more events without going past total; it
// reports whether there are more to publish.
func (f *feed) publishUpTo(total, k int) bool {
	f.mu.Lock()
	k = min(k, total-f.n)
	f.mu.Unlock()
	if k > 0 {
		f.publish(k)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n < total
}

// memStore implements ReplayFunc's contract over a slice.
type memStore struct {
	mu    sync.Mutex
	evs   []wire.Event
	calls int
	// during, when set, runs inside the first EventsAfter call (then cleared):
	// it lets a test publish while a resume is being replayed.
	during func()
}

func (s *memStore) add(evs []wire.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, evs...)
}

func (s *memStore) EventsAfter(ctx context.Context, after int64, f wire.Filter, limit int) ([]wire.Event, error) {
	s.mu.Lock()
	s.calls++
	during := s.during
	s.during = nil
	s.mu.Unlock()
	if during != nil {
		during()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.evs), func(i int) bool { return s.evs[i].Seq > after })
	var out []wire.Event
	for ; i < len(s.evs) && len(out) < limit; i++ {
		if f.Match(&s.evs[i]) {
			out = append(out, s.evs[i])
		}
	}
	return out, nil
}

// startServer serves b over real HTTP; cleanup closes the broker first so the
// server's Close does not wait on open streams.
func startServer(tb testing.TB, b *Broker) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(b)
	tb.Cleanup(srv.Close)
	tb.Cleanup(b.Close)
	return srv
}

// message is one parsed SSE message.
type message struct {
	ID, Event, Data, Comment string
}

// sseConn is a client stream.
type sseConn struct {
	resp   *http.Response
	br     *bufio.Reader
	cancel context.CancelFunc
}

// dial opens a stream and returns once the response headers arrived, which
// the broker sends after registering the subscriber. lastID, when not empty,
// goes in the Last-Event-ID header.
func dial(tb testing.TB, srv *httptest.Server, query, lastID string) *sseConn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/stream?"+query, nil)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		tb.Fatalf("dial stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		tb.Fatalf("dial stream: status %d: %s", resp.StatusCode, body)
	}
	c := &sseConn{resp: resp, br: bufio.NewReaderSize(resp.Body, 64<<10), cancel: cancel}
	tb.Cleanup(c.close)
	return c
}

func (c *sseConn) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next reads one message (a comment-only block counts as one).
func (c *sseConn) next() (message, error) {
	var m message
	seen := false
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return m, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if seen {
				return m, nil
			}
			continue
		}
		seen = true
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "":
			m.Comment = value
		case "id":
			m.ID = value
		case "event":
			m.Event = value
		case "data":
			m.Data = value
		}
	}
}

// nextEvent skips heartbeats and decodes the next hook event.
func (c *sseConn) nextEvent(tb testing.TB) wire.Event {
	tb.Helper()
	for {
		m, err := c.next()
		if err != nil {
			tb.Fatalf("read stream: %v", err)
		}
		if m.Comment != "" && m.Event == "" && m.Data == "" {
			continue
		}
		if m.Event != "hook" {
			tb.Fatalf("got message %+v, want a hook event", m)
		}
		var ev wire.Event
		if err := json.Unmarshal([]byte(m.Data), &ev); err != nil {
			tb.Fatalf("decode event %q: %v", m.Data, err)
		}
		if m.ID != strconv.FormatInt(ev.Seq, 10) {
			tb.Fatalf("message id %q, event seq %d", m.ID, ev.Seq)
		}
		return ev
	}
}

// seqs returns the Seq of each event.
func seqs(evs []wire.Event) []int64 {
	out := make([]int64, len(evs))
	for i := range evs {
		out[i] = evs[i].Seq
	}
	return out
}

// seqRange returns from..to inclusive.
func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// diffSeqs reports a difference between want and got (cmp only on a
// mismatch: it is slow on long slices under the race detector).
func diffSeqs(tb testing.TB, want, got []int64) {
	tb.Helper()
	if slices.Equal(want, got) {
		return
	}
	tb.Errorf("seqs (-want +got):\n%s", cmp.Diff(want, got))
}

// gatedWriter is an http.ResponseWriter whose Write blocks until open is
// closed; entered is closed when the first Write starts.
type gatedWriter struct {
	header  http.Header
	mu      sync.Mutex
	buf     bytes.Buffer
	code    int
	open    chan struct{}
	entered chan struct{}
	once    sync.Once
	flushes int
	flushed chan struct{} // closed at the first Flush (the headers)
	fonce   sync.Once
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{header: http.Header{}, open: make(chan struct{}), entered: make(chan struct{}), flushed: make(chan struct{})}
}

func (w *gatedWriter) Header() http.Header { return w.header }

func (w *gatedWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = code
	}
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.open
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.buf.Write(p)
}

func (w *gatedWriter) Flush() {
	w.mu.Lock()
	w.flushes++
	w.mu.Unlock()
	w.fonce.Do(func() { close(w.flushed) })
}
