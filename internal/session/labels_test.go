package session

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// TestEventLabelsNameEveryKnownEvent: every event Claude Code sends has its own
// event label; only names outside hookevent.KnownEvents count as other.
func TestEventLabelsNameEveryKnownEvent(t *testing.T) {
	want := append(slices.Clone(hookevent.KnownEvents), LabelOther)
	if diff := cmp.Diff(want, EventLabels); diff != "" {
		t.Errorf("EventLabels differ from hookevent.KnownEvents + other (-want +got):\n%s", diff)
	}
	tr := New(Options{})
	for _, name := range append(slices.Clone(hookevent.KnownEvents), "FutureEvent") {
		tr.Apply(&hookevent.Event{Name: name, SessionID: "s", Received: time.Unix(1, 0)})
	}
	tr.Read(func(s *Snapshot) {
		for _, name := range hookevent.KnownEvents {
			if s.Metrics.Events[name] != 1 {
				t.Errorf("events{event=%q} = %d, want 1", name, s.Metrics.Events[name])
			}
		}
		if s.Metrics.Events[LabelOther] != 1 {
			t.Errorf("events{event=other} = %d, want 1 (FutureEvent)", s.Metrics.Events[LabelOther])
		}
	})
}
