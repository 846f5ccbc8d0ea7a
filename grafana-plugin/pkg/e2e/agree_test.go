package e2e_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookscript"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
)

// counts is what one frame says of a session.
type counts struct {
	Status                                  string
	Turns, ToolCalls, Failures              int64
	Subagents, Compactions, PermissionWaits int64
	InputTokens, OutputTokens               int64
}

// The plugin's sessions table and each session's trace, both read through the
// real plugin binary from a real exporter, agree for generated sessions
// (interleaved, with tools left open, stops and subagent stops without starts,
// compactions, late events, resumes and expiries).
func TestSessionsFrameAgreesWithTraces(t *testing.T) {
	exp := startExporter(t)
	base := time.Now().Add(-20 * time.Hour)
	total := 0
	var ids []string
	for seed := range uint64(4) {
		items := hookscript.Generate(rand.New(rand.NewPCG(seed, 7)), hookscript.Options{Base: base.Add(time.Duration(seed) * time.Hour), NoUsage: true})
		recs := make([]spool.Record, 0, len(items))
		for _, it := range items {
			recs = append(recs, spool.Capture(it.Payload, it.At, "hook", 0))
		}
		if err := spool.Append(spool.Options{Dir: exp.spoolDir}, recs...); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, hookscript.SessionIDs(items)...)
		total += len(items)
	}
	exp.waitApplied(uint64(total))

	p := startPlugin(t)
	pc := dsSettings(uid, exp.url(), "")
	query := func(queryType string, model map[string]any) data.Frames {
		t.Helper()
		return frames(t, p.query(t, pc, queryType, model, base.Add(-time.Hour)))
	}
	// The events lie hours in the past: the daemon's periodic expiry closes
	// every session within its interval.
	var table data.Frames
	waitFor(t, 60*time.Second, "every session closed", func() (bool, error) {
		table = query("sessions", map[string]any{"limit": 1000})
		for _, s := range column[string](t, table[0], "status") {
			if s == "active" {
				return false, nil
			}
		}
		return true, nil
	})
	f := table[0]
	got := map[string]counts{}
	sessions := column[string](t, f, "session")
	status := column[string](t, f, "status")
	turns, tools, failures := column[int64](t, f, "turns"), column[int64](t, f, "tool_calls"), column[int64](t, f, "failures")
	subs, compacts, waits := column[int64](t, f, "subagents"), column[int64](t, f, "compactions"), column[int64](t, f, "permission_waits")
	for i, id := range sessions {
		got[id] = counts{Status: status[i], Turns: turns[i], ToolCalls: tools[i], Failures: failures[i],
			Subagents: subs[i], Compactions: compacts[i], PermissionWaits: waits[i]}
	}
	if len(got) != len(ids) {
		t.Errorf("sessions frame has %d sessions, the scripts %d", len(got), len(ids))
	}
	for _, id := range ids {
		tr := query("session-trace", map[string]any{"session": id})[0]
		want := traceCounts(t, tr)
		if diff := cmp.Diff(want, got[id]); diff != "" {
			t.Errorf("session %s: sessions frame differs from its trace (-trace +sessions):\n%s", id, diff)
		}
	}
	t.Logf("%d generated sessions, %d events: the sessions frame and the traces agree", len(ids), total)
}

// traceCounts counts a trace frame's spans by kind and outcome (from their
// tags); the status is the latest root's.
func traceCounts(tb testing.TB, f *data.Frame) counts {
	tb.Helper()
	var c counts
	var lastRoot float64 = -1
	starts := column[float64](tb, f, "startTime")
	parents := column[*string](tb, f, "parentSpanID")
	for i, raw := range column[json.RawMessage](tb, f, "tags") {
		var kvs []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		}
		if err := json.Unmarshal(raw, &kvs); err != nil {
			tb.Fatal(err)
		}
		tags := map[string]string{}
		for _, kv := range kvs {
			tags[kv.Key] = fmt.Sprint(kv.Value)
		}
		failed := tags["outcome"] == "failure"
		switch tags["kind"] {
		case "session":
			if parents[i] == nil && starts[i] >= lastRoot {
				lastRoot = starts[i]
				c.Status = "ended"
				if tags["outcome"] == "expired" {
					c.Status = "expired"
				}
			}
		case "turn":
			c.Turns++
		case "tool":
			c.ToolCalls++
		case "subagent":
			c.Subagents++
		case "compaction":
			c.Compactions++
		case "skill_shell":
			// Counted by its own metric, not in the summary.
		case "permission":
			c.PermissionWaits++
			failed = false // a wait's outcome is its tool's
		default:
			tb.Errorf("span kind %q", tags["kind"])
		}
		if failed {
			c.Failures++
		}
	}
	if strings.TrimSpace(c.Status) == "" {
		tb.Errorf("trace without a root span")
	}
	return c
}
