package session

import (
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/pricing"
	"github.com/claudehooks/claude-hooks-exporter/internal/transcript"
)

// Bounds of usage attribution.
const (
	// maxPendingUsage caps, per session, the prompts and the subagents whose
	// usage arrived before their span opened (each).
	maxPendingUsage = 16
	// maxSpanModels caps the model names a span remembers.
	maxSpanModels = 8
)

// Token types: the type label of claude_hooks_tokens_total.
const (
	TokenInput         = "input"
	TokenOutput        = "output"
	TokenCacheRead     = "cache_read"
	TokenCacheCreation = "cache_creation"
)

// TokenTypes are the type label values, in exposition order.
var TokenTypes = []string{TokenInput, TokenOutput, TokenCacheRead, TokenCacheCreation}

// Counter is a Prometheus counter fed with signed changes. Value never
// decreases; a change downwards (a later transcript line lowering a figure)
// is kept in Debt and absorbed by the next increases, so Value - Debt is the
// exact sum and Value is exact again once the debt is paid.
type Counter struct {
	Value float64 `json:"v"`
	Debt  float64 `json:"debt,omitempty"`
}

func (c *Counter) add(d float64) {
	if d < 0 {
		c.Debt -= d
		return
	}
	pay := min(d, c.Debt)
	c.Debt -= pay
	c.Value += d - pay
}

// TokenCounts are the tokens of one model label, by type.
type TokenCounts struct {
	Input         Counter `json:"input"`
	Output        Counter `json:"output"`
	CacheRead     Counter `json:"cache_read"`
	CacheCreation Counter `json:"cache_creation"`
}

// ByType returns the counter of a token type (one of TokenTypes), nil for others.
func (t *TokenCounts) ByType(typ string) *Counter {
	switch typ {
	case TokenInput:
		return &t.Input
	case TokenOutput:
		return &t.Output
	case TokenCacheRead:
		return &t.CacheRead
	case TokenCacheCreation:
		return &t.CacheCreation
	}
	return nil
}

// usageState is the token usage attributed to one span. Figures are exact
// sums of the Usage applied (they may dip below zero only transiently).
type usageState struct {
	Input         int64   `json:"in,omitempty"`
	Output        int64   `json:"out,omitempty"`
	CacheRead     int64   `json:"cr,omitempty"`
	CacheCreation int64   `json:"cc,omitempty"`
	CostUSD       float64 `json:"usd,omitempty"`
	// Models are the tokens of all types by model name (at most maxSpanModels
	// names): they name the span's response model.
	Models map[string]int64 `json:"models,omitempty"`
}

func (u *usageState) add(x transcript.Usage, cost float64) {
	u.Input += x.Input
	u.Output += x.Output
	u.CacheRead += x.CacheRead
	u.CacheCreation += x.CacheCreation
	u.CostUSD += cost
	if x.Model == "" {
		return
	}
	n := x.Input + x.Output + x.CacheRead + x.CacheCreation
	if v, ok := u.Models[x.Model]; ok {
		u.Models[x.Model] = v + n
		return
	}
	if len(u.Models) >= maxSpanModels {
		return
	}
	if u.Models == nil {
		u.Models = map[string]int64{}
	}
	u.Models[strings.Clone(x.Model)] = n
}

func (u *usageState) merge(o *usageState) {
	u.Input += o.Input
	u.Output += o.Output
	u.CacheRead += o.CacheRead
	u.CacheCreation += o.CacheCreation
	u.CostUSD += o.CostUSD
	for _, m := range slices.Sorted(maps.Keys(o.Models)) {
		if _, ok := u.Models[m]; !ok {
			if len(u.Models) >= maxSpanModels {
				continue
			}
			if u.Models == nil {
				u.Models = map[string]int64{}
			}
		}
		u.Models[m] += o.Models[m]
	}
}

// model is the span's response model: the one with the most tokens (ties:
// the first name); "" when none is known.
func (u *usageState) model() string {
	best := ""
	for _, m := range slices.Sorted(maps.Keys(u.Models)) {
		if best == "" || u.Models[m] > u.Models[best] {
			best = m
		}
	}
	return best
}

// usageTo adds x to *p, creating it.
func usageTo(p **usageState, x transcript.Usage, cost float64) {
	if *p == nil {
		*p = &usageState{}
	}
	(*p).add(x, cost)
}

// ApplyUsage applies one transcript usage change (from transcript.Follower.Poll):
//   - metrics: tokens by model label and type, cost by model label from the
//     price table (a model the table does not know costs 0 and its tokens are
//     counted as unpriced); always, whatever the session's state;
//   - spans, when the session is open: the session root; the turn of
//     u.PromptID (or the open turn when either prompt id is empty); the
//     subagent u.AgentID. Subagent usage counts on the turn and the root too.
//     Usage for a prompt or subagent whose span has not opened yet waits (up to
//     16 of each per session) and joins the span when it opens; usage for a
//     turn or subagent that already closed, or for a session that is not open,
//     reaches only the metrics (and the root, if open).
//
// It uses no clock and emits no spans.
func (t *Tracker) ApplyUsage(u transcript.Usage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.st.Metrics
	label := t.modelLabel(u.Model)
	tc := m.Tokens[label]
	if tc == nil {
		tc = &TokenCounts{}
		m.Tokens[label] = tc
	}
	tc.Input.add(float64(u.Input))
	tc.Output.add(float64(u.Output))
	tc.CacheRead.add(float64(u.CacheRead))
	tc.CacheCreation.add(float64(u.CacheCreation))
	var cost float64
	tokens := float64(u.Input + u.Output + u.CacheRead + u.CacheCreation)
	switch price, match, _ := t.opts.Prices.Resolve(u.Model); match {
	case pricing.Unknown:
		addCounter(m.UnpricedTokens, label, tokens)
	case pricing.Family:
		// Priced as the newest listed model of its family: an estimate, so
		// that cost does not silently drop to 0 when a model is released.
		addCounter(m.EstimatedTokens, label, tokens)
		fallthrough
	default:
		cost = price.Cost(pricing.Tokens{
			Input: u.Input, Output: u.Output, CacheRead: u.CacheRead,
			CacheWrite: u.CacheCreation, CacheWrite1h: u.CacheCreation1h,
		})
	}
	c := m.Cost[label]
	if c == nil {
		c = &Counter{}
		m.Cost[label] = c
	}
	c.add(cost)

	s := t.st.Sessions[u.SessionID]
	if s == nil {
		return
	}
	t.touch(s.ID)
	usageTo(&s.Usage, u, cost)
	switch {
	case s.Turn != nil && (u.PromptID == "" || s.Turn.PromptID == "" || s.Turn.PromptID == u.PromptID):
		usageTo(&s.Turn.Usage, u, cost)
	case u.PromptID != "" && !slices.Contains(s.RecentPrompts, u.PromptID):
		t.pend(&s.PendingTurns, u.PromptID, u, cost)
	}
	if u.AgentID == "" {
		return
	}
	if i := s.agentIndex(u.AgentID); i >= 0 {
		usageTo(&s.Agent[i].Usage, u, cost)
	} else if !slices.Contains(s.RecentAgents, u.AgentID) {
		t.pend(&s.PendingAgents, u.AgentID, u, cost)
	}
}

// pend keeps usage for a span that has not opened yet.
func (t *Tracker) pend(p *map[string]*usageState, id string, u transcript.Usage, cost float64) {
	if *p == nil {
		*p = map[string]*usageState{}
	}
	us := (*p)[id]
	if us == nil {
		if len(*p) >= maxPendingUsage {
			t.st.Metrics.Overflow[OverflowPendingUsage]++
			return
		}
		us = &usageState{}
		(*p)[strings.Clone(id)] = us
	}
	us.add(u, cost)
}

// claimPending moves the usage waiting for id into *dst.
func claimPending(pending map[string]*usageState, id string, dst **usageState) {
	us, ok := pending[id]
	if !ok || id == "" {
		return
	}
	delete(pending, id)
	if *dst == nil {
		*dst = &usageState{}
	}
	(*dst).merge(us)
}

// modelLabel is the model label value: the first MaxModels model names seen,
// then "other" (counted as an overflow); "unknown" for an empty name.
func (t *Tracker) modelLabel(name string) string {
	if name == "" {
		return LabelUnknown
	}
	if _, ok := t.modelIdx[name]; ok {
		return name
	}
	if !labelable(name) || name == LabelOther || name == LabelUnknown || len(t.st.Models) >= t.opts.MaxModels {
		t.st.Metrics.Overflow[OverflowModelLabels]++
		return LabelOther
	}
	name = strings.Clone(name)
	t.st.Models = append(t.st.Models, name)
	t.modelIdx[name] = struct{}{}
	return name
}

// usageAttrs appends the usage attributes of a span. requestModel is the
// model the span already names as requested ("" when none).
func usageAttrs(attrs []Attr, u *usageState, requestModel string) []Attr {
	if u == nil {
		return attrs
	}
	model := u.model()
	if requestModel == "" && model != "" {
		attrs = append(attrs, Attr{Key: AttrRequestModel, Value: model})
	}
	if model != "" {
		attrs = append(attrs, Attr{Key: AttrResponseModel, Value: model})
	}
	// gen_ai.usage.input_tokens includes the cached input tokens, of which
	// cache_read and cache_creation are the parts (GenAI conventions).
	attrs = append(attrs,
		Attr{Key: AttrUsageInput, Value: max(u.Input+u.CacheRead+u.CacheCreation, 0)},
		Attr{Key: AttrUsageOutput, Value: max(u.Output, 0)},
		Attr{Key: AttrUsageCacheRead, Value: max(u.CacheRead, 0)},
		Attr{Key: AttrUsageCacheCreation, Value: max(u.CacheCreation, 0)},
		Attr{Key: AttrCostUSD, Value: math.Round(max(u.CostUSD, 0)*1e6) / 1e6},
	)
	if len(u.Models) > 0 {
		attrs = append(attrs, Attr{Key: AttrModels, Value: strings.Join(slices.Sorted(maps.Keys(u.Models)), ",")})
	}
	return attrs
}

// addCounter adds v to the counter of label in cs, creating it.
func addCounter(cs map[string]*Counter, label string, v float64) {
	c := cs[label]
	if c == nil {
		c = &Counter{}
		cs[label] = c
	}
	c.add(v)
}
