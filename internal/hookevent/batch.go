package hookevent

import (
	"encoding/json"
	"fmt"
	"strings"
)

// BatchCall is one entry of a PostToolBatch payload's tool_calls: a tool call
// of the batch the model asked for, with the response text the model saw.
type BatchCall struct {
	ToolName  string
	ToolUseID string
	// Response is the model-facing response: the string, or the text blocks
	// joined, or the compact JSON of any other value.
	Response string
}

// BatchCalls returns the tool_calls of a PostToolBatch payload. Only that
// event carries them, and only the tracker needs them, so they are decoded on
// demand with encoding/json rather than by Decode's scanner. An absent or null
// tool_calls yields none; a value of the wrong shape is an error.
func BatchCalls(raw []byte) ([]BatchCall, error) {
	var p struct {
		Calls []struct {
			ToolName  string          `json:"tool_name"`
			ToolUseID string          `json:"tool_use_id"`
			Response  json.RawMessage `json:"tool_response"`
		} `json:"tool_calls"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode PostToolBatch tool_calls: %w", err)
	}
	out := make([]BatchCall, 0, len(p.Calls))
	for _, c := range p.Calls {
		out = append(out, BatchCall{ToolName: c.ToolName, ToolUseID: c.ToolUseID, Response: responseText(c.Response)})
	}
	return out, nil
}

// responseText is the text of a tool_response value.
func responseText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(v, &blocks) == nil {
		var b strings.Builder
		for _, bl := range blocks {
			b.WriteString(bl.Text)
		}
		return b.String()
	}
	return string(v)
}

// BatchOutcome classifies the response of a batch entry that no PostToolUse,
// PostToolUseFailure or PermissionDenied ended: denied when the response says
// permission was refused or the tool is disabled (Claude Code 2.1.337 in print
// mode or dontAsk mode, with no one to approve), failure otherwise.
func BatchOutcome(response string) Outcome {
	r := strings.ToLower(response)
	for _, s := range []string{
		"permission for this tool use was denied", "needs approval", "was blocked",
		"permission to use", "is disabled", "not allowed", "denied",
	} {
		if strings.Contains(r, s) {
			return OutcomeDenied
		}
	}
	return OutcomeFailure
}
