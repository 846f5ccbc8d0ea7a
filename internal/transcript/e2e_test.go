package transcript_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

// TestTrackerTotalsAcrossRestarts: long generated transcripts written in
// pieces while the tracker sees hook events, with the follower and the tracker
// checkpointed and restored together at random points: the tracker's token
// counters (exact value: counter minus held-back corrections) and the session
// root's attributes equal the generator's totals.
func TestTrackerTotalsAcrossRestarts(t *testing.T) {
	for _, seed := range []uint64{21, 22, 23} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 5))
			sid, main, files, want := transcript.WriteGenerated(seed, 200, t.TempDir())
			base := time.Date(2026, 8, 12, 9, 0, 0, 0, time.UTC)
			tr := session.New(session.Options{})
			f := transcript.NewFollower(transcript.Options{MaxBytesPerPoll: 16 << 10})
			poll := func() {
				for _, u := range f.Poll() {
					tr.ApplyUsage(u)
				}
			}
			at := 0
			event := func(name string) *hookevent.Event {
				at++
				ev := &hookevent.Event{Name: name, SessionID: sid, TranscriptPath: main, Received: base.Add(time.Duration(at) * time.Second)}
				f.Track(ev)
				return ev
			}
			tr.Apply(event("SessionStart"))
			paths := slices.Sorted(maps.Keys(files))
			for len(paths) > 0 {
				i := r.IntN(len(paths))
				p := paths[i]
				n := min(len(files[p]), 1+r.IntN(5000))
				fd, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := fd.Write(files[p][:n]); err != nil {
					t.Fatal(err)
				}
				fd.Close()
				if files[p] = files[p][n:]; len(files[p]) == 0 {
					paths = slices.Delete(paths, i, i+1)
				}
				tr.Apply(event("Notification"))
				poll()
				if r.IntN(8) == 0 {
					tb, err := tr.MarshalState()
					if err != nil {
						t.Fatal(err)
					}
					fb, err := f.MarshalState()
					if err != nil {
						t.Fatal(err)
					}
					tr, f = session.New(session.Options{}), transcript.NewFollower(transcript.Options{MaxBytesPerPoll: 16 << 10})
					if err := tr.UnmarshalState(tb); err != nil {
						t.Fatal(err)
					}
					if err := f.UnmarshalState(fb); err != nil {
						t.Fatal(err)
					}
				}
			}
			for range 100 {
				poll()
			}
			f.Track(&hookevent.Event{Name: "SessionEnd", SessionID: sid, TranscriptPath: main})
			poll()
			spans := tr.Apply(event("SessionEnd"))

			got := map[string]transcript.GeneratedTotals{}
			var all transcript.GeneratedTotals
			tr.Read(func(s *session.Snapshot) {
				for model, tc := range s.Metrics.Tokens {
					exact := func(c session.Counter) int64 { return int64(c.Value - c.Debt) }
					got[model] = transcript.GeneratedTotals{
						Input: exact(tc.Input), Output: exact(tc.Output), CacheRead: exact(tc.CacheRead), CacheCreation: exact(tc.CacheCreation),
					}
				}
			})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("token counters (-generator +tracker):\n%s", diff)
			}
			for _, w := range want {
				all.Input += w.Input
				all.Output += w.Output
				all.CacheRead += w.CacheRead
				all.CacheCreation += w.CacheCreation
			}
			var root *session.Span
			for i := range spans {
				if spans[i].Kind == session.KindSession {
					root = &spans[i]
				}
			}
			if root == nil {
				t.Fatal("no root span")
			}
			attrs := map[string]any{}
			for _, a := range root.Attrs {
				attrs[a.Key] = a.Value
			}
			wantAttrs := map[string]any{
				session.AttrUsageInput:         all.Input + all.CacheRead + all.CacheCreation,
				session.AttrUsageOutput:        all.Output,
				session.AttrUsageCacheRead:     all.CacheRead,
				session.AttrUsageCacheCreation: all.CacheCreation,
			}
			for k, v := range wantAttrs {
				if attrs[k] != v {
					t.Errorf("root %s = %v, want %v", k, attrs[k], v)
				}
			}
		})
	}
}
