package claudecli

import (
	"encoding/json"
	"testing"
)

// TestChoose: the latest user message with a marker picks the step, the
// assistant messages after it the reply; other roles are skipped, and a
// request that neither starts a step nor returns tool results gets the default.
func TestChoose(t *testing.T) {
	user := func(content string) apiMessage {
		b, _ := json.Marshal(content)
		return apiMessage{Role: "user", Content: b}
	}
	blocks := func(role string, bs ...map[string]any) apiMessage {
		b, _ := json.Marshal(bs)
		return apiMessage{Role: role, Content: b}
	}
	text := func(s string) map[string]any { return map[string]any{"type": "text", "text": s} }
	result := map[string]any{"type": "tool_result", "tool_use_id": "x", "content": Marker("evil")}
	sys := apiMessage{Role: "system", Content: json.RawMessage(`"reminder"`)}
	tests := []struct {
		name string
		msgs []apiMessage
		step string
		idx  int
	}{
		{"empty", nil, "", 0},
		{"marker", []apiMessage{user(Marker("tools") + " go")}, "tools", 0},
		{"marker among blocks, system after", []apiMessage{blocks("user", text("<system-reminder>x</system-reminder>"), text(Marker("a")+" go")), sys}, "a", 0},
		{"second reply", []apiMessage{user(Marker("a")), blocks("assistant", text("t")), blocks("user", result)}, "a", 1},
		{"third reply", []apiMessage{user(Marker("a")), blocks("assistant"), blocks("user", result), blocks("assistant"), blocks("user", result)}, "a", 2},
		{"latest marker wins", []apiMessage{user(Marker("a")), blocks("assistant"), user(Marker("b")), blocks("assistant"), blocks("user", result)}, "b", 1},
		{"no marker, no results: default", []apiMessage{user(Marker("a")), blocks("assistant"), user("summarise the conversation")}, "", 0},
		{"marker inside a tool result ignored", []apiMessage{user("hi"), blocks("assistant"), blocks("user", result)}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, idx := choose(tc.msgs)
			if step != tc.step || idx != tc.idx {
				t.Errorf("choose = %q, %d; want %q, %d", step, idx, tc.step, tc.idx)
			}
		})
	}
}
