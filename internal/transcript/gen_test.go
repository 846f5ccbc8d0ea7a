package transcript

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
)

// key groups usage the way the tracker attributes it.
type key struct {
	Session, Agent, Prompt, Model string
}

// totals are summed token counts.
type totals struct {
	Input, Output, CacheRead, CacheCreation, CacheCreation1h int64
}

func (t *totals) add(u Usage) {
	t.Input += u.Input
	t.Output += u.Output
	t.CacheRead += u.CacheRead
	t.CacheCreation += u.CacheCreation
	t.CacheCreation1h += u.CacheCreation1h
}

func sum(us []Usage) map[key]totals {
	m := map[key]totals{}
	for _, u := range us {
		k := key{u.SessionID, u.AgentID, u.PromptID, u.Model}
		t := m[k]
		t.add(u)
		m[k] = t
	}
	for k, t := range m {
		if t == (totals{}) {
			delete(m, k)
		}
	}
	return m
}

func formatTotals(m map[key]totals) string {
	var b strings.Builder
	keys := slices.SortedFunc(maps.Keys(m), func(a, b key) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	var all totals
	for _, k := range keys {
		t := m[k]
		fmt.Fprintf(&b, "session=%s agent=%q prompt=%q model=%s in=%d out=%d cache_read=%d cache_creation=%d cache_creation_1h=%d\n",
			k.Session, k.Agent, k.Prompt, k.Model, t.Input, t.Output, t.CacheRead, t.CacheCreation, t.CacheCreation1h)
		all.Input += t.Input
		all.Output += t.Output
		all.CacheRead += t.CacheRead
		all.CacheCreation += t.CacheCreation
		all.CacheCreation1h += t.CacheCreation1h
	}
	fmt.Fprintf(&b, "total in=%d out=%d cache_read=%d cache_creation=%d cache_creation_1h=%d\n",
		all.Input, all.Output, all.CacheRead, all.CacheCreation, all.CacheCreation1h)
	return b.String()
}

// generated is a synthetic session: the bytes of its main transcript and of
// each subagent transcript, and the totals a correct reader must find.
type generated struct {
	session string
	main    []byte
	agents  map[string][]byte // agent id -> transcript
	want    map[key]totals
}

// generate writes a realistic transcript: prompts, assistant responses of one
// to four lines sharing a message id (streaming partials, the last line
// wins, sometimes lower than an earlier one), tool results whose contents
// mention "assistant" and "promptId", synthetic messages, unknown line types,
// messages replayed later in the file (a resume), and subagents with their own
// transcripts whose lines are sidechain lines with an agentId.
func generate(seed uint64, messages int) generated {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := generated{
		session: fmt.Sprintf("sess-%04d", seed),
		agents:  map[string][]byte{},
		want:    map[key]totals{},
	}
	models := []string{"claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-experimental-9"}
	var main strings.Builder
	// history holds the main conversation's assistant lines with their message
	// number, for replays; latest is the number of its latest message, which a
	// replay never includes (its figures may still change).
	type histLine struct {
		msg int
		l   string
	}
	var history []histLine
	latest := 0
	prompt := ""
	msgN := 0
	line := func(b *strings.Builder, s string) { b.WriteString(s); b.WriteByte('\n') }
	assistant := func(b *strings.Builder, agent, model string, sidechain bool) {
		msgN++
		id := fmt.Sprintf("msg_%d_%06d", seed, msgN)
		parts := 1 + r.IntN(4)
		in, cr, cw := int64(r.IntN(10)), int64(r.IntN(50000)), int64(r.IntN(6000))
		var cw1h int64
		split := r.IntN(3) > 0
		if split {
			cw1h = int64(r.IntN(int(cw) + 1))
		}
		var out int64
		for p := range parts {
			out = int64(1 + r.IntN(400))
			if p == parts-1 && r.IntN(10) == 0 {
				out = 1 // a final line lower than a partial one: the last one still wins
			}
			usage := fmt.Sprintf(`"usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,`, in, cw, cr)
			if split {
				usage += fmt.Sprintf(`"cache_creation":{"ephemeral_5m_input_tokens":%d,"ephemeral_1h_input_tokens":%d},`, cw-cw1h, cw1h)
			}
			usage += fmt.Sprintf(`"output_tokens":%d,"service_tier":"standard"}`, out)
			content := `[{"type":"text","text":"Let me look at \"assistant\" code {x}."}]`
			if p > 0 {
				content = `[{"type":"tool_use","id":"toolu_x","name":"Bash","input":{"command":"grep -r \"type\\\":\\\"assistant\" ."}}]`
			}
			agentField := ""
			if agent != "" {
				agentField = fmt.Sprintf(`"agentId":%q,`, agent)
			}
			l := fmt.Sprintf(`{"parentUuid":"p","isSidechain":%t,"userType":"external","sessionId":%q,%s"message":{"model":%q,"id":%q,"type":"message","role":"assistant","content":%s,"stop_reason":null,%s},"requestId":"req_%d","type":"assistant","uuid":"u-%d-%d","timestamp":"2026-08-12T09:14:05.902Z"}`,
				sidechain, g.session, agentField, model, id, content, usage, msgN, msgN, p)
			line(b, l)
			if agent == "" {
				history = append(history, histLine{msgN, l})
			}
		}
		if agent == "" {
			latest = msgN
		}
		k := key{g.session, agent, prompt, model}
		t := g.want[k]
		t.add(Usage{Input: in, Output: out, CacheRead: cr, CacheCreation: cw, CacheCreation1h: cw1h})
		g.want[k] = t
	}
	for range messages {
		switch n := r.IntN(20); {
		case n < 2 || prompt == "":
			prompt = fmt.Sprintf("prompt-%d-%d", seed, r.IntN(1<<30))
			line(&main, fmt.Sprintf(`{"parentUuid":null,"isSidechain":false,"type":"user","message":{"role":"user","content":"Fix the \"assistant\" tests"},"uuid":"u","timestamp":"2026-08-12T09:14:02.117Z","promptId":%q,"permissionMode":"default"}`, prompt))
		case n < 4:
			// A tool result: large, mentions promptId and assistant inside strings
			// and nested objects, carries the turn's prompt id at the end.
			body := strings.Repeat(`line with \"promptId\":\"fake\" and \"type\":\"assistant\"\n`, 1+r.IntN(200))
			line(&main, fmt.Sprintf(`{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_x","type":"tool_result","content":"%s","is_error":false}]},"toolUseResult":{"stdout":"ok","nested":{"type":"assistant","promptId":"nested-fake"}},"promptId":%q}`, body, prompt))
		case n < 5:
			line(&main, `{"type":"assistant","message":{"model":"<synthetic>","id":"synthetic-`+fmt.Sprint(r.IntN(1<<20))+`","role":"assistant","content":[{"type":"text","text":"No response requested."}],"usage":{"input_tokens":0,"output_tokens":0}},"uuid":"s"}`)
		case n < 7:
			kinds := []string{`{"type":"progress","data":{"type":"assistant"}}`, `{"type":"system","subtype":"compact_boundary","content":"x"}`, `{"type":"file-history-snapshot","snapshot":{}}`, `{"type":"summary","summary":"s","leafUuid":"l"}`, `{"type":"future-kind","message":{"id":"msg_never","usage":{"input_tokens":99}}}`}
			line(&main, kinds[r.IntN(len(kinds))])
		case n < 8 && len(history) > 0 && history[0].msg < latest:
			// A resume replays earlier lines of the conversation.
			older := history[:slices.IndexFunc(history, func(h histLine) bool { return h.msg == latest })]
			start := r.IntN(len(older))
			for _, h := range older[start:min(len(older), start+1+r.IntN(6))] {
				line(&main, strings.Replace(h.l, `"uuid":"u-`, `"uuid":"replay-u-`, 1))
			}
		case n < 10:
			agent := fmt.Sprintf("a%04x%04x", seed, r.IntN(1<<16))
			var ab strings.Builder
			line(&ab, fmt.Sprintf(`{"parentUuid":null,"isSidechain":true,"agentId":%q,"type":"user","message":{"role":"user","content":"Find call sites"},"uuid":"x","promptId":%q}`, agent, prompt))
			for range 1 + r.IntN(5) {
				assistant(&ab, agent, models[r.IntN(len(models))], true)
			}
			g.agents[agent] = []byte(ab.String())
		default:
			assistant(&main, "", models[r.IntN(len(models))], false)
		}
	}
	g.main = []byte(main.String())
	for k, t := range g.want {
		if t == (totals{}) {
			delete(g.want, k)
		}
	}
	return g
}
