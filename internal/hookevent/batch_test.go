package hookevent

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBatchCalls(t *testing.T) {
	raw := []byte(`{"hook_event_name":"PostToolBatch","tool_calls":[` +
		`{"tool_name":"Bash","tool_use_id":"a","tool_input":{"command":"rm x"},"tool_response":"rm in '/x' needs approval. The path is outside the working directories"},` +
		`{"tool_name":"WebFetch","tool_use_id":"b","tool_response":"<tool_use_error>Error: No such tool available: WebFetch. WebFetch is disabled for this session</tool_use_error>"},` +
		`{"tool_name":"Agent","tool_use_id":"c","tool_response":[{"type":"text","text":"Async agent "},{"type":"text","text":"launched"}]},` +
		`{"tool_name":"Bash","tool_use_id":"d","tool_response":"Permission for this tool use was denied."},` +
		`{"tool_name":"Read","tool_use_id":"e","tool_response":{"error":"boom"}}]}`)
	got, err := BatchCalls(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []BatchCall{
		{"Bash", "a", "rm in '/x' needs approval. The path is outside the working directories"},
		{"WebFetch", "b", "<tool_use_error>Error: No such tool available: WebFetch. WebFetch is disabled for this session</tool_use_error>"},
		{"Agent", "c", "Async agent launched"},
		{"Bash", "d", "Permission for this tool use was denied."},
		{"Read", "e", `{"error":"boom"}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BatchCalls (-want +got):\n%s", diff)
	}
	outcomes := []Outcome{OutcomeDenied, OutcomeDenied, OutcomeFailure, OutcomeDenied, OutcomeFailure}
	for i, c := range got {
		if o := BatchOutcome(c.Response); o != outcomes[i] {
			t.Errorf("BatchOutcome(%q) = %s, want %s", c.Response, o, outcomes[i])
		}
	}
	if calls, err := BatchCalls([]byte(`{"hook_event_name":"PostToolBatch"}`)); err != nil || len(calls) != 0 {
		t.Errorf("no tool_calls: %v, %v", calls, err)
	}
	if _, err := BatchCalls([]byte(`{"tool_calls":{"x":1}}`)); err == nil {
		t.Error("tool_calls of the wrong shape: no error")
	}
}
