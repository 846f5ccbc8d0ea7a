package plugin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestQueryData(t *testing.T) {
	tests := []struct {
		name      string
		queryType string
		query     map[string]any
		interval  time.Duration
		// wantParams are query parameters every request to wantRoute carried.
		wantRoute  string
		wantParams map[string]string
		// wantErr, when set, is the response's error (with wantStatus); the
		// SDK's golden files cannot hold error responses.
		wantErr    string
		wantStatus backend.Status
	}{
		{name: "events", queryType: "events", query: map[string]any{},
			wantRoute: "/api/v1/events", wantParams: map[string]string{"from": "2026-05-01T10:00:00Z", "to": "2026-05-01T10:05:00Z", "order": "desc"}},
		{name: "events-default-type", queryType: "", query: map[string]any{"limit": 4}},
		{name: "events-filtered", queryType: "events",
			query:     map[string]any{"session": "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", "events": []string{"PostToolUse", "PostToolUseFailure"}, "tool": "Bash"},
			wantRoute: "/api/v1/events", wantParams: map[string]string{"session": "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", "event": "PostToolUse,PostToolUseFailure", "tool": "Bash"}},
		{name: "events-outcome-text", queryType: "events", query: map[string]any{"outcome": "failure", "text": "tests failed"},
			wantRoute: "/api/v1/events", wantParams: map[string]string{"outcome": "failure", "q": "tests failed"}},
		{name: "events-agent", queryType: "events", query: map[string]any{"agent": "Explore"},
			wantRoute: "/api/v1/events", wantParams: map[string]string{"agent": "Explore"}},
		{name: "events-limited", queryType: "events", query: map[string]any{"limit": 7}},
		{name: "sessions", queryType: "sessions", query: map[string]any{},
			wantRoute: "/api/v1/sessions", wantParams: map[string]string{"from": "2026-05-01T10:00:00Z", "to": "2026-05-01T10:05:00Z"}},
		{name: "sessions-active", queryType: "sessions", query: map[string]any{"activeOnly": true},
			wantRoute: "/api/v1/sessions", wantParams: map[string]string{"active": "true"}},
		{name: "session-trace", queryType: "session-trace", query: map[string]any{"session": "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"},
			wantRoute: "/api/v1/sessions/5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", wantParams: map[string]string{}},
		{name: "session-trace-open", queryType: "session-trace", query: map[string]any{"session": "9a7d3c21-04be-4f6a-b2d8-61e5c0f4a9b7"}},
		{name: "session-trace-unknown", queryType: "session-trace", query: map[string]any{"session": "nope"}, wantStatus: backend.StatusNotFound,
			wantErr: "session nope: the exporter does not know it (GET /api/v1/sessions/nope: 404 Not Found: session not found)"},
		{name: "session-trace-no-session", queryType: "session-trace", query: map[string]any{}, wantStatus: backend.StatusBadRequest,
			wantErr: "a session-trace query needs a session id"},
		{name: "event-rate", queryType: "event-rate", query: map[string]any{}, interval: time.Minute,
			wantRoute: "/api/v1/events/rate", wantParams: map[string]string{"from": "2026-05-01T10:00:00Z", "to": "2026-05-01T10:05:00Z", "step": "60000", "by": "event"}},
		{name: "event-rate-filtered", queryType: "event-rate", query: map[string]any{"events": []string{"PreToolUse"}}, interval: 30 * time.Second,
			wantRoute: "/api/v1/events/rate", wantParams: map[string]string{"event": "PreToolUse", "step": "30000"}},
		{name: "event-rate-tool", queryType: "event-rate", query: map[string]any{"groupBy": "tool"}, interval: time.Minute,
			wantRoute: "/api/v1/events/rate", wantParams: map[string]string{"by": "tool"}},
		{name: "event-rate-bad-group", queryType: "event-rate", query: map[string]any{"groupBy": "session"}, wantStatus: backend.StatusBadRequest,
			wantErr: `groupBy "session": want event or tool`},
		{name: "live", queryType: "live", query: map[string]any{"session": "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13", "events": []string{"PreToolUse", "PostToolUse"}, "text": "npm test"}},
		{name: "live-too-long", queryType: "live", query: map[string]any{"text": strings.Repeat("x", 200)}, wantStatus: backend.StatusBadRequest,
			wantErr: "the live filters are too long for a Grafana Live channel: 225 characters, 65 over the limit of 160; shorten the text, tool or agent filter, or choose fewer custom event names"},
		{name: "bad-outcome", queryType: "events", query: map[string]any{"outcome": "maybe"}, wantStatus: backend.StatusBadRequest,
			wantErr: `outcome "maybe": want one of success, failure, interrupted, denied`},
		{name: "unknown-type", queryType: "logs", query: map[string]any{}, wantStatus: backend.StatusBadRequest,
			wantErr: `unknown query type "logs": want events, sessions, session-trace, event-rate or live`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := newFakeExporter(t)
			d := newDatasource(t, fe.srv.URL, "")
			js, err := json.Marshal(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{
				Queries: []backend.DataQuery{{RefID: "A", QueryType: tt.queryType, JSON: js, TimeRange: testRange, Interval: tt.interval, MaxDataPoints: 1000}},
			})
			if err != nil {
				t.Fatal(err)
			}
			dr, ok := resp.Responses["A"]
			if !ok {
				t.Fatalf("no response for refId A: %v", resp.Responses)
			}
			if tt.wantErr != "" {
				if dr.Error == nil || dr.Error.Error() != tt.wantErr || dr.Status != tt.wantStatus || len(dr.Frames) != 0 {
					t.Fatalf("got status %d, error %v, %d frames; want %d, %q, no frames", dr.Status, dr.Error, len(dr.Frames), tt.wantStatus, tt.wantErr)
				}
				return
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", "query-"+tt.name, &dr, *update)
			if tt.wantRoute == "" {
				return
			}
			reqs := fe.requests(tt.wantRoute)
			if len(reqs) == 0 {
				t.Fatalf("no request to %s", tt.wantRoute)
			}
			if tt.queryType == "event-rate" && (len(reqs) != 1 || len(fe.requests("/api/v1/events")) != 0) {
				t.Errorf("event-rate made %d requests to %s and %d to /api/v1/events, want one and none", len(reqs), tt.wantRoute, len(fe.requests("/api/v1/events")))
			}
			for _, r := range reqs {
				got := map[string]string{}
				for k := range tt.wantParams {
					got[k] = r.URL.Query().Get(k)
				}
				if diff := cmp.Diff(tt.wantParams, got); diff != "" {
					t.Errorf("%s parameters (-want +got):\n%s", r.URL, diff)
				}
			}
		})
	}
}

// A query's failure is its own: the other queries of the request still answer.
func TestQueryDataIsolatesFailures(t *testing.T) {
	fe := newFakeExporter(t)
	d := newDatasource(t, fe.srv.URL, "")
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		{RefID: "bad", QueryType: "session-trace", JSON: []byte(`{"session":"nope"}`), TimeRange: testRange},
		{RefID: "good", QueryType: "sessions", JSON: []byte(`{}`), TimeRange: testRange},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Responses["bad"]; got.Error == nil || got.Status != backend.StatusNotFound {
		t.Errorf("bad query: status %d, error %v; want 404 and an error", got.Status, got.Error)
	}
	if got := resp.Responses["good"]; got.Error != nil || len(got.Frames) != 1 || got.Frames[0].Rows() != 2 {
		t.Errorf("good query: error %v, frames %v; want one frame of 2 sessions", got.Error, got.Frames)
	}
}

// The exporter's 401 and 5xx answers become the query's error, attributed to
// the exporter.
func TestQueryDataExporterErrors(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		handler    http.HandlerFunc
		wantStatus backend.Status
		wantErr    string
	}{
		{name: "unauthorized", token: "secret", wantStatus: backend.StatusUnauthorized,
			wantErr: "GET /api/v1/events: 401 Unauthorized: missing or wrong bearer token"},
		{name: "server error", handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusInternalServerError, wire.Error{Error: "store closed"})
		}, wantStatus: backend.StatusBadGateway, wantErr: "GET /api/v1/events: 500 Internal Server Error: store closed"},
		{name: "garbage", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>hello</html>"))
		}, wantStatus: backend.StatusBadGateway, wantErr: "GET /api/v1/events: unexpected answer: decode JSON: invalid character '<' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := ""
			if tt.handler != nil {
				srv := newServer(t, tt.handler)
				url = srv.URL
			} else {
				fe := newFakeExporter(t)
				fe.token = tt.token
				url = fe.srv.URL
			}
			d := newDatasource(t, url, "wrong")
			resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
				{RefID: "A", QueryType: "events", JSON: []byte(`{}`), TimeRange: testRange},
			}})
			if err != nil {
				t.Fatal(err)
			}
			got := resp.Responses["A"]
			if got.Status != tt.wantStatus || got.Error == nil || got.Error.Error() != tt.wantErr || got.ErrorSource != backend.ErrorSourceDownstream {
				t.Errorf("got status %d, source %q, error %v; want %d, downstream, %q", got.Status, got.ErrorSource, got.Error, tt.wantStatus, tt.wantErr)
			}
		})
	}
}

func TestQueryDataUnusableSettings(t *testing.T) {
	for _, url := range []string{"", "ftp://example.invalid", "127.0.0.1:9469"} {
		d := newDatasource(t, url, "")
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A", QueryType: "events", TimeRange: testRange}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Responses["A"]; got.Status != backend.StatusBadRequest || got.Error == nil {
			t.Errorf("url %q: status %d, error %v; want 400 with the settings error", url, got.Status, got.Error)
		}
	}
}
