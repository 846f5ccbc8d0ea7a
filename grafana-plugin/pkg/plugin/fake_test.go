package plugin_test

import (
	"encoding/json"
	"flag"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeExporter serves the exporter's query API from testdata with the wire
// types, as the real daemon answers it.
type fakeExporter struct {
	srv      *httptest.Server
	token    string
	status   wire.Status
	events   []wire.Event // ascending by seq
	sessions []wire.Session
	details  map[string]wire.SessionDetail
	// pageMax caps one page, as the daemon does, so that clients must page.
	pageMax int
	// stream serves /api/v1/stream when set.
	stream http.HandlerFunc

	mu   sync.Mutex
	reqs []*http.Request
}

func readJSON(tb testing.TB, name string, v any) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
}

func newFakeExporter(tb testing.TB) *fakeExporter {
	tb.Helper()
	fe := &fakeExporter{
		status: wire.Status{
			Service: wire.ServiceName, Version: "v1.2.3", UptimeSeconds: 3600, EventsApplied: 12,
			IngestLagSeconds: 0.25, StoreEvents: 12, LastSeq: 12,
		},
		pageMax: 5,
	}
	readJSON(tb, "events.json", &fe.events)
	readJSON(tb, "sessions.json", &fe.sessions)
	fe.details = map[string]wire.SessionDetail{}
	for _, name := range []string{"session.json", "session-open.json"} {
		var d wire.SessionDetail
		readJSON(tb, name, &d)
		fe.details[d.Session.SessionID] = d
	}
	fe.srv = httptest.NewServer(fe)
	tb.Cleanup(fe.srv.Close)
	return fe
}

// setLastSeq sets the status's last_seq, as the exporter's live broker
// advances it before it streams an event.
func (fe *fakeExporter) setLastSeq(seq int64) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fe.status.LastSeq = seq
}

func (fe *fakeExporter) requests(route string) []*http.Request {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	var out []*http.Request
	for _, r := range fe.reqs {
		if r.URL.Path == route {
			out = append(out, r)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (fe *fakeExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fe.mu.Lock()
	fe.reqs = append(fe.reqs, r.Clone(r.Context()))
	fe.mu.Unlock()
	if fe.token != "" && r.Header.Get("Authorization") != "Bearer "+fe.token {
		writeJSON(w, http.StatusUnauthorized, wire.Error{Error: "missing or wrong bearer token"})
		return
	}
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/api/v1/status":
		fe.mu.Lock()
		st := fe.status
		fe.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	case r.URL.Path == "/api/v1/events":
		f, err := wire.ParseFilter(q)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, wire.Error{Error: err.Error()})
			return
		}
		var match []wire.Event
		for _, ev := range fe.events {
			if f.Match(&ev) {
				match = append(match, ev)
			}
		}
		if q.Get("order") != "asc" {
			slices.Reverse(match)
		}
		items, next := page(match, q, fe.pageMax)
		writeJSON(w, http.StatusOK, wire.EventsPage{Events: items, NextCursor: next})
	case r.URL.Path == "/api/v1/events/rate":
		rq, err := wire.ParseRateQuery(q)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, wire.Error{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, countRates(fe.events, rq))
	case r.URL.Path == "/api/v1/sessions":
		var match []wire.Session
		for _, s := range fe.sessions {
			if q.Get("active") == "true" && s.Status != "active" {
				continue
			}
			match = append(match, s)
		}
		items, next := page(match, q, fe.pageMax)
		writeJSON(w, http.StatusOK, wire.SessionsPage{Sessions: items, NextCursor: next})
	case strings.HasPrefix(r.URL.Path, "/api/v1/sessions/"):
		d, ok := fe.details[strings.TrimPrefix(r.URL.Path, "/api/v1/sessions/")]
		if !ok {
			writeJSON(w, http.StatusNotFound, wire.Error{Error: "session not found"})
			return
		}
		writeJSON(w, http.StatusOK, d)
	case r.URL.Path == "/api/v1/stream" && fe.stream != nil:
		fe.stream(w, r)
	default:
		writeJSON(w, http.StatusNotFound, wire.Error{Error: "not found"})
	}
}

// page cuts one page out of items by the limit and cursor parameters; the
// cursor is an offset.
func page[T any](items []T, q url.Values, pageMax int) ([]T, string) {
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > pageMax {
		limit = pageMax
	}
	off, _ := strconv.Atoi(q.Get("cursor"))
	if off > len(items) {
		off = len(items)
	}
	end := min(off+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return slices.Clone(items[off:end]), next
}

// fastBackoff keeps reconnection waits short in tests.
var fastBackoff = plugin.Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond}

const testUID = "claude-hooks"

func newDatasource(tb testing.TB, url, token string) *plugin.Datasource {
	tb.Helper()
	js, _ := json.Marshal(map[string]any{"url": url, "liveHistory": 3})
	s := backend.DataSourceInstanceSettings{
		UID: testUID, Name: "Claude Code hooks", JSONData: js,
		DecryptedSecureJSONData: map[string]string{"token": token},
	}
	d := plugin.New(s, plugin.Options{Backoff: fastBackoff, Version: "test"})
	tb.Cleanup(d.Dispose)
	return d
}

// testRange is the dashboard time range of the query tests.
var testRange = backend.TimeRange{
	From: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
	To:   time.Date(2026, 5, 1, 10, 5, 0, 0, time.UTC),
}

func newServer(tb testing.TB, h http.HandlerFunc) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// countRates counts events as the exporter's rate route does, one by one.
func countRates(evs []wire.Event, q wire.RateQuery) wire.EventRates {
	n := q.Buckets()
	counts := map[string][]int64{}
	for i := range evs {
		ev := &evs[i]
		if !q.Filter.Match(ev) {
			continue
		}
		name := ev.Event
		if q.By == wire.RateByTool {
			name = ev.Tool
		}
		if name == "" {
			continue
		}
		if counts[name] == nil {
			counts[name] = make([]int64, n)
		}
		counts[name][ev.Time.Sub(q.Filter.From)/q.Step]++
	}
	out := wire.EventRates{Start: q.Filter.From, StepMS: q.Step.Milliseconds(), Buckets: n, By: q.By, Series: []wire.RateSeries{}}
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		out.Series = append(out.Series, wire.RateSeries{Name: name, Counts: counts[name]})
	}
	return out
}
