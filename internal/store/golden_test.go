package store

import (
	"context"
	"testing"

	"github.com/claudehooks/claude-hooks-exporter/internal/eventview"
	"github.com/claudehooks/claude-hooks-exporter/internal/store/storetest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// TestFromEventGolden converts every sample payload, with content capture on
// and off: summaries, prompts, payloads, redaction.
func TestFromEventGolden(t *testing.T) {
	for _, capture := range []bool{false, true} {
		name := "fromevent.golden.json"
		if capture {
			name = "fromevent-capture.golden.json"
		}
		t.Run(name, func(t *testing.T) {
			var out []wire.Event
			for _, script := range []string{"current", "variants", "cjk", "expiry"} {
				for _, ev := range storetest.Events(t, script) {
					out = append(out, eventview.Of(&ev, 0, capture))
				}
			}
			golden(t, name, views(out))
		})
	}
}

// scriptedAnswers is what the store answers about the scripted sessions.
type scriptedAnswers struct {
	Events   []eventView                   `json:"events"`
	Sessions wire.SessionsPage             `json:"sessions"`
	Details  map[string]wire.SessionDetail `json:"details"`
}

func answers(t *testing.T, s *Store) scriptedAnswers {
	t.Helper()
	ctx := context.Background()
	page, err := s.Events(ctx, wire.Filter{}, MaxLimit, "", true)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := s.Sessions(ctx, SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	a := scriptedAnswers{Events: views(page.Events), Sessions: sessions, Details: map[string]wire.SessionDetail{}}
	for _, id := range []string{storetest.SessionCurrent, storetest.SessionExpiry, storetest.SessionCJK} {
		d, ok, err := s.Session(ctx, id)
		if err != nil || !ok {
			t.Fatalf("session %s: found %v, %v", id, ok, err)
		}
		a.Details[id] = d
	}
	return a
}

// TestScriptedGolden inserts the scripted sessions, with content capture on
// and off, and compares every event, the session list and each session's
// detail with goldens. The answers do not depend on how the log was batched.
func TestScriptedGolden(t *testing.T) {
	for _, capture := range []bool{false, true} {
		name := "scripted.golden.json"
		if capture {
			name = "scripted-capture.golden.json"
		}
		t.Run(name, func(t *testing.T) {
			var first scriptedAnswers
			for i, batch := range []int{1, 4, 1024} {
				s := openStore(t, Options{CaptureContent: capture})
				insertScripts(t, s, capture, batch)
				a := answers(t, s)
				if i == 0 {
					golden(t, name, a)
					first = a
					continue
				}
				if diffJSON(t, first, a) != "" {
					t.Errorf("batches of %d answer differently than batches of 1:\n%s", batch, diffJSON(t, first, a))
				}
			}
		})
	}
}
