package hookevent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// bytesAsText compares byte slices as text: fast for large bodies, readable in
// diffs, and nil equals empty.
var bytesAsText = cmp.Transformer("text", func(b []byte) string { return string(b) })

// sampleFiles are copies of the shared Claude Code samples, one payload a line.
var sampleFiles = []string{"events-current.jsonl", "events-variants.jsonl", "events-2.1.337.jsonl"}

// readSamples returns every payload line of the sample files, in order.
func readSamples(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, name := range sampleFiles {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				out = append(out, bytes.Clone(sc.Bytes()))
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			tb.Fatalf("read %s: %v", name, err)
		}
	}
	if len(out) == 0 {
		tb.Fatal("no samples")
	}
	return out
}

// goldenEvent is what a golden file holds: the Event plus the aliased byte fields.
type goldenEvent struct {
	Event
	ToolInput       string `json:"tool_input,omitempty"`
	ToolResponse    string `json:"tool_response,omitempty"`
	ToolResponseLen int    `json:"tool_response_len,omitempty"`
	RawLen          int    `json:"raw_len"`
}

func TestDecodeGolden(t *testing.T) {
	samples := readSamples(t)
	want := map[string]bool{}
	for n, payload := range samples {
		ev, err := Decode(payload)
		if err != nil {
			t.Fatalf("sample %d: %v", n+1, err)
		}
		checkInvariants(t, payload, ev)
		name := fmt.Sprintf("%02d-%s.golden", n+1, ev.Name)
		want[name] = true
		t.Run(strings.TrimSuffix(name, ".golden"), func(t *testing.T) {
			got, err := json.MarshalIndent(goldenEvent{
				Event:           ev,
				ToolInput:       string(ev.ToolInput),
				ToolResponse:    string(ev.ToolResponse),
				ToolResponseLen: len(ev.ToolResponse),
				RawLen:          len(ev.Raw),
			}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantText, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(wantText), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
	// A golden file no sample produces is stale.
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[filepath.Base(f)] {
			if *update {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("stale golden file %s", f)
		}
	}
}

// TestKnownEvents pins KnownEvents to the events of the samples: the current
// sample file holds one payload per documented event, the 2.1.337 file adds the
// four events that release brought (the real CLI's suite, internal/claudecli,
// checks that it sends no other).
func TestKnownEvents(t *testing.T) {
	if len(KnownEvents) != 35 {
		t.Errorf("len(KnownEvents) = %d, want 35", len(KnownEvents))
	}
	var names []string
	for _, payload := range readSamples(t) {
		ev, err := Decode(payload)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(names, ev.Name) {
			names = append(names, ev.Name)
		}
	}
	slices.Sort(names)
	sorted := slices.Sorted(slices.Values(KnownEvents))
	if diff := cmp.Diff(names, sorted); diff != "" {
		t.Errorf("KnownEvents differ from events-current.jsonl (-samples +KnownEvents):\n%s", diff)
	}
	for _, name := range KnownEvents {
		if !IsKnown(name) {
			t.Errorf("IsKnown(%q) = false", name)
		}
	}
	for _, name := range []string{"", "Bash", "sessionstart", "SessionStart ", "FutureEvent"} {
		if IsKnown(name) {
			t.Errorf("IsKnown(%q) = true", name)
		}
	}
}

func TestSplitMCP(t *testing.T) {
	tests := []struct {
		tool, server, name string
		ok                 bool
	}{
		{"mcp__github__search_repositories", "github", "search_repositories", true},
		{"mcp__plugin_acme_jira__create_issue", "plugin_acme_jira", "create_issue", true},
		{"mcp__srv__tool__with__underscores", "srv", "tool__with__underscores", true},
		{"mcp__github", "", "", false},
		{"mcp____tool", "", "", false},
		{"mcp__github__", "", "", false},
		{"Bash", "", "", false},
		{"MCP__github__x", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			server, name, ok := SplitMCP(tt.tool)
			if server != tt.server || name != tt.name || ok != tt.ok {
				t.Errorf("SplitMCP(%q) = %q, %q, %v; want %q, %q, %v", tt.tool, server, name, ok, tt.server, tt.name, tt.ok)
			}
			if IsMCP(tt.tool) != tt.ok {
				t.Errorf("IsMCP(%q) = %v, want %v", tt.tool, !tt.ok, tt.ok)
			}
		})
	}
}

// decodeTest is one edge case: a payload and its Event, or the error it must give.
type decodeTest struct {
	name    string
	payload string
	want    Event
	wantErr error
}

// decodeTests are the edge cases of TestDecode; the small ones also seed FuzzDecode.
func decodeTests() []decodeTest {
	// encoding/json's depth limit is 10000 containers, the payload's own
	// object and tool_input included.
	deepArray := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObject := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	return []decodeTest{
		{
			name: "pretty printed with newlines",
			payload: "{\n  \"session_id\": \"s1\",\n  \"hook_event_name\": \"PostToolUse\",\n" +
				"  \"tool_name\": \"Bash\",\n  \"tool_input\": {\n    \"command\": \"ls -la\"\n  },\n" +
				"  \"tool_response\": {\n    \"stdout\": \"a\\nb\"\n  },\n  \"duration_ms\": 7\n}\n",
			want: Event{
				Name: "PostToolUse", SessionID: "s1", ToolName: "Bash", Command: "ls -la",
				Outcome: OutcomeSuccess, DurationMS: 7, HasDuration: true,
				ToolInput:    []byte("{\n    \"command\": \"ls -la\"\n  }"),
				ToolResponse: []byte("{\n    \"stdout\": \"a\\nb\"\n  }"),
			},
		},
		{
			name:    "crlf and tabs",
			payload: "\r\n\t{\t\"hook_event_name\"\r\n:\t\"Stop\" \r\n}\r\n",
			want:    Event{Name: "Stop"},
		},
		{
			name:    "unknown event and fields kept",
			payload: `{"session_id":"s1","hook_event_name":"FutureEvent","new_field":{"x":[1,2,{"y":null}]},"flag":true}`,
			want:    Event{Name: "FutureEvent", SessionID: "s1"},
		},
		{
			name: "unknown fields of every type before the name",
			payload: `{"a":[],"b":{},"c":[[],{}],"d":-1.5e+3,"e":0,"f":false,"g":null,"h":"\u00e9",` +
				`"hook_event_name":"Stop","session_id":"s1"}`,
			want: Event{Name: "Stop", SessionID: "s1"},
		},
		{
			name: "2025 payload without ids",
			payload: `{"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/w","hook_event_name":"PreToolUse",` +
				`"tool_name":"Bash","tool_input":{"command":"make"}}`,
			want: Event{
				Name: "PreToolUse", SessionID: "s1", TranscriptPath: "/t.jsonl", CWD: "/w",
				ToolName: "Bash", Command: "make", ToolInput: []byte(`{"command":"make"}`),
			},
		},
		{
			name:    "missing session_id accepted",
			payload: `{"hook_event_name":"Notification","message":"hi"}`,
			want:    Event{Name: "Notification", Message: "hi"},
		},
		{
			name:    "mcp tool",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"mcp__github__search_repositories","tool_input":{}}`,
			want: Event{
				Name: "PreToolUse", ToolName: "mcp__github__search_repositories",
				MCPServer: "github", MCPTool: "search_repositories", ToolInput: []byte(`{}`),
			},
		},
		{
			name:    "mcp plugin tool",
			payload: `{"hook_event_name":"PostToolUse","tool_name":"mcp__plugin_acme_jira__create_issue"}`,
			want: Event{
				Name: "PostToolUse", ToolName: "mcp__plugin_acme_jira__create_issue",
				MCPServer: "plugin_acme_jira", MCPTool: "create_issue", Outcome: OutcomeSuccess,
			},
		},
		{
			name:    "malformed mcp name is a plain tool",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"mcp__github"}`,
			want:    Event{Name: "PreToolUse", ToolName: "mcp__github"},
		},
		{
			name:    "elicitation server",
			payload: `{"hook_event_name":"Elicitation","mcp_server_name":"jira","message":"Key?"}`,
			want:    Event{Name: "Elicitation", MCPServer: "jira", Message: "Key?"},
		},
		{
			name: "error as object is kept as compact JSON",
			payload: "{\"hook_event_name\": \"PostToolUseFailure\", \"tool_name\": \"Bash\",\n" +
				"  \"error\": { \"code\" : 1,\n \"msg\": \"a b\\\"c\",\n \"l\": [ 1, 2 ] }}",
			want: Event{
				Name: "PostToolUseFailure", ToolName: "Bash", Outcome: OutcomeFailure,
				Error: `{"code":1,"msg":"a b\"c","l":[1,2]}`,
			},
		},
		{
			name:    "error as number",
			payload: `{"hook_event_name":"StopFailure","error":529}`,
			want:    Event{Name: "StopFailure", Outcome: OutcomeFailure, Error: "529"},
		},
		{
			name:    "error null",
			payload: `{"hook_event_name":"StopFailure","error":null}`,
			want:    Event{Name: "StopFailure", Outcome: OutcomeFailure},
		},
		{
			name:    "stop failure",
			payload: `{"hook_event_name":"StopFailure","error":"rate_limit","error_details":"429"}`,
			want:    Event{Name: "StopFailure", Outcome: OutcomeFailure, Error: "rate_limit"},
		},
		{
			name:    "interrupted tool",
			payload: `{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","error":"Interrupted","is_interrupt":true,"duration_ms":12}`,
			want: Event{
				Name: "PostToolUseFailure", ToolName: "Bash", Outcome: OutcomeInterrupted,
				Error: "Interrupted", DurationMS: 12, HasDuration: true,
			},
		},
		{
			name:    "is_interrupt before the name",
			payload: `{"is_interrupt":true,"hook_event_name":"PostToolUseFailure"}`,
			want:    Event{Name: "PostToolUseFailure", Outcome: OutcomeInterrupted},
		},
		{
			name:    "is_interrupt not a bool",
			payload: `{"is_interrupt":"true","hook_event_name":"PostToolUseFailure"}`,
			want:    Event{Name: "PostToolUseFailure", Outcome: OutcomeFailure},
		},
		{
			name:    "permission denied reason is the error",
			payload: `{"hook_event_name":"PermissionDenied","tool_name":"Bash","reason":"Blocked by classifier"}`,
			want: Event{
				Name: "PermissionDenied", ToolName: "Bash", Outcome: OutcomeDenied,
				Error: "Blocked by classifier",
			},
		},
		{
			name:    "session end reason",
			payload: `{"hook_event_name":"SessionEnd","reason":"logout"}`,
			want:    Event{Name: "SessionEnd", Reason: "logout"},
		},
		{
			name:    "duration as float",
			payload: `{"hook_event_name":"PostToolUse","duration_ms":12.75}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess, DurationMS: 12.75, HasDuration: true},
		},
		{
			name:    "duration with exponent",
			payload: `{"hook_event_name":"PostToolUse","duration_ms":1.5E3}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess, DurationMS: 1500, HasDuration: true},
		},
		{
			name:    "duration zero is present",
			payload: `{"hook_event_name":"PostToolUse","duration_ms":0}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess, HasDuration: true},
		},
		{
			name:    "duration as string is absent",
			payload: `{"hook_event_name":"PostToolUse","duration_ms":"12"}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess},
		},
		{
			name:    "duration overflowing float64 is absent",
			payload: `{"hook_event_name":"PostToolUse","duration_ms":1e400}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess},
		},
		{
			name:    "file path from notebook_path",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"NotebookEdit","tool_input":{"notebook_path":"/n.ipynb"}}`,
			want: Event{
				Name: "PreToolUse", ToolName: "NotebookEdit", FilePath: "/n.ipynb",
				ToolInput: []byte(`{"notebook_path":"/n.ipynb"}`),
			},
		},
		{
			name:    "file_path wins over path and the event's own",
			payload: `{"file_path":"/own","hook_event_name":"PreToolUse","tool_name":"X","tool_input":{"path":"/p","file_path":"/f"}}`,
			want: Event{
				Name: "PreToolUse", ToolName: "X", FilePath: "/f",
				ToolInput: []byte(`{"path":"/p","file_path":"/f"}`),
			},
		},
		{
			name:    "event's own file_path",
			payload: `{"hook_event_name":"FileChanged","file_path":"/w/.envrc","event":"change"}`,
			want:    Event{Name: "FileChanged", FilePath: "/w/.envrc"},
		},
		{
			name:    "command only for Bash",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"Other","tool_input":{"command":"x"}}`,
			want:    Event{Name: "PreToolUse", ToolName: "Other", ToolInput: []byte(`{"command":"x"}`)},
		},
		{
			name:    "tool_input before tool_name",
			payload: `{"tool_input":{"command":"go test"},"tool_name":"Bash","hook_event_name":"PreToolUse"}`,
			want: Event{
				Name: "PreToolUse", ToolName: "Bash", Command: "go test",
				ToolInput: []byte(`{"command":"go test"}`),
			},
		},
		{
			name:    "nested command is not the command",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"x":{"command":"no"}}}`,
			want:    Event{Name: "PreToolUse", ToolName: "Bash", ToolInput: []byte(`{"x":{"command":"no"}}`)},
		},
		{
			name:    "tool_input not an object",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":"ls"}`,
			want:    Event{Name: "PreToolUse", ToolName: "Bash", ToolInput: []byte(`"ls"`)},
		},
		{
			name:    "tool_input and tool_response null",
			payload: `{"hook_event_name":"PostToolUse","tool_input":null,"tool_response":null}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess},
		},
		{
			name:    "tool_response string",
			payload: `{"hook_event_name":"PostToolUse","tool_response":"  1\tx"}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess, ToolResponse: []byte(`"  1\tx"`)},
		},
		{
			name:    "duplicate keys: last wins",
			payload: `{"hook_event_name":"Stop","session_id":"a","session_id":"b","hook_event_name":"SubagentStop"}`,
			want:    Event{Name: "SubagentStop", SessionID: "b"},
		},
		{
			name:    "duplicate key of another type clears",
			payload: `{"hook_event_name":"Stop","session_id":"a","session_id":null}`,
			want:    Event{Name: "Stop"},
		},
		{
			name:    "string field of another type is absent",
			payload: `{"hook_event_name":"Stop","session_id":123,"cwd":["/w"]}`,
			want:    Event{Name: "Stop"},
		},
		{
			name:    "escapes",
			payload: `{"hook_event_name":"UserPromptSubmit","prompt":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00"}`,
			want:    Event{Name: "UserPromptSubmit", Prompt: "a\"b\\c/d\b\f\n\r\té中😀"},
		},
		{
			name:    "escaped member names",
			payload: `{"hook\u005fevent_name":"Stop","session\u005Fid":"s"}`,
			want:    Event{Name: "Stop", SessionID: "s"},
		},
		{
			name:    "escaped event name",
			payload: `{"hook_event_name":"Permission\u0044enied","reason":"r"}`,
			want:    Event{Name: "PermissionDenied", Outcome: OutcomeDenied, Error: "r"},
		},
		{
			name:    "unpaired surrogates become U+FFFD",
			payload: `{"hook_event_name":"UserPromptSubmit","prompt":"x\ud83dy\ude00z\ud83d\u0041"}`,
			want:    Event{Name: "UserPromptSubmit", Prompt: "x\uFFFDy\uFFFDz\uFFFDA"},
		},
		{
			name:    "invalid UTF-8 inside strings",
			payload: "{\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"a\xffb\xc3\",\"tool_response\":\"\xfe\"}",
			want: Event{
				Name: "UserPromptSubmit", Prompt: "a\uFFFDb\uFFFD",
				ToolResponse: []byte("\"\xfe\""),
			},
		},
		{
			name:    "valid non-ASCII",
			payload: `{"hook_event_name":"UserPromptSubmit","prompt":"café – 中文 😀"}`,
			want:    Event{Name: "UserPromptSubmit", Prompt: "café – 中文 😀"},
		},
		{
			name:    "deeply nested tool_input",
			payload: `{"hook_event_name":"PreToolUse","tool_name":"X","tool_input":{"deep":` + deepArray(9998) + `}}`,
			want: Event{
				Name: "PreToolUse", ToolName: "X",
				ToolInput: []byte(`{"deep":` + deepArray(9998) + `}`),
			},
		},
		{
			name:    "deeply nested objects",
			payload: `{"hook_event_name":"PostToolUse","tool_response":` + deepObject(9999) + `}`,
			want:    Event{Name: "PostToolUse", Outcome: OutcomeSuccess, ToolResponse: []byte(deepObject(9999))},
		},
		{name: "empty", payload: "", wantErr: ErrNotObject},
		{name: "whitespace only", payload: " \n\t", wantErr: ErrNotObject},
		{name: "array", payload: `[{"hook_event_name":"Stop"}]`, wantErr: ErrNotObject},
		{name: "string", payload: `"Stop"`, wantErr: ErrNotObject},
		{name: "number", payload: `42`, wantErr: ErrNotObject},
		{name: "null", payload: `null`, wantErr: ErrNotObject},
		{name: "true", payload: `true`, wantErr: ErrNotObject},
		{name: "garbage", payload: "\x00\x01", wantErr: ErrNotObject},
		{name: "byte order mark", payload: "\uFEFF{\"hook_event_name\":\"Stop\"}", wantErr: ErrNotObject},
		{name: "no event name", payload: `{"session_id":"s1"}`, wantErr: ErrNoEventName},
		{name: "empty object", payload: `{}`, wantErr: ErrNoEventName},
		{name: "empty event name", payload: `{"hook_event_name":""}`, wantErr: ErrNoEventName},
		{name: "event name not a string", payload: `{"hook_event_name":7}`, wantErr: ErrNoEventName},
		{name: "event name null", payload: `{"hook_event_name":null}`, wantErr: ErrNoEventName},
		{name: "truncated", payload: `{"hook_event_name":"Stop"`, wantErr: ErrSyntax},
		{name: "truncated in string", payload: `{"hook_event_name":"St`, wantErr: ErrSyntax},
		{name: "truncated in tool_input", payload: `{"hook_event_name":"Stop","tool_input":{"a":[1,`, wantErr: ErrSyntax},
		{name: "missing value", payload: `{"hook_event_name":}`, wantErr: ErrSyntax},
		{name: "trailing comma", payload: `{"hook_event_name":"Stop",}`, wantErr: ErrSyntax},
		{name: "trailing comma in array", payload: `{"hook_event_name":"Stop","a":[1,]}`, wantErr: ErrSyntax},
		{name: "mismatched brackets", payload: `{"hook_event_name":"Stop","a":[1}`, wantErr: ErrSyntax},
		{name: "data after object", payload: `{"hook_event_name":"Stop"} {}`, wantErr: ErrSyntax},
		{name: "two lines", payload: "{\"hook_event_name\":\"Stop\"}\n{\"hook_event_name\":\"Stop\"}", wantErr: ErrSyntax},
		{name: "unquoted key", payload: `{hook_event_name:"Stop"}`, wantErr: ErrSyntax},
		{name: "single quotes", payload: `{'hook_event_name':'Stop'}`, wantErr: ErrSyntax},
		{name: "control character in string", payload: "{\"hook_event_name\":\"St\nop\"}", wantErr: ErrSyntax},
		{name: "bad escape", payload: `{"hook_event_name":"St\xop"}`, wantErr: ErrSyntax},
		{name: "bad unicode escape", payload: `{"hook_event_name":"St\u00zz"}`, wantErr: ErrSyntax},
		{name: "leading zero", payload: `{"hook_event_name":"Stop","duration_ms":012}`, wantErr: ErrSyntax},
		{name: "bare minus", payload: `{"hook_event_name":"Stop","duration_ms":-}`, wantErr: ErrSyntax},
		{name: "bad literal", payload: `{"hook_event_name":"Stop","is_interrupt":tru}`, wantErr: ErrSyntax},
		{name: "unbalanced deep nesting", payload: `{"hook_event_name":"Stop","a":` + deepArray(5000)[1:] + `}`, wantErr: ErrSyntax},
		{name: "tool_input too deep", payload: `{"hook_event_name":"Stop","tool_input":{"a":` + deepArray(9999) + `}}`, wantErr: ErrSyntax},
		{name: "tool_response too deep", payload: `{"hook_event_name":"Stop","tool_response":` + deepObject(10000) + `}`, wantErr: ErrSyntax},
		{name: "far too deep", payload: `{"hook_event_name":"Stop","x":` + deepArray(1_000_000) + `}`, wantErr: ErrSyntax},
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeTests() {
		t.Run(tt.name, func(t *testing.T) {
			payload := []byte(tt.payload)
			got, err := Decode(payload)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode() error = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(Event{}, got, bytesAsText); diff != "" {
					t.Errorf("Decode() returned a non-zero Event with an error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			checkInvariants(t, payload, got)
			if len(payload) > 0 && unsafe.SliceData(got.Raw) != unsafe.SliceData(payload) {
				t.Errorf("Raw is not the payload")
			}
			got.Raw = nil
			if diff := cmp.Diff(tt.want, got, bytesAsText); diff != "" {
				t.Errorf("Decode() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAlternativesAgree checks that every alternative decoder in alt_test.go
// decodes the samples exactly as Decode does, so that the benchmark compares
// implementations doing the same work.
func TestAlternativesAgree(t *testing.T) {
	alts := []struct {
		name   string
		decode func([]byte) (Event, error)
	}{
		{"encoding-json", decodeEncodingJSON},
		{"jsonv2", decodeJSONv2},
		{"jsontext-stream", decodeJSONText},
		{"reference", decodeReference},
	}
	payloads := readSamples(t)
	payloads = append(payloads, benchPayload2K(t), benchPayloadLarge(t, 8<<10))
	for n, payload := range payloads {
		want, err := Decode(payload)
		if err != nil {
			t.Fatalf("payload %d: %v", n+1, err)
		}
		for _, alt := range alts {
			got, err := alt.decode(payload)
			if err != nil {
				t.Errorf("%s: payload %d: %v", alt.name, n+1, err)
				continue
			}
			if diff := cmp.Diff(want, got, bytesAsText); diff != "" {
				t.Errorf("%s: payload %d differs from Decode (-Decode +%s):\n%s", alt.name, n+1, alt.name, diff)
			}
		}
	}
}

// TestDecodeDoesNotCopyLargeBodies checks the zero-copy promise directly: the
// allocation does not grow with the size of tool_input and tool_response.
func TestDecodeDoesNotCopyLargeBodies(t *testing.T) {
	payload := benchPayloadLarge(t, 1<<20)
	var ev Event
	var err error
	allocs := testing.AllocsPerRun(10, func() { ev, err = Decode(payload) })
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.ToolResponse) < 1<<20 {
		t.Fatalf("ToolResponse is %d bytes, want > 1 MiB", len(ev.ToolResponse))
	}
	checkInvariants(t, payload, ev)
	if allocs > 3 {
		t.Errorf("Decode of a 1 MiB payload made %v allocations, want at most 3", allocs)
	}
}

// checkInvariants asserts what holds for every successfully decoded payload.
func checkInvariants(tb testing.TB, payload []byte, ev Event) {
	tb.Helper()
	if ev.Name == "" {
		tb.Errorf("Name is empty")
	}
	if len(ev.Raw) != len(payload) || len(payload) > 0 && unsafe.SliceData(ev.Raw) != unsafe.SliceData(payload) {
		tb.Errorf("Raw is not the payload")
	}
	for _, sub := range []struct {
		name string
		b    []byte
	}{{"ToolInput", ev.ToolInput}, {"ToolResponse", ev.ToolResponse}} {
		if sub.b == nil {
			continue
		}
		if !within(payload, sub.b) {
			tb.Errorf("%s is not a sub-slice of the payload", sub.name)
		}
		if !json.Valid(sub.b) {
			tb.Errorf("%s is not a JSON value: %q", sub.name, sub.b)
		}
	}
	for _, s := range []string{
		ev.Name, ev.SessionID, ev.PromptID, ev.AgentID, ev.AgentType, ev.ToolName, ev.ToolUseID,
		ev.MCPServer, ev.MCPTool, ev.Error, ev.NotificationType, ev.Message, ev.Model, ev.Source,
		ev.Reason, ev.Trigger, ev.CWD, ev.PermissionMode, ev.TranscriptPath, ev.AgentTranscriptPath,
		ev.Prompt, ev.Command, ev.FilePath,
	} {
		if !utf8.ValidString(s) {
			tb.Errorf("string field is not valid UTF-8: %q", s)
		}
	}
	if !ev.HasDuration && ev.DurationMS != 0 {
		tb.Errorf("DurationMS %v set without HasDuration", ev.DurationMS)
	}
	if (ev.MCPTool != "") != IsMCP(ev.ToolName) {
		tb.Errorf("MCPTool %q does not match IsMCP(%q)", ev.MCPTool, ev.ToolName)
	}
}

// within reports whether sub lies inside b's memory.
func within(b, sub []byte) bool {
	if len(sub) == 0 || len(b) == 0 {
		return len(sub) == 0
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return s >= start && s+uintptr(len(sub)) <= start+uintptr(len(b))
}

func FuzzDecode(f *testing.F) {
	for _, payload := range readSamples(f) {
		f.Add(payload)
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, payload, "", "  "); err != nil {
			f.Fatal(err)
		}
		f.Add(pretty.Bytes())
	}
	for _, tt := range decodeTests() {
		if len(tt.payload) < 4096 {
			f.Add([]byte(tt.payload))
		}
	}
	for _, s := range []string{
		`{"hook_event_name":"PreToolUse","tool_input":{"command":"a","command":null},"tool_name":"Bash"}`,
		`{"hook_event_name":"PostToolUse","duration_ms":-0.0e-0,"duration_ms":123456789012345678}`,
		`{"hook_event_name":"PostToolUseFailure","error":{"a":[1, 2]},"is_interrupt":true,"duration_ms":1.5e2}`,
		`{"hook\u005fevent_name":"Permission\u0044enied","reason":"\ud83d\ude00\ud800"}`,
		"{\"hook_event_name\":\"X\",\"prompt\":\"\xff\xfe\"}",
		`{"hook_event_name":"PreToolUse","tool_name":"mcp__plugin_a_b__c","tool_input":{"command":"x","path":"/p"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		orig := bytes.Clone(payload)
		ev, err := Decode(payload)
		if !bytes.Equal(orig, payload) {
			t.Fatalf("Decode modified its input")
		}
		valid := json.Valid(payload)
		if err != nil {
			if !errors.Is(err, ErrNotObject) && !errors.Is(err, ErrNoEventName) && !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v matches no sentinel", err)
			}
			if valid && errors.Is(err, ErrSyntax) {
				t.Fatalf("valid JSON rejected as a syntax error: %v", err)
			}
		} else {
			if !valid {
				t.Fatalf("invalid JSON accepted: %q", payload)
			}
			checkInvariants(t, payload, ev)
		}
		ref, refErr := decodeReference(payload)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("Decode error %v, reference error %v", err, refErr)
		}
		if err == nil {
			ev.Raw, ref.Raw = nil, nil
			if diff := cmp.Diff(ref, ev, bytesAsText); diff != "" {
				t.Fatalf("Decode differs from the reference (-reference +Decode):\n%s", diff)
			}
		}
	})
}

// TestValidUTF8 (issue 14, item 6): invalid bytes are replaced, valid text is
// returned as it is, and the result decodes as the same event.
func TestValidUTF8(t *testing.T) {
	bad := []byte("{\"hook_event_name\":\"Notification\",\"session_id\":\"s\",\"message\":\"caf\xe9 \xff\xfe ok \xe2\x82\"}")
	got, replaced := ValidUTF8(bad)
	if !replaced || !utf8.Valid(got) {
		t.Fatalf("ValidUTF8 = %q, %v; want valid UTF-8, replaced", got, replaced)
	}
	if !json.Valid(got) {
		t.Fatalf("repaired payload is not valid JSON: %q", got)
	}
	ev, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if want := "caf\uFFFD \uFFFD ok \uFFFD"; ev.Message != want {
		t.Errorf("message %q, want %q", ev.Message, want)
	}
	good := []byte(`{"hook_event_name":"Stop","session_id":"日本"}`)
	if got, replaced := ValidUTF8(good); replaced || &got[0] != &good[0] {
		t.Errorf("valid UTF-8 was copied or flagged")
	}
}
