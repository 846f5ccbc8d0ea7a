package session

import (
	"slices"
	"strconv"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
)

// Pairing rules for the shapes Claude Code 2.1.337 brought (see DESIGN.md,
// "Claude Code 2.1.337").

// batchEnded ends, from a PostToolBatch, the calls of the batch that nothing
// else ended: a call denied with no one to approve it gets a PreToolUse and then
// only its batch entry, and a call of a disabled or unknown tool only the entry.
// Entries of calls a PostToolUse, PostToolUseFailure or PermissionDenied ended
// (remembered in RecentCalls) end nothing.
func (t *Tracker) batchEnded(s *sessionState, ev *hookevent.Event) {
	calls, err := hookevent.BatchCalls(ev.Raw)
	if err != nil {
		return // a batch of an unknown shape tells nothing more than its count
	}
	for _, bc := range calls {
		if bc.ToolUseID == "" || containsString(s.RecentCalls, bc.ToolUseID) {
			continue
		}
		outcome := hookevent.BatchOutcome(bc.Response)
		open := containsFunc(s.Calls, func(c *callState) bool { return c.ID == bc.ToolUseID })
		switch {
		case outcome == hookevent.OutcomeDenied:
			// Denied with no one to approve, or a disabled tool: nothing else
			// will end it.
		case open:
			// Hook processes run in parallel: the call's own PostToolUse or
			// PostToolUseFailure is on its way and tells more.
			continue
		case strings.Contains(bc.Response, "<tool_use_error>"):
			// A call Claude Code refused before running it (an unknown tool,
			// bad input): only the batch tells of it.
		default:
			// A call whose own hooks this session did not see (the daemon
			// started mid-turn): its outcome is unknown, it is not invented.
			continue
		}
		end := hookevent.Event{
			Name:      ev.Name,
			Received:  ev.Received,
			SessionID: ev.SessionID,
			PromptID:  ev.PromptID,
			AgentID:   ev.AgentID,
			AgentType: ev.AgentType,
			ToolName:  bc.ToolName,
			ToolUseID: bc.ToolUseID,
			Outcome:   outcome,
			Error:     bc.Response,
		}
		if server, tool, ok := hookevent.SplitMCP(bc.ToolName); ok {
			end.MCPServer, end.MCPTool = server, tool
		}
		t.toolEnded(s, &end)
	}
}

// interrupted applies Interrupt: the open turn ends as interrupted (its reason
// on the span), and permission waits it ended count as denied.
func (t *Tracker) interrupted(s *sessionState, ev *hookevent.Event) {
	source := fold(interruptSourceSet, ev.Source, LabelUnknown)
	reason := fold(interruptReasonSet, ev.Reason, LabelUnknown)
	bySource := t.st.Metrics.Interrupts[source]
	if bySource == nil {
		bySource = map[string]uint64{}
		t.st.Metrics.Interrupts[source] = bySource
	}
	bySource[reason]++
	// A call waiting for permission was refused by the interrupt: it ends as
	// denied with its wait.
	for _, w := range slices.Clone(s.Waits) {
		i := slices.IndexFunc(s.Calls, func(c *callState) bool { return c.Tool == w.Tool && c.AgentID == w.AgentID })
		if w.Tool == "" || i < 0 {
			continue
		}
		c := s.Calls[i]
		t.toolEnded(s, &hookevent.Event{
			Name: ev.Name, Received: ev.Received, SessionID: ev.SessionID, PromptID: c.PromptID,
			AgentID: c.AgentID, ToolName: c.Tool, ToolUseID: c.ID, MCPServer: c.MCPServer,
			Outcome: hookevent.OutcomeDenied,
		})
	}
	for _, w := range s.Waits {
		t.countWait(s, w, w.Tool)
		observe(t.st.Metrics.PermissionWait, t.toolLabel(w.Tool, false), seconds(w.Start, ev.Received))
		t.emitWait(s, w, w.Tool, ev.Received, OutcomeDenied, OutcomeDenied)
	}
	s.Waits = nil
	if s.Turn != nil {
		s.Turn.Interrupt = reason
		t.closeTurn(s, OutcomeInterrupted, OutcomeInterrupted, ev.Received)
	}
}

// modelSwitched applies PostModelSwitch: the session's model follows and the
// switch is counted by model labels (capped like the token metrics').
func (t *Tracker) modelSwitched(s *sessionState, ev *hookevent.Event) {
	if ev.ToModel == "" {
		return
	}
	from := t.modelLabel(ev.FromModel)
	to := t.modelLabel(ev.ToModel)
	byFrom := t.st.Metrics.ModelSwitches[from]
	if byFrom == nil {
		byFrom = map[string]uint64{}
		t.st.Metrics.ModelSwitches[from] = byFrom
	}
	byFrom[to]++
	s.Model = strings.Clone(ev.ToModel)
	s.ModelSwitches++
	if len(s.Switches) < maxSwitchEvents {
		s.Switches = append(s.Switches, switchState{
			At: ev.Received, From: strings.Clone(ev.FromModel), To: s.Model, Source: strings.Clone(ev.Source),
		})
	}
}

// maxSwitchEvents bounds the model-switch events a session root carries (and
// its state holds); the count on the root covers all of them.
const maxSwitchEvents = 32

// switchEvents are the root span's model-switch events.
func switchEvents(s *sessionState) []SpanEvent {
	if len(s.Switches) == 0 {
		return nil
	}
	out := make([]SpanEvent, 0, len(s.Switches))
	for _, sw := range s.Switches {
		attrs := []Attr{{Key: AttrSwitchFrom, Value: sw.From}, {Key: AttrSwitchTo, Value: sw.To}}
		if sw.Source != "" {
			attrs = append(attrs, Attr{Key: AttrSwitchSource, Value: sw.Source})
		}
		out = append(out, SpanEvent{Name: EventModelSwitch, Time: sw.At, Attrs: attrs})
	}
	return out
}

// skillShell applies PreSkillShellCommand: a point-in-time span under its turn
// (or subagent), counted, and never a tool call: no PostToolUse pairs with it.
func (t *Tracker) skillShell(s *sessionState, ev *hookevent.Event) {
	t.st.Metrics.SkillShellCommands++
	s.Seq.Call++
	key := ev.ToolUseID
	if key == "" {
		key = strconv.Itoa(s.Seq.Call)
	}
	name := "skill_shell"
	if ev.CommandName != "" {
		name += " " + ev.CommandName
	}
	attrs := common(make([]Attr, 0, 7), s, ev.PromptID)
	if ev.ToolName != "" {
		attrs = append(attrs, Attr{Key: AttrToolName, Value: ev.ToolName})
	}
	if ev.CommandName != "" {
		attrs = append(attrs, Attr{Key: AttrSkillCommandName, Value: ev.CommandName})
	}
	if ev.Command != "" {
		attrs = append(attrs, Attr{Key: AttrCommandName, Value: commandName(ev.Command)}, Attr{Key: AttrCommandSize, Value: int64(len(ev.Command))})
		if t.opts.CaptureContent {
			attrs = append(attrs, Attr{Key: AttrCommand, Value: t.capture(ev.Command)})
		}
	}
	t.emit(s, KindSkillShell, s.key("skill_shell:"+key), s.parentFor(ev.AgentID), strings.Clone(name),
		ev.Received, ev.Received, OutcomeSuccess, "", attrs)
}

func containsFunc[T any](list []T, f func(T) bool) bool {
	for _, x := range list {
		if f(x) {
			return true
		}
	}
	return false
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
