package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"

	"github.com/claudehooks/claude-hooks-exporter/internal/checkpoint"
	"github.com/claudehooks/claude-hooks-exporter/internal/jaegertest"
	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/tracing"
)

// scopeName is the instrumentation scope the tracing sink puts on every span.
const scopeName = "github.com/claudehooks/claude-hooks-exporter/internal/tracing"

// jaegerEnv points the daemon's trace export at j over OTLP/HTTP, as a user would
// with the standard variables. The short batch delay only makes the test quicker;
// the test waits for the export either way.
func jaegerEnv(j *jaegertest.Jaeger) []string {
	return []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + j.OTLPHTTP,
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=100",
	}
}

// hookPayloads renders the hook payloads of one session: every event carries the
// session id, the cwd and, when promptID is not empty, the prompt id.
type hookPayloads struct {
	sessionID, promptID string
}

func (h hookPayloads) event(name, extra string) string {
	prompt := ""
	if h.promptID != "" {
		prompt = fmt.Sprintf(`,"prompt_id":%q`, h.promptID)
	}
	return fmt.Sprintf(`{"session_id":%q,"transcript_path":"/home/dev/.claude/projects/-src-app/%s.jsonl","cwd":"/src/app","permission_mode":"default","hook_event_name":%q%s%s}`,
		h.sessionID, h.sessionID, name, prompt, extra)
}

func (h hookPayloads) sessionEvent(name, extra string) string {
	h.promptID = ""
	return h.event(name, extra)
}

// tool renders a tool event; input is the tool_input object.
func (h hookPayloads) tool(name, tool, id, input, extra string) string {
	return h.event(name, fmt.Sprintf(`,"tool_name":%q,"tool_use_id":%q,"tool_input":%s%s`, tool, id, input, extra))
}

// receiveTimes reads the spool and returns the receive time of every record, keyed
// by hook_event_name, or hook_event_name/tool_use_id for events that carry one. The
// tracker times spans by these stamps, so they are what the spans must show.
func receiveTimes(tb testing.TB, spoolDir string) map[string]time.Time {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(spoolDir, "spool-*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			rec, err := spool.Decode(line)
			if err != nil {
				tb.Fatalf("spool record %q: %v", line, err)
			}
			var p struct {
				Name      string `json:"hook_event_name"`
				ToolUseID string `json:"tool_use_id"`
			}
			if err := json.Unmarshal(rec.Payload, &p); err != nil {
				tb.Fatalf("spool payload %q: %v", rec.Payload, err)
			}
			key := p.Name
			if p.ToolUseID != "" {
				key += "/" + p.ToolUseID
			}
			if _, dup := out[key]; dup {
				tb.Fatalf("two spool records for %s", key)
			}
			out[key] = time.Unix(0, rec.Received)
		}
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// histogram returns the sample count and sum of the histogram series of family
// name whose labels include match; ok is false when there is no such series.
func histogram(mfs map[string]*dto.MetricFamily, name string, match map[string]string) (count uint64, total float64, ok bool) {
	mf, found := mfs[name]
	if !found {
		return 0, 0, false
	}
outer:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		for k, v := range match {
			if labels[k] != v {
				continue outer
			}
		}
		if h := m.GetHistogram(); h != nil {
			count += h.GetSampleCount()
			total += h.GetSampleSum()
			ok = true
		}
	}
	return count, total, ok
}

// waitExported waits until the daemon reports at least n spans accepted by the
// backend, so that the trace read afterwards is complete.
func waitExported(tb testing.TB, d *daemon, n float64) {
	tb.Helper()
	var last float64
	waitFor(tb, 30*time.Second, fmt.Sprintf("%v spans exported", n), func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		last = sum(mfs, "claude_hooks_spans_exported_total", nil)
		if dropped := sum(mfs, "claude_hooks_spans_dropped_total", nil); dropped != 0 {
			return false, fmt.Errorf("%v spans dropped", dropped)
		}
		return last >= n, nil
	})
	if last != n {
		tb.Errorf("claude_hooks_spans_exported_total = %v, want %v", last, n)
	}
}

// spanView is what the tests compare of a span in Jaeger: times in microseconds,
// parent as a span id, and the tags the test asks about ("" for an absent tag).
type spanView struct {
	Name     string
	Parent   string
	Start    int64
	Duration int64
	Tags     map[string]string
}

// errorTags are compared on every span: absent on a span that succeeded, set from
// the span status and error.type on one that failed.
var errorTags = []string{"error", "otel.status_code", "otel.status_description", "error.type"}

// failed returns the error tags of a span whose status is ERROR with errType.
func failed(errType string) map[string]string {
	return map[string]string{"error": "true", "otel.status_code": "ERROR", "otel.status_description": errType, "error.type": errType}
}

// view projects a Jaeger span onto the tag keys of want plus the error tags.
func view(s jaegertest.Span, want map[string]string) spanView {
	all := jaegertest.TagMap(s.Tags)
	tags := map[string]string{}
	for k := range want {
		tags[k] = all[k]
	}
	for _, k := range errorTags {
		tags[k] = all[k]
	}
	return spanView{Name: s.OperationName, Parent: s.Parent(), Start: s.StartTime, Duration: s.Duration, Tags: tags}
}

// checkProcesses asserts that every span comes from the daemon's resource and
// instrumentation scope.
func checkProcesses(tb testing.TB, tr jaegertest.Trace) {
	tb.Helper()
	for _, s := range tr.Spans {
		proc, ok := tr.Processes[s.ProcessID]
		if !ok {
			tb.Errorf("span %q: process %q missing from the trace", s.OperationName, s.ProcessID)
			continue
		}
		ptags := jaegertest.TagMap(proc.Tags)
		if proc.ServiceName != tracing.ServiceName || ptags["telemetry.distro.name"] != tracing.DistroName {
			tb.Errorf("span %q: process = %+v, want service %s from %s", s.OperationName, proc, tracing.ServiceName, tracing.DistroName)
		}
		if got := jaegertest.TagMap(s.Tags)["otel.scope.name"]; got != scopeName {
			tb.Errorf("span %q: otel.scope.name = %q, want %q", s.OperationName, got, scopeName)
		}
	}
}

// TestDaemonExportsToJaeger: a scripted session goes through the real hook binary
// into the daemon, which exports it over OTLP/HTTP to a real Jaeger v2; the trace
// read back from Jaeger's query API has the tracker's span tree, times, GenAI
// attributes, error statuses and resource.
func TestDaemonExportsToJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	d := startDaemon(t, t.TempDir(), jaegerEnv(j))

	const (
		sid     = "3f6b2d1e-8c4a-4b7e-9d2f-6a1c5e8b0d47"
		prompt  = "9e2c4a7b-1d3f-4e5a-8b6c-0f2d4e6a8c13"
		agentID = "a7c3e1f5d9b2a468"
		model   = "claude-opus-4-6"
	)
	h := hookPayloads{sessionID: sid, promptID: prompt}
	bash := `{"command":"go test ./...","description":"Run the tests"}`
	read := `{"file_path":"/src/app/missing.go"}`
	write := `{"file_path":"/src/app/main.go","content":"package main\n"}`
	grep := `{"pattern":"func main","path":"/src/app"}`
	mcp := `{"owner":"acme","repo":"app","title":"Flaky test"}`
	agent := fmt.Sprintf(`,"agent_id":%q,"agent_type":"Explore"`, agentID)
	hookEvents(t, d.spoolDir,
		h.sessionEvent("SessionStart", fmt.Sprintf(`,"source":"startup","model":%q`, model)),
		h.event("UserPromptSubmit", `,"prompt":"run the tests and file an issue"`),
		h.tool("PreToolUse", "Bash", "toolu_bash", bash, ""),
		h.tool("PostToolUse", "Bash", "toolu_bash", bash, `,"tool_response":{"stdout":"ok","stderr":""},"duration_ms":250`),
		h.tool("PreToolUse", "Read", "toolu_read", read, ""),
		h.tool("PostToolUseFailure", "Read", "toolu_read", read, `,"error":"File does not exist.","is_interrupt":false,"duration_ms":12`),
		h.tool("PreToolUse", "Write", "toolu_write", write, ""),
		h.event("PermissionRequest", `,"tool_name":"Write","tool_input":`+write),
		h.tool("PermissionDenied", "Write", "toolu_write", write, `,"reason":"User denied"`),
		h.event("SubagentStart", agent),
		h.tool("PreToolUse", "Grep", "toolu_grep", grep, agent),
		h.tool("PostToolUse", "Grep", "toolu_grep", grep, `,"tool_response":{"numFiles":1},"duration_ms":150`+agent),
		h.event("SubagentStop", `,"stop_hook_active":false,"last_assistant_message":"main is in main.go"`+agent),
		h.tool("PreToolUse", "mcp__github__create_issue", "toolu_mcp", mcp, ""),
		h.tool("PostToolUse", "mcp__github__create_issue", "toolu_mcp", mcp, `,"tool_response":{"number":42},"duration_ms":900`),
		h.event("Stop", `,"stop_hook_active":false`),
		h.sessionEvent("SessionEnd", `,"reason":"prompt_input_exit"`),
	)

	const spans = 9
	waitExported(t, d, spans)
	traceID := tracing.TraceID(sid).String()
	tr := j.Trace(t, traceID, spans)
	if len(tr.Spans) != spans {
		t.Errorf("trace has %d spans, want %d", len(tr.Spans), spans)
	}

	at := receiveTimes(t, d.spoolDir)
	id := func(key string) string { return tracing.SpanID(sid, key).String() }
	// span builds the wanted view of a span that ran from start to end.
	span := func(name, parentKey string, start, end time.Time, tags map[string]string, errTags map[string]string) spanView {
		v := spanView{Name: name, Start: start.UnixMicro(), Duration: end.Sub(start).Microseconds(), Tags: map[string]string{}}
		if parentKey != "" {
			v.Parent = id(parentKey)
		}
		for k, val := range tags {
			v.Tags[k] = val
		}
		for _, k := range errorTags {
			v.Tags[k] = errTags[k]
		}
		return v
	}
	// tool is a tool call's span: it ends when its end event was received and
	// starts duration_ms before (the time Claude Code says the tool ran).
	tool := func(name, callID, endEvent string, ms int, parentKey string, extra map[string]string, errTags map[string]string) spanView {
		end := at[endEvent+"/"+callID]
		tags := map[string]string{
			"gen_ai.operation.name":  "execute_tool",
			"gen_ai.tool.name":       name,
			"gen_ai.tool.type":       "function",
			"gen_ai.tool.call.id":    callID,
			"gen_ai.conversation.id": sid,
			"session.id":             sid,
			"prompt.id":              prompt,
			"span.kind":              "internal",
		}
		for k, v := range extra {
			tags[k] = v
		}
		start := end.Add(-time.Duration(ms) * time.Millisecond)
		if ms < 0 { // no duration_ms: the call ran from its PreToolUse
			start = at["PreToolUse/"+callID]
		}
		return span("execute_tool "+name, parentKey, start, end, tags, errTags)
	}
	turnKey, agentKey := "turn:"+prompt, "agent:"+agentID
	want := map[string]spanView{
		id("session"): span("invoke_agent claude-code", "", at["SessionStart"], at["SessionEnd"], map[string]string{
			"gen_ai.operation.name":          "invoke_agent",
			"gen_ai.provider.name":           "anthropic",
			"gen_ai.agent.name":              "claude-code",
			"gen_ai.conversation.id":         sid,
			"session.id":                     sid,
			"gen_ai.request.model":           model,
			"claude_code.session.source":     "startup",
			"claude_code.session.end_reason": "prompt_input_exit",
			"claude_code.cwd":                "/src/app",
			"claude_code.turns":              "1",
			"claude_code.tool_calls":         "5",
			"span.kind":                      "internal",
		}, nil),
		id(turnKey): span("turn", "session", at["UserPromptSubmit"], at["Stop"], map[string]string{
			"gen_ai.conversation.id": sid,
			"session.id":             sid,
			"prompt.id":              prompt,
			"span.kind":              "internal",
		}, nil),
		id("tool:toolu_bash"): tool("Bash", "toolu_bash", "PostToolUse", 250, turnKey,
			map[string]string{"claude_code.command.name": "go"}, nil),
		id("tool:toolu_read"): tool("Read", "toolu_read", "PostToolUseFailure", 12, turnKey,
			map[string]string{"file.path": "/src/app/missing.go"}, failed("not_found")),
		id("perm:1"): span("permission_wait Write", turnKey, at["PermissionRequest"], at["PermissionDenied/toolu_write"], map[string]string{
			"gen_ai.tool.name":              "Write",
			"gen_ai.conversation.id":        sid,
			"session.id":                    sid,
			"prompt.id":                     prompt,
			"claude_code.permission.source": "request",
			"span.kind":                     "internal",
		}, failed("denied")),
		id("tool:toolu_write"): tool("Write", "toolu_write", "PermissionDenied", -1, turnKey,
			map[string]string{"file.path": "/src/app/main.go"}, failed("denied")),
		id(agentKey): span("invoke_agent Explore", turnKey, at["SubagentStart"], at["SubagentStop"], map[string]string{
			"gen_ai.operation.name":  "invoke_agent",
			"gen_ai.provider.name":   "anthropic",
			"gen_ai.agent.name":      "Explore",
			"gen_ai.agent.id":        agentID,
			"gen_ai.conversation.id": sid,
			"session.id":             sid,
			"prompt.id":              prompt,
			"span.kind":              "internal",
		}, nil),
		id("tool:toolu_grep"): tool("Grep", "toolu_grep", "PostToolUse", 150, agentKey,
			map[string]string{"gen_ai.agent.id": agentID, "file.path": "/src/app"}, nil),
		id("tool:toolu_mcp"): tool("mcp__github__create_issue", "toolu_mcp", "PostToolUse", 900, turnKey,
			map[string]string{"gen_ai.tool.type": "extension", "claude_code.mcp.server": "github"}, nil),
	}
	got := map[string]spanView{}
	for _, s := range tr.Spans {
		if s.TraceID != traceID {
			t.Errorf("span %q has trace id %s, want %s", s.OperationName, s.TraceID, traceID)
		}
		if _, dup := got[s.SpanID]; dup {
			t.Errorf("span id %s (%q) appears twice", s.SpanID, s.OperationName)
		}
		got[s.SpanID] = view(s, want[s.SpanID].Tags)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans in Jaeger by span id (names, parents, times in µs, tags) (-want +got):\n%s", diff)
	}
	checkProcesses(t, tr)
}

// ingestApplied reads the checkpoint the daemon last wrote and returns how many
// events its state covers (the pipeline's ingest state); ok is false when there
// is no checkpoint yet.
func ingestApplied(path string) (applied uint64, ok bool, err error) {
	cp, ok, err := checkpoint.Load(path)
	if err != nil || !ok {
		return 0, ok, err
	}
	raw, found := cp.State["ingest"]
	if !found {
		return 0, false, fmt.Errorf("checkpoint %s has no ingest state", path)
	}
	var st struct {
		Applied uint64 `json:"applied"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return 0, false, fmt.Errorf("checkpoint %s: ingest state: %w", path, err)
	}
	return st.Applied, true, nil
}

// TestRestartBetweenPreAndPost is the acceptance test for a crash inside a tool
// call: the daemon is killed with SIGKILL after it checkpointed a PreToolUse and
// before the PostToolUse arrives. After a restart the trace holds one complete
// tool span with the payload's duration, and the histogram counted the call once.
func TestRestartBetweenPreAndPost(t *testing.T) {
	j := jaegertest.Start(t)
	state := t.TempDir()
	d := startDaemon(t, state, jaegerEnv(j))

	const (
		sid    = "c2a8e4f6-0b1d-4c3e-a5f7-9d2b4c6e8a10"
		prompt = "5b7d9f1a-3c5e-4a7b-9c1d-2e4f6a8b0c35"
		callID = "toolu_01KillBetweenPreAndPost"
	)
	h := hookPayloads{sessionID: sid, promptID: prompt}
	bash := `{"command":"make build","description":"Build"}`
	hookEvents(t, d.spoolDir,
		h.sessionEvent("SessionStart", `,"source":"startup","model":"claude-opus-4-6"`),
		h.event("UserPromptSubmit", `,"prompt":"build it"`),
		h.tool("PreToolUse", "Bash", callID, bash, ""),
	)
	waitFor(t, 20*time.Second, "3 events applied", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		return sum(mfs, "claude_hooks_events_total", nil) == 3, nil
	})
	// The checkpoint is written with the tracker state and the tail offsets
	// together: once it covers the three events, the open call is persisted and
	// the restarted daemon will not read them again.
	cpPath := filepath.Join(state, "checkpoint.json")
	var applied uint64
	waitFor(t, 20*time.Second, "a checkpoint covering 3 events", func() (bool, error) {
		n, ok, err := ingestApplied(cpPath)
		applied = n
		return ok && n == 3, err
	})
	d.kill()

	hookEvents(t, d.spoolDir,
		h.tool("PostToolUse", "Bash", callID, bash, `,"tool_response":{"stdout":"built","stderr":""},"duration_ms":1500`),
		h.event("Stop", `,"stop_hook_active":false`),
		h.sessionEvent("SessionEnd", `,"reason":"prompt_input_exit"`),
	)
	d.start()

	var mfs map[string]*dto.MetricFamily
	// SessionEnd is the last event written: once it is applied, so is the rest.
	waitFor(t, 20*time.Second, "SessionEnd applied after the restart", func() (bool, error) {
		var err error
		mfs, err = d.metrics()
		if err != nil {
			return false, err
		}
		return sum(mfs, "claude_hooks_events_total", map[string]string{"event": "SessionEnd"}) >= 1, nil
	})
	if got := sum(mfs, "claude_hooks_events_total", nil); got != 6 {
		t.Errorf("claude_hooks_events_total = %v after the restart, want 6 (the checkpoint covered %d)", got, applied)
	}
	if got := sum(mfs, "claude_hooks_records_applied_total", nil); got != 6 {
		t.Errorf("claude_hooks_records_applied_total = %v after the restart, want 6 (the checkpoint covered %d)", got, applied)
	}
	if n, s, ok := histogram(mfs, "claude_hooks_tool_duration_seconds", map[string]string{"tool": "Bash"}); !ok || n != 1 || s != 1.5 {
		t.Errorf("claude_hooks_tool_duration_seconds{tool=Bash}: count %d sum %v (present %v), want count 1 sum 1.5", n, s, ok)
	}
	if got := sum(mfs, "claude_hooks_tool_calls_total", map[string]string{"tool": "Bash", "outcome": "success"}); got != 1 {
		t.Errorf(`claude_hooks_tool_calls_total{tool="Bash",outcome="success"} = %v, want 1`, got)
	}
	if got := sum(mfs, "claude_hooks_tool_calls_total", nil); got != 1 {
		t.Errorf("claude_hooks_tool_calls_total sums to %v, want 1", got)
	}

	// The tool span, its turn and the session root close after the restart. The
	// turn and the root start at events the first daemon applied: their times
	// show that the tracker state came back from the checkpoint.
	waitExported(t, d, 3)
	traceID := tracing.TraceID(sid).String()
	tr := j.Trace(t, traceID, 3)
	var tools []jaegertest.Span
	for _, s := range tr.Spans {
		if s.OperationName == "execute_tool Bash" {
			tools = append(tools, s)
		}
	}
	if len(tools) != 1 {
		t.Errorf("%d execute_tool Bash spans, want exactly 1", len(tools))
	}
	at := receiveTimes(t, d.spoolDir)
	id := func(key string) string { return tracing.SpanID(sid, key).String() }
	noError := map[string]string{}
	for _, k := range errorTags {
		noError[k] = ""
	}
	with := func(tags map[string]string) map[string]string {
		for k, v := range noError {
			tags[k] = v
		}
		return tags
	}
	end := at["PostToolUse/"+callID]
	want := map[string]spanView{
		id("session"): {
			Name: "invoke_agent claude-code", Start: at["SessionStart"].UnixMicro(),
			Duration: at["SessionEnd"].Sub(at["SessionStart"]).Microseconds(),
			Tags:     with(map[string]string{"claude_code.tool_calls": "1", "claude_code.turns": "1"}),
		},
		id("turn:" + prompt): {
			Name: "turn", Parent: id("session"), Start: at["UserPromptSubmit"].UnixMicro(),
			Duration: at["Stop"].Sub(at["UserPromptSubmit"]).Microseconds(),
			Tags:     with(map[string]string{"prompt.id": prompt}),
		},
		id("tool:" + callID): {
			Name: "execute_tool Bash", Parent: id("turn:" + prompt),
			Start: end.Add(-1500 * time.Millisecond).UnixMicro(), Duration: 1_500_000,
			Tags: with(map[string]string{"gen_ai.tool.call.id": callID, "gen_ai.tool.name": "Bash", "session.id": sid, "prompt.id": prompt}),
		},
	}
	got := map[string]spanView{}
	for _, s := range tr.Spans {
		if _, dup := got[s.SpanID]; dup {
			t.Errorf("span id %s (%q) appears twice", s.SpanID, s.OperationName)
		}
		got[s.SpanID] = view(s, want[s.SpanID].Tags)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans in Jaeger by span id (names, parents, times in µs, tags) (-want +got):\n%s", diff)
	}
	checkProcesses(t, tr)
}
