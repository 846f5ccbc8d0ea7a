package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/claudehooks/claude-hooks-exporter/internal/timeline"
	"github.com/claudehooks/claude-hooks-exporter/internal/traceid"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Page sizes of Events and Sessions.
const (
	DefaultLimit = wire.DefaultLimit
	MaxLimit     = wire.MaxLimit
)

// minTrigram is the shortest text the trigram index can answer; shorter text
// is matched with LIKE.
const minTrigram = 3

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Cursors are opaque to clients: base64 of a tagged position, so that a
// cursor of one route is refused by the other.
func eventCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("e" + strconv.FormatInt(seq, 10)))
}

func parseEventCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 1 && b[0] == 'e' {
		if seq, err := strconv.ParseInt(string(b[1:]), 10, 64); err == nil && seq >= 0 {
			return seq, nil
		}
	}
	return 0, &wire.ParamError{Param: "cursor", Msg: "not a cursor of this route (pass next_cursor back unchanged)"}
}

func sessionCursor(start int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.FormatInt(start, 10) + ":" + id))
}

func parseSessionCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 1 && b[0] == 's' {
		if ts, id, ok := strings.Cut(string(b[1:]), ":"); ok {
			if start, err := strconv.ParseInt(ts, 10, 64); err == nil {
				return start, id, nil
			}
		}
	}
	return 0, "", &wire.ParamError{Param: "cursor", Msg: "not a cursor of this route (pass next_cursor back unchanged)"}
}

// maxTrigrams caps the trigrams of one query: enough to keep the candidates
// few, few enough to keep the intersection cheap.
const maxTrigrams = 16

// ftsQuery is the full-text query for rows containing every trigram of text
// (at most maxTrigrams of them, spread over it so that they cover it). Each
// trigram is a quoted string, and doubling the double quote is the only
// escape inside one, so no query syntax (AND, NEAR, column filters, *) can be
// injected. The index folds case like the trigram tokenizer does.
func ftsQuery(text string) string {
	r := []rune(text)
	n := len(r) - 2
	var starts []int
	for i := 0; i < n; i += 3 {
		starts = append(starts, i)
	}
	if last := n - 1; starts[len(starts)-1] != last {
		starts = append(starts, last)
	}
	if len(starts) > maxTrigrams {
		picked := make([]int, maxTrigrams)
		for k := range picked {
			picked[k] = starts[k*(len(starts)-1)/(maxTrigrams-1)]
		}
		starts = picked
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, i := range starts {
		tri := string(r[i : i+3])
		if seen[tri] {
			continue
		}
		seen[tri] = true
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(tri, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}

// likePattern matches text as a substring with LIKE ... ESCAPE '\'.
func likePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(text) + "%"
}

// textMatch is the text filter on an event row: a case-insensitive (ASCII
// letters) substring of the summary, the error or the tool, as the live
// stream's filter matches it.
const textMatch = `(e.summary LIKE ? ESCAPE '\' OR e.error LIKE ? ESCAPE '\' OR e.tool LIKE ? ESCAPE '\')`

// cleanText drops NUL characters from a query text: SQLite's LIKE and the
// full-text query parser would end the text there.
func cleanText(text string) string {
	return strings.ReplaceAll(text, "\x00", "")
}

// useFTS reports whether text goes to the trigram index.
func useFTS(text string) bool { return utf8.RuneCountInString(text) >= minTrigram }

// where collects the conditions and arguments of a query.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

const eventCols = `e.seq, e.id, e.time, e.session_id, e.event, e.prompt_id, e.agent_id, e.agent_type, e.tool,
	e.tool_use_id, e.mcp_server, e.outcome, e.duration_ms, e.error, e.summary, e.notification_type, e.cwd, e.model,
	p.truncated, p.data`

// eventsSQL builds the query for events passing f, after (asc) or before
// (desc) the seq bound when bounded, at most limit rows. wideTime says the
// time range holds many events: the query then walks seq order and checks
// the time, rather than collecting and sorting the whole range.
//
// Each condition is one index's equality, so that the rows come in seq order
// and the query stops after limit. A filter that is a disjunction (several
// event names; an agent as id or type) becomes one such query per
// alternative, each limited, and the answer the first limit of their union.
func eventsSQL(f wire.Filter, bound int64, bounded, asc bool, limit int, wideTime bool) (string, []any) {
	var w where
	from, key := "events e", "e.seq"
	f.Text = cleanText(f.Text)
	if f.Text != "" && useFTS(f.Text) {
		// The index drives: it yields candidate rowids (seqs) in order and
		// the query stops after limit rows that pass LIKE and the other filters.
		from, key = "events_fts CROSS JOIN events e ON e.seq = events_fts.rowid", "events_fts.rowid"
		w.add("events_fts MATCH ?", ftsQuery(f.Text))
	}
	if f.Text != "" {
		p := likePattern(f.Text)
		w.add(textMatch, p, p, p)
	}
	if f.SessionID != "" {
		w.add("e.session_id = ?", f.SessionID)
	}
	if f.Tool != "" {
		w.add("e.tool = ?", f.Tool)
	}
	if f.Outcome != "" {
		w.add("e.outcome = ?", f.Outcome)
	}
	timeCol := "e.time"
	if wideTime {
		timeCol = "+e.time" // unary plus: not through the time index
	}
	if !f.From.IsZero() {
		w.add(timeCol+" >= ?", f.From.UnixNano())
	}
	if !f.To.IsZero() {
		w.add(timeCol+" < ?", f.To.UnixNano())
	}
	order := " DESC"
	if asc {
		order = " ASC"
	}
	if bounded {
		if asc {
			w.add(key+" > ?", bound)
		} else {
			w.add(key+" < ?", bound)
		}
	}

	// The alternatives: every combination of an event name and an agent column.
	type alt struct {
		cond string
		args []any
	}
	alts := []alt{{}}
	if len(f.Events) > 0 {
		var next []alt
		for _, name := range uniq(f.Events) {
			next = append(next, alt{"e.event = ?", []any{name}})
		}
		alts = next
	}
	if f.Agent != "" {
		var next []alt
		for _, a := range alts {
			for _, col := range []string{"e.agent_id", "e.agent_type"} {
				next = append(next, alt{joinCond(a.cond, col+" = ?"), append(slices.Clone(a.args), f.Agent)})
			}
		}
		alts = next
	}
	sel := func(cols string, a alt) (string, []any) {
		cw := where{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
		if a.cond != "" {
			cw.add(a.cond, a.args...)
		}
		return "SELECT " + cols + " FROM " + from + cw.String() + " ORDER BY " + key + order + " LIMIT ?", append(cw.args, limit)
	}
	if len(alts) == 1 {
		from += " LEFT JOIN payloads p ON p.seq = e.seq"
		return sel(eventCols, alts[0])
	}
	var parts []string
	var args []any
	for _, a := range alts {
		q, qa := sel("e.seq", a)
		parts = append(parts, "SELECT seq FROM ("+q+")")
		args = append(args, qa...)
	}
	q := "SELECT " + eventCols + " FROM events e LEFT JOIN payloads p ON p.seq = e.seq WHERE e.seq IN (" +
		strings.Join(parts, " UNION ALL ") + ") ORDER BY e.seq" + order + " LIMIT ?"
	return q, append(args, limit)
}

func joinCond(a, b string) string {
	if a == "" {
		return b
	}
	return a + " AND " + b
}

// uniq returns ss without repeats, in order.
func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// wideTimeRows is how many events a time range may hold for the query to
// collect it through the time index and sort it.
const wideTimeRows = 4096

// wideTime reports whether f's time range holds more than wideTimeRows
// events, counting at most that many through the time index. A range with a
// session or text filter is narrowed by those instead.
func (s *Store) wideTime(ctx context.Context, f wire.Filter) (bool, error) {
	if (f.From.IsZero() && f.To.IsZero()) || f.SessionID != "" || f.Text != "" {
		return false, nil
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.From.IsZero() {
		from = f.From.UnixNano()
	}
	if !f.To.IsZero() {
		to = f.To.UnixNano()
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events WHERE time >= ? AND time < ? LIMIT ?)`,
		from, to, wideTimeRows+1).Scan(&n); err != nil {
		return false, fmt.Errorf("query events: size of the time range: %w", err)
	}
	return n > wideTimeRows, nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Events returns a page of events passing f, newest first (asc: oldest first),
// from the position cursor names ("" for the start). A malformed cursor is a
// *wire.ParamError. limit is clamped to 1..MaxLimit (DefaultLimit when 0).
func (s *Store) Events(ctx context.Context, f wire.Filter, limit int, cursor string, asc bool) (wire.EventsPage, error) {
	s.settle(ctx)
	limit = clampLimit(limit)
	var bound int64
	bounded := cursor != ""
	if bounded {
		var err error
		if bound, err = parseEventCursor(cursor); err != nil {
			return wire.EventsPage{}, err
		}
	}
	evs, err := s.queryEvents(ctx, f, bound, bounded, asc, limit+1)
	if err != nil {
		return wire.EventsPage{}, err
	}
	page := wire.EventsPage{Events: evs}
	if len(evs) > limit {
		page.Events = evs[:limit]
		page.NextCursor = eventCursor(evs[limit-1].Seq)
	}
	return page, nil
}

// EventsAfter returns up to limit events passing f with Seq above afterSeq,
// oldest first: what a stream subscriber resuming after afterSeq missed.
func (s *Store) EventsAfter(ctx context.Context, afterSeq int64, f wire.Filter, limit int) ([]wire.Event, error) {
	s.settle(ctx)
	if limit <= 0 {
		limit = DefaultLimit
	}
	return s.queryEvents(ctx, f, afterSeq, true, true, limit)
}

func (s *Store) queryEvents(ctx context.Context, f wire.Filter, bound int64, bounded, asc bool, limit int) ([]wire.Event, error) {
	if s.r == nil {
		return nil, errors.New("query events: store closed")
	}
	wide, err := s.wideTime(ctx, f)
	if err != nil {
		return nil, err
	}
	q, args := eventsSQL(f, bound, bounded, asc, limit, wide)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	evs := []wire.Event{}
	for rows.Next() {
		var (
			ev                                                       wire.Event
			t                                                        int64
			promptID, agentID, agentType, tool, toolUseID, mcp, outc sql.NullString
			errText, summary, notif, cwd, model                      sql.NullString
			dur                                                      sql.NullFloat64
			truncated                                                sql.NullBool
			payload                                                  []byte
		)
		if err := rows.Scan(&ev.Seq, &ev.ID, &t, &ev.SessionID, &ev.Event, &promptID, &agentID, &agentType, &tool,
			&toolUseID, &mcp, &outc, &dur, &errText, &summary, &notif, &cwd, &model, &truncated, &payload); err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		ev.Time = time.Unix(0, t).UTC()
		ev.PromptID, ev.AgentID, ev.AgentType, ev.Tool = promptID.String, agentID.String, agentType.String, tool.String
		ev.ToolUseID, ev.MCPServer, ev.Outcome, ev.Error = toolUseID.String, mcp.String, outc.String, errText.String
		ev.Summary, ev.NotificationType, ev.CWD, ev.Model = summary.String, notif.String, cwd.String, model.String
		if dur.Valid {
			d := dur.Float64
			ev.DurationMS = &d
		}
		ev.Truncated = truncated.Bool
		if len(payload) > 0 {
			if ev.Payload, err = unpackPayload(payload); err != nil {
				return nil, fmt.Errorf("query events: event %d: %w", ev.Seq, err)
			}
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return evs, nil
}

// SessionQuery selects sessions for Sessions (the query API's shape).
type SessionQuery = wire.SessionQuery

// Sessions returns a page of sessions, the most recently started first.
func (s *Store) Sessions(ctx context.Context, q SessionQuery) (wire.SessionsPage, error) {
	s.settle(ctx)
	if s.r == nil {
		return wire.SessionsPage{}, errors.New("query sessions: store closed")
	}
	limit := clampLimit(q.Limit)
	var w where
	if q.Active != nil {
		if *q.Active {
			w.add("status = ?", timeline.StatusActive)
		} else {
			w.add("status <> ?", timeline.StatusActive)
		}
	}
	if !q.From.IsZero() {
		w.add("last_activity >= ?", q.From.UnixNano())
	}
	if !q.To.IsZero() {
		w.add("start_time < ?", q.To.UnixNano())
	}
	if q.CWD != "" {
		w.add(`cwd LIKE ? ESCAPE '\'`, likePattern(q.CWD))
	}
	if q.Text = cleanText(q.Text); q.Text != "" {
		p := likePattern(q.Text)
		if useFTS(q.Text) {
			w.add(`session_id IN (SELECT e.session_id FROM events_fts CROSS JOIN events e ON e.seq = events_fts.rowid
				WHERE events_fts MATCH ? AND `+textMatch+`)`, ftsQuery(q.Text), p, p, p)
		} else {
			w.add(`session_id IN (SELECT e.session_id FROM events e WHERE `+textMatch+`)`, p, p, p)
		}
	}
	if q.Cursor != "" {
		start, id, err := parseSessionCursor(q.Cursor)
		if err != nil {
			return wire.SessionsPage{}, err
		}
		w.add("(start_time, session_id) < (?, ?)", start, id)
	}
	sqlText := "SELECT " + sessionCols + " FROM sessions" + w.String() + " ORDER BY start_time DESC, session_id DESC LIMIT ?"
	rows, err := s.r.QueryContext(ctx, sqlText, append(w.args, limit+1)...)
	if err != nil {
		return wire.SessionsPage{}, fmt.Errorf("query sessions: %w", err)
	}
	defer rows.Close()
	page := wire.SessionsPage{Sessions: []wire.Session{}}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return wire.SessionsPage{}, fmt.Errorf("query sessions: %w", err)
		}
		page.Sessions = append(page.Sessions, ss)
	}
	if err := rows.Err(); err != nil {
		return wire.SessionsPage{}, fmt.Errorf("query sessions: %w", err)
	}
	if len(page.Sessions) > limit {
		page.Sessions = page.Sessions[:limit]
		last := page.Sessions[limit-1]
		page.NextCursor = sessionCursor(last.Start.UnixNano(), last.SessionID)
	}
	return page, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanSession(sc scanner) (wire.Session, error) {
	var (
		ss                            wire.Session
		start, last                   int64
		end                           sql.NullInt64
		endReason, source, model, cwd sql.NullString
		models, turns, tools          sql.NullString
	)
	if err := sc.Scan(&ss.SessionID, &start, &end, &last, &ss.Status, &endReason, &source, &model, &cwd,
		&ss.Turns, &ss.ToolCalls, &ss.Failures, &ss.Subagents,
		&ss.InputTokens, &ss.OutputTokens, &ss.CacheReadTokens, &ss.CacheCreationTokens, &ss.CostUSD, &models,
		&turns, &tools, &ss.Compactions, &ss.PermissionWaits, &ss.Events); err != nil {
		return ss, err
	}
	// Rows stored before schema version 4 have no outcomes: they stay zero.
	for _, o := range []struct {
		text sql.NullString
		dst  *wire.OutcomeCounts
	}{{turns, &ss.TurnsByOutcome}, {tools, &ss.ToolCallsByOutcome}} {
		if o.text.Valid {
			if err := json.Unmarshal([]byte(o.text.String), o.dst); err != nil {
				return ss, fmt.Errorf("session %s: outcomes: %w", ss.SessionID, err)
			}
		}
	}
	ss.Models = splitModels(models.String)
	ss.Start = time.Unix(0, start).UTC()
	ss.LastActivity = time.Unix(0, last).UTC()
	if end.Valid {
		e := time.Unix(0, end.Int64).UTC()
		ss.End = &e
	}
	ss.EndReason, ss.Source, ss.Model, ss.CWD = endReason.String, source.String, model.String, cwd.String
	ss.TraceID = traceid.ForSession(ss.SessionID).String()
	return ss, nil
}

// Session returns a session's summary and its stored spans in start order
// (the root first among equals), each naming its parent by span id; false
// when the store has no such session. An open session's root span is stored
// when it ends; until then its children name the root's id all the same.
func (s *Store) Session(ctx context.Context, id string) (wire.SessionDetail, bool, error) {
	s.settle(ctx)
	if s.r == nil {
		return wire.SessionDetail{}, false, errors.New("query session: store closed")
	}
	ss, err := scanSession(s.r.QueryRowContext(ctx, "SELECT "+sessionCols+" FROM sessions WHERE session_id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return wire.SessionDetail{}, false, nil
	}
	if err != nil {
		return wire.SessionDetail{}, false, fmt.Errorf("query session %s: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT span_key, parent_key, kind, name, start_time, end_time, outcome, error_type, attrs
		FROM spans WHERE session_id = ? ORDER BY start_time, parent_key <> '', span_key`, id)
	if err != nil {
		return wire.SessionDetail{}, false, fmt.Errorf("query spans of %s: %w", id, err)
	}
	defer rows.Close()
	d := wire.SessionDetail{Session: ss, Spans: []wire.Span{}}
	for rows.Next() {
		var (
			sp                      wire.Span
			parent                  string
			start, end              int64
			outcome, errType, attrs sql.NullString
		)
		if err := rows.Scan(&sp.Key, &parent, &sp.Kind, &sp.Name, &start, &end, &outcome, &errType, &attrs); err != nil {
			return wire.SessionDetail{}, false, fmt.Errorf("query spans of %s: %w", id, err)
		}
		sp.SpanID = traceid.ForSpan(id, sp.Key).String()
		if parent != "" && parent != sp.Key {
			sp.ParentID = traceid.ForSpan(id, parent).String()
		}
		sp.Start, sp.End = time.Unix(0, start).UTC(), time.Unix(0, end).UTC()
		sp.Outcome, sp.ErrorType = outcome.String, errType.String
		if attrs.Valid {
			dec := json.NewDecoder(bytes.NewReader([]byte(attrs.String)))
			dec.UseNumber() // integers stay integers
			if err := dec.Decode(&sp.Attrs); err != nil {
				return wire.SessionDetail{}, false, fmt.Errorf("span %s of %s: attributes: %w", sp.Key, id, err)
			}
		}
		d.Spans = append(d.Spans, sp)
	}
	if err := rows.Err(); err != nil {
		return wire.SessionDetail{}, false, fmt.Errorf("query spans of %s: %w", id, err)
	}
	return d, true, nil
}
