package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// TestRate counts the scripted sessions' events per bucket through the
// route, by event name and by tool, and checks that the counts add up to the
// events the events route lists for the same filter.
func TestRate(t *testing.T) {
	st := scriptedStore(t)
	h := New(Options{Store: st, Rates: st})
	at := func(sec int) string { return storetest.Base.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }
	span := "from=" + at(0) + "&to=" + at(3600)
	for _, tc := range []struct{ name, filter, by string }{
		{"rate", "", ""},
		{"rate-tool", "", "&by=tool"},
		{"rate-filtered", "&event=PreToolUse,PostToolUse&session=" + storetest.SessionCJK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := fetch(t, h, "/api/v1/events/rate?"+span+"&step=5m"+tc.filter+tc.by)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			golden(t, tc.name, body)
			var r wire.EventRates
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatal(err)
			}
			if r.Buckets != 12 || r.StepMS != 300000 {
				t.Errorf("%d buckets of %d ms, want 12 of 300000", r.Buckets, r.StepMS)
			}
			var counted int
			for _, s := range r.Series {
				for _, c := range s.Counts {
					counted += int(c)
				}
			}
			_, _, list := fetch(t, h, "/api/v1/events?limit=1000&"+span+tc.filter)
			var page wire.EventsPage
			if err := json.Unmarshal(list, &page); err != nil {
				t.Fatal(err)
			}
			want := len(page.Events)
			if tc.by != "" {
				want = 0
				for _, ev := range page.Events {
					if ev.Tool != "" {
						want++
					}
				}
			}
			if counted != want || want == 0 {
				t.Errorf("counted %d events, the events route lists %d", counted, want)
			}
		})
	}
}

func TestRateBadParameters(t *testing.T) {
	st := scriptedStore(t)
	h := New(Options{Store: st, Rates: st})
	for _, tc := range []struct{ target, param string }{
		{"/api/v1/events/rate?to=2026-03-01T00:00:00Z&step=1m", "from"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&step=1m", "to"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z", "step"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z&step=soon", "step"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z&step=-1m", "step"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&step=1s", "step"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z&step=1m&by=session", "by"},
		{"/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z&step=1m&outcome=crashed", "outcome"},
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
	code, _, _ := fetch(t, New(Options{}), "/api/v1/events/rate?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z&step=1m")
	if code != http.StatusServiceUnavailable {
		t.Errorf("without a store: %d, want 503", code)
	}
}
