package session

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/hookevent"
	"github.com/claudehooks/claude-hooks-exporter/internal/pricing"
	"github.com/claudehooks/claude-hooks-exporter/internal/redact"
	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
)

// Defaults of Options.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultMaxSessions     = 1000
	DefaultMaxOpenCalls    = 256
	DefaultMaxMCPTools     = 50
	DefaultMaxAgentTypes   = 20
	DefaultMaxModels       = 20
	DefaultContentMaxBytes = 2048
	DefaultEndedRetention  = 24 * time.Hour
	DefaultMaxEnded        = 10000
)

// ExpireGrace is added to the idle timeout by Expire, which runs on the wall
// clock, so that an event captured before the timeout but still on its way
// through the spool is applied before its session is expired. Apply itself
// expires a session exactly at the idle timeout, in event time.
const ExpireGrace = time.Minute

// Ordering limits on remembered ids: how many closed turns' prompt ids and
// stopped subagents' ids a session remembers to recognise stragglers.
const (
	recentPrompts = 4
	recentAgents  = 8
	// recentCalls is how many ended tool_use_ids a session remembers, so that
	// the PostToolBatch listing them ends nothing (a batch holds the calls of
	// one model response).
	recentCalls = 64
	// maxLateNotices bounds how many permission_prompt notifications of already
	// ended waits a session expects.
	maxLateNotices = 4
	// pruneEvery is how often, in event time, ended sessions are pruned.
	pruneEvery = time.Minute
)

// Options configures a Tracker. Zero values take the defaults.
type Options struct {
	// IdleTimeout closes sessions with no event for this long as expired (default 30 min).
	IdleTimeout time.Duration
	// MaxSessions caps open sessions; opening one more expires the least recently
	// active and counts an overflow (default 1000).
	MaxSessions int
	// MaxOpenCalls caps, per session, open tool calls, open permission waits and
	// open subagents (each); beyond it the oldest is evicted and counted (default 256).
	MaxOpenCalls int
	// MaxMCPTools caps the tool label: built-in tools plus the first MaxMCPTools
	// other tool names seen (MCP and unknown tools); the rest are "other" (default 50).
	MaxMCPTools int
	// MaxAgentTypes caps the agent_type label the same way beyond the built-in
	// subagent types (default 20).
	MaxAgentTypes int
	// MaxModels caps the model label of the token and cost metrics: the first
	// MaxModels model names seen, then "other" (default 20).
	MaxModels int
	// Prices prices token usage (ApplyUsage); nil takes pricing.Default(), the
	// built-in copy of deploy/prices.yaml.
	Prices *pricing.Table
	// CaptureContent puts prompts, commands, tool input and output and error
	// messages on spans (redacted and capped); off, only their sizes appear.
	CaptureContent bool
	// ContentMaxBytes caps each captured value (default 2048).
	ContentMaxBytes int
	// EndedRetention is how long, in event time, an ended session is remembered
	// to recognise late events (default 24 h); MaxEnded caps how many (default 10000).
	EndedRetention time.Duration
	MaxEnded       int
}

func (o Options) withDefaults() Options {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxOpenCalls <= 0 {
		o.MaxOpenCalls = DefaultMaxOpenCalls
	}
	if o.MaxMCPTools <= 0 {
		o.MaxMCPTools = DefaultMaxMCPTools
	}
	if o.MaxAgentTypes <= 0 {
		o.MaxAgentTypes = DefaultMaxAgentTypes
	}
	if o.MaxModels <= 0 {
		o.MaxModels = DefaultMaxModels
	}
	if o.Prices == nil {
		o.Prices = pricing.Default()
	}
	if o.ContentMaxBytes <= 0 {
		o.ContentMaxBytes = DefaultContentMaxBytes
	}
	if o.EndedRetention <= 0 {
		o.EndedRetention = DefaultEndedRetention
	}
	if o.MaxEnded <= 0 {
		o.MaxEnded = DefaultMaxEnded
	}
	return o
}

// Tracker turns hook events, applied in log order, into closed Spans and keeps
// the counters and histograms derived from them. It is safe for one writer
// (Apply, ApplyUsage, Expire, UnmarshalState) and any number of concurrent readers (Read,
// MarshalState).
type Tracker struct {
	opts Options

	mu sync.RWMutex
	st state
	// toolIdx, agentIdx and modelIdx index st.Tools, st.AgentTypes and st.Models.
	toolIdx  map[string]struct{}
	agentIdx map[string]struct{}
	modelIdx map[string]struct{}
	// out collects the spans closed by the current Apply or Expire.
	out []Span
	// touched lists the sessions changed since the last TakeSummaries (in
	// first-change order, touchedSet indexes it); closed holds the summaries
	// of those that closed, as they were when they closed.
	touched    []string
	touchedSet map[string]struct{}
	closed     map[string]timeline.Summary
}

// New returns an empty tracker.
func New(opts Options) *Tracker {
	t := &Tracker{opts: opts.withDefaults(), closed: map[string]timeline.Summary{}}
	t.reset(newState())
	return t
}

func newState() state {
	return state{
		Version:  stateVersion,
		Sessions: map[string]*sessionState{},
		Ended:    map[string]*tombstone{},
		Metrics:  newMetrics(),
	}
}

func (t *Tracker) reset(st state) {
	t.st = st
	t.toolIdx = make(map[string]struct{}, len(st.Tools))
	for _, v := range st.Tools {
		t.toolIdx[v] = struct{}{}
	}
	t.agentIdx = make(map[string]struct{}, len(st.AgentTypes))
	for _, v := range st.AgentTypes {
		t.agentIdx[v] = struct{}{}
	}
	t.modelIdx = make(map[string]struct{}, len(st.Models))
	for _, v := range st.Models {
		t.modelIdx[v] = struct{}{}
	}
	t.touched = t.touched[:0]
	clear(t.touchedSet)
	clear(t.closed)
}

// take returns the spans collected so far and starts a new collection; the
// caller owns the returned slice.
func (t *Tracker) take() []Span {
	out := t.out
	t.out = nil
	return out
}

// MarshalState serialises everything the tracker knows: open sessions, turns,
// calls, waits, subagents, remembered ended sessions, label admissions and all
// counters and histograms.
func (t *Tracker) MarshalState() ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	b, err := json.Marshal(&t.st)
	if err != nil {
		return nil, fmt.Errorf("marshal tracker state: %w", err)
	}
	return b, nil
}

// UnmarshalState replaces the tracker's state with one from MarshalState.
func (t *Tracker) UnmarshalState(b []byte) error {
	st := newState()
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("unmarshal tracker state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("unmarshal tracker state: version %d, want %d", st.Version, stateVersion)
	}
	if st.Sessions == nil {
		st.Sessions = map[string]*sessionState{}
	}
	if st.Ended == nil {
		st.Ended = map[string]*tombstone{}
	}
	for id, s := range st.Sessions {
		if s == nil || s.ID != id || s.Gen < 1 {
			return errors.New("unmarshal tracker state: damaged session entry")
		}
	}
	for _, ts := range st.Ended {
		if ts == nil {
			return errors.New("unmarshal tracker state: damaged ended-session entry")
		}
	}
	st.Metrics.fill()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reset(st)
	return nil
}

// Snapshot is what a metrics collector reads: the counters and histograms plus
// gauges computed from the open sessions. It is valid only inside the Read
// callback and must not be modified.
type Snapshot struct {
	Metrics *Metrics
	// SessionsActive is the number of open sessions.
	SessionsActive int
	// SessionsWaiting counts open sessions blocked on the user: an open
	// permission wait, an open AskUserQuestion or ExitPlanMode call, or an open
	// MCP elicitation.
	SessionsWaiting int
	// OldestWait is when the longest of those waits started; zero when none.
	OldestWait time.Time
	// ToolLabels, AgentTypeLabels and ModelLabels are the admitted capped label values.
	ToolLabels      []string
	AgentTypeLabels []string
	ModelLabels     []string
}

// Read calls fn with a snapshot while holding the read lock; fn must not keep
// the snapshot or anything it references.
func (t *Tracker) Read(fn func(*Snapshot)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	snap := Snapshot{
		Metrics:         &t.st.Metrics,
		SessionsActive:  len(t.st.Sessions),
		ToolLabels:      t.st.Tools,
		AgentTypeLabels: t.st.AgentTypes,
		ModelLabels:     t.st.Models,
	}
	for _, s := range t.st.Sessions {
		since, ok := s.waitingSince()
		if !ok {
			continue
		}
		snap.SessionsWaiting++
		if snap.OldestWait.IsZero() || since.Before(snap.OldestWait) {
			snap.OldestWait = since
		}
	}
	fn(&snap)
}

// waitingSince reports whether the session waits for the user, and since when.
func (s *sessionState) waitingSince() (time.Time, bool) {
	var since time.Time
	consider := func(t time.Time) {
		if since.IsZero() || t.Before(since) {
			since = t
		}
	}
	for _, w := range s.Waits {
		consider(w.Start)
	}
	for _, c := range s.Calls {
		if waitsForUser(c.Tool) {
			consider(c.Start)
		}
	}
	if !s.ElicitSince.IsZero() {
		consider(s.ElicitSince)
	}
	return since, !since.IsZero()
}

// Apply applies one event, using ev.Received as the clock, and returns the spans
// it closed (nil when none). Events must be applied in log order.
func (t *Tracker) Apply(ev *hookevent.Event) []Span {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &t.st.Metrics
	m.Events[fold(eventSet, ev.Name, LabelOther)]++
	switch ev.Name {
	case "Notification":
		m.Notifications[fold(notificationSet, ev.NotificationType, LabelUnknown)]++
	case "StopFailure":
		m.StopFailures[fold(stopErrorSet, ev.Error, LabelUnknown)]++
	}
	if ev.Received.After(t.st.Watermark) {
		t.st.Watermark = ev.Received
		if !t.st.Watermark.Before(t.st.NextPrune) {
			t.pruneEnded()
		}
	}
	if ev.SessionID == "" {
		return nil
	}
	if s := t.sessionFor(ev); s != nil {
		t.handle(s, ev)
	}
	return t.take()
}

// Expire closes, as expired, every session idle for IdleTimeout plus
// ExpireGrace at now, with its open children, and returns their spans. An
// expired span ends at the session's last event, so the result does not depend
// on when Expire runs.
func (t *Tracker) Expire(now time.Time) []Span {
	t.mu.Lock()
	defer t.mu.Unlock()
	var idle []*sessionState
	for _, s := range t.st.Sessions {
		if now.Sub(s.LastSeen) >= t.opts.IdleTimeout+ExpireGrace {
			idle = append(idle, s)
		}
	}
	slices.SortFunc(idle, byActivity)
	for _, s := range idle {
		t.closeSession(s, s.LastSeen, closeExpired, "")
	}
	return t.take()
}

// byActivity orders sessions least recently active first, ties by id.
func byActivity(a, b *sessionState) int {
	if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// sessionFor returns the open session the event belongs to, opening one when
// needed, or nil when the event is late for a session that ended.
func (t *Tracker) sessionFor(ev *hookevent.Event) *sessionState {
	s := t.st.Sessions[ev.SessionID]
	if s != nil && ev.Received.Sub(s.LastSeen) >= t.opts.IdleTimeout {
		// The session went idle before this event: it expired in between,
		// whether or not Expire ran in the meantime.
		t.closeSession(s, s.LastSeen, closeExpired, "")
		s = nil
	}
	if s != nil {
		return s
	}
	ts := t.st.Ended[ev.SessionID]
	start := ev.Name == "SessionStart"
	if ts != nil && !start {
		t.st.Metrics.LateEvents++
		if !ts.Expired {
			return nil // after SessionEnd: the session is over, the event is only counted
		}
		if ev.Name == "SessionEnd" {
			ts.Expired = false // ends what expiry already closed; nothing reopens
			return nil
		}
		// Activity after expiry: the session is evidently alive; reopen it as a
		// new generation (below).
	}
	source := SourceImplicit
	if start {
		source = fold(sourceSet, ev.Source, LabelOther)
	}
	if len(t.st.Sessions) >= t.opts.MaxSessions {
		t.evictSession()
	}
	s = &sessionState{ID: ev.SessionID, Gen: 1, Start: ev.Received, LastSeen: ev.Received, Source: source}
	if ts != nil {
		s.Gen = ts.Gen + 1
		s.Seq = ts.Seq
		s.Carried = ts.Carried
		delete(t.st.Ended, ev.SessionID)
	}
	t.st.Sessions[s.ID] = s
	t.st.Metrics.SessionsStarted[source]++
	return s
}

// evictSession expires the least recently active session to make room.
func (t *Tracker) evictSession() {
	var victim *sessionState
	for _, s := range t.st.Sessions {
		if victim == nil || byActivity(s, victim) < 0 {
			victim = s
		}
	}
	if victim == nil {
		return
	}
	t.st.Metrics.Overflow[OverflowSessions]++
	t.closeSession(victim, victim.LastSeen, closeEvicted, "")
}

// handle applies ev to its open session.
func (t *Tracker) handle(s *sessionState, ev *hookevent.Event) {
	t.touch(s.ID)
	if ev.Received.After(s.LastSeen) {
		s.LastSeen = ev.Received
	}
	if ev.CWD != "" && ev.CWD != s.CWD {
		s.CWD = strings.Clone(ev.CWD)
	}
	if ev.PermissionMode != "" {
		s.PermissionMode = ev.PermissionMode
	}
	t.followPrompt(s, ev)
	if ev.AgentID != "" && ev.Name != "SubagentStart" && ev.Name != "SubagentStop" {
		t.ensureAgent(s, ev)
	}
	switch ev.Name {
	case "SessionStart":
		if ev.Model != "" {
			s.Model = ev.Model
		}
		if s.Source == SourceImplicit {
			// Opened by an event that comes before SessionStart (Setup,
			// WorktreeCreate): the session's source is SessionStart's. The
			// sessions_started_total counter keeps what it counted then.
			s.Source = fold(sourceSet, ev.Source, LabelOther)
		}
	case "SessionEnd":
		t.closeSession(s, ev.Received, closeEnded, fold(reasonSet, ev.Reason, LabelOther))
		return
	case "UserPromptSubmit":
		t.promptSubmitted(s, ev)
	case "Stop", "StopFailure":
		t.stopped(s, ev)
	case "PreToolUse":
		t.toolStarted(s, ev)
	case "PostToolUse", "PostToolUseFailure", "PermissionDenied":
		t.toolEnded(s, ev)
	case "PermissionRequest":
		t.permissionRequested(s, ev)
	case "Notification":
		if ev.NotificationType == "permission_prompt" {
			t.permissionNotified(s, ev)
		}
	case "SubagentStart":
		t.subagentStarted(s, ev)
	case "SubagentStop":
		t.subagentStopped(s, ev)
	case "PreCompact":
		t.compactionStarted(s, ev)
	case "PostCompact":
		t.compactionEnded(s, ev)
	case "Elicitation":
		if s.ElicitSince.IsZero() {
			s.ElicitSince = ev.Received
		}
	case "ElicitationResult":
		s.ElicitSince = time.Time{}
	case "PostToolBatch":
		t.batchEnded(s, ev)
	case "Interrupt":
		t.interrupted(s, ev)
	case "PostModelSwitch":
		t.modelSwitched(s, ev)
	case "PreSkillShellCommand":
		t.skillShell(s, ev)
	}
	if s.Turn != nil && ev.Received.After(s.Turn.LastSeen) {
		s.Turn.LastSeen = ev.Received
	}
}

// key makes a span key unique across the generations of a session id: keys of
// generation n > 1 carry "#n", so a call or prompt that spans an expiry does not
// repeat a key of the generation before.
func (s *sessionState) key(k string) string {
	if s.Gen <= 1 {
		return k
	}
	return k + "#" + strconv.Itoa(s.Gen)
}

// rootKey is the key of the session's root span.
func (s *sessionState) rootKey() string { return s.key("session") }

// parentFor is the key of the span an event's new child belongs to: its
// subagent, else the open turn, else the session root.
func (s *sessionState) parentFor(agentID string) string {
	if agentID != "" && s.agentIndex(agentID) >= 0 {
		return s.key("agent:" + agentID)
	}
	if s.Turn != nil {
		return s.Turn.Key
	}
	return s.rootKey()
}

func (s *sessionState) agentIndex(id string) int {
	for i, a := range s.Agent {
		if a.ID == id {
			return i
		}
	}
	return -1
}

func remember(list []string, v string, n int) []string {
	if v == "" || slices.Contains(list, v) {
		return list
	}
	if len(list) >= n {
		list = slices.Delete(list, 0, len(list)-n+1)
	}
	return append(list, v)
}

// --- turns ---

// followPrompt opens a turn for an event whose prompt id names a turn the
// tracker has not seen start (daemon started mid-turn, or UserPromptSubmit
// arriving after the turn's first events); a different open turn is closed as
// interrupted. Prompt ids of recently closed turns reopen nothing.
func (t *Tracker) followPrompt(s *sessionState, ev *hookevent.Event) {
	p := ev.PromptID
	if p == "" {
		return
	}
	switch ev.Name {
	case "UserPromptSubmit", "Stop", "StopFailure", "SessionStart", "SessionEnd":
		return
	}
	if s.Turn != nil && (s.Turn.PromptID == p || s.Turn.PromptID == "") {
		return
	}
	if slices.Contains(s.RecentPrompts, p) {
		return
	}
	if s.Turn != nil {
		t.closeTurn(s, OutcomeInterrupted, OutcomeInterrupted, s.Turn.LastSeen)
	}
	t.openTurn(s, ev, false)
}

func (t *Tracker) promptSubmitted(s *sessionState, ev *hookevent.Event) {
	if s.Turn != nil && ev.PromptID != "" && s.Turn.PromptID == ev.PromptID {
		t.recordPrompt(s.Turn, ev) // the turn was opened by an earlier event of it
		return
	}
	if s.Turn != nil {
		t.closeTurn(s, OutcomeInterrupted, OutcomeInterrupted, s.Turn.LastSeen)
	}
	t.openTurn(s, ev, true)
}

func (t *Tracker) openTurn(s *sessionState, ev *hookevent.Event, submitted bool) {
	s.Seq.Turn++
	s.Turns++
	key := s.key("turn:" + ev.PromptID)
	if ev.PromptID == "" {
		key = s.key("turn:" + strconv.Itoa(s.Seq.Turn))
	}
	s.Turn = &turnState{Key: key, PromptID: ev.PromptID, Start: ev.Received, LastSeen: ev.Received, PromptSize: -1}
	claimPending(s.PendingTurns, ev.PromptID, &s.Turn.Usage)
	if submitted {
		t.recordPrompt(s.Turn, ev)
		if strings.HasPrefix(ev.Prompt, "<task-notification>") {
			s.Turn.Source = TurnSourceTaskNotification
			t.st.Metrics.SystemTurns[TurnSourceTaskNotification]++
		}
	}
}

func (t *Tracker) recordPrompt(tu *turnState, ev *hookevent.Event) {
	tu.PromptSize = len(ev.Prompt)
	if t.opts.CaptureContent {
		tu.Prompt = t.capture(ev.Prompt)
	}
}

func (t *Tracker) stopped(s *sessionState, ev *hookevent.Event) {
	outcome, errType := OutcomeSuccess, ""
	if ev.Name == "StopFailure" {
		outcome, errType = OutcomeFailure, fold(stopErrorSet, ev.Error, LabelUnknown)
	}
	if s.Turn != nil && (ev.PromptID == "" || s.Turn.PromptID == "" || ev.PromptID == s.Turn.PromptID) {
		t.closeTurn(s, outcome, errType, ev.Received)
		return
	}
	// No open turn for it: count the turn's end once (a second Stop of a turn,
	// after a blocking Stop hook, is not another turn), as a turn whose start
	// nobody saw: a zero-length span at its end, so the trace shows what the
	// counts count.
	if ev.PromptID != "" && slices.Contains(s.RecentPrompts, ev.PromptID) {
		return
	}
	if s.Turn != nil {
		// A Stop of another prompt: the open turn was left behind.
		t.closeTurn(s, OutcomeInterrupted, OutcomeInterrupted, s.Turn.LastSeen)
	}
	t.openTurn(s, ev, false)
	t.closeTurn(s, outcome, errType, ev.Received)
}

func (t *Tracker) closeTurn(s *sessionState, outcome, errType string, end time.Time) {
	tu := s.Turn
	s.Turn = nil
	t.st.Metrics.Turns[outcome]++
	s.Counts.Turns.Add(outcome)
	if outcome != OutcomeExpired {
		t.st.Metrics.TurnDuration.Observe(seconds(tu.Start, end))
	}
	s.RecentPrompts = remember(s.RecentPrompts, tu.PromptID, recentPrompts)
	t.emit(s, KindTurn, tu.Key, s.rootKey(), "turn", tu.Start, end, outcome, errType, t.turnAttrs(s, tu))
}

// --- tool calls ---

func (t *Tracker) toolStarted(s *sessionState, ev *hookevent.Event) {
	if ev.ToolUseID != "" && slices.ContainsFunc(s.Calls, func(c *callState) bool { return c.ID == ev.ToolUseID }) {
		return // the same call announced twice (two identical handlers)
	}
	if ev.ToolUseID != "" && slices.Contains(s.RecentCalls, ev.ToolUseID) {
		return // a call that already ended (its PostToolBatch entry came first)
	}
	if len(s.Calls) >= t.opts.MaxOpenCalls {
		t.st.Metrics.Overflow[OverflowOpenCalls]++
		c := s.Calls[0]
		s.Calls = slices.Delete(s.Calls, 0, 1)
		s.Counts.ToolCalls.Add(OutcomeExpired)
		t.emitCall(s, c, nil, c.Start, c.Start, OutcomeExpired, "evicted")
	}
	key := ev.ToolUseID
	if key == "" {
		s.Seq.Call++
		key = strconv.Itoa(s.Seq.Call)
	}
	c := &callState{
		Key:       s.key("tool:" + key),
		ID:        ev.ToolUseID,
		Tool:      ev.ToolName,
		AgentID:   ev.AgentID,
		PromptID:  ev.PromptID,
		Parent:    s.parentFor(ev.AgentID),
		Start:     ev.Received,
		MCPServer: ev.MCPServer,
	}
	t.callInput(c, ev)
	s.Calls = append(s.Calls, c)
}

// callInput records what a call's input tells, without keeping the payload alive.
func (t *Tracker) callInput(c *callState, ev *hookevent.Event) {
	if ev.FilePath != "" {
		c.FilePath = strings.Clone(ev.FilePath)
	}
	if ev.Command != "" {
		c.CmdName = strings.Clone(commandName(ev.Command))
		c.CmdSize = len(ev.Command)
	}
	if len(ev.ToolInput) > 0 {
		c.InputSize = len(ev.ToolInput)
	}
	if t.opts.CaptureContent {
		if ev.Command != "" {
			c.Command = t.capture(ev.Command)
		}
		if len(ev.ToolInput) > 0 {
			c.Input = t.capture(string(ev.ToolInput))
		}
	}
}

// contentSlack is how far beyond the cap redaction reads, so that a secret
// starting before the cut is matched whole. Redacting only that much keeps the
// cost of a large tool output bounded.
const contentSlack = 1024

// capture prepares content for a span: secrets redacted, capped at
// ContentMaxBytes, never aliasing the payload.
func (t *Tracker) capture(s string) string {
	max := t.opts.ContentMaxBytes
	scan := max + contentSlack
	if len(s) <= scan || strings.Contains(s[:scan], "PRIVATE KEY-----") {
		// A private key's end marker may lie beyond the window: read it all.
		return strings.Clone(redact.Content(s, max))
	}
	return redact.Cap(redact.Secrets(s[:scan])+s[scan:], max)
}

// callIndex finds the open call an end event closes: by tool_use_id, else the
// oldest open call without id of the same subagent and tool (payloads before
// tool_use_id existed). It returns -1 when there is none.
func (s *sessionState) callIndex(ev *hookevent.Event) int {
	if ev.ToolUseID != "" {
		for i, c := range s.Calls {
			if c.ID == ev.ToolUseID {
				return i
			}
		}
	}
	for i, c := range s.Calls {
		if c.ID == "" && c.AgentID == ev.AgentID && c.Tool == ev.ToolName {
			return i
		}
	}
	return -1
}

func (t *Tracker) toolEnded(s *sessionState, ev *hookevent.Event) {
	outcome := string(ev.Outcome)
	if outcome == "" {
		switch ev.Name {
		case "PostToolUse":
			outcome = OutcomeSuccess
		case "PermissionDenied":
			outcome = OutcomeDenied
		default:
			outcome = OutcomeFailure
		}
	}
	end := ev.Received
	dur, hasDur := payloadDuration(ev)
	// A permission wait ends when the tool starts to run: duration_ms excludes it.
	waitEnd := end
	if hasDur {
		waitEnd = end.Add(-dur)
	}
	t.closeWaitFor(s, ev, outcome, waitEnd)

	var c *callState
	start, known := end, false
	i := s.callIndex(ev)
	if i < 0 && ev.ToolUseID != "" && slices.Contains(s.RecentCalls, ev.ToolUseID) {
		return // ended already: a second handler, or after its PostToolBatch entry
	}
	if i >= 0 {
		c = s.Calls[i]
		s.Calls = slices.Delete(s.Calls, i, i+1)
		start, known = c.Start, true
	} else {
		// An end without a start (daemon started mid-call, or the start was
		// evicted): the call still counts; its span starts duration_ms earlier.
		key := ev.ToolUseID
		if key == "" {
			s.Seq.Call++
			key = strconv.Itoa(s.Seq.Call)
		}
		c = &callState{
			Key: s.key("tool:" + key), ID: ev.ToolUseID, Tool: ev.ToolName, AgentID: ev.AgentID,
			PromptID: ev.PromptID, Parent: s.parentFor(ev.AgentID), MCPServer: ev.MCPServer,
		}
		t.callInput(c, ev)
	}
	if hasDur {
		start, known = end.Add(-dur), true
	}
	tool := ev.ToolName
	if tool == "" {
		tool = c.Tool
	}
	label := t.toolLabel(tool, true)
	m := &t.st.Metrics
	tc := m.ToolCalls[label]
	if tc == nil {
		tc = &ToolCounts{}
		m.ToolCalls[label] = tc
	}
	tc.add(outcome)
	s.Counts.ToolCalls.Add(outcome)
	if known {
		observe(m.ToolDuration, label, seconds(start, end))
	}
	s.ToolCalls++
	s.RecentCalls = remember(s.RecentCalls, c.ID, recentCalls)
	t.emitCall(s, c, ev, start, end, outcome, toolErrorType(outcome, ev.Error))
}

func (c *ToolCounts) add(outcome string) {
	switch outcome {
	case OutcomeSuccess:
		c.Success++
	case OutcomeFailure:
		c.Failure++
	case OutcomeInterrupted:
		c.Interrupted++
	case OutcomeDenied:
		c.Denied++
	}
}

// payloadDuration is the payload's duration_ms when present and sane.
func payloadDuration(ev *hookevent.Event) (time.Duration, bool) {
	ms := ev.DurationMS
	if !ev.HasDuration || math.IsNaN(ms) || ms < 0 || ms > 1e12 {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

func seconds(start, end time.Time) float64 {
	return max(end.Sub(start).Seconds(), 0)
}

// toolErrorType classifies a failed call into a small set for error.type.
func toolErrorType(outcome, msg string) string {
	switch outcome {
	case OutcomeInterrupted, OutcomeDenied, OutcomeExpired:
		return outcome
	case OutcomeFailure:
	default:
		return ""
	}
	switch {
	case strings.HasPrefix(msg, "Exit code"):
		return "exit_code"
	case strings.Contains(msg, "timed out") || strings.Contains(msg, "Timeout") || strings.Contains(msg, "timeout"):
		return "timeout"
	case strings.Contains(msg, "doesn't want to proceed") || strings.Contains(msg, "was rejected"):
		return "rejected"
	case strings.Contains(msg, "not found") || strings.Contains(msg, "No such file") || strings.Contains(msg, "does not exist"):
		return "not_found"
	}
	return "tool_error"
}

// commandName is a shell command's program: the first word after any leading
// VAR=value assignments, without its directory.
func commandName(cmd string) string {
	rest := cmd
	for {
		rest = strings.TrimLeft(rest, " \t\r\n")
		if rest == "" {
			return ""
		}
		end := strings.IndexAny(rest, " \t\r\n;|&()")
		if end == 0 {
			rest = rest[1:]
			continue
		}
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		rest = rest[end:]
		if isAssignment(word) {
			continue
		}
		word = strings.Trim(word, `"'`)
		if i := strings.LastIndexByte(word, '/'); i >= 0 {
			word = word[i+1:]
		}
		if len(word) > 64 {
			word = word[:64]
		}
		return word
	}
}

func isAssignment(word string) bool {
	eq := strings.IndexByte(word, '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		c := word[i]
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// toolLabel is the tool label value of name: built-in tools as themselves, the
// first MaxMCPTools other names as themselves, the rest "other". countFold
// counts a fold into "other" as an overflow.
func (t *Tracker) toolLabel(name string, countFold bool) string {
	if name == "" {
		return LabelUnknown
	}
	if l, ok := builtinToolSet[name]; ok {
		return l
	}
	if _, ok := t.toolIdx[name]; ok {
		return name
	}
	if !labelable(name) || len(t.st.Tools) >= t.opts.MaxMCPTools {
		if countFold {
			t.st.Metrics.Overflow[OverflowToolLabels]++
		}
		return LabelOther
	}
	name = strings.Clone(name)
	t.st.Tools = append(t.st.Tools, name)
	t.toolIdx[name] = struct{}{}
	return name
}

// agentLabel is the agent_type label value, capped like toolLabel.
func (t *Tracker) agentLabel(typ string, countFold bool) string {
	if typ == "" {
		return LabelUnknown
	}
	if l, ok := builtinAgentSet[typ]; ok {
		return l
	}
	if _, ok := t.agentIdx[typ]; ok {
		return typ
	}
	if !labelable(typ) || len(t.st.AgentTypes) >= t.opts.MaxAgentTypes {
		if countFold {
			t.st.Metrics.Overflow[OverflowAgentTypeLabels]++
		}
		return LabelOther
	}
	typ = strings.Clone(typ)
	t.st.AgentTypes = append(t.st.AgentTypes, typ)
	t.agentIdx[typ] = struct{}{}
	return typ
}

// --- permission waits ---

func (t *Tracker) permissionRequested(s *sessionState, ev *hookevent.Event) {
	for _, w := range s.Waits {
		if !w.Request {
			// A permission_prompt notification announced this wait first.
			w.Request, w.Tool = true, ev.ToolName
			t.countWait(s, w, ev.ToolName)
			return
		}
	}
	w := t.openWait(s, ev)
	w.Request, w.Tool = true, ev.ToolName
	t.countWait(s, w, ev.ToolName)
}

func (t *Tracker) permissionNotified(s *sessionState, ev *hookevent.Event) {
	for _, w := range s.Waits {
		if w.Request && !w.Notified {
			w.Notified = true // the notification of a wait PermissionRequest opened
			return
		}
	}
	if s.LateNotices > 0 {
		// The notification of a wait PermissionRequest opened and that already
		// ended: hook processes run in parallel, so it may arrive after the end.
		s.LateNotices--
		return
	}
	// The notification names no tool: the wait pairs with the next tool end of
	// any tool and is counted then.
	t.openWait(s, ev).Notified = true
}

func (t *Tracker) openWait(s *sessionState, ev *hookevent.Event) *waitState {
	if len(s.Waits) >= t.opts.MaxOpenCalls {
		t.st.Metrics.Overflow[OverflowOpenWaits]++
		w := s.Waits[0]
		s.Waits = slices.Delete(s.Waits, 0, 1)
		t.countWait(s, w, w.Tool)
		t.emitWait(s, w, w.Tool, w.Start, OutcomeExpired, "evicted")
	}
	s.Seq.Wait++
	w := &waitState{
		Key:      s.key("perm:" + strconv.Itoa(s.Seq.Wait)),
		AgentID:  ev.AgentID,
		PromptID: ev.PromptID,
		Parent:   s.parentFor(ev.AgentID),
		Start:    ev.Received,
	}
	s.Waits = append(s.Waits, w)
	return w
}

// countWait counts a wait in permission_requests_total once.
func (t *Tracker) countWait(s *sessionState, w *waitState, tool string) {
	if w.Counted {
		return
	}
	w.Counted = true
	s.Counts.PermissionWaits++
	t.st.Metrics.PermissionRequests[t.toolLabel(tool, false)]++
}

// closeWaitFor ends the oldest open wait for the tool that just ended.
func (t *Tracker) closeWaitFor(s *sessionState, ev *hookevent.Event, outcome string, end time.Time) {
	for i, w := range s.Waits {
		if w.Tool != ev.ToolName && w.Tool != "" {
			continue
		}
		s.Waits = slices.Delete(s.Waits, i, i+1)
		if w.Request && !w.Notified {
			s.LateNotices = min(s.LateNotices+1, maxLateNotices)
		}
		tool := cmp.Or(w.Tool, ev.ToolName)
		t.countWait(s, w, tool)
		if end.Before(w.Start) {
			end = w.Start
		}
		observe(t.st.Metrics.PermissionWait, t.toolLabel(tool, false), seconds(w.Start, end))
		t.emitWait(s, w, tool, end, outcome, toolErrorType(outcome, ""))
		return
	}
}

// --- subagents ---

func (t *Tracker) ensureAgent(s *sessionState, ev *hookevent.Event) {
	if s.agentIndex(ev.AgentID) >= 0 || slices.Contains(s.RecentAgents, ev.AgentID) {
		return
	}
	t.openAgent(s, ev)
}

func (t *Tracker) subagentStarted(s *sessionState, ev *hookevent.Event) {
	if ev.AgentID == "" {
		// Nothing to pair its stop with: counted, with a zero-length span.
		s.Seq.Agent++
		a := &agentState{Type: ev.AgentType, PromptID: ev.PromptID, Parent: s.parentFor(""), Start: ev.Received,
			Key: s.key("agent:#" + strconv.Itoa(s.Seq.Agent))}
		t.countAgent(s, a.Type)
		t.emitAgent(s, a, ev.Received, OutcomeSuccess, "")
		return
	}
	if i := s.agentIndex(ev.AgentID); i >= 0 {
		if s.Agent[i].Type == "" {
			s.Agent[i].Type = ev.AgentType
		}
		return
	}
	t.openAgent(s, ev)
}

func (t *Tracker) openAgent(s *sessionState, ev *hookevent.Event) {
	if len(s.Agent) >= t.opts.MaxOpenCalls {
		t.st.Metrics.Overflow[OverflowOpenSubagents]++
		a := s.Agent[0]
		s.Agent = slices.Delete(s.Agent, 0, 1)
		t.emitAgent(s, a, a.Start, OutcomeExpired, "evicted")
	}
	a := &agentState{ID: ev.AgentID, Type: ev.AgentType, PromptID: ev.PromptID, Parent: s.parentFor(""), Start: ev.Received}
	claimPending(s.PendingAgents, ev.AgentID, &a.Usage)
	s.Agent = append(s.Agent, a)
	t.countAgent(s, a.Type)
}

func (t *Tracker) subagentStopped(s *sessionState, ev *hookevent.Event) {
	i := -1
	if ev.AgentID != "" {
		i = s.agentIndex(ev.AgentID)
	}
	if i < 0 {
		if ev.AgentID != "" && slices.Contains(s.RecentAgents, ev.AgentID) {
			return // stopped already
		}
		if ev.AgentType == "" && s.Compact != nil {
			// A compaction's summariser (2.1.337: SubagentStop with an empty
			// agent_type and no start, between PreCompact and PostCompact) is
			// part of the compaction, not a subagent.
			s.RecentAgents = remember(s.RecentAgents, ev.AgentID, recentAgents)
			return
		}
		// A stop without a start (old payloads, daemon started mid-subagent):
		// the subagent counts once, here, with a zero-length span.
		a := &agentState{ID: ev.AgentID, Type: ev.AgentType, PromptID: ev.PromptID, Parent: s.parentFor(""), Start: ev.Received}
		if ev.AgentID == "" {
			s.Seq.Agent++
			a.Key = s.key("agent:#" + strconv.Itoa(s.Seq.Agent))
		}
		t.countAgent(s, a.Type)
		s.RecentAgents = remember(s.RecentAgents, ev.AgentID, recentAgents)
		t.emitAgent(s, a, ev.Received, OutcomeSuccess, "")
		return
	}
	a := s.Agent[i]
	s.Agent = slices.Delete(s.Agent, i, i+1)
	if a.Type == "" {
		a.Type = ev.AgentType
	}
	s.RecentAgents = remember(s.RecentAgents, a.ID, recentAgents)
	observe(t.st.Metrics.SubagentDuration, t.agentLabel(a.Type, false), seconds(a.Start, ev.Received))
	t.emitAgent(s, a, ev.Received, OutcomeSuccess, "")
}

// countAgent counts a subagent in the metrics and the session's summary.
func (t *Tracker) countAgent(s *sessionState, typ string) {
	t.st.Metrics.Subagents[t.agentLabel(typ, true)]++
	s.Counts.Subagents++
}

// --- compactions ---

// countCompaction counts a compaction in the metrics and the session's summary.
func (t *Tracker) countCompaction(s *sessionState, trigger string) {
	t.st.Metrics.Compactions[fold(triggerSet, trigger, LabelOther)]++
	s.Counts.Compactions++
}

func (t *Tracker) compactionStarted(s *sessionState, ev *hookevent.Event) {
	if c := s.Compact; c != nil {
		s.Compact = nil
		t.emitCompaction(s, c, ev.Received, OutcomeInterrupted, OutcomeInterrupted)
	}
	s.Seq.Compact++
	s.Compact = &compactState{
		Key:      s.key("compact:" + strconv.Itoa(s.Seq.Compact)),
		Trigger:  ev.Trigger,
		PromptID: ev.PromptID,
		Parent:   s.parentFor(""),
		Start:    ev.Received,
	}
	t.countCompaction(s, ev.Trigger)
}

func (t *Tracker) compactionEnded(s *sessionState, ev *hookevent.Event) {
	c := s.Compact
	if c == nil {
		// An end without a start: counted once, here, with a zero-length span.
		s.Seq.Compact++
		c = &compactState{Key: s.key("compact:" + strconv.Itoa(s.Seq.Compact)), Trigger: ev.Trigger,
			PromptID: ev.PromptID, Parent: s.parentFor(""), Start: ev.Received}
		t.countCompaction(s, ev.Trigger)
		t.emitCompaction(s, c, ev.Received, OutcomeSuccess, "")
		return
	}
	s.Compact = nil
	t.emitCompaction(s, c, ev.Received, OutcomeSuccess, "")
}

// --- sessions ---

// closeKind says why a session closes.
type closeKind int

const (
	closeEnded   closeKind = iota // SessionEnd
	closeExpired                  // idle timeout
	closeEvicted                  // MaxSessions
)

// closeSession closes the session and everything open in it, emits their spans
// (children first) and remembers the session id.
func (t *Tracker) closeSession(s *sessionState, end time.Time, kind closeKind, reason string) {
	childOutcome, childErr := OutcomeInterrupted, OutcomeInterrupted
	outcome, errType := OutcomeSuccess, ""
	switch kind {
	case closeExpired:
		childOutcome, childErr, outcome, errType, reason = OutcomeExpired, OutcomeExpired, OutcomeExpired, OutcomeExpired, ReasonExpired
	case closeEvicted:
		childOutcome, childErr, outcome, errType, reason = OutcomeExpired, "evicted", OutcomeExpired, "evicted", ReasonExpired
	}
	m := &t.st.Metrics
	for _, w := range s.Waits {
		t.countWait(s, w, w.Tool)
		t.emitWait(s, w, w.Tool, end, childOutcome, childErr)
	}
	s.Waits = nil
	for _, c := range s.Calls {
		if kind == closeEnded {
			// The session ended under the call: it was interrupted. Expired calls
			// are not counted: nobody knows how they ended.
			label := t.toolLabel(c.Tool, true)
			tc := m.ToolCalls[label]
			if tc == nil {
				tc = &ToolCounts{}
				m.ToolCalls[label] = tc
			}
			tc.add(OutcomeInterrupted)
		}
		s.Counts.ToolCalls.Add(childOutcome)
		t.emitCall(s, c, nil, c.Start, end, childOutcome, childErr)
	}
	s.Calls = nil
	for _, a := range s.Agent {
		t.emitAgent(s, a, end, childOutcome, childErr)
	}
	s.Agent = nil
	if c := s.Compact; c != nil {
		s.Compact = nil
		t.emitCompaction(s, c, end, childOutcome, childErr)
	}
	if s.Turn != nil {
		t.closeTurn(s, childOutcome, childErr, s.Turn.LastSeen)
	}
	m.SessionsEnded[reason]++
	status, endReason := timeline.StatusEnded, reason
	switch kind {
	case closeExpired:
		status, endReason = timeline.StatusExpired, ReasonExpired
	case closeEvicted:
		status, endReason = timeline.StatusExpired, "evicted"
	}
	t.touch(s.ID)
	t.closed[s.ID] = t.summary(s, status, end, endReason)
	t.emit(s, KindSession, s.rootKey(), "", "invoke_agent claude-code", s.Start, end, outcome, errType, t.sessionAttrs(s, reason))
	if evs := switchEvents(s); evs != nil {
		t.out[len(t.out)-1].Events = evs
	}
	delete(t.st.Sessions, s.ID)
	t.st.Ended[s.ID] = &tombstone{Gen: s.Gen, Closed: end, Expired: kind != closeEnded, Seq: s.Seq, Carried: s.carry()}
	if len(t.st.Ended) > t.opts.MaxEnded {
		t.trimEnded()
	}
}

// pruneEnded forgets ended sessions older than the retention, in event time.
func (t *Tracker) pruneEnded() {
	cutoff := t.st.Watermark.Add(-t.opts.EndedRetention)
	for id, ts := range t.st.Ended {
		if ts.Closed.Before(cutoff) {
			delete(t.st.Ended, id)
		}
	}
	t.st.NextPrune = t.st.Watermark.Add(pruneEvery)
}

// trimEnded drops the oldest tenth of the remembered ended sessions beyond the
// cap, counting them as an overflow.
func (t *Tracker) trimEnded() {
	type entry struct {
		id     string
		closed time.Time
	}
	all := make([]entry, 0, len(t.st.Ended))
	for id, ts := range t.st.Ended {
		all = append(all, entry{id, ts.Closed})
	}
	slices.SortFunc(all, func(a, b entry) int {
		return cmp.Or(a.closed.Compare(b.closed), strings.Compare(a.id, b.id))
	})
	n := len(all) - t.opts.MaxEnded + t.opts.MaxEnded/10
	for _, e := range all[:min(n, len(all))] {
		delete(t.st.Ended, e.id)
	}
	t.st.Metrics.Overflow[OverflowEndedSessions] += uint64(n)
}
