package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// mixedStream decodes a realistic stream: sessions of three turns each with
// reads, a Bash call behind a permission prompt, an MCP call, a subagent with
// its own tool calls, streamed message events and notifications, several
// sessions interleaved. Events alias their own payloads.
func mixedStream(tb testing.TB, sessions, interleave int) []hookevent.Event {
	tb.Helper()
	perSession := make([][]string, sessions)
	for i := range sessions {
		sid := fmt.Sprintf("5f0c2a9e-3b7d-4c41-9e62-%012d", i)
		common := fmt.Sprintf(`"session_id":%q,"transcript_path":"/home/dev/.claude/projects/-home-dev-src-acme-api/%s.jsonl","cwd":"/home/dev/src/acme-api","permission_mode":"default"`, sid, sid)
		var evs []string
		add := func(format string, args ...any) { evs = append(evs, "{"+common+","+fmt.Sprintf(format, args...)+"}") }
		add(`"hook_event_name":"SessionStart","source":"startup","model":"claude-opus-4-6"`)
		for turn := range 3 {
			p := fmt.Sprintf(`"prompt_id":"0b8e4f3a-6c2d-4e1f-a9b7-%012d"`, i*10+turn)
			tu := func(n int) string { return fmt.Sprintf("toolu_%d_%d_%d", i, turn, n) }
			add(`%s,"hook_event_name":"UserPromptSubmit","prompt":"Run the test suite and fix any failing tests in src/billing, then summarise"`, p)
			for n := range 2 {
				add(`%s,"hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/home/dev/src/acme-api/src/billing/f%d.ts"},"tool_use_id":%q`, p, n, tu(n))
				add(`%s,"hook_event_name":"PostToolUse","tool_name":"Read","tool_input":{"file_path":"/home/dev/src/acme-api/src/billing/f%d.ts"},"tool_response":{"type":"text","file":{"content":"export function vat(v: number) {\n  return Math.round(v * 100) / 100;\n}\n","numLines":3}},"tool_use_id":%q,"duration_ms":3`, p, n, tu(n))
			}
			add(`%s,"hook_event_name":"MessageDisplay","turn_id":"t","message_id":"m","index":0,"final":false,"delta":"I'll run the tests."`, p)
			add(`%s,"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"npm test -- src/billing","description":"Run billing tests"},"tool_use_id":%q`, p, tu(2))
			add(`%s,"hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"npm test -- src/billing","description":"Run billing tests"}`, p)
			add(`%s,"hook_event_name":"Notification","message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"`, p)
			add(`%s,"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"npm test -- src/billing"},"tool_response":{"stdout":"PASS src/billing/invoice.test.ts\nTests: 14 passed","stderr":"","interrupted":false},"tool_use_id":%q,"duration_ms":3912`, p, tu(2))
			add(`%s,"hook_event_name":"PreToolUse","tool_name":"mcp__github__search_repositories","tool_input":{"query":"acme-api billing"},"tool_use_id":%q`, p, tu(3))
			add(`%s,"hook_event_name":"PostToolUse","tool_name":"mcp__github__search_repositories","tool_input":{"query":"acme-api billing"},"tool_response":{"total_count":2},"tool_use_id":%q,"duration_ms":1180`, p, tu(3))
			agent := fmt.Sprintf("a%015d", i*10+turn)
			add(`%s,"hook_event_name":"PreToolUse","tool_name":"Agent","tool_input":{"description":"Find call sites","prompt":"Find every call site of vat()","subagent_type":"Explore"},"tool_use_id":%q`, p, tu(4))
			add(`%s,"hook_event_name":"SubagentStart","agent_id":%q,"agent_type":"Explore"`, p, agent)
			for n := 5; n < 7; n++ {
				add(`%s,"agent_id":%q,"agent_type":"Explore","hook_event_name":"PreToolUse","tool_name":"Grep","tool_input":{"pattern":"vat\\(","path":"/home/dev/src/acme-api/src"},"tool_use_id":%q`, p, agent, tu(n))
				add(`%s,"agent_id":%q,"agent_type":"Explore","hook_event_name":"PostToolUse","tool_name":"Grep","tool_input":{"pattern":"vat\\(","path":"/home/dev/src/acme-api/src"},"tool_response":{"numFiles":3},"tool_use_id":%q,"duration_ms":150`, p, agent, tu(n))
			}
			add(`%s,"hook_event_name":"SubagentStop","agent_id":%q,"agent_type":"Explore","last_assistant_message":"Found 3 call sites."`, p, agent)
			add(`%s,"hook_event_name":"PostToolUse","tool_name":"Agent","tool_input":{"description":"Find call sites"},"tool_response":{"status":"completed","totalTokens":18342},"tool_use_id":%q,"duration_ms":48230`, p, tu(4))
			add(`%s,"hook_event_name":"MessageDisplay","turn_id":"t","message_id":"m","index":1,"final":true,"delta":"All tests pass."`, p)
			add(`%s,"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"All billing tests pass now."`, p)
			add(`%s,"hook_event_name":"Notification","message":"Claude is waiting for your input","notification_type":"idle_prompt"`, p)
		}
		add(`"hook_event_name":"SessionEnd","reason":"prompt_input_exit"`)
		perSession[i] = evs
	}
	var out []hookevent.Event
	clock := base
	for start := 0; start < sessions; start += interleave {
		group := perSession[start:min(start+interleave, sessions)]
		for n := 0; ; n++ {
			any := false
			for _, evs := range group {
				if n >= len(evs) {
					continue
				}
				any = true
				ev, err := hookevent.Decode([]byte(evs[n]))
				if err != nil {
					tb.Fatalf("decode %s: %v", evs[n], err)
				}
				clock = clock.Add(150 * time.Millisecond)
				ev.Received = clock
				out = append(out, ev)
			}
			if !any {
				break
			}
		}
	}
	return out
}

func BenchmarkApply(b *testing.B) {
	stream := mixedStream(b, 400, 8)
	tr := New(Options{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(stream) {
			i, tr = 0, New(Options{})
		}
		tr.Apply(&stream[i])
		i++
	}
}

func BenchmarkMarshalState(b *testing.B) {
	stream := mixedStream(b, 64, 64)
	tr := New(Options{})
	for i := range len(stream) / 2 {
		tr.Apply(&stream[i])
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		st, err := tr.MarshalState()
		if err != nil {
			b.Fatal(err)
		}
		size = len(st)
	}
	b.ReportMetric(float64(size), "state-bytes")
}
