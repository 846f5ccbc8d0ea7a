package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// scriptedStore holds the scripted sessions, inserted as the daemon's store
// sink does (content capture on, so prompts are searchable).
func scriptedStore(tb testing.TB) *store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{
		Path:           filepath.Join(tb.TempDir(), "events.db"),
		CaptureContent: true,
		Now:            func() time.Time { return storetest.Base.Add(2 * time.Hour) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	for _, b := range storetest.Batches(storetest.Run(tb, session.Options{CaptureContent: true}), 8) {
		evs := make([]wire.Event, len(b.Events))
		for i := range b.Events {
			evs[i] = eventview.Of(&b.Events[i], 0, true)
		}
		if err := st.Insert(ctx, evs, b.Spans, b.Sessions); err != nil {
			tb.Fatal(err)
		}
	}
	return st
}

// fixedStatus is the daemon's part of the status in tests.
func fixedStatus(context.Context) wire.Status {
	return wire.Status{Version: "1.2.3-test", UptimeSeconds: 42.5, EventsApplied: 55, IngestLagSeconds: 0.002,
		SpoolBacklogBytes: 1024, StreamSubscribers: 2}
}

func fetch(tb testing.TB, h http.Handler, target string) (int, http.Header, []byte) {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// golden compares an answer's body, indented, with testdata/name.
func golden(tb testing.TB, name string, body []byte) {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		tb.Fatalf("answer is not JSON: %v\n%s", err, body)
	}
	goldentest.Compare(tb, filepath.Join("testdata", name+".golden.json"), buf.Bytes())
}

// TestGoldens answers every route and every filter from the scripted sessions.
func TestGoldens(t *testing.T) {
	st := scriptedStore(t)
	h := New(Options{Store: st, Status: fixedStatus})
	at := func(sec int) string { return storetest.Base.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }
	ms := func(sec int) string {
		return strconv.FormatInt(storetest.Base.Add(time.Duration(sec)*time.Second).UnixMilli(), 10)
	}
	_, _, first := fetch(t, h, "/api/v1/events?limit=5")
	var page wire.EventsPage
	if err := json.Unmarshal(first, &page); err != nil || page.NextCursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, page.NextCursor)
	}
	_, _, firstSessions := fetch(t, h, "/api/v1/sessions?limit=1")
	var spage wire.SessionsPage
	if err := json.Unmarshal(firstSessions, &spage); err != nil || spage.NextCursor == "" {
		t.Fatalf("first sessions page: %v, cursor %q", err, spage.NextCursor)
	}
	for _, tc := range []struct{ name, target string }{
		{"events", "/api/v1/events"},
		{"events-limit", "/api/v1/events?limit=5"},
		{"events-cursor", "/api/v1/events?limit=5&cursor=" + page.NextCursor},
		{"events-asc", "/api/v1/events?order=asc&limit=3"},
		{"events-session", "/api/v1/events?session=" + storetest.SessionExpiry},
		{"events-event", "/api/v1/events?event=PostToolUse,PostToolUseFailure"},
		{"events-event-repeated", "/api/v1/events?event=SessionStart&event=SessionEnd"},
		{"events-tool", "/api/v1/events?tool=mcp__github__create_issue"},
		{"events-agent", "/api/v1/events?agent=Explore"},
		{"events-outcome", "/api/v1/events?outcome=failure"},
		{"events-q", "/api/v1/events?q=" + url.QueryEscape("npm test")},
		{"events-q-path", "/api/v1/events?q=" + url.QueryEscape("計算/消費")},
		{"events-q-cjk-prompt", "/api/v1/events?q=" + url.QueryEscape("テストが失敗")},
		{"events-q-short", "/api/v1/events?q=" + url.QueryEscape("舍入")},
		{"events-from-to", "/api/v1/events?from=" + at(300) + "&to=" + at(3005)},
		{"events-from-to-ms", "/api/v1/events?from=" + ms(3010) + "&to=" + ms(3012)},
		{"events-combined", "/api/v1/events?session=" + storetest.SessionCJK + "&tool=Bash&q=git&order=asc"},
		{"sessions", "/api/v1/sessions"},
		{"sessions-limit", "/api/v1/sessions?limit=1"},
		{"sessions-cursor", "/api/v1/sessions?limit=1&cursor=" + spage.NextCursor},
		{"sessions-active", "/api/v1/sessions?active=true"},
		{"sessions-inactive", "/api/v1/sessions?active=false"},
		{"sessions-from-to", "/api/v1/sessions?from=" + at(31) + "&to=" + at(2999)},
		{"sessions-cwd", "/api/v1/sessions?cwd=acme-web"},
		{"sessions-project", "/api/v1/sessions?project=" + url.QueryEscape("請求システム")},
		{"sessions-q", "/api/v1/sessions?q=" + url.QueryEscape("rm -rf")},
		{"session-current", "/api/v1/sessions/" + storetest.SessionCurrent},
		{"session-expiry", "/api/v1/sessions/" + storetest.SessionExpiry},
		{"session-cjk", "/api/v1/sessions/" + storetest.SessionCJK},
		{"status", "/api/v1/status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := fetch(t, h, tc.target)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			if tc.name == "status" {
				// The store's size depends on the file system; check it, then fix it.
				var s wire.Status
				if err := json.Unmarshal(body, &s); err != nil || s.StoreBytes <= 0 || s.StoreEvents != 55 || s.LastSeq != 55 {
					t.Fatalf("status %+v (%v)", s, err)
				}
				s.StoreBytes = 1
				body, _ = json.Marshal(s)
			}
			golden(t, tc.name, body)
		})
	}
}

// TestBadParameters: every malformed parameter is a 400 naming it.
func TestBadParameters(t *testing.T) {
	h := New(Options{Store: scriptedStore(t)})
	for _, tc := range []struct{ target, param string }{
		{"/api/v1/events?limit=abc", "limit"},
		{"/api/v1/events?limit=0", "limit"},
		{"/api/v1/events?limit=-5", "limit"},
		{"/api/v1/events?limit=1.5", "limit"},
		{"/api/v1/events?order=newest", "order"},
		{"/api/v1/events?cursor=not-a-cursor", "cursor"},
		{"/api/v1/events?outcome=crashed", "outcome"},
		{"/api/v1/events?from=yesterday", "from"},
		{"/api/v1/events?to=2026-13-01T00:00:00Z", "to"},
		{"/api/v1/events?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to"},
		{"/api/v1/sessions?active=maybe", "active"},
		{"/api/v1/sessions?from=noon", "from"},
		{"/api/v1/sessions?to=1e9", "to"},
		{"/api/v1/sessions?limit=many", "limit"},
		{"/api/v1/sessions?cursor=%21%21", "cursor"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			code, _, body := fetch(t, h, tc.target)
			var e wire.Error
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if code != http.StatusBadRequest || !strings.Contains(e.Error, `"`+tc.param+`"`) {
				t.Errorf("got %d %q, want 400 naming %q", code, e.Error, tc.param)
			}
		})
	}
}

// TestLimitCapped: a limit above the maximum is served at the maximum.
func TestLimitCapped(t *testing.T) {
	code, _, body := fetch(t, New(Options{Store: scriptedStore(t)}), "/api/v1/events?limit=5000")
	var page wire.EventsPage
	if err := json.Unmarshal(body, &page); err != nil || code != http.StatusOK || len(page.Events) != 55 {
		t.Errorf("limit=5000: %d, %d events, %v", code, len(page.Events), err)
	}
}

// TestWithoutStore: status still answers, the store's routes say why not.
func TestWithoutStore(t *testing.T) {
	h := New(Options{Status: fixedStatus})
	code, _, body := fetch(t, h, "/api/v1/status")
	var s wire.Status
	if err := json.Unmarshal(body, &s); err != nil || code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	want := fixedStatus(context.Background())
	want.Service = wire.ServiceName
	if s != want {
		t.Errorf("status %+v, want %+v", s, want)
	}
	code, _, body = fetch(t, New(Options{}), "/api/v1/status")
	if err := json.Unmarshal(body, &s); err != nil || code != http.StatusOK || s != (wire.Status{Service: wire.ServiceName}) {
		t.Errorf("status without anything: %d %s", code, body)
	}
	for _, target := range []string{"/api/v1/events", "/api/v1/sessions?active=true", "/api/v1/sessions/x"} {
		code, _, body := fetch(t, h, target)
		var e wire.Error
		if err := json.Unmarshal(body, &e); err != nil || code != http.StatusServiceUnavailable || e.Error != ErrStoreDisabled {
			t.Errorf("%s: %d %s", target, code, body)
		}
	}
}

// TestNotFoundAndMethods: unknown routes and sessions are 404, other
// methods 405, all with a JSON error.
func TestNotFoundAndMethods(t *testing.T) {
	h := New(Options{Store: scriptedStore(t)})
	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{http.MethodGet, "/api/v1/nothing", http.StatusNotFound},
		{http.MethodGet, "/api/v1/sessions/no-such-session", http.StatusNotFound},
		{http.MethodPost, "/api/v1/events", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/api/v1/sessions/" + storetest.SessionCJK, http.StatusMethodNotAllowed},
		{http.MethodHead, "/api/v1/status", http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, rec.Code, tc.code)
		}
		if tc.code != http.StatusOK {
			var e wire.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Errorf("%s %s: body %q", tc.method, tc.target, rec.Body.String())
			}
		}
	}
}

// TestStoreFailure: a store that fails answers 500 without detail.
func TestStoreFailure(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{Path: filepath.Join(t.TempDir(), "events.db")})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, _, body := fetch(t, New(Options{Store: st}), "/api/v1/events")
	if code != http.StatusInternalServerError || strings.Contains(string(body), "sql") {
		t.Errorf("closed store: %d %s", code, body)
	}
}
