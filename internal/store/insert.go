package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// writeStmts are prepared once on the writer connection.
type writeStmts struct {
	upsertSession, updateSession, addEvents *sql.Stmt
	fillSession                             *sql.Stmt
	insertSpan                              *sql.Stmt
	insertEvents, insertPayloads, insertFTS *bulk
}

func (ws *writeStmts) close() {
	for _, st := range []*sql.Stmt{ws.upsertSession, ws.updateSession, ws.addEvents, ws.fillSession, ws.insertSpan} {
		if st != nil {
			_ = st.Close()
		}
	}
	for _, b := range []*bulk{ws.insertEvents, ws.insertPayloads, ws.insertFTS} {
		if b != nil {
			b.close()
		}
	}
	*ws = writeStmts{}
}

// insertArgs are the argument lists of one transaction's bulk inserts.
type insertArgs struct {
	events, payloadArgs, fts []any
}

// maxKeptArgs bounds the argument lists kept between transactions: those of
// a group of 1,024 events.
const maxKeptArgs = 1024 * eventWidth

// reset clears the lists (they refer to the events' strings and payloads)
// and drops any grown beyond maxKeptArgs.
func (a *insertArgs) reset() {
	for _, l := range []*[]any{&a.events, &a.payloadArgs, &a.fts} {
		if cap(*l) > maxKeptArgs {
			*l = nil
		}
		clear((*l)[:cap(*l)])
		*l = (*l)[:0]
	}
}

// bulk inserts rows of a fixed width with multi-row INSERT statements of
// maxRows, maxRows/2, ... 1 rows: per-statement costs of database/sql and
// the driver are paid once per chunk instead of once per row.
type bulk struct {
	width, maxRows int
	stmts          map[int]*sql.Stmt // by rows
}

// bulkRows is the rows of the largest statement.
const bulkRows = 64

func newBulk(ctx context.Context, conn *sql.Conn, head string, width, maxRows int) (*bulk, error) {
	b := &bulk{width: width, maxRows: maxRows, stmts: map[int]*sql.Stmt{}}
	row := "(?" + strings.Repeat(", ?", width-1) + ")"
	for n := maxRows; n >= 1; n /= 2 {
		st, err := conn.PrepareContext(ctx, head+" VALUES "+row+strings.Repeat(", "+row, n-1))
		if err != nil {
			b.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		b.stmts[n] = st
	}
	return b, nil
}

func (b *bulk) close() {
	for _, st := range b.stmts {
		_ = st.Close()
	}
}

// exec inserts the rows whose values args holds, width values a row.
func (b *bulk) exec(ctx context.Context, args []any) error {
	for len(args) > 0 {
		rows := len(args) / b.width
		n := b.maxRows
		for n > rows {
			n /= 2
		}
		if _, err := b.stmts[n].ExecContext(ctx, args[:n*b.width]...); err != nil {
			return err
		}
		args = args[n*b.width:]
	}
	return nil
}

// sessionCols are the columns of the sessions table in the order
// sessionArgs gives them, events last.
const sessionCols = `session_id, start_time, end_time, last_activity, status, end_reason, source, model, cwd,
	turns, tool_calls, failures, subagents,
	input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, models,
	turn_outcomes, tool_outcomes, compactions, permission_waits, events`

// sessionSet sets every column of sessionCols but session_id and events
// from the row named excluded.
const sessionSet = `start_time = excluded.start_time, end_time = excluded.end_time, last_activity = excluded.last_activity,
	status = excluded.status, end_reason = excluded.end_reason, source = excluded.source, model = excluded.model,
	cwd = excluded.cwd, turns = excluded.turns, tool_calls = excluded.tool_calls, failures = excluded.failures,
	subagents = excluded.subagents,
	input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
	cache_read_tokens = excluded.cache_read_tokens, cache_creation_tokens = excluded.cache_creation_tokens,
	cost_usd = excluded.cost_usd, models = excluded.models, turn_outcomes = excluded.turn_outcomes,
	tool_outcomes = excluded.tool_outcomes, compactions = excluded.compactions, permission_waits = excluded.permission_waits`

// eventWidth is the number of columns insertEvents sets.
const eventWidth = 18

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.stmts.upsertSession, `INSERT INTO sessions (` + sessionCols + `) VALUES (?` + strings.Repeat(", ?", 23) + `)
			ON CONFLICT (session_id) DO UPDATE SET ` + sessionSet + `, events = events + excluded.events`},
		// The same values through a row named excluded, for a session that
		// has a row already or none to create.
		{&s.stmts.updateSession, `WITH excluded(` + sessionCols + `) AS (VALUES (?` + strings.Repeat(", ?", 23) + `))
			UPDATE sessions SET ` + sessionSet + `, events = sessions.events + excluded.events
			FROM excluded WHERE sessions.session_id = excluded.session_id`},
		{&s.stmts.addEvents, `UPDATE sessions SET events = events + ? WHERE session_id = ?`},
		{&s.stmts.fillSession, `INSERT INTO sessions (` + sessionCols + `) VALUES (?` + strings.Repeat(", ?", 23) + `)
			ON CONFLICT (session_id) DO UPDATE SET events = events + excluded.events`},
		{&s.stmts.insertSpan, `INSERT INTO spans (session_id, span_key, parent_key, kind, name, start_time, end_time, outcome, error_type, attrs)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, span_key) DO NOTHING`},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		*p.st = st
	}
	var err error
	if s.stmts.insertEvents, err = newBulk(ctx, s.w, `INSERT OR FAIL INTO events (seq, id, time, session_id, event, prompt_id,
		agent_id, agent_type, tool, tool_use_id, mcp_server, outcome, duration_ms, error, summary, notification_type, cwd, model)`, eventWidth, bulkRows); err != nil {
		return err
	}
	if s.stmts.insertPayloads, err = newBulk(ctx, s.w, `INSERT OR FAIL INTO payloads (seq, truncated, data)`, 3, bulkRows); err != nil {
		return err
	}
	// One row a statement: a multi-row insert needs a statement journal,
	// and FTS5 flushes its pending entries into a new segment at each.
	if s.stmts.insertFTS, err = newBulk(ctx, s.w, `INSERT INTO events_fts (rowid, tool, summary, error)`, 4, 1); err != nil {
		return err
	}
	return nil
}

// Insert stores a batch and returns once it is committed: the events
// (idempotent by ID: a replayed event keeps its original Seq and counts once),
// the tracker's session summaries as they are (see storeSessions) and the
// spans (idempotent by session and key). It sets events[i].Seq to the event's sequence number, new or existing;
// an event older than MaxAge is not stored and gets Seq 0. Sequence numbers
// grow in the order of events and are never reused (a failed Insert leaves a
// gap). Without CaptureContent, prompts are removed from events[i] first.
// Insert is Enqueue that waits: batches queued before it commit first, and it
// is committed in a transaction of its own, never retried.
//
// When the insert leaves the files over MaxBytes, the oldest events are
// removed before Insert returns; a failure of that is logged, not returned,
// since the batch itself is stored.
func (s *Store) Insert(ctx context.Context, events []wire.Event, spans []timeline.Span, sessions []timeline.Summary) error {
	if len(events) == 0 && len(spans) == 0 && len(sessions) == 0 {
		return nil
	}
	done := make(chan error, 1)
	if err := s.enqueue(ctx, events, spans, sessions, false, done); err != nil {
		return fmt.Errorf("insert %d events, %d spans: %w", len(events), len(spans), err)
	}
	// The writer always answers, also when the store closes meanwhile.
	return <-done
}

// insertTx stores new events, numbered by number, spans and session
// summaries in one transaction. The caller holds wmu.
func (s *Store) insertTx(ctx context.Context, events []wire.Event, spans []timeline.Span, sessions, fills []timeline.Summary) (err error) {
	if _, err := s.w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := s.w.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	fresh := map[string]int64{}
	// The argument lists are the writer's, reused from one transaction to
	// the next and cleared after it (they refer to the events).
	a := &s.args
	defer a.reset()
	eventArgs, payloadArgs, ftsArgs := a.events[:0], a.payloadArgs[:0], a.fts[:0]
	defer func() { a.events, a.payloadArgs, a.fts = eventArgs, payloadArgs, ftsArgs }()
	for i := range events {
		ev := &events[i]
		seq := ev.Seq
		var dur any
		if ev.DurationMS != nil {
			dur = *ev.DurationMS
		}
		eventArgs = append(eventArgs, seq, ev.ID, ev.Time.UnixNano(), ev.SessionID, ev.Event,
			null(ev.PromptID), null(ev.AgentID), null(ev.AgentType), null(ev.Tool), null(ev.ToolUseID),
			null(ev.MCPServer), null(ev.Outcome), dur, null(ev.Error), null(ev.Summary),
			null(ev.NotificationType), null(ev.CWD), null(ev.Model))
		if len(ev.Payload) > 0 || ev.Truncated {
			var data any
			if len(ev.Payload) > 0 {
				data = ev.Payload
			}
			payloadArgs = append(payloadArgs, seq, ev.Truncated, data)
		}
		if ev.Tool != "" || ev.Summary != "" || ev.Error != "" {
			errText := ev.Error
			if errText == ev.Summary {
				errText = "" // indexed once, under summary
			}
			ftsArgs = append(ftsArgs, seq, null(ev.Tool), null(ev.Summary), null(errText))
		}
		fresh[ev.SessionID]++
	}
	if err := s.stmts.insertEvents.exec(ctx, eventArgs); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	// Payloads were packed into their stored form when they were queued.
	if err := s.stmts.insertPayloads.exec(ctx, payloadArgs); err != nil {
		return fmt.Errorf("insert payloads: %w", err)
	}
	for i := range spans {
		sp := &spans[i]
		attrs, err := encodeAttrs(sp.Attrs, s.opts.CaptureContent)
		if err != nil {
			return fmt.Errorf("span %s/%s: %w", sp.SessionID, sp.Key, err)
		}
		if _, err := s.stmts.insertSpan.ExecContext(ctx, sp.SessionID, sp.Key, sp.ParentKey, string(sp.Kind), sp.Name,
			sp.Start.UnixNano(), sp.End.UnixNano(), null(sp.Outcome), null(sp.ErrorType), attrs); err != nil {
			return fmt.Errorf("insert span %s/%s: %w", sp.SessionID, sp.Key, err)
		}
	}
	if err := s.storeSessions(ctx, sessions, fills, fresh); err != nil {
		return err
	}
	// The index goes last: a statement that needs a statement journal makes
	// FTS5 flush its pending entries into a new segment, so interleaving
	// index inserts with the others would write small segments and merge
	// them over and over.
	if err := s.stmts.insertFTS.exec(ctx, ftsArgs); err != nil {
		return fmt.Errorf("index events: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// null stores "" as NULL: absent fields cost nothing and stay out of the
// partial indexes.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encodeAttrs renders span attributes as one JSON object, in their order;
// without captureContent a prompt the tracker captured is left out. The
// output is encoding/json's (HTML-escaped); plain strings and numbers take a
// fast path.
func encodeAttrs(attrs []timeline.Attr, captureContent bool) (any, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	b := make([]byte, 1, 64*len(attrs))
	b[0] = '{'
	for _, a := range attrs {
		if a.Key == timeline.AttrPrompt && !captureContent {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, a.Key); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = appendJSON(b, a.Value); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Key, err)
		}
	}
	return string(append(b, '}')), nil
}

// appendJSON appends v as json.Marshal renders it.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		if plainJSONString(v) {
			b = append(b, '"')
			b = append(b, v...)
			return append(b, '"'), nil
		}
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// plainJSONString reports whether s is printable ASCII that encoding/json
// writes as it is between quotes.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// storeSessions writes the tracker's summaries, the last of each session in
// the batch, as they are, with the count of the session's newly stored
// events. A summary of a session without a row and without new events (its
// events were older than MaxAge) is not stored; new events of a session
// without a summary in the batch (late events the tracker counted and
// ignored) only add to its count. fills (EnqueueRebuilt) only create rows of
// sessions that have none.
func (s *Store) storeSessions(ctx context.Context, sums, fills []timeline.Summary, fresh map[string]int64) error {
	last := make(map[string]int, len(sums))
	for i := range sums {
		last[sums[i].SessionID] = i
	}
	lastFill := make(map[string]int, len(fills))
	for i := range fills {
		if _, ok := last[fills[i].SessionID]; !ok {
			lastFill[fills[i].SessionID] = i
		}
	}
	for i := range fills {
		sum := &fills[i]
		if j, ok := lastFill[sum.SessionID]; !ok || j != i {
			continue
		}
		n := fresh[sum.SessionID]
		delete(fresh, sum.SessionID)
		args, err := sessionArgs(sum)
		if err != nil {
			return fmt.Errorf("store session %s: %w", sum.SessionID, err)
		}
		if _, err := s.stmts.fillSession.ExecContext(ctx, append(args, n)...); err != nil {
			return fmt.Errorf("store session %s: %w", sum.SessionID, err)
		}
	}
	for i := range sums {
		sum := &sums[i]
		if last[sum.SessionID] != i {
			continue
		}
		n := fresh[sum.SessionID]
		delete(fresh, sum.SessionID)
		args, err := sessionArgs(sum)
		if err != nil {
			return fmt.Errorf("store session %s: %w", sum.SessionID, err)
		}
		st := s.stmts.updateSession
		if n > 0 {
			st = s.stmts.upsertSession
		}
		if _, err := st.ExecContext(ctx, append(args, n)...); err != nil {
			return fmt.Errorf("store session %s: %w", sum.SessionID, err)
		}
	}
	for id, n := range fresh {
		if _, err := s.stmts.addEvents.ExecContext(ctx, n, id); err != nil {
			return fmt.Errorf("store session %s: %w", id, err)
		}
	}
	return nil
}

// sessionArgs are the values of sessionCols but events, in order.
func sessionArgs(sum *timeline.Summary) ([]any, error) {
	var end any
	if !sum.End.IsZero() {
		end = sum.End.UnixNano()
	}
	turns, err := json.Marshal(sum.Turns)
	if err != nil {
		return nil, err
	}
	tools, err := json.Marshal(sum.ToolCalls)
	if err != nil {
		return nil, err
	}
	u := &sum.Usage
	return []any{sum.SessionID, sum.Start.UnixNano(), end, sum.LastActivity.UnixNano(), sum.Status,
		null(sum.EndReason), null(sum.Source), null(sum.Model), null(sum.CWD),
		sum.TurnsStarted(), sum.ToolCallsStarted(), sum.Failures(), sum.Subagents,
		u.Input, u.Output, u.CacheRead, u.CacheCreation, u.CostUSD, null(strings.Join(u.Models, ",")),
		string(turns), string(tools), sum.Compactions, sum.PermissionWaits}, nil
}
