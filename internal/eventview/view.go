package eventview

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/redact"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// SummaryMaxBytes caps wire.Event.Summary; the payload keeps the rest.
const SummaryMaxBytes = 4096

// DefaultPayloadMaxBytes is where a payload is cut when the caller sets no
// cap (0).
const DefaultPayloadMaxBytes = 64 << 10

// Of builds what is shown of ev: what the store keeps and the live stream and
// the API serve. The summary is the first of the Bash
// command, the file path, the notification (or elicitation) message, the prompt
// (only with captureContent) and the error, capped at SummaryMaxBytes. The
// payload is ev.Raw cut at payloadMax bytes (0: DefaultPayloadMaxBytes;
// negative: no payload) with Truncated set when cut; without captureContent
// its top-level "prompt" member is removed first. Obvious secrets are masked
// in the summary, the error and the payload (redact.Secrets). The payload may
// alias ev.Raw (the store copies it); the rest does not alias ev. Seq
// stays zero until the store (or the broker, without a store) numbers it.
func Of(ev *hookevent.Event, payloadMax int, captureContent bool) wire.Event {
	w := wire.Event{
		ID:               ev.ID,
		Time:             ev.Received.UTC(),
		SessionID:        ev.SessionID,
		Event:            ev.Name,
		PromptID:         ev.PromptID,
		AgentID:          ev.AgentID,
		AgentType:        ev.AgentType,
		Tool:             ev.ToolName,
		ToolUseID:        ev.ToolUseID,
		MCPServer:        ev.MCPServer,
		Outcome:          string(ev.Outcome),
		Error:            redact.Secrets(ev.Error),
		NotificationType: ev.NotificationType,
		CWD:              ev.CWD,
		Model:            ev.Model,
	}
	if ev.HasDuration {
		d := ev.DurationMS
		w.DurationMS = &d
	}
	var s string
	switch {
	case ev.Command != "":
		s = ev.Command
	case ev.FilePath != "":
		s = ev.FilePath
	case ev.Message != "":
		s = ev.Message
	case ev.Prompt != "" && captureContent:
		s = ev.Prompt
	case ev.Error != "":
		s = ev.Error
	}
	w.Summary = redact.Cap(redact.Secrets(s), SummaryMaxBytes)

	payload := ev.Raw
	notJSON := false
	if !captureContent && ev.Prompt != "" {
		payload = withoutPrompt(payload)
	}
	if len(payload) > 0 && payloadMax >= 0 {
		// Masking may cut a JSON string short only where a secret ran to
		// the end of the text (a PEM key without its end marker).
		if red, masked := redact.SecretsBytes(payload); masked {
			payload = red
			// A mask can replace an unquoted JSON value (a number after
			// "password":) or cut a string short: then the payload is
			// served as text. Counts of tokens are not masked.
			notJSON = !json.Valid(payload)
		}
	}
	w.Payload, w.Truncated = capPayload(payload, payloadMax)
	if w.Truncated || notJSON {
		// A cut or masked payload may not be JSON any more: serve it as a
		// JSON string holding the text.
		w.Payload, _ = json.Marshal(string(w.Payload))
	}
	return w
}

// capPayload returns p cut at max bytes on a UTF-8 boundary (not copied).
func capPayload(p []byte, max int) ([]byte, bool) {
	if max == 0 {
		max = DefaultPayloadMaxBytes
	}
	if len(p) == 0 {
		return nil, false
	}
	if max < 0 {
		return nil, true
	}
	if len(p) <= max {
		return p, false
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut], true
}

// withoutPrompt returns the JSON object p without its top-level "prompt"
// member, or nil when p is not a JSON object: a payload that cannot be
// cleaned is not kept.
func withoutPrompt(p []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(p))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	out := make([]byte, 0, len(p))
	out = append(out, '{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if key == "prompt" {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(key)
		out = append(out, k...)
		out = append(out, ':')
		out = append(out, v...)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil
	}
	return append(out, '}')
}

// promptEvents carry a prompt in their summary when content capture is on.
func promptEvent(name string) bool {
	return name == "UserPromptSubmit" || name == "UserPromptExpansion"
}

// DropPrompt removes a prompt from an event built with content capture on,
// for a store that runs without it.
func DropPrompt(ev *wire.Event) {
	if promptEvent(ev.Event) {
		if ev.Summary != "" && ev.Summary != ev.Error {
			ev.Summary = ""
		}
	}
	if len(ev.Payload) == 0 || !bytes.Contains(ev.Payload, []byte(`"prompt"`)) {
		return
	}
	if ev.Truncated {
		// A cut payload cannot be parsed to remove the prompt from it.
		ev.Payload = nil
		return
	}
	ev.Payload = withoutPrompt(ev.Payload)
}
