package claudecli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// Usage is the token usage a scripted reply reports in its message_start and
// message_delta events; the CLI writes it to the transcript, where the exporter
// reads it.
type Usage struct {
	Input         int `json:"input_tokens"`
	Output        int `json:"output_tokens"`
	CacheRead     int `json:"cache_read_input_tokens"`
	CacheCreation int `json:"cache_creation_input_tokens"`
}

// ToolUse is one tool_use block of a scripted reply.
type ToolUse struct {
	Name  string
	Input any
}

// Reply is one scripted model response: tool calls (then stop_reason tool_use),
// else text (end_turn). Hang makes the server hold the request open until the
// client gives up (an interrupt), reporting it on Server.Hung.
type Reply struct {
	Text  string
	Tools []ToolUse
	Usage Usage
	Hang  bool
	// After, when not nil, holds the reply back until it is closed: a test
	// orders a background agent's work after its parent's turn that way.
	After <-chan struct{}
}

// DefaultUsage is the usage of every reply that does not set its own.
var DefaultUsage = Usage{Input: 1200, Output: 80, CacheRead: 3000, CacheCreation: 400}

// markerRE finds a step marker, [[chx:<name>]], in a user message.
var markerRE = regexp.MustCompile(`\[\[chx:([a-z0-9-]+)\]\]`)

// Marker returns the marker that selects the script step name.
func Marker(name string) string { return "[[chx:" + name + "]]" }

// Server is a scripted Anthropic Messages API (POST /v1/messages, streaming
// SSE). It is stateless per request: the reply is chosen from the conversation
// the CLI sends. The latest user message that carries a marker [[chx:<step>]]
// selects the step; the number of assistant messages after it selects the reply
// within the step. A request whose last user message neither carries a marker
// nor returns tool results (a compaction's summary request, a task
// notification, a step past its script) gets the plain Default reply. Subagents
// are driven the same way: their first user message is the Agent tool's prompt.
type Server struct {
	steps   map[string][]Reply
	Default Reply

	// Hung receives the step name of every request held open by a Hang reply.
	Hung chan string

	mu       sync.Mutex
	requests []Request
}

// Request is what the server recorded of one request.
type Request struct {
	Model string
	Step  string // "" for the default reply
	Index int
}

// NewServer returns a server for the given steps.
func NewServer(steps map[string][]Reply) *Server {
	return &Server{
		steps:   steps,
		Default: Reply{Text: "Done."},
		Hung:    make(chan string, 16),
	}
}

// Requests returns the requests answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// apiRequest is the part of a Messages API request the server reads.
type apiRequest struct {
	Model    string       `json:"model"`
	Stream   bool         `json:"stream"`
	Messages []apiMessage `json:"messages"`
}

type apiMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type apiBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// blocks returns the message's content blocks; a string content is one text block.
func (m apiMessage) blocks() []apiBlock {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return []apiBlock{{Type: "text", Text: s}}
	}
	var bs []apiBlock
	_ = json.Unmarshal(m.Content, &bs)
	return bs
}

// marker returns the step named in the message's text blocks ("" if none) and
// whether the message returns tool results.
func (m apiMessage) marker() (step string, toolResults bool) {
	for _, b := range m.blocks() {
		switch b.Type {
		case "text":
			if sm := markerRE.FindStringSubmatch(b.Text); sm != nil {
				step = sm[1]
			}
		case "tool_result":
			toolResults = true
		}
	}
	return step, toolResults
}

// choose picks the step and reply index for a conversation.
func choose(all []apiMessage) (string, int) {
	// Other roles (system messages among the turns) neither select nor count.
	var msgs []apiMessage
	for _, m := range all {
		if m.Role == "user" || m.Role == "assistant" {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "user" {
		return "", 0
	}
	step, results := msgs[len(msgs)-1].marker()
	if step != "" {
		return step, 0
	}
	if !results {
		return "", 0
	}
	assistants := 0
	for i := len(msgs) - 1; i >= 0; i-- {
		switch msgs[i].Role {
		case "assistant":
			assistants++
		case "user":
			if step, _ := msgs[i].marker(); step != "" {
				return step, assistants
			}
		}
	}
	return "", 0
}

// ServeHTTP answers POST /v1/messages (streaming or not) and
// /v1/messages/count_tokens; everything else is 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/count_tokens":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"input_tokens":1000}`)
		return
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
	default:
		http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"not found"}}`, http.StatusNotFound)
		return
	}
	var req apiRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"type":"error","error":{"type":"invalid_request_error","message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	step, idx := choose(req.Messages)
	reply := s.Default
	if rs, ok := s.steps[step]; ok && idx < len(rs) {
		reply = rs[idx]
	} else {
		step, idx = "", 0
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, Request{Model: req.Model, Step: step, Index: idx})
	s.mu.Unlock()
	if reply.After != nil {
		select {
		case <-reply.After:
		case <-r.Context().Done():
			return
		}
	}
	if reply.Hang {
		s.Hung <- step
		<-r.Context().Done()
		return
	}
	usage := reply.Usage
	if usage == (Usage{}) {
		usage = DefaultUsage
	}
	id := fmt.Sprintf("msg_chx_%04d", n+1)
	content, stop := reply.content(step, idx)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": id, "type": "message", "role": "assistant", "model": req.Model,
			"content": content, "stop_reason": stop, "stop_sequence": nil, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	start := usage
	start.Output = 1
	sse(w, "message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": start,
	}})
	for i, c := range content {
		switch c["type"] {
		case "text":
			sse(w, "content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "text", "text": ""}})
			sse(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "text_delta", "text": c["text"]}})
		case "tool_use":
			sse(w, "content_block_start", map[string]any{"type": "content_block_start", "index": i,
				"content_block": map[string]any{"type": "tool_use", "id": c["id"], "name": c["name"], "input": map[string]any{}}})
			in, _ := json.Marshal(c["input"])
			sse(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": string(in)}})
		}
		sse(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
	}
	sse(w, "message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": usage.Output}})
	sse(w, "message_stop", map[string]any{"type": "message_stop"})
}

// content renders the reply's content blocks; tool_use ids are derived from the
// step and reply index, so they are the same in every run.
func (r Reply) content(step string, idx int) ([]map[string]any, string) {
	if len(r.Tools) == 0 {
		text := r.Text
		if text == "" {
			text = "Done."
		}
		return []map[string]any{{"type": "text", "text": text}}, "end_turn"
	}
	var out []map[string]any
	if r.Text != "" {
		out = append(out, map[string]any{"type": "text", "text": r.Text})
	}
	name := strings.ReplaceAll(step, "-", "_")
	if name == "" {
		name = "default"
	}
	for j, t := range r.Tools {
		out = append(out, map[string]any{
			"type": "tool_use", "id": fmt.Sprintf("toolu_chx_%s_%d_%d", name, idx, j), "name": t.Name, "input": t.Input,
		})
	}
	return out, "tool_use"
}

func sse(w http.ResponseWriter, event string, data any) {
	b, _ := json.Marshal(data)
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
