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
	"github.com/claudehooks/claude-hooks-exporter/internal/pricing"
	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

//go:embed testdata/*.jsonl
var files embed.FS

// Base is the receive time of offset zero in the scripts.
var Base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Scripts are the scripted sessions, one session each: "current" (every event
// of the current hook set, ended), "expiry" (a session left idle until the
// tracker expires it, with a secret in a command) and "cjk" (Japanese and
// Chinese text, a subagent, failures; still active). Each also carries token
// usage as the transcript follower reports it: in a turn, in a subagent, and
// (current, cjk) after the turn closed.
var Scripts = []string{"current", "expiry", "cjk"}

// Session ids of the scripts.
const (
	SessionCurrent = "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"
	SessionExpiry  = "c41d9b2e-0f57-4e3a-8c6d-2b9a7e5f1d03"
	SessionCJK     = "9d3e7c41-2a6b-4f80-b5d9-61c0e8a4f2b7"
)

// Step is one line of a script: an event (nil for an expiry or usage), the
// spans the tracker closed while applying it and the summaries of the
// sessions it changed.
type Step struct {
	Event    *hookevent.Event
	Spans    []session.Span
	Sessions []timeline.Summary
}

type line struct {
	at     time.Time
	ev     *hookevent.Event
	expire bool
	usage  *transcript.Usage
	order  int
}

// usageLine is the "usage" member of a script line.
type usageLine struct {
	SessionID     string `json:"session_id"`
	AgentID       string `json:"agent_id"`
	PromptID      string `json:"prompt_id"`
	Model         string `json:"model"`
	MessageID     string `json:"message_id"`
	Input         int64  `json:"input"`
	Output        int64  `json:"output"`
	CacheRead     int64  `json:"cache_read"`
	CacheCreation int64  `json:"cache_creation"`
}

// pricesYAML is the price table of Run (when opts has none): fixed here, so
// that the goldens do not follow changes of the shipped table.
const pricesYAML = `models:
  claude-opus-4:   {input: 5, output: 25, cache_read: 0.50, cache_write: 6.25, cache_write_1h: 10}
  claude-sonnet-4: {input: 3, output: 15, cache_read: 0.30, cache_write: 3.75, cache_write_1h: 6}
  claude-haiku-4:  {input: 1, output: 5,  cache_read: 0.10, cache_write: 1.25, cache_write_1h: 2}
`

// Events decodes a script's events without applying them. Lines are {"t":
// seconds, "p": payload}, {"t": seconds, "expire": true} or {"t": seconds,
// "usage": {...}} (a transcript usage change, see usageLine); a bare payload
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
			Usage  *usageLine      `json:"usage"`
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
		if u := l.Usage; u != nil {
			st.usage = &transcript.Usage{
				SessionID: u.SessionID, AgentID: u.AgentID, PromptID: u.PromptID, Model: u.Model, MessageID: u.MessageID,
				Input: u.Input, Output: u.Output, CacheRead: u.CacheRead, CacheCreation: u.CacheCreation,
			}
		}
		if !l.Expire && l.Usage == nil {
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
// Without opts.Prices, usage is priced at a fixed test table (the list prices
// of the Claude 4 families).
func Run(tb testing.TB, opts session.Options, names ...string) []Step {
	tb.Helper()
	if len(names) == 0 {
		names = Scripts
	}
	if opts.Prices == nil {
		p, err := pricing.Parse([]byte(pricesYAML))
		if err != nil {
			tb.Fatalf("test price table: %v", err)
		}
		opts.Prices = p
	}
	var lines []line
	for i, name := range names {
		lines = append(lines, load(tb, name, i)...)
	}
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	tr := session.New(opts)
	steps := make([]Step, 0, len(lines))
	for _, l := range lines {
		if l.usage != nil {
			tr.ApplyUsage(*l.usage) // emits no spans
			steps = append(steps, Step{Sessions: tr.TakeSummaries(nil)})
			continue
		}
		if l.expire {
			sp := tr.Expire(l.at)
			steps = append(steps, Step{Spans: sp, Sessions: tr.TakeSummaries(nil)})
			continue
		}
		sp := tr.Apply(l.ev)
		steps = append(steps, Step{Event: l.ev, Spans: sp, Sessions: tr.TakeSummaries(nil)})
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
		cur.Sessions = append(cur.Sessions, st.Sessions...)
	}
	if len(cur.Events) > 0 || len(cur.Spans) > 0 || len(cur.Sessions) > 0 {
		out = append(out, cur)
	}
	return out
}
