package transcript

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// view is a record with strings, for comparisons.
type view struct {
	Type, PromptID, AgentID, UUID, RequestID, MsgID, Model string
	Sidechain, HasUsage                                    bool
	In, Out, CacheRead, CacheWrite, CacheWrite1h           int64
}

func viewOf(r *record) view {
	return view{
		Type: string(r.typ), PromptID: string(r.promptID), AgentID: string(r.agentID), UUID: string(r.uuid),
		RequestID: string(r.requestID), MsgID: string(r.msgID), Model: string(r.model),
		Sidechain: r.sidechain, HasUsage: r.hasUsage,
		In: r.input, Out: r.output, CacheRead: r.cacheRead, CacheWrite: r.cacheWrite, CacheWrite1h: r.cacheWrite1h,
	}
}

// oracle extracts the same view with go-json-experiment/json, which decodes
// (and validates) the whole line. ok is false when the line is not valid JSON
// for it.
func oracle(line []byte) (v view, ok bool) {
	var top struct {
		Type      jsontext.Value `json:"type"`
		PromptID  jsontext.Value `json:"promptId"`
		AgentID   jsontext.Value `json:"agentId"`
		UUID      jsontext.Value `json:"uuid"`
		RequestID jsontext.Value `json:"requestId"`
		Sidechain jsontext.Value `json:"isSidechain"`
		Message   jsontext.Value `json:"message"`
	}
	if err := json.Unmarshal(line, &top); err != nil {
		return view{}, false
	}
	if jsontext.Value(bytes.TrimSpace(line)).Kind() != '{' {
		// null and other non-objects unmarshal into a struct as a no-op, but a
		// transcript line that is not an object is malformed.
		return view{}, false
	}
	str := func(v jsontext.Value) string {
		var s string
		if v.Kind() == '"' && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	num := func(v jsontext.Value) int64 {
		if v.Kind() != '0' {
			return 0
		}
		return tokenCount(v)
	}
	v = view{
		Type: str(top.Type), PromptID: str(top.PromptID), AgentID: str(top.AgentID), UUID: str(top.UUID),
		RequestID: str(top.RequestID), Sidechain: top.Sidechain.Kind() == 't',
	}
	if top.Message.Kind() != '{' {
		return v, true
	}
	var msg struct {
		ID    jsontext.Value `json:"id"`
		Model jsontext.Value `json:"model"`
		Usage jsontext.Value `json:"usage"`
	}
	if err := json.Unmarshal(top.Message, &msg); err != nil {
		return view{}, false
	}
	v.MsgID, v.Model = str(msg.ID), str(msg.Model)
	if msg.Usage.Kind() != '{' {
		return v, true
	}
	var u struct {
		In    jsontext.Value `json:"input_tokens"`
		Out   jsontext.Value `json:"output_tokens"`
		CR    jsontext.Value `json:"cache_read_input_tokens"`
		CW    jsontext.Value `json:"cache_creation_input_tokens"`
		Split jsontext.Value `json:"cache_creation"`
	}
	if err := json.Unmarshal(msg.Usage, &u); err != nil {
		return view{}, false
	}
	v.HasUsage = true
	v.In, v.Out, v.CacheRead, v.CacheWrite = num(u.In), num(u.Out), num(u.CR), num(u.CW)
	if u.Split.Kind() == '{' {
		var s struct {
			H jsontext.Value `json:"ephemeral_1h_input_tokens"`
		}
		if err := json.Unmarshal(u.Split, &s); err != nil {
			return view{}, false
		}
		v.CacheWrite1h = num(s.H)
	}
	return v, true
}

func sampleLines(tb testing.TB) [][]byte {
	tb.Helper()
	var lines [][]byte
	for _, name := range []string{"transcript.jsonl", "transcript-subagent.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	return lines
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want view
	}{
		{
			name: "assistant",
			line: `{"parentUuid":"x","isSidechain":false,"message":{"model":"claude-opus-4-6","id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"a \"quoted\" {brace} [x]"}],"usage":{"input_tokens":3,"cache_creation_input_tokens":5139,"cache_read_input_tokens":14250,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":5139},"output_tokens":187,"service_tier":"standard"}},"requestId":"req_1","type":"assistant","uuid":"u1"}`,
			want: view{Type: "assistant", MsgID: "msg_1", Model: "claude-opus-4-6", RequestID: "req_1", UUID: "u1", HasUsage: true, In: 3, Out: 187, CacheRead: 14250, CacheWrite: 5139, CacheWrite1h: 5139},
		},
		{
			name: "user with prompt id after a large nested result",
			line: `{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"{\"type\":\"assistant\",\"promptId\":\"fake\"}"}]},"toolUseResult":{"nested":{"promptId":"nested","type":"assistant","a":[1,2,{"b":null}]}},"promptId":"p1"}`,
			want: view{Type: "user", PromptID: "p1"},
		},
		{
			name: "sidechain with agent id and spaces",
			line: ` { "isSidechain" : true , "agentId" : "a1" , "type" : "assistant" , "message" : { "id" : "m" , "usage" : { "output_tokens" : 1e2 , "input_tokens" : null } } } `,
			want: view{Type: "assistant", AgentID: "a1", MsgID: "m", Sidechain: true, HasUsage: true, Out: 100},
		},
		{
			name: "escaped key and value",
			line: `{"\u0074ype":"assist\u0061nt","message":{"id":"m\/1","model":"claude-\"x\""}}`,
			want: view{Type: "assistant", MsgID: "m/1", Model: `claude-"x"`},
		},
		{
			name: "usage of the wrong type",
			line: `{"type":"assistant","message":{"id":"m","usage":"none"}}`,
			want: view{Type: "assistant", MsgID: "m"},
		},
		{
			name: "odd token counts count as zero",
			line: `{"type":"assistant","message":{"usage":{"input_tokens":-5,"output_tokens":1.5,"cache_read_input_tokens":"7","cache_creation_input_tokens":2.0}}}`,
			want: view{Type: "assistant", HasUsage: true, CacheWrite: 2},
		},
		{
			name: "backslashes before a closing quote",
			line: `{"a":"x\\","type":"user","promptId":"p\\\\"}`,
			want: view{Type: "user", PromptID: `p\\`},
		},
	}
	var p parser
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r record
			if err := p.parse([]byte(tc.line), &r); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, viewOf(&r)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			want, ok := oracle([]byte(tc.line))
			if !ok {
				t.Fatal("oracle refused the line")
			}
			if diff := cmp.Diff(want, viewOf(&r)); diff != "" {
				t.Errorf("differs from the oracle (-oracle +parser):\n%s", diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		``, `[]`, `{`, `{"type":"assistant"`, `{"type":"assistant",}`, `{"type" "x"}`, `{"a":"unterminated}`,
		`{"a":1} x`, `{"a":{"b":[1,2}`, `{"a":}`, `{"message":{"id":"m",}}`,
	} {
		var r record
		var p parser
		if err := p.parse([]byte(line), &r); err == nil {
			t.Errorf("parse(%q) accepted malformed JSON", line)
		}
	}
}

// FuzzParse holds the targeted parser to go-json-experiment/json: on every
// line the latter accepts, both extract the same fields.
func FuzzParse(f *testing.F) {
	for _, l := range sampleLines(f) {
		f.Add(l)
	}
	f.Add([]byte(`{"type":"assistant","message":{"id":"m","usage":{"output_tokens":5,"cache_creation":{"ephemeral_1h_input_tokens":3}}}}`))
	f.Add([]byte(`{"promptId":"p","type":"user","message":{"content":"\"assistant\""}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var r record
		var p parser
		err := p.parse(line, &r)
		want, ok := oracle(line)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("parser refused valid JSON %q: %v", line, err)
		}
		if diff := cmp.Diff(want, viewOf(&r)); diff != "" {
			t.Fatalf("line %q (-oracle +parser):\n%s", line, diff)
		}
	})
}

func TestTokenCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"187", 187}, {"1e3", 1000}, {"5.0", 5}, {"5.5", 0}, {"-1", 0}, {"null", 0},
		{`"3"`, 0}, {"9223372036854775807", 9223372036854775807}, {"1e30", 0},
	} {
		if got := tokenCount([]byte(tc.in)); got != tc.want {
			t.Errorf("tokenCount(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
