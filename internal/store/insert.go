package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Session statuses.
const (
	StatusActive  = "active"
	StatusEnded   = "ended"
	StatusExpired = "expired"
)

// writeStmts are prepared once on the writer connection.
type writeStmts struct {
	loadSession, upsertSession, insertSpan  *sql.Stmt
	loadUsage, rootStored                   *sql.Stmt
	insertEvents, insertPayloads, insertFTS *bulk
}

func (ws *writeStmts) close() {
	for _, st := range []*sql.Stmt{ws.loadSession, ws.upsertSession, ws.insertSpan, ws.loadUsage, ws.rootStored} {
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

const sessionCols = `session_id, start_time, end_time, last_activity, status, end_reason, source, model, cwd,
	turns, tool_calls, failures, subagents, events,
	input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd, models`

// eventWidth is the number of columns insertEvents sets.
const eventWidth = 18

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.stmts.loadSession, `SELECT ` + sessionCols + ` FROM sessions WHERE session_id = ?`},
		{&s.stmts.upsertSession, `INSERT INTO sessions (` + sessionCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (session_id) DO UPDATE SET
			start_time = excluded.start_time, end_time = excluded.end_time, last_activity = excluded.last_activity,
			status = excluded.status, end_reason = excluded.end_reason, source = excluded.source, model = excluded.model,
			cwd = excluded.cwd, turns = excluded.turns, tool_calls = excluded.tool_calls, failures = excluded.failures,
			subagents = excluded.subagents, events = excluded.events,
			input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
			cache_read_tokens = excluded.cache_read_tokens, cache_creation_tokens = excluded.cache_creation_tokens,
			cost_usd = excluded.cost_usd, models = excluded.models`},
		{&s.stmts.insertSpan, `INSERT INTO spans (session_id, span_key, parent_key, kind, name, start_time, end_time, outcome, error_type, attrs)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, span_key) DO NOTHING`},
		{&s.stmts.loadUsage, usageSQL},
		{&s.stmts.rootStored, `SELECT 1 FROM spans WHERE session_id = ? AND span_key = ? AND kind = 'session' AND parent_key = ''`},
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
// the session rows derived from them and the spans (idempotent by session and
// key). It sets events[i].Seq to the event's sequence number, new or existing;
// an event older than MaxAge is not stored and gets Seq 0. Sequence numbers
// grow in the order of events and are never reused (a failed Insert leaves a
// gap). Without CaptureContent, prompts are removed from events[i] first.
// Insert is Enqueue that waits: batches queued before it commit first, and it
// is committed in a transaction of its own, never retried.
//
// When the insert leaves the files over MaxBytes, the oldest events are
// removed before Insert returns; a failure of that is logged, not returned,
// since the batch itself is stored.
func (s *Store) Insert(ctx context.Context, events []wire.Event, spans []session.Span) error {
	if len(events) == 0 && len(spans) == 0 {
		return nil
	}
	done := make(chan error, 1)
	if err := s.enqueue(ctx, events, spans, done); err != nil {
		return fmt.Errorf("insert %d events, %d spans: %w", len(events), len(spans), err)
	}
	// The writer always answers, also when the store closes meanwhile.
	return <-done
}

// insertTx stores new events, numbered by number, and spans in one
// transaction. The caller holds wmu.
func (s *Store) insertTx(ctx context.Context, events []wire.Event, spans []session.Span) (err error) {
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
	agg := sessionAgg{s: s, rows: map[string]*sessionRow{}}
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
		if err := agg.event(ctx, ev); err != nil {
			return err
		}
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
		res, err := s.stmts.insertSpan.ExecContext(ctx, sp.SessionID, sp.Key, sp.ParentKey, string(sp.Kind), sp.Name,
			sp.Start.UnixNano(), sp.End.UnixNano(), null(sp.Outcome), null(sp.ErrorType), attrs)
		if err != nil {
			return fmt.Errorf("insert span %s/%s: %w", sp.SessionID, sp.Key, err)
		}
		if sp.Kind == session.KindTurn || (sp.Kind == session.KindSession && sp.ParentKey == "") {
			// A new turn or root changes the session's usage; a replayed one
			// (not inserted again) does not.
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("insert span %s/%s: %w", sp.SessionID, sp.Key, err)
			} else if n > 0 {
				if err := agg.usage(ctx, sp); err != nil {
					return err
				}
			}
		}
		if sp.Kind == session.KindSession {
			if err := agg.root(ctx, sp); err != nil {
				return err
			}
		}
	}
	if err := agg.flush(ctx); err != nil {
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
func encodeAttrs(attrs []session.Attr, captureContent bool) (any, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	b := make([]byte, 1, 64*len(attrs))
	b[0] = '{'
	for _, a := range attrs {
		if a.Key == session.AttrPrompt && !captureContent {
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

// sessionRow is one row of the sessions table while a batch is applied.
type sessionRow struct {
	id                                    string
	start, last                           int64
	end                                   sql.NullInt64
	status, endReason, source, model, cwd string
	turns, toolCalls, failures, subagents int64
	events                                int64
	usage                                 sessionUsage
	dirty                                 bool
	// rereadUsage: a root span of the session was stored in this batch;
	// its usage is read again from the spans before the row is written.
	rereadUsage bool
}

// sessionAgg folds a batch's new events and session spans into session rows,
// reading each row once and writing it once per batch.
type sessionAgg struct {
	s     *Store
	rows  map[string]*sessionRow
	order []*sessionRow
}

// get returns the session's row, loaded from the table or new (nil when new
// and create is false).
func (a *sessionAgg) get(ctx context.Context, id string, create bool) (*sessionRow, error) {
	if r, ok := a.rows[id]; ok {
		return r, nil
	}
	r := &sessionRow{id: id}
	var endReason, source, model, cwd, models sql.NullString
	err := a.s.stmts.loadSession.QueryRowContext(ctx, id).Scan(&r.id, &r.start, &r.end, &r.last, &r.status,
		&endReason, &source, &model, &cwd, &r.turns, &r.toolCalls, &r.failures, &r.subagents, &r.events,
		&r.usage.input, &r.usage.output, &r.usage.cacheRead, &r.usage.cacheCreation, &r.usage.costUSD, &models)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if !create {
			return nil, nil
		}
		r.status = "" // set by the first event
	case err != nil:
		return nil, fmt.Errorf("load session %s: %w", id, err)
	}
	r.endReason, r.source, r.model, r.cwd = endReason.String, source.String, model.String, cwd.String
	r.usage.models = models.String
	a.rows[id] = r
	a.order = append(a.order, r)
	return r, nil
}

// event applies a newly stored event to its session.
func (a *sessionAgg) event(ctx context.Context, ev *wire.Event) error {
	r, err := a.get(ctx, ev.SessionID, true)
	if err != nil {
		return err
	}
	t := ev.Time.UnixNano()
	if r.status == "" {
		r.status, r.start, r.last = StatusActive, t, t
	}
	r.start = min(r.start, t)
	r.last = max(r.last, t)
	r.events++
	r.dirty = true
	if ev.CWD != "" {
		r.cwd = ev.CWD
	}
	if ev.Outcome == "failure" {
		r.failures++
	}
	switch ev.Event {
	case "UserPromptSubmit":
		r.turns++
	case "PreToolUse":
		r.toolCalls++
	case "SubagentStart":
		r.subagents++
	case "SessionStart":
		if ev.Model != "" {
			r.model = ev.Model
		}
		if src := payloadString(ev.Payload, "source"); src != "" {
			r.source = src
		}
		if r.status != StatusActive && r.end.Valid && t >= r.end.Int64 {
			// A resumed session starts again under the same id.
			r.status, r.end, r.endReason = StatusActive, sql.NullInt64{}, ""
		}
	case "SessionEnd":
		r.status = StatusEnded
		r.end = sql.NullInt64{Int64: t, Valid: true}
		r.endReason = payloadString(ev.Payload, "reason")
		return nil
	}
	if r.status == StatusExpired && r.end.Valid && t > r.end.Int64 {
		// Activity after expiry: the session was alive after all.
		r.status, r.end, r.endReason = StatusActive, sql.NullInt64{}, ""
	}
	return nil
}

// root applies a session's root span: expiry (or eviction) closes a session
// that had no activity since, and a root span of a session whose SessionEnd
// event the store never saw ends it.
func (a *sessionAgg) root(ctx context.Context, sp *session.Span) error {
	if sp.ParentKey != "" {
		return nil
	}
	r, err := a.get(ctx, sp.SessionID, false)
	if err != nil || r == nil {
		return err
	}
	end := sp.End.UnixNano()
	if r.status != StatusActive || end < r.last {
		return nil
	}
	r.dirty = true
	r.end = sql.NullInt64{Int64: end, Valid: true}
	if sp.Outcome == "expired" {
		r.status = StatusExpired
		r.endReason = sp.ErrorType
		return nil
	}
	r.status = StatusEnded
	for _, at := range sp.Attrs {
		if at.Key == session.AttrSessionEnd {
			if v, ok := at.Value.(string); ok {
				r.endReason = v
			}
		}
	}
	return nil
}

// usage applies a newly stored turn or root span to its session's usage (see
// readUsage for the rule). A turn adds its figures unless its root is stored
// (the root counts them); a root makes the row read its usage again from the
// spans at flush, which also covers the turns stored after it in the batch.
// Spans of a session the store has no row for (its events were older than
// MaxAge) change nothing.
func (a *sessionAgg) usage(ctx context.Context, sp *session.Span) error {
	r, err := a.get(ctx, sp.SessionID, false)
	if err != nil || r == nil {
		return err
	}
	if sp.Kind == session.KindSession {
		r.rereadUsage = true
		return nil
	}
	if r.rereadUsage {
		return nil
	}
	var one int
	switch err := a.s.stmts.rootStored.QueryRowContext(ctx, sp.SessionID, sp.ParentKey).Scan(&one); {
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("usage of session %s: %w", sp.SessionID, err)
	}
	in, out, cr, cc, cost, models := spanUsage(sp.Attrs)
	r.usage.add(in, out, cr, cc, cost, models)
	r.dirty = true
	return nil
}

func (a *sessionAgg) flush(ctx context.Context) error {
	for _, r := range a.order {
		if r.rereadUsage {
			rows, err := a.s.stmts.loadUsage.QueryContext(ctx, r.id)
			if err != nil {
				return fmt.Errorf("read usage of session %s: %w", r.id, err)
			}
			u, err := readUsage(rows)
			if err != nil {
				return fmt.Errorf("read usage of session %s: %w", r.id, err)
			}
			if u != r.usage {
				r.usage, r.dirty = u, true
			}
		}
		if !r.dirty {
			continue
		}
		u := &r.usage
		if _, err := a.s.stmts.upsertSession.ExecContext(ctx, r.id, r.start, r.end, r.last, r.status,
			null(r.endReason), null(r.source), null(r.model), null(r.cwd),
			r.turns, r.toolCalls, r.failures, r.subagents, r.events,
			u.input, u.output, u.cacheRead, u.cacheCreation, u.costUSD, null(u.models)); err != nil {
			return fmt.Errorf("store session %s: %w", r.id, err)
		}
	}
	return nil
}

// payloadString reads a top-level string member of a JSON object payload in
// its stored form (maybe compressed); "" when absent or unreadable (a cut
// payload).
func payloadString(p []byte, key string) string {
	p, err := unpackPayload(p)
	if err != nil || len(p) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(m[key], &v) != nil {
		return ""
	}
	return v
}
