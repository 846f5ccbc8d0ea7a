package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// memSpool records appends; it can fail on demand.
type memSpool struct {
	mu   sync.Mutex
	recs []spool.Record
	err  error
}

func (m *memSpool) Append(recs ...spool.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.recs = append(m.recs, recs...)
	return nil
}

func (m *memSpool) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.recs)
}

func newTestServer(t *testing.T, opts Options) (*Server, *memSpool, *prometheus.Registry) {
	t.Helper()
	sp := &memSpool{}
	if opts.Spool == nil {
		opts.Spool = sp
	}
	reg := prometheus.NewRegistry()
	s, err := New(opts, reg)
	if err != nil {
		t.Fatal(err)
	}
	return s, sp, reg
}

func do(s http.Handler, method, path, body string, mod func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("Content-Type", "application/json") // what Claude Code's http hooks send
	if mod != nil {
		mod(r)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestIngest(t *testing.T) {
	s, sp, reg := newTestServer(t, Options{MaxRecordBytes: 1024})
	tests := []struct {
		name, method, path, body string
		code                     int
		msg                      string
		appended                 int
	}{
		{"one hook", "POST", "/v1/hooks", `{"hook_event_name":"Stop","session_id":"s"}`, 204, "", 1},
		{"pretty hook compacted", "POST", "/v1/hooks", "{\n  \"hook_event_name\": \"Stop\",\n  \"session_id\": \"s\"\n}", 204, "", 1},
		{"batch", "POST", "/v1/events", "{\"hook_event_name\":\"Stop\",\"session_id\":\"a\"}\n\n{\"hook_event_name\":\"Stop\",\"session_id\":\"b\"}\n", 200, `"accepted":2`, 2},
		{"invalid json", "POST", "/v1/hooks", `{nope`, 400, "not valid JSON", 0},
		{"not an object", "POST", "/v1/hooks", `"str"`, 400, "not a JSON object", 0},
		{"empty", "POST", "/v1/hooks", ``, 400, "empty payload", 0},
		{"too large", "POST", "/v1/hooks", `{"a":"` + strings.Repeat("x", 2000) + `"}`, 413, "limit", 0},
		{"batch bad line names it", "POST", "/v1/events", "{\"hook_event_name\":\"Stop\",\"session_id\":\"a\"}\n{bad\n", 400, "line 2", 0},
		{"empty batch", "POST", "/v1/events", "\n\n", 400, "empty batch", 0},
		{"GET not allowed", "GET", "/v1/hooks", "", 405, "use POST", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sp.recs)
			w := do(s, tt.method, tt.path, tt.body, nil)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.msg) {
				t.Fatalf("%s %s: %d %q, want %d containing %q", tt.method, tt.path, w.Code, w.Body.String(), tt.code, tt.msg)
			}
			if got := len(sp.recs) - before; got != tt.appended {
				t.Fatalf("appended %d records, want %d", got, tt.appended)
			}
		})
	}
	if got := sp.recs[1].Payload; string(got) != `{"hook_event_name":"Stop","session_id":"s"}` {
		t.Errorf("pretty payload stored as %s", got)
	}
	for _, r := range sp.recs {
		if r.Source != spool.SourceHTTP || len(r.ID) != 32 || r.Received == 0 {
			t.Errorf("record %+v lacks source, id or receive time", r)
		}
	}
	if got := testutil.ToFloat64(s.rejected.WithLabelValues(ReasonInvalidJSON)); got != 3 {
		t.Errorf("invalid_json rejections = %v, want 3", got)
	}
	if n, err := testutil.GatherAndCount(reg, "claude_hooks_http_ingest_records_total"); err != nil || n != 2 {
		t.Errorf("ingest counter series = %d, %v", n, err)
	}
}

func TestSpoolFailureIs503(t *testing.T) {
	sp := &memSpool{err: errors.New("disk full")}
	s, _, _ := newTestServer(t, Options{Spool: sp})
	w := do(s, "POST", "/v1/hooks", `{"hook_event_name":"Stop","session_id":"s"}`, nil)
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "disk full") {
		t.Fatalf("got %d %q, want 503 without internal details", w.Code, w.Body.String())
	}
}

func TestAuthAndHost(t *testing.T) {
	s, _, _ := newTestServer(t, Options{Token: "tok", AllowedHosts: []string{"localhost", "127.0.0.1", "::1"}})
	tests := []struct {
		name, path, host, auth string
		code                   int
	}{
		{"healthz needs no token", "/healthz", "127.0.0.1:9469", "", 200},
		{"missing token", "/readyz", "127.0.0.1:9469", "", 401},
		{"wrong token", "/readyz", "127.0.0.1:9469", "Bearer nope", 401},
		{"basic is not bearer", "/readyz", "127.0.0.1:9469", "Basic dG9rOg==", 401},
		{"right token", "/readyz", "localhost:9469", "Bearer tok", 200},
		{"ipv6 loopback", "/readyz", "[::1]:9469", "Bearer tok", 200},
		{"rebinding host", "/readyz", "attacker.example:9469", "Bearer tok", 403},
		{"rebinding host even for healthz", "/healthz", "attacker.example", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s, "GET", tt.path, "", func(r *http.Request) {
				r.Host = tt.host
				if tt.auth != "" {
					r.Header.Set("Authorization", tt.auth)
				}
			})
			if w.Code != tt.code {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body.String(), tt.code)
			}
		})
	}
}

func TestRateLimitPerRemoteClient(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, sp, _ := newTestServer(t, Options{IngestRate: 5, Now: func() time.Time { return now }})
	body := `{"hook_event_name":"Stop","session_id":"s"}`
	from := func(addr string) func(*http.Request) { return func(r *http.Request) { r.RemoteAddr = addr } }
	codes := map[int]int{}
	for range 20 {
		codes[do(s, "POST", "/v1/hooks", body, from("10.0.0.1:1000")).Code]++
	}
	if codes[204] != 10 || codes[429] != 10 {
		t.Fatalf("remote client: %v, want 10 accepted (burst) and 10 refused", codes)
	}
	if w := do(s, "POST", "/v1/hooks", body, from("10.0.0.2:1000")); w.Code != 204 {
		t.Fatalf("a second client was limited: %d", w.Code)
	}
	for range 50 {
		if w := do(s, "POST", "/v1/hooks", body, from("127.0.0.1:1000")); w.Code != 204 {
			t.Fatalf("loopback client limited: %d", w.Code)
		}
	}
	now = now.Add(time.Second)
	if w := do(s, "POST", "/v1/hooks", body, from("10.0.0.1:1000")); w.Code != 204 {
		t.Fatalf("refill after a second: %d", w.Code)
	}
	if len(sp.recs) != 10+1+50+1 {
		t.Fatalf("appended %d, want 62", len(sp.recs))
	}
}

// TestBatchRecordsKeepTheirOwnPayload: records of a batch must not share or
// overwrite each other's bytes (they alias the request body).
func TestBatchRecordsKeepTheirOwnPayload(t *testing.T) {
	s, sp, _ := newTestServer(t, Options{})
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(`{"hook_event_name":"Stop","session_id":"s-%03d","pad":"%s"}`, i, strings.Repeat("y", i*37)))
	}
	if w := do(s, "POST", "/v1/events", strings.Join(lines, "\n"), nil); w.Code != 200 {
		t.Fatalf("POST: %d %s", w.Code, w.Body.String())
	}
	if len(sp.recs) != len(lines) {
		t.Fatalf("appended %d, want %d", len(sp.recs), len(lines))
	}
	for i, r := range sp.recs {
		if string(r.Payload) != lines[i] {
			t.Fatalf("record %d payload %.80q, want %.80q", i, r.Payload, lines[i])
		}
	}
}

func TestReadCapped(t *testing.T) {
	const limit = 2000
	body := strings.Repeat("x", 1500)
	tests := []struct {
		name    string
		body    string
		size    int64 // declared Content-Length; -1 unknown
		want    string
		tooBig  bool
		oneByte bool // the reader returns one byte per Read
	}{
		{name: "declared size", body: body, size: 1500, want: body},
		{name: "unknown size", body: body, size: -1, want: body},
		{name: "unknown size, one byte at a time", body: body, size: -1, want: body, oneByte: true},
		{name: "declared size too small: read to the end anyway", body: body, size: 10, want: body},
		{name: "empty", body: "", size: 0, want: ""},
		{name: "exactly the limit", body: strings.Repeat("y", limit), size: limit, want: strings.Repeat("y", limit)},
		{name: "declared beyond the limit", body: "{}", size: limit + 1, tooBig: true},
		{name: "beyond the limit, size unknown", body: strings.Repeat("z", 3*limit), size: -1, tooBig: true},
		{name: "beyond the limit, declared smaller", body: strings.Repeat("z", limit+1), size: 100, tooBig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.body)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			// A pooled buffer is read into when it has the room.
			buf := make([]byte, 5, 64)
			got, err := readCapped(r, tt.size, limit, buf)
			if err == nil && tt.size >= 0 && tt.size < int64(cap(buf)) && len(got) > 0 && len(got) < cap(buf) && &got[0] != &buf[:1][0] {
				t.Errorf("readCapped did not read a %d-byte body into the buffer it was given", tt.size)
			}
			if tt.tooBig {
				if !errors.Is(err, errTooLarge) {
					t.Fatalf("readCapped = %d bytes, %v; want errTooLarge", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("readCapped = %d bytes, want %d", len(got), len(tt.want))
			}
		})
	}
	if _, err := readCapped(iotest.ErrReader(errors.New("boom")), -1, limit, nil); err == nil || errors.Is(err, errTooLarge) {
		t.Errorf("readCapped of a failing reader = %v, want its error", err)
	}
}

// TestCrossSiteRefused (issue 14, item 2): a web page on another site cannot
// post events; same-origin and non-browser clients still can.
func TestCrossSiteRefused(t *testing.T) {
	hook := `{"hook_event_name":"Stop","session_id":"s"}`
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		code    int
	}{
		{"claude code http hook", "/v1/hooks", map[string]string{"Content-Type": "application/json"}, http.StatusNoContent},
		{"curl json batch", "/v1/events", map[string]string{"Content-Type": "application/x-ndjson"}, http.StatusOK},
		{"same origin", "/v1/hooks", map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:9469", "Sec-Fetch-Site": "same-origin"}, http.StatusNoContent},
		{"text/plain from a page", "/v1/hooks", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"text/plain without origin", "/v1/hooks", map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, http.StatusForbidden},
		{"no content type", "/v1/events", map[string]string{"Content-Type": ""}, http.StatusForbidden},
		{"form", "/v1/hooks", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, http.StatusForbidden},
		{"json from another origin", "/v1/hooks", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"json cross-site fetch", "/v1/hooks", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, sp, _ := newTestServer(t, Options{})
			w := do(s, http.MethodPost, tt.path, hook, func(r *http.Request) {
				r.Host = "127.0.0.1:9469"
				for k, v := range tt.headers {
					if v == "" {
						r.Header.Del(k)
					} else {
						r.Header.Set(k, v)
					}
				}
			})
			if w.Code != tt.code {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tt.code)
			}
			refused := tt.code == http.StatusForbidden
			if refused && sp.count() != 0 {
				t.Errorf("a refused request appended %d records", sp.count())
			}
			want := 0.0
			if refused {
				want = 1
			}
			if got := testutil.ToFloat64(s.rejected.WithLabelValues(ReasonCrossSite)); got != want {
				t.Errorf("rejected{reason=cross_site} = %v, want %v", got, want)
			}
		})
	}
	// Configured otherwise, a plain-text post is taken.
	s, sp, _ := newTestServer(t, Options{AllowCrossSite: true})
	if w := do(s, http.MethodPost, "/v1/hooks", hook, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }); w.Code != http.StatusNoContent || sp.count() != 1 {
		t.Errorf("AllowCrossSite: %d %s, %d records", w.Code, w.Body, sp.count())
	}
}

// TestInflightBytesBound (issue 14, item 5): bodies held at once stay under
// MaxInflightBytes for loopback clients too; a request waits for room, and
// one larger than the bound waits until it is alone.
func TestInflightBytesBound(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan int64, 16)
	sp := &blockingSpool{gate: gate, entered: entered}
	s, _, _ := newTestServer(t, Options{Spool: sp, MaxInflightBytes: 1000, MaxRecordBytes: 4096})
	body := func(n int) string {
		return `{"hook_event_name":"Stop","session_id":"s","x":"` + strings.Repeat("a", n-len(`{"hook_event_name":"Stop","session_id":"s","x":""}`)) + `"}`
	}
	results := make(chan int, 4)
	post := func(n int) {
		go func() { results <- do(s, http.MethodPost, "/v1/hooks", body(n), nil).Code }()
	}
	post(600)
	if got := <-entered; got != 600 {
		t.Fatalf("first request appended %d bytes", got)
	}
	post(600) // does not fit beside the first
	post(3000)
	select {
	case got := <-entered:
		t.Fatalf("a request of %d bytes reached the spool while 600 of 1000 bytes were in flight", got)
	default:
	}
	gate <- struct{}{} // the first one finishes
	second := <-entered
	gate <- struct{}{}
	third := <-entered
	gate <- struct{}{}
	if second <= 0 || third <= 0 || second+third != 3600 {
		t.Fatalf("then %d and %d bytes (negative: while another was in flight), want 600 and 3000 one at a time", second, third)
	}
	for range 3 {
		if code := <-results; code != http.StatusNoContent {
			t.Errorf("status %d", code)
		}
	}
}

// blockingSpool reports each append's size, then waits for the gate. An
// append that starts while another waits reports a negative size.
type blockingSpool struct {
	gate    chan struct{}
	entered chan int64
	in      atomic.Int32
}

func (b *blockingSpool) Append(recs ...spool.Record) error {
	var n int64
	for _, r := range recs {
		n += int64(r.Size)
	}
	if b.in.Add(1) > 1 {
		n = -n
	}
	b.entered <- n
	<-b.gate
	b.in.Add(-1)
	return nil
}
