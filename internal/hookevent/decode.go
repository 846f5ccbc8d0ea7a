package hookevent

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned (wrapped) by Decode; test them with errors.Is.
var (
	// ErrNotObject means the payload is empty or its top-level value is not a JSON object.
	ErrNotObject = errors.New("payload is not a JSON object")
	// ErrNoEventName means the payload has no hook_event_name, or it is not a non-empty string.
	ErrNoEventName = errors.New("payload has no hook_event_name")
	// ErrSyntax means the payload is not valid JSON.
	ErrSyntax = errors.New("invalid JSON")
)

// Decode normalises one hook payload, a JSON object in compact or indented form,
// into an Event. It accepts every payload shape: unknown event names and fields
// are kept in Raw, and fields the payload lacks, session_id included, stay zero.
// It fails only when the payload is not valid JSON, not an object, or has no
// hook_event_name.
//
// The Event's ToolInput, ToolResponse and Raw alias payload; string fields are
// copied (and always valid UTF-8). When a field occurs more than once, the last
// occurrence wins; a value of an unexpected type counts as absent.
//
// Decode is safe for concurrent use.
func Decode(payload []byte) (Event, error) {
	var d decoder
	d.b = payload
	if err := d.scan(); err != nil {
		return Event{}, fmt.Errorf("decode hook payload: %w", err)
	}
	if !d.str[fName].set || d.str[fName].e == d.str[fName].s {
		return Event{}, fmt.Errorf("decode hook payload: %w", ErrNoEventName)
	}
	return d.event(), nil
}

// Indices of the string-valued fields the decoder collects.
const (
	// Short identifying fields, built into one allocation.
	fName = iota
	fSessionID
	fPromptID
	fAgentID
	fAgentType
	fToolName
	fToolUseID
	fNotificationType
	fModel
	fSource
	fReason
	fTrigger
	fCWD
	fPermissionMode
	fTranscriptPath
	fAgentTranscriptPath
	fMCPServerName
	fFromModel
	fToModel
	fCommandName
	fVia
	nMeta

	// Content fields, built into a second allocation so that keeping an id alive
	// does not keep a prompt alive.
	fError = iota - 1
	fMessage
	fPrompt
	fFilePath
	// Members of tool_input.
	fInCommand
	fInFilePath
	fInNotebookPath
	fInPath
	nFields
)

// span locates a value in the payload. For strings s and e bound the raw bytes
// between the quotes.
type span struct {
	s, e  int
	flags uint8
	set   bool
}

func (sp span) len() int { return sp.e - sp.s }

// decoder holds what one pass over a payload found.
type decoder struct {
	b            []byte
	str          [nFields]span
	toolInput    span
	toolResponse span
	errValue     span // a non-string error, kept as compact JSON text
	duration     float64
	hasDuration  bool
	interrupt    bool
}

// scan walks the payload once, validating it and recording the fields of interest.
func (d *decoder) scan() error {
	b := d.b
	i := skipWS(b, 0)
	if i >= len(b) {
		return fmt.Errorf("%w: empty payload", ErrNotObject)
	}
	if b[i] != '{' {
		return fmt.Errorf("%w: starts with %q", ErrNotObject, b[i])
	}
	i, err := d.object(i, 1)
	if err != nil {
		return err
	}
	if i = skipWS(b, i); i < len(b) {
		return errChar(b, i, "after top-level value")
	}
	return nil
}

// object scans the object at b[i] == '{', the payload's own (depth 1) or its
// tool_input (depth 2), handing each member to d.member.
func (d *decoder) object(i, depth int) (int, error) {
	b := d.b
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		key, flags, j, err := scanKey(b, i)
		if err != nil {
			return j, err
		}
		if flags&strEscape != 0 {
			var sb strings.Builder
			writeString(&sb, key, flags)
			key = []byte(sb.String())
		}
		if i, err = d.member(key, j, depth); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, errEnd(b)
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, errChar(b, i, "after object key:value pair")
		}
	}
}

// member scans the value at b[i] of the member named key of an object at depth,
// recording it when it is a field of interest.
func (d *decoder) member(key []byte, i, depth int) (int, error) {
	if depth > 1 {
		switch string(key) {
		case "command":
			return d.string(fInCommand, i, depth)
		case "file_path":
			return d.string(fInFilePath, i, depth)
		case "notebook_path":
			return d.string(fInNotebookPath, i, depth)
		case "path":
			return d.string(fInPath, i, depth)
		}
		return skipValue(d.b, i, depth)
	}
	switch string(key) {
	case "hook_event_name":
		return d.string(fName, i, depth)
	case "session_id":
		return d.string(fSessionID, i, depth)
	case "prompt_id":
		return d.string(fPromptID, i, depth)
	case "agent_id":
		return d.string(fAgentID, i, depth)
	case "agent_type":
		return d.string(fAgentType, i, depth)
	case "tool_name":
		return d.string(fToolName, i, depth)
	case "tool_use_id":
		return d.string(fToolUseID, i, depth)
	case "notification_type":
		return d.string(fNotificationType, i, depth)
	case "model":
		return d.string(fModel, i, depth)
	case "source":
		return d.string(fSource, i, depth)
	case "reason":
		return d.string(fReason, i, depth)
	case "trigger":
		return d.string(fTrigger, i, depth)
	case "cwd":
		return d.string(fCWD, i, depth)
	case "permission_mode":
		return d.string(fPermissionMode, i, depth)
	case "transcript_path":
		return d.string(fTranscriptPath, i, depth)
	case "agent_transcript_path":
		return d.string(fAgentTranscriptPath, i, depth)
	case "mcp_server_name":
		return d.string(fMCPServerName, i, depth)
	case "from_model":
		return d.string(fFromModel, i, depth)
	case "to_model":
		return d.string(fToModel, i, depth)
	case "command_name":
		return d.string(fCommandName, i, depth)
	case "via":
		return d.string(fVia, i, depth)
	case "message":
		return d.string(fMessage, i, depth)
	case "prompt":
		return d.string(fPrompt, i, depth)
	case "file_path":
		return d.string(fFilePath, i, depth)
	case "error":
		d.errValue = span{}
		if d.b[i] == '"' || d.b[i] == 'n' {
			return d.string(fError, i, depth)
		}
		d.str[fError] = span{}
		end, err := skipValue(d.b, i, depth)
		d.errValue = span{s: i, e: end, set: true}
		return end, err
	case "duration_ms":
		end, err := skipValue(d.b, i, depth)
		if err != nil {
			return end, err
		}
		d.duration, d.hasDuration = 0, false
		if c := d.b[i]; c == '-' || '0' <= c && c <= '9' {
			d.duration, d.hasDuration = parseNumber(d.b[i:end])
		}
		return end, nil
	case "is_interrupt":
		end, err := skipValue(d.b, i, depth)
		d.interrupt = err == nil && d.b[i] == 't'
		return end, err
	case "tool_input":
		for f := fInCommand; f <= fInPath; f++ {
			d.str[f] = span{}
		}
		var end int
		var err error
		if d.b[i] == '{' {
			end, err = d.object(i, 2)
		} else {
			end, err = skipValue(d.b, i, depth)
		}
		d.toolInput = d.raw(i, end)
		return end, err
	case "tool_response":
		end, err := skipValue(d.b, i, depth)
		d.toolResponse = d.raw(i, end)
		return end, err
	}
	return skipValue(d.b, i, depth)
}

// string records the string value at b[i], in an object at depth, as field f;
// any other value clears f.
func (d *decoder) string(f, i, depth int) (int, error) {
	if d.b[i] != '"' {
		d.str[f] = span{}
		return skipValue(d.b, i, depth)
	}
	end, flags, err := scanString(d.b, i)
	d.str[f] = span{s: i + 1, e: end - 1, flags: flags, set: true}
	return end, err
}

// raw returns the span of a whole value, or an unset span for null.
func (d *decoder) raw(i, end int) span {
	if d.b[i] == 'n' {
		return span{}
	}
	return span{s: i, e: end, set: true}
}

// event builds the Event from what scan found.
func (d *decoder) event() Event {
	ev := Event{Raw: d.b}
	if d.toolInput.set {
		ev.ToolInput = d.b[d.toolInput.s:d.toolInput.e:d.toolInput.e]
	}
	if d.toolResponse.set {
		ev.ToolResponse = d.b[d.toolResponse.s:d.toolResponse.e:d.toolResponse.e]
	}
	ev.DurationMS, ev.HasDuration = d.duration, d.hasDuration

	// Choose the spans that become fields before building strings, so that
	// nothing unused is copied.
	name, interned := d.intern(fName)
	if !interned {
		name = d.text(fName)
	}
	errSpan := d.str[fError]
	if name == "PermissionDenied" {
		// A denial's reason is free text, not one of SessionEnd's closed set of
		// reasons, so it must not reach Reason (a metric label).
		if d.str[fReason].len() > 0 {
			errSpan = d.str[fReason]
		}
		d.str[fReason] = span{}
	}

	var meta strings.Builder
	meta.Grow(d.lenOf(fSessionID, nMeta))
	var offs [nMeta + 1]int
	for f := fSessionID; f < nMeta; f++ {
		offs[f] = meta.Len()
		if f == fToolName {
			if _, ok := d.intern(f); ok {
				continue
			}
		}
		if sp := d.str[f]; sp.set {
			writeString(&meta, d.b[sp.s:sp.e], sp.flags)
		}
	}
	offs[nMeta] = meta.Len()
	ms := meta.String()
	field := func(f int) string { return ms[offs[f]:offs[f+1]] }
	ev.Name = name
	ev.SessionID = field(fSessionID)
	ev.PromptID = field(fPromptID)
	ev.AgentID = field(fAgentID)
	ev.AgentType = field(fAgentType)
	if tool, ok := d.intern(fToolName); ok {
		ev.ToolName = tool
	} else {
		ev.ToolName = field(fToolName)
	}
	ev.ToolUseID = field(fToolUseID)
	ev.NotificationType = field(fNotificationType)
	ev.Model = field(fModel)
	ev.Source = field(fSource)
	ev.Reason = field(fReason)
	ev.Trigger = field(fTrigger)
	ev.CWD = field(fCWD)
	ev.PermissionMode = field(fPermissionMode)
	ev.TranscriptPath = field(fTranscriptPath)
	ev.AgentTranscriptPath = field(fAgentTranscriptPath)
	ev.FromModel = field(fFromModel)
	ev.ToModel = field(fToModel)
	ev.CommandName = field(fCommandName)
	ev.Via = field(fVia)
	if server, tool, ok := SplitMCP(ev.ToolName); ok {
		ev.MCPServer, ev.MCPTool = server, tool
	} else {
		ev.MCPServer = field(fMCPServerName)
	}

	// Content fields.
	filePath := span{}
	for _, f := range []int{fInFilePath, fInNotebookPath, fInPath, fFilePath} {
		if d.str[f].len() > 0 {
			filePath = d.str[f]
			break
		}
	}
	command := span{}
	if ev.ToolName == "Bash" || ev.ToolName == "PowerShell" {
		command = d.str[fInCommand]
	}
	content := [...]span{errSpan, d.str[fMessage], d.str[fPrompt], command, filePath}
	size := d.errValue.len()
	for _, sp := range content {
		size += sp.len()
	}
	if size == 0 {
		ev.Outcome = outcome(name, d.interrupt)
		return ev
	}
	var cb strings.Builder
	cb.Grow(size)
	var coffs [len(content) + 1]int
	for k, sp := range content {
		coffs[k] = cb.Len()
		switch {
		case sp.set:
			writeString(&cb, d.b[sp.s:sp.e], sp.flags)
		case k == 0 && d.errValue.set:
			writeCompact(&cb, d.b[d.errValue.s:d.errValue.e])
		}
	}
	coffs[len(content)] = cb.Len()
	cs := cb.String()
	ev.Error = cs[coffs[0]:coffs[1]]
	ev.Message = cs[coffs[1]:coffs[2]]
	ev.Prompt = cs[coffs[2]:coffs[3]]
	ev.Command = cs[coffs[3]:coffs[4]]
	ev.FilePath = cs[coffs[4]:coffs[5]]
	ev.Outcome = outcome(name, d.interrupt)
	return ev
}

// intern returns the shared string for field f when its text is a known event or
// tool name.
func (d *decoder) intern(f int) (string, bool) {
	sp := d.str[f]
	if !sp.set || sp.flags != 0 {
		return "", false
	}
	s, ok := interned[string(d.b[sp.s:sp.e])]
	return s, ok
}

// text returns field f as its own string.
func (d *decoder) text(f int) string {
	sp := d.str[f]
	var sb strings.Builder
	sb.Grow(sp.len())
	writeString(&sb, d.b[sp.s:sp.e], sp.flags)
	return sb.String()
}

// lenOf sums the raw lengths of fields [from, to).
func (d *decoder) lenOf(from, to int) int {
	n := 0
	for f := from; f < to; f++ {
		n += d.str[f].len()
	}
	return n
}

// outcome tells how an event named name ends what it ends.
func outcome(name string, interrupt bool) Outcome {
	switch name {
	case "PostToolUse":
		return OutcomeSuccess
	case "PostToolUseFailure":
		if interrupt {
			return OutcomeInterrupted
		}
		return OutcomeFailure
	case "PermissionDenied":
		return OutcomeDenied
	case "StopFailure":
		return OutcomeFailure
	}
	return OutcomeNone
}
