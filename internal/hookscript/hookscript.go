package hookscript

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

// Item is one step of a generated script: a hook payload received at At, or
// transcript usage (applied right after the event before it).
type Item struct {
	At      time.Time
	Payload []byte
	Usage   *transcript.Usage
}

// Options shape a script.
type Options struct {
	// Base is when the script starts (sessions start up to 10 minutes later).
	Base time.Time
	// NoUsage leaves transcript usage out (for scripts fed through the spool).
	NoUsage bool
	// Before2_1_337 leaves out the shapes Claude Code 2.1.337 brought
	// (PostToolBatch denials, Interrupt, model switches, skill shell commands,
	// task notifications, a compaction's summariser).
	Before2_1_337 bool
}

// genSession writes one session's script: a random walk over what Claude
// Code does (prompts, tool calls that succeed, fail, are denied or left open,
// permission waits, subagents with and without starts, compactions, stops
// without turns, ends, late events, resumes, idle gaps long enough to expire).
func genSession(r *rand.Rand, id string, start time.Time, noUsage, noNew bool) []Item {
	var (
		out      []Item
		now      = start
		prompt   string
		tools    []string // open tool_use_ids
		agents   []string // open agent ids
		ended    bool
		idle     = true // before the first event and after a gap that expires the session, until its next event
		nprompt  int
		ntool    int
		nagent   int
		toolName = []string{"Bash", "Read", "Edit", "Grep", "mcp__db__query", "AskUserQuestion"}
	)
	ev := func(name string, kv ...any) {
		m := map[string]any{"session_id": id, "hook_event_name": name, "cwd": "/w/" + id[:4]}
		for i := 0; i+1 < len(kv); i += 2 {
			if v := kv[i+1]; v != nil && v != "" {
				m[kv[i].(string)] = v
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			panic(err) // maps of strings and numbers always marshal
		}
		now = now.Add(time.Duration(r.IntN(3000)+1) * time.Millisecond)
		out = append(out, Item{At: now, Payload: b})
		idle = false
	}
	usage := func(agent string) {
		if ended || idle || noUsage {
			return // usage of a closed session reaches only the metrics
		}
		models := []string{"claude-opus-4-6", "claude-haiku-4-5", "claude-sonnet-4-5"}
		out = append(out, Item{At: now, Usage: &transcript.Usage{
			SessionID: id, PromptID: prompt, AgentID: agent, Model: models[r.IntN(len(models))],
			MessageID: fmt.Sprintf("msg-%d", len(out)),
			Input:     int64(r.IntN(50)), Output: int64(r.IntN(500)), CacheRead: int64(r.IntN(9000)), CacheCreation: int64(r.IntN(2000)),
		}})
	}
	if r.IntN(4) > 0 {
		ev("SessionStart", "source", []string{"startup", "resume", "clear"}[r.IntN(3)], "model", "claude-opus-4-6")
	} else if r.IntN(2) == 0 {
		// The daemon started mid-turn: the first event is a tool call of a prompt it never saw.
		prompt = fmt.Sprintf("%s-p%d", id[:4], nprompt)
		ntool++
		tu := fmt.Sprintf("%s-t%d", id[:4], ntool)
		ev("PreToolUse", "prompt_id", prompt, "tool_name", "Bash", "tool_use_id", tu, "tool_input", map[string]any{"command": "ls"})
		tools = append(tools, tu)
	}
	steps := 5 + r.IntN(40)
	for range steps {
		agent := ""
		if len(agents) > 0 && r.IntN(3) == 0 {
			agent = agents[r.IntN(len(agents))]
		}
		if !noNew && r.IntN(8) == 0 {
			// The shapes Claude Code 2.1.337 brought.
			switch r.IntN(6) {
			case 0:
				// A batch: a call denied with no one to approve (only its
				// entry ends it) and a call of an unknown tool (only the entry).
				var entries []map[string]any
				if len(tools) > 0 {
					tu := tools[0]
					tools = tools[1:]
					entries = append(entries, map[string]any{"tool_name": "Write", "tool_use_id": tu,
						"tool_response": "Permission for this tool use was denied. It requires approval."})
				}
				ntool++
				entries = append(entries, map[string]any{"tool_name": "Nope", "tool_use_id": fmt.Sprintf("%s-t%d", id[:4], ntool),
					"tool_response": "<tool_use_error>Error: No such tool available: Nope</tool_use_error>"})
				ev("PostToolBatch", "prompt_id", prompt, "tool_calls", entries)
			case 1:
				ev("Interrupt", "source", "user", "reason", []string{"stop", "permission_denied", "rewind"}[r.IntN(3)], "via", "terminal")
			case 2:
				ev("PostModelSwitch", "from_model", "claude-opus-5-5", "to_model", "claude-haiku-4-5", "source", "command")
			case 3:
				ntool++
				ev("PreSkillShellCommand", "prompt_id", prompt, "tool_name", "Bash", "command_name", "review",
					"tool_use_id", fmt.Sprintf("%s-t%d:inner:preamble-0", id[:4], ntool), "tool_input", map[string]any{"command": "git diff"})
			case 4:
				nprompt++
				prompt = fmt.Sprintf("%s-p%d", id[:4], nprompt)
				ev("UserPromptSubmit", "prompt_id", prompt, "prompt", "<task-notification>agent done</task-notification>")
			default:
				// A compaction's summariser: a SubagentStop with no type and no start.
				ev("PreCompact", "trigger", "auto")
				nagent++
				ev("SubagentStop", "agent_id", fmt.Sprintf("%s-a%d", id[:4], nagent), "agent_type", "")
				ev("PostCompact", "trigger", "auto")
			}
			continue
		}
		switch k := r.IntN(100); {
		case k < 12:
			nprompt++
			prompt = fmt.Sprintf("%s-p%d", id[:4], nprompt)
			ev("UserPromptSubmit", "prompt_id", prompt, "prompt", "do the thing")
		case k < 30:
			ntool++
			tu := fmt.Sprintf("%s-t%d", id[:4], ntool)
			name := toolName[r.IntN(len(toolName))]
			if r.IntN(5) == 0 {
				ev("PermissionRequest", "prompt_id", prompt, "tool_name", name, "agent_id", agent)
			}
			ev("PreToolUse", "prompt_id", prompt, "tool_name", name, "tool_use_id", tu, "agent_id", agent)
			tools = append(tools, tu)
		case k < 48 && len(tools) > 0:
			i := r.IntN(len(tools))
			tu := tools[i]
			tools = slices.Delete(tools, i, i+1)
			switch r.IntN(6) {
			case 0:
				ev("PostToolUseFailure", "prompt_id", prompt, "tool_name", "Bash", "tool_use_id", tu, "error", "Exit code 1", "agent_id", agent)
			case 1:
				ev("PermissionDenied", "prompt_id", prompt, "tool_name", "Bash", "tool_use_id", tu, "reason", "no", "agent_id", agent)
			case 2:
				ev("PostToolUseFailure", "prompt_id", prompt, "tool_name", "Bash", "tool_use_id", tu, "error", "stopped", "is_interrupt", true)
			default:
				ev("PostToolUse", "prompt_id", prompt, "tool_name", "Bash", "tool_use_id", tu, "duration_ms", r.IntN(900), "agent_id", agent)
			}
		case k < 52:
			// An end of a call nobody saw start.
			ntool++
			ev("PostToolUse", "prompt_id", prompt, "tool_name", "Read", "tool_use_id", fmt.Sprintf("%s-t%d", id[:4], ntool))
		case k < 56:
			ev("Notification", "notification_type", "permission_prompt", "message", "Claude needs your permission")
		case k < 62:
			nagent++
			a := fmt.Sprintf("%s-a%d", id[:4], nagent)
			ev("SubagentStart", "agent_id", a, "agent_type", []string{"Explore", "Plan", "general-purpose"}[r.IntN(3)], "prompt_id", prompt)
			agents = append(agents, a)
		case k < 68 && len(agents) > 0:
			i := r.IntN(len(agents))
			a := agents[i]
			agents = slices.Delete(agents, i, i+1)
			usage(a)
			ev("SubagentStop", "agent_id", a, "agent_type", "Explore")
		case k < 70:
			// A stop without a start, or a start without an id.
			nagent++
			if r.IntN(2) == 0 {
				ev("SubagentStop", "agent_id", fmt.Sprintf("%s-a%d", id[:4], nagent), "agent_type", "Plan")
			} else {
				ev("SubagentStart", "agent_type", "Plan")
			}
		case k < 74:
			ev("PreCompact", "trigger", "auto")
			if r.IntN(3) > 0 {
				ev("PostCompact", "trigger", "auto")
			}
		case k < 75:
			ev("PostCompact", "trigger", "manual")
		case k < 84:
			usage("")
		case k < 92:
			if r.IntN(5) == 0 {
				ev("StopFailure", "prompt_id", prompt, "error", "rate_limit")
			} else {
				ev("Stop", "prompt_id", prompt)
			}
		case k < 94:
			// A stop of a prompt the daemon never saw.
			ev("Stop", "prompt_id", fmt.Sprintf("%s-ghost%d", id[:4], r.IntN(1000)))
		case k < 96:
			ev("SessionEnd", "reason", []string{"logout", "clear", "prompt_input_exit", "other"}[r.IntN(4)])
			ended = true
			tools, agents, prompt = nil, nil, ""
			if r.IntN(2) == 0 {
				ev("Notification", "notification_type", "idle_prompt") // late
			}
			if r.IntN(2) == 0 {
				now = now.Add(time.Duration(r.IntN(600)) * time.Second)
				ev("SessionStart", "source", "resume")
				ended = false
			}
		case k < 98:
			// Idle long enough to expire: the next event opens a new generation.
			now = now.Add(31*time.Minute + time.Duration(r.IntN(120))*time.Minute)
			tools, agents = nil, nil
			idle = true
		default:
			now = now.Add(time.Duration(r.IntN(20)) * time.Second)
		}
	}
	return out
}

// Generate writes a script of one to four sessions interleaved by receive
// time; the same r yields the same script.
func Generate(r *rand.Rand, opts Options) []Item {
	var all []Item
	n := 1 + r.IntN(4)
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), i)
		all = append(all, genSession(r, id, opts.Base.Add(time.Duration(r.IntN(600))*time.Second), opts.NoUsage, opts.Before2_1_337)...)
	}
	slices.SortStableFunc(all, func(a, b Item) int { return a.At.Compare(b.At) })
	return all
}

// SessionIDs lists the session ids of a script's payloads, in order of appearance.
func SessionIDs(items []Item) []string {
	var ids []string
	for _, it := range items {
		var p struct {
			SessionID string `json:"session_id"`
		}
		if it.Payload != nil && json.Unmarshal(it.Payload, &p) == nil && !slices.Contains(ids, p.SessionID) {
			ids = append(ids, p.SessionID)
		}
	}
	return ids
}
