package hookevent

// Alternative decoders, kept so that the choice of the hand-written scanner in
// Decode stays reproducible (BenchmarkDecode/<impl>) and so that the fuzz test has
// an independent reference (decodeReference) to compare Decode with.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// fields is what a JSON layer extracts from a payload; normalise turns it into an
// Event the same way for every alternative.
type fields struct {
	name, sessionID, promptID, agentID, agentType, toolName, toolUseID    string
	notificationType, model, source, reason, trigger, cwd, permissionMode string
	transcriptPath, agentTranscriptPath, mcpServerName                    string
	fromModel, toModel, commandName, via                                  string
	message, prompt, filePath, errText                                    string
	inCommand, inFilePath, inNotebookPath, inPath                         string
	toolInput, toolResponse                                               []byte
	duration                                                              float64
	hasDuration, interrupt                                                bool
}

func normalise(f *fields, raw []byte) (Event, error) {
	if f.name == "" {
		return Event{}, ErrNoEventName
	}
	ev := Event{
		Name: f.name, SessionID: f.sessionID, PromptID: f.promptID, AgentID: f.agentID,
		AgentType: f.agentType, ToolName: f.toolName, ToolUseID: f.toolUseID,
		NotificationType: f.notificationType, Model: f.model, Source: f.source,
		Reason: f.reason, Trigger: f.trigger, CWD: f.cwd, PermissionMode: f.permissionMode,
		TranscriptPath: f.transcriptPath, AgentTranscriptPath: f.agentTranscriptPath,
		FromModel: f.fromModel, ToModel: f.toModel, CommandName: f.commandName, Via: f.via,
		Message: f.message, Prompt: f.prompt, Error: f.errText,
		DurationMS: f.duration, HasDuration: f.hasDuration,
		ToolInput: f.toolInput, ToolResponse: f.toolResponse, Raw: raw,
	}
	if server, tool, ok := SplitMCP(f.toolName); ok {
		ev.MCPServer, ev.MCPTool = server, tool
	} else {
		ev.MCPServer = f.mcpServerName
	}
	for _, p := range []string{f.inFilePath, f.inNotebookPath, f.inPath, f.filePath} {
		if p != "" {
			ev.FilePath = p
			break
		}
	}
	if f.toolName == "Bash" || f.toolName == "PowerShell" {
		ev.Command = f.inCommand
	}
	if f.name == "PermissionDenied" {
		if f.reason != "" {
			ev.Error = f.reason
		}
		ev.Reason = ""
	}
	if !f.hasDuration {
		ev.DurationMS = 0
	}
	ev.Outcome = outcome(f.name, f.interrupt)
	return ev, nil
}

// validUTF8 replaces each invalid byte with U+FFFD, like encoding/json's decoding.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}

// compactText is the compact JSON text of a non-string error value.
func compactText(raw []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return ""
	}
	return validUTF8(buf.String())
}

func isNumberStart(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9')
}

// ---- encoding/json: Unmarshal into a struct with json.RawMessage ----

type stdPayload struct {
	HookEventName       string          `json:"hook_event_name"`
	SessionID           string          `json:"session_id"`
	PromptID            string          `json:"prompt_id"`
	AgentID             string          `json:"agent_id"`
	AgentType           string          `json:"agent_type"`
	ToolName            string          `json:"tool_name"`
	ToolUseID           string          `json:"tool_use_id"`
	NotificationType    string          `json:"notification_type"`
	Model               string          `json:"model"`
	Source              string          `json:"source"`
	Reason              string          `json:"reason"`
	Trigger             string          `json:"trigger"`
	CWD                 string          `json:"cwd"`
	PermissionMode      string          `json:"permission_mode"`
	TranscriptPath      string          `json:"transcript_path"`
	AgentTranscriptPath string          `json:"agent_transcript_path"`
	MCPServerName       string          `json:"mcp_server_name"`
	FromModel           string          `json:"from_model"`
	ToModel             string          `json:"to_model"`
	CommandName         string          `json:"command_name"`
	Via                 string          `json:"via"`
	Message             string          `json:"message"`
	Prompt              string          `json:"prompt"`
	FilePath            string          `json:"file_path"`
	IsInterrupt         bool            `json:"is_interrupt"`
	Error               json.RawMessage `json:"error"`
	DurationMS          json.RawMessage `json:"duration_ms"`
	ToolInput           json.RawMessage `json:"tool_input"`
	ToolResponse        json.RawMessage `json:"tool_response"`
}

type stdToolInput struct {
	Command      string `json:"command"`
	FilePath     string `json:"file_path"`
	NotebookPath string `json:"notebook_path"`
	Path         string `json:"path"`
}

func decodeEncodingJSON(payload []byte) (Event, error) {
	var p stdPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return Event{}, err
	}
	f := fields{
		name: p.HookEventName, sessionID: p.SessionID, promptID: p.PromptID, agentID: p.AgentID,
		agentType: p.AgentType, toolName: p.ToolName, toolUseID: p.ToolUseID,
		notificationType: p.NotificationType, model: p.Model, source: p.Source, reason: p.Reason,
		trigger: p.Trigger, cwd: p.CWD, permissionMode: p.PermissionMode,
		transcriptPath: p.TranscriptPath, agentTranscriptPath: p.AgentTranscriptPath,
		mcpServerName: p.MCPServerName, message: p.Message, prompt: p.Prompt, filePath: p.FilePath,
		fromModel: p.FromModel, toModel: p.ToModel, commandName: p.CommandName, via: p.Via,
		interrupt: p.IsInterrupt, toolInput: p.ToolInput, toolResponse: p.ToolResponse,
	}
	if len(p.ToolInput) > 0 && p.ToolInput[0] == '{' {
		var in stdToolInput
		if err := json.Unmarshal(p.ToolInput, &in); err != nil {
			return Event{}, err
		}
		f.inCommand, f.inFilePath, f.inNotebookPath, f.inPath = in.Command, in.FilePath, in.NotebookPath, in.Path
	}
	switch {
	case len(p.Error) == 0 || string(p.Error) == "null":
	case p.Error[0] == '"':
		if err := json.Unmarshal(p.Error, &f.errText); err != nil {
			return Event{}, err
		}
	default:
		f.errText = compactText(p.Error)
	}
	if isNumberStart(p.DurationMS) {
		f.hasDuration = json.Unmarshal(p.DurationMS, &f.duration) == nil
	}
	return normalise(&f, payload)
}

// ---- go-json-experiment/json (v2): Unmarshal into a struct with jsontext.Value ----

type v2Payload struct {
	HookEventName       string         `json:"hook_event_name"`
	SessionID           string         `json:"session_id"`
	PromptID            string         `json:"prompt_id"`
	AgentID             string         `json:"agent_id"`
	AgentType           string         `json:"agent_type"`
	ToolName            string         `json:"tool_name"`
	ToolUseID           string         `json:"tool_use_id"`
	NotificationType    string         `json:"notification_type"`
	Model               string         `json:"model"`
	Source              string         `json:"source"`
	Reason              string         `json:"reason"`
	Trigger             string         `json:"trigger"`
	CWD                 string         `json:"cwd"`
	PermissionMode      string         `json:"permission_mode"`
	TranscriptPath      string         `json:"transcript_path"`
	AgentTranscriptPath string         `json:"agent_transcript_path"`
	MCPServerName       string         `json:"mcp_server_name"`
	FromModel           string         `json:"from_model"`
	ToModel             string         `json:"to_model"`
	CommandName         string         `json:"command_name"`
	Via                 string         `json:"via"`
	Message             string         `json:"message"`
	Prompt              string         `json:"prompt"`
	FilePath            string         `json:"file_path"`
	IsInterrupt         bool           `json:"is_interrupt"`
	Error               jsontext.Value `json:"error"`
	DurationMS          jsontext.Value `json:"duration_ms"`
	ToolInput           jsontext.Value `json:"tool_input"`
	ToolResponse        jsontext.Value `json:"tool_response"`
}

var v2Options = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

func decodeJSONv2(payload []byte) (Event, error) {
	var p v2Payload
	if err := jsonv2.Unmarshal(payload, &p, v2Options); err != nil {
		return Event{}, err
	}
	f := fields{
		name: p.HookEventName, sessionID: p.SessionID, promptID: p.PromptID, agentID: p.AgentID,
		agentType: p.AgentType, toolName: p.ToolName, toolUseID: p.ToolUseID,
		notificationType: p.NotificationType, model: p.Model, source: p.Source, reason: p.Reason,
		trigger: p.Trigger, cwd: p.CWD, permissionMode: p.PermissionMode,
		transcriptPath: p.TranscriptPath, agentTranscriptPath: p.AgentTranscriptPath,
		mcpServerName: p.MCPServerName, message: p.Message, prompt: p.Prompt, filePath: p.FilePath,
		fromModel: p.FromModel, toModel: p.ToModel, commandName: p.CommandName, via: p.Via,
		interrupt: p.IsInterrupt, toolInput: p.ToolInput, toolResponse: p.ToolResponse,
	}
	if len(p.ToolInput) > 0 && p.ToolInput[0] == '{' {
		var in stdToolInput
		if err := jsonv2.Unmarshal(p.ToolInput, &in, v2Options); err != nil {
			return Event{}, err
		}
		f.inCommand, f.inFilePath, f.inNotebookPath, f.inPath = in.Command, in.FilePath, in.NotebookPath, in.Path
	}
	switch {
	case len(p.Error) == 0 || string(p.Error) == "null":
	case p.Error[0] == '"':
		if err := jsonv2.Unmarshal(p.Error, &f.errText, v2Options); err != nil {
			return Event{}, err
		}
	default:
		f.errText = compactText(p.Error)
	}
	if isNumberStart(p.DurationMS) {
		f.hasDuration = jsonv2.Unmarshal(p.DurationMS, &f.duration) == nil
	}
	return normalise(&f, payload)
}

// ---- go-json-experiment/json/jsontext: token streaming over the payload ----

// decodeJSONText streams tokens with a jsontext.Decoder reading a bytes.Buffer,
// which it parses in place, so values are sub-slices of the payload.
func decodeJSONText(payload []byte) (Event, error) {
	dec := jsontext.NewDecoder(bytes.NewBuffer(payload),
		jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := dec.ReadToken()
	if err != nil {
		return Event{}, err
	}
	if tok.Kind() != '{' {
		return Event{}, ErrNotObject
	}
	var f fields
	var scratch []byte
	// str reads a value and returns it as a string when it is one.
	str := func() (string, error) {
		v, err := dec.ReadValue()
		if err != nil || v.Kind() != '"' {
			return "", err
		}
		if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
			return string(v[1 : len(v)-1]), nil
		}
		// ReadValue validated v, so an error here only reports invalid UTF-8,
		// which AppendUnquote has already replaced with U+FFFD.
		scratch, _ = jsontext.AppendUnquote(scratch[:0], v)
		return string(scratch), nil
	}
	// name reads an object member name without allocating when it has no escapes.
	name := func() ([]byte, error) {
		v, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(v, '\\') < 0 {
			return v[1 : len(v)-1], nil
		}
		return jsontext.AppendUnquote(nil, v)
	}
	for dec.PeekKind() == '"' {
		key, err := name()
		if err != nil {
			return Event{}, err
		}
		var target *string
		switch string(key) {
		case "hook_event_name":
			target = &f.name
		case "session_id":
			target = &f.sessionID
		case "prompt_id":
			target = &f.promptID
		case "agent_id":
			target = &f.agentID
		case "agent_type":
			target = &f.agentType
		case "tool_name":
			target = &f.toolName
		case "tool_use_id":
			target = &f.toolUseID
		case "notification_type":
			target = &f.notificationType
		case "model":
			target = &f.model
		case "source":
			target = &f.source
		case "reason":
			target = &f.reason
		case "trigger":
			target = &f.trigger
		case "cwd":
			target = &f.cwd
		case "permission_mode":
			target = &f.permissionMode
		case "transcript_path":
			target = &f.transcriptPath
		case "agent_transcript_path":
			target = &f.agentTranscriptPath
		case "mcp_server_name":
			target = &f.mcpServerName
		case "from_model":
			target = &f.fromModel
		case "to_model":
			target = &f.toModel
		case "command_name":
			target = &f.commandName
		case "via":
			target = &f.via
		case "message":
			target = &f.message
		case "prompt":
			target = &f.prompt
		case "file_path":
			target = &f.filePath
		case "error":
			if dec.PeekKind() == '"' {
				target = &f.errText
				break
			}
			v, err := dec.ReadValue()
			if err != nil {
				return Event{}, err
			}
			f.errText = ""
			if v.Kind() != 'n' {
				f.errText = compactText(v)
			}
			continue
		case "duration_ms":
			v, err := dec.ReadValue()
			if err != nil {
				return Event{}, err
			}
			f.duration, f.hasDuration = 0, false
			if v.Kind() == '0' {
				f.duration, f.hasDuration = parseNumber(v)
			}
			continue
		case "is_interrupt":
			v, err := dec.ReadValue()
			if err != nil {
				return Event{}, err
			}
			f.interrupt = v.Kind() == 't'
			continue
		case "tool_response":
			v, err := dec.ReadValue()
			if err != nil {
				return Event{}, err
			}
			f.toolResponse = nil
			if v.Kind() != 'n' {
				end := int(dec.InputOffset())
				f.toolResponse = payload[end-len(v) : end]
			}
			continue
		case "tool_input":
			f.inCommand, f.inFilePath, f.inNotebookPath, f.inPath = "", "", "", ""
			if dec.PeekKind() != '{' {
				v, err := dec.ReadValue()
				if err != nil {
					return Event{}, err
				}
				f.toolInput = nil
				if v.Kind() != 'n' {
					end := int(dec.InputOffset())
					f.toolInput = payload[end-len(v) : end]
				}
				continue
			}
			if _, err := dec.ReadToken(); err != nil {
				return Event{}, err
			}
			start := int(dec.InputOffset()) - 1
			for dec.PeekKind() == '"' {
				k, err := name()
				if err != nil {
					return Event{}, err
				}
				var t *string
				switch string(k) {
				case "command":
					t = &f.inCommand
				case "file_path":
					t = &f.inFilePath
				case "notebook_path":
					t = &f.inNotebookPath
				case "path":
					t = &f.inPath
				default:
					if err := dec.SkipValue(); err != nil {
						return Event{}, err
					}
					continue
				}
				if *t, err = str(); err != nil {
					return Event{}, err
				}
			}
			if _, err := dec.ReadToken(); err != nil {
				return Event{}, err
			}
			f.toolInput = payload[start:int(dec.InputOffset())]
			continue
		default:
			if err := dec.SkipValue(); err != nil {
				return Event{}, err
			}
			continue
		}
		if *target, err = str(); err != nil {
			return Event{}, err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return Event{}, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return Event{}, fmt.Errorf("data after top-level value: %v", err)
	}
	return normalise(&f, payload)
}

// ---- reference: encoding/json into map[string]json.RawMessage ----

// decodeReference is slow but obviously right about JSON: member names are
// exact, the last duplicate wins, and each value is interpreted on its own with
// encoding/json. The fuzz test compares Decode with it.
func decodeReference(payload []byte) (Event, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return Event{}, err
	}
	if top == nil {
		return Event{}, ErrNotObject
	}
	str := func(m map[string]json.RawMessage, key string) string {
		raw := m[key]
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	f := fields{
		name: str(top, "hook_event_name"), sessionID: str(top, "session_id"),
		promptID: str(top, "prompt_id"), agentID: str(top, "agent_id"),
		agentType: str(top, "agent_type"), toolName: str(top, "tool_name"),
		toolUseID: str(top, "tool_use_id"), notificationType: str(top, "notification_type"),
		model: str(top, "model"), source: str(top, "source"), reason: str(top, "reason"),
		trigger: str(top, "trigger"), cwd: str(top, "cwd"), permissionMode: str(top, "permission_mode"),
		transcriptPath: str(top, "transcript_path"), agentTranscriptPath: str(top, "agent_transcript_path"),
		mcpServerName: str(top, "mcp_server_name"), message: str(top, "message"),
		prompt: str(top, "prompt"), filePath: str(top, "file_path"),
		fromModel: str(top, "from_model"), toModel: str(top, "to_model"),
		commandName: str(top, "command_name"), via: str(top, "via"),
		interrupt: string(top["is_interrupt"]) == "true",
	}
	if raw := top["tool_input"]; len(raw) > 0 && string(raw) != "null" {
		f.toolInput = raw
		if raw[0] == '{' {
			var in map[string]json.RawMessage
			if err := json.Unmarshal(raw, &in); err != nil {
				return Event{}, err
			}
			f.inCommand, f.inFilePath = str(in, "command"), str(in, "file_path")
			f.inNotebookPath, f.inPath = str(in, "notebook_path"), str(in, "path")
		}
	}
	if raw := top["tool_response"]; len(raw) > 0 && string(raw) != "null" {
		f.toolResponse = raw
	}
	if raw := top["error"]; len(raw) > 0 && string(raw) != "null" {
		if raw[0] == '"' {
			f.errText = str(top, "error")
		} else {
			f.errText = compactText(raw)
		}
	}
	if raw := top["duration_ms"]; isNumberStart(raw) {
		f.hasDuration = json.Unmarshal(raw, &f.duration) == nil
	}
	return normalise(&f, payload)
}
