package storetest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"slices"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/pipeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
)

//go:embed testdata/*.jsonl
var files embed.FS

// Base is the receive time of offset zero in the scripts.
var Base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Scripts are the scripted sessions, one session each: "current" (every event
// of the current hook set, ended), "expiry" (a session left idle until the
// tracker expires it, with a secret in a command) and "cjk" (Japanese and
// Chinese text, a subagent, failures; still active).
var Scripts = []string{"current", "expiry", "cjk"}

// Session ids of the scripts.
const (
	SessionCurrent = "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"
	SessionExpiry  = "c41d9b2e-0f57-4e3a-8c6d-2b9a7e5f1d03"
	SessionCJK     = "9d3e7c41-2a6b-4f80-b5d9-61c0e8a4f2b7"
)

// Step is one line of a script: an event (nil for an expiry) and the spans
// the tracker closed while applying it.
type Step struct {
	Event *hookevent.Event
	Spans []session.Span
}

type line struct {
	at     time.Time
	ev     *hookevent.Event
	expire bool
	order  int
}

// Events decodes a script's events without applying them. Lines are {"t":
// seconds, "p": payload} or {"t": seconds, "expire": true}; a bare payload
// line is received at its line number in seconds. Event ids are
// "<script>-<line>"; payloads are compacted, as the spool holds them.
func Events(tb testing.TB, name string) []hookevent.Event {
	tb.Helper()
	var out []hookevent.Event
	for _, l := range load(tb, name, 0) {
		if l.ev != nil {
			out = append(out, *l.ev)
		}
	}
	return out
}

func load(tb testing.TB, name string, order int) []line {
	tb.Helper()
	b, err := files.ReadFile(path.Join("testdata", name+".jsonl"))
	if err != nil {
		tb.Fatalf("read script %s: %v", name, err)
	}
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var l struct {
			T      float64         `json:"t"`
			P      json.RawMessage `json:"p"`
			Expire bool            `json:"expire"`
			Name   string          `json:"hook_event_name"`
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			tb.Fatalf("%s:%d: %v", name, n, err)
		}
		payload := l.P
		if l.Name != "" {
			payload, l.T = raw, float64(n-1)
		}
		st := line{at: Base.Add(time.Duration(math.Round(l.T*1000)) * time.Millisecond), expire: l.Expire, order: order}
		if !l.Expire {
			var compact bytes.Buffer
			if err := json.Compact(&compact, payload); err != nil {
				tb.Fatalf("%s:%d: %v", name, n, err)
			}
			ev, err := hookevent.Decode(compact.Bytes())
			if err != nil {
				tb.Fatalf("%s:%d: decode: %v", name, n, err)
			}
			ev.ID = fmt.Sprintf("%s-%02d", name, n)
			ev.Received = st.at
			st.ev = &ev
		}
		out = append(out, st)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("read script %s: %v", name, err)
	}
	return out
}

// Run merges the named scripts (all of Scripts when none) by receive time,
// applies them in that order to a new tracker with opts and returns the steps.
func Run(tb testing.TB, opts session.Options, names ...string) []Step {
	tb.Helper()
	if len(names) == 0 {
		names = Scripts
	}
	var lines []line
	for i, name := range names {
		lines = append(lines, load(tb, name, i)...)
	}
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	tr := session.New(opts)
	steps := make([]Step, 0, len(lines))
	for _, l := range lines {
		if l.expire {
			steps = append(steps, Step{Spans: tr.Expire(l.at)})
			continue
		}
		steps = append(steps, Step{Event: l.ev, Spans: tr.Apply(l.ev)})
	}
	return steps
}

// Batches groups steps into batches of at most n events, as the pipeline
// hands them to its sinks: spans travel with the batch of the event (or
// expiry) that closed them.
func Batches(steps []Step, n int) []pipeline.Batch {
	var out []pipeline.Batch
	var cur pipeline.Batch
	for _, st := range steps {
		if st.Event != nil {
			if len(cur.Events) == n {
				out = append(out, cur)
				cur = pipeline.Batch{}
			}
			cur.Events = append(cur.Events, *st.Event)
		}
		cur.Spans = append(cur.Spans, st.Spans...)
	}
	if len(cur.Events) > 0 || len(cur.Spans) > 0 {
		out = append(out, cur)
	}
	return out
}
