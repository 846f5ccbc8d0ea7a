package wire

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Filter selects events; the query parameters of /api/v1/events and
// /api/v1/stream map onto it one to one.
type Filter struct {
	SessionID string    // session
	Events    []string  // event (comma-separated or repeated)
	Tool      string    // tool
	Agent     string    // agent: agent_id or agent_type
	Outcome   string    // outcome: success, failure, interrupted, denied
	Text      string    // q: full-text query
	From, To  time.Time // from, to: RFC 3339 or unix milliseconds
}

// Outcomes are the accepted outcome filter values.
var Outcomes = []string{"success", "failure", "interrupted", "denied"}

// ParamError names the query parameter that was malformed.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return fmt.Sprintf("query parameter %q: %s", e.Param, e.Msg) }

// ParseFilter reads a Filter from query parameters.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{
		SessionID: q.Get("session"),
		Tool:      q.Get("tool"),
		Agent:     q.Get("agent"),
		Outcome:   q.Get("outcome"),
		Text:      q.Get("q"),
	}
	for _, v := range q["event"] {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				f.Events = append(f.Events, e)
			}
		}
	}
	if f.Outcome != "" && !contains(Outcomes, f.Outcome) {
		return f, &ParamError{"outcome", "want one of " + strings.Join(Outcomes, ", ")}
	}
	var err error
	if f.From, err = parseTime(q, "from"); err != nil {
		return f, err
	}
	if f.To, err = parseTime(q, "to"); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, &ParamError{"to", "is before from"}
	}
	return f, nil
}

// Values renders the filter back into query parameters.
func (f Filter) Values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("session", f.SessionID)
	if len(f.Events) > 0 {
		q.Set("event", strings.Join(f.Events, ","))
	}
	set("tool", f.Tool)
	set("agent", f.Agent)
	set("outcome", f.Outcome)
	set("q", f.Text)
	if !f.From.IsZero() {
		q.Set("from", f.From.UTC().Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// Match reports whether ev passes the filter, except for Text, which only the
// store's full-text index can answer (the stream matches it as a
// case-insensitive substring of the summary, error and tool).
func (f Filter) Match(ev *Event) bool {
	if f.SessionID != "" && ev.SessionID != f.SessionID {
		return false
	}
	if len(f.Events) > 0 && !contains(f.Events, ev.Event) {
		return false
	}
	if f.Tool != "" && ev.Tool != f.Tool {
		return false
	}
	if f.Agent != "" && ev.AgentID != f.Agent && ev.AgentType != f.Agent {
		return false
	}
	if f.Outcome != "" && ev.Outcome != f.Outcome {
		return false
	}
	if !f.From.IsZero() && ev.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !ev.Time.Before(f.To) {
		return false
	}
	if f.Text != "" {
		t := strings.ToLower(f.Text)
		if !strings.Contains(strings.ToLower(ev.Summary), t) && !strings.Contains(strings.ToLower(ev.Error), t) && !strings.Contains(strings.ToLower(ev.Tool), t) {
			return false
		}
	}
	return true
}

func parseTime(q url.Values, key string) (time.Time, error) {
	v := q.Get(key)
	if v == "" {
		return time.Time{}, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &ParamError{key, "want RFC 3339 time or unix milliseconds"}
	}
	return t.UTC(), nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Page sizes of the events and sessions queries.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// SessionQuery selects sessions: the parameters of GET /api/v1/sessions.
type SessionQuery struct {
	// Active, when set, keeps only active (true) or only ended and expired
	// (false) sessions.
	Active *bool
	// From and To keep sessions active at some time in [From, To).
	From, To time.Time
	// CWD keeps sessions whose working directory contains it.
	CWD string
	// Text keeps sessions with an event matching it, as the events' q does.
	Text string
	// Limit is clamped to 1..MaxLimit (DefaultLimit when 0).
	Limit int
	// Cursor is a NextCursor of an earlier page, "" for the first.
	Cursor string
}
