package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// genBase is when generated histories start.
var genBase = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

// Vocabulary of generated sessions: what Claude Code sessions in a handful of
// repositories look like, with some Japanese and Chinese text.
var (
	genProjects = []string{"acme-api", "acme-web", "billing-service", "infra", "請求システム", "数据管道", "docs-site", "mobile-app"}
	genDirs     = []string{"src", "src/billing", "src/auth", "internal/store", "cmd/server", "pkg/util", "tests/e2e", "src/計算", "scripts", "web/components"}
	genFiles    = []string{"invoice.ts", "main.go", "handler.go", "README.md", "index.tsx", "消費税.ts", "config.yaml", "schema.sql", "utils.py", "数据.json", "Dockerfile", "api_test.go"}
	genCommands = []string{
		"npm test -- %s", "go test ./%s/...", "git status", "git diff -- %s", "git log --oneline -n 20 -- %s",
		"rg -n 'TODO' %s", "ls -la %s", "make build", "docker compose up -d postgres", "cat %s | head -50",
		"pytest -x %s", "cargo build --release", "kubectl get pods -n billing", "git commit -am \"修复 %s 的错误\"",
		"npm run lint -- --fix %s", "terraform plan -out=plan.tfplan", "curl -s http://localhost:8080/healthz",
	}
	genErrors = []string{
		"Exit code 1\nFAIL %s", "Exit code 2\nerror: cannot find module '%s'", "Exit code 128\nfatal: not a git repository",
		"File does not exist: %s", "String to replace not found in file %s", "Command timed out after 2m 0s",
		"Exit code 1\nエラー: %s のテストが失敗しました", "Exit code 1\n错误: 无法连接到数据库",
	}
	genPrompts = []string{
		"Fix the failing tests in %s", "Explain what %s does", "Refactor %s to use the new API",
		"%s のテストを直してください", "请帮我优化 %s 的性能", "Add logging to %s and open a PR",
	}
	genNotes = []string{"Claude needs your permission to use Bash", "Claude is waiting for your input", "Claude needs your permission to use Edit"}
)

// generator produces realistic event histories quickly: sessions of a few
// hundred events with tool calls in Pre/Post pairs, failures, subagents and
// notifications, with payloads shaped like the hooks'.
type generator struct {
	rng *rand.Rand
	n   int
	t   time.Time
}

func newGenerator(seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: genBase}
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *generator) path(project string) string {
	return "/home/dev/src/" + project + "/" + g.pick(genDirs) + "/" + g.pick(genFiles)
}

// session appends one session's events to out (at most max events).
func (g *generator) session(out []wire.Event, max int) []wire.Event {
	sid := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<12), g.rng.IntN(1<<12), g.rng.Uint64()&(1<<48-1))
	project := g.pick(genProjects)
	cwd := "/home/dev/src/" + project
	length := 50 + g.rng.IntN(600)
	agentID, agentType := "", ""
	emit := func(name string, set func(ev *wire.Event, p map[string]any)) {
		if len(out) >= max || length <= 0 {
			return
		}
		length--
		g.n++
		g.t = g.t.Add(time.Duration(50+g.rng.IntN(3000)) * time.Millisecond)
		ev := wire.Event{ID: fmt.Sprintf("%032x", g.n), Time: g.t, SessionID: sid, Event: name, CWD: cwd, AgentID: agentID, AgentType: agentType}
		p := map[string]any{
			"session_id": sid, "transcript_path": "/home/dev/.claude/projects/-home-dev-src-" + project + "/" + sid + ".jsonl",
			"cwd": cwd, "hook_event_name": name, "permission_mode": "default",
		}
		if agentID != "" {
			p["agent_id"], p["agent_type"] = agentID, agentType
		}
		if set != nil {
			set(&ev, p)
		}
		ev.Payload, _ = json.Marshal(p)
		out = append(out, ev)
	}
	emit("SessionStart", func(ev *wire.Event, p map[string]any) {
		ev.Model = "claude-opus-4-6"
		p["source"], p["model"] = "startup", ev.Model
	})
	for length > 0 && len(out) < max {
		prompt := fmt.Sprintf(g.pick(genPrompts), g.pick(genDirs))
		emit("UserPromptSubmit", func(ev *wire.Event, p map[string]any) { p["prompt"] = prompt })
		calls := 1 + g.rng.IntN(12)
		for c := 0; c < calls; c++ {
			if g.rng.IntN(20) == 0 && agentID == "" {
				agentID, agentType = fmt.Sprintf("%016x", g.rng.Uint64()), g.pick([]string{"Explore", "general-purpose", "Plan"})
				emit("SubagentStart", nil)
			}
			tool, summary, input := "", "", map[string]any{}
			switch r := g.rng.IntN(10); {
			case r < 4:
				tool = "Bash"
				cmd := g.pick(genCommands)
				if strings.Contains(cmd, "%s") {
					cmd = fmt.Sprintf(cmd, g.pick(genDirs))
				}
				summary = cmd
				input["command"], input["description"] = cmd, "Run a command"
			case r < 7:
				tool = "Read"
				summary = g.path(project)
				input["file_path"] = summary
			case r < 9:
				tool = "Edit"
				summary = g.path(project)
				input["file_path"], input["old_string"], input["new_string"] = summary, "return a", "return b"
			default:
				tool = "mcp__github__search_code"
				input["query"] = "repo:acme/" + project + " vat"
			}
			useID := fmt.Sprintf("toolu_%024x", g.rng.Uint64())
			set := func(ev *wire.Event, p map[string]any) {
				ev.Tool, ev.ToolUseID, ev.Summary = tool, useID, summary
				if strings.HasPrefix(tool, "mcp__") {
					ev.MCPServer = "github"
				}
				p["tool_name"], p["tool_input"], p["tool_use_id"] = tool, input, useID
			}
			emit("PreToolUse", set)
			if g.rng.IntN(12) == 0 {
				errText := g.pick(genErrors)
				if strings.Contains(errText, "%s") {
					errText = fmt.Sprintf(errText, g.pick(genFiles))
				}
				emit("PostToolUseFailure", func(ev *wire.Event, p map[string]any) {
					set(ev, p)
					ev.Outcome, ev.Error = "failure", errText
					p["error"] = errText
				})
				continue
			}
			emit("PostToolUse", func(ev *wire.Event, p map[string]any) {
				set(ev, p)
				d := float64(1 + g.rng.IntN(5000))
				ev.Outcome, ev.DurationMS = "success", &d
				p["duration_ms"], p["tool_response"] = d, map[string]any{"stdout": "ok\n", "stderr": "", "interrupted": false}
			})
			if agentID != "" && g.rng.IntN(4) == 0 {
				emit("SubagentStop", nil)
				agentID, agentType = "", ""
			}
		}
		if g.rng.IntN(6) == 0 {
			note := g.pick(genNotes)
			emit("Notification", func(ev *wire.Event, p map[string]any) {
				ev.Summary, ev.NotificationType = note, "idle_prompt"
				p["message"], p["notification_type"] = note, "idle_prompt"
			})
		}
		emit("Stop", nil)
	}
	length = 1
	agentID, agentType = "", ""
	emit("SessionEnd", func(ev *wire.Event, p map[string]any) { p["reason"] = "prompt_input_exit" })
	g.t = g.t.Add(time.Duration(g.rng.IntN(600)) * time.Second)
	return out
}

// generate returns n events of consecutive sessions.
func (g *generator) generate(n int) []wire.Event {
	out := make([]wire.Event, 0, n)
	for len(out) < n {
		out = g.session(out, n)
	}
	return out
}

func (g *generator) nextID() string { return fmt.Sprintf("%032x", g.n) }
