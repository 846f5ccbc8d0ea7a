package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/exporterapi"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Query types, the queryType of a query.
const (
	QueryEvents       = "events"
	QuerySessions     = "sessions"
	QuerySessionTrace = "session-trace"
	QueryEventRate    = "event-rate"
	QueryLive         = "live"
)

// Limits of the events and sessions tables.
const (
	DefaultEventsLimit   = 1000
	MaxEventsLimit       = 10000
	DefaultSessionsLimit = 500
	MaxSessionsLimit     = 5000
	// pageSize is what one request to the exporter asks for.
	pageSize = 1000
)

// Query is the JSON model of one query, as the QueryEditor writes it.
type Query struct {
	// Session is a session id (every type; required by session-trace).
	Session string `json:"session,omitempty"`
	// Events are hook event names (PreToolUse, Stop, ...).
	Events []string `json:"events,omitempty"`
	// Tool is a tool name (Bash, mcp__github__create_issue).
	Tool string `json:"tool,omitempty"`
	// Agent is a subagent id or type.
	Agent string `json:"agent,omitempty"`
	// Outcome is success, failure, interrupted or denied.
	Outcome string `json:"outcome,omitempty"`
	// Text is a full-text query.
	Text string `json:"text,omitempty"`
	// Limit caps the rows of events and sessions tables.
	Limit int `json:"limit,omitempty"`
	// ActiveOnly restricts a sessions query to active sessions.
	ActiveOnly bool `json:"activeOnly,omitempty"`
	// GroupBy is what an event-rate query's series are: event (the
	// default) or tool.
	GroupBy string `json:"groupBy,omitempty"`
}

// filter is the query's event filter, without a time range.
func (q Query) filter() wire.Filter {
	f := wire.Filter{
		SessionID: strings.TrimSpace(q.Session),
		Tool:      strings.TrimSpace(q.Tool),
		Agent:     strings.TrimSpace(q.Agent),
		Outcome:   strings.TrimSpace(q.Outcome),
		Text:      strings.TrimSpace(q.Text),
	}
	for _, e := range q.Events {
		for _, s := range strings.Split(e, ",") {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(f.Events, s) {
				f.Events = append(f.Events, s)
			}
		}
	}
	slices.Sort(f.Events)
	return f
}

func (q Query) validate() error {
	if q.Outcome != "" && !slices.Contains(wire.Outcomes, strings.TrimSpace(q.Outcome)) {
		return fmt.Errorf("outcome %q: want one of %s", q.Outcome, strings.Join(wire.Outcomes, ", "))
	}
	if q.GroupBy != "" && q.GroupBy != wire.RateByEvent && q.GroupBy != wire.RateByTool {
		return fmt.Errorf("groupBy %q: want %s or %s", q.GroupBy, wire.RateByEvent, wire.RateByTool)
	}
	if q.Limit < 0 {
		return fmt.Errorf("limit %d: want a positive number", q.Limit)
	}
	return nil
}

// QueryData answers each query of the request on its own: one query's failure
// is its own response's error and does not fail the others.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, dq backend.DataQuery) backend.DataResponse {
	if d.settingsErr != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, "data source settings: "+d.settingsErr.Error())
	}
	var q Query
	if len(dq.JSON) > 0 {
		if err := json.Unmarshal(dq.JSON, &q); err != nil {
			return backend.ErrDataResponse(backend.StatusBadRequest, "read query: "+err.Error())
		}
	}
	if err := q.validate(); err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	qt := dq.QueryType
	if qt == "" {
		qt = QueryEvents
	}
	var (
		frames data.Frames
		err    error
	)
	switch qt {
	case QueryEvents:
		frames, err = d.queryEvents(ctx, dq, q)
	case QuerySessions:
		frames, err = d.querySessions(ctx, dq, q)
	case QuerySessionTrace:
		frames, err = d.querySessionTrace(ctx, q)
	case QueryEventRate:
		frames, err = d.queryEventRate(ctx, dq, q)
	case QueryLive:
		frames, err = d.queryLive(q)
	default:
		return backend.ErrDataResponse(backend.StatusBadRequest,
			fmt.Sprintf("unknown query type %q: want %s, %s, %s, %s or %s", qt, QueryEvents, QuerySessions, QuerySessionTrace, QueryEventRate, QueryLive))
	}
	if err != nil {
		return errorResponse(err)
	}
	for _, f := range frames {
		f.RefID = dq.RefID
	}
	return backend.DataResponse{Frames: frames}
}

// errorResponse maps a failure to a response whose error source says whose
// fault it is: the exporter's (downstream) or the query's.
func errorResponse(err error) backend.DataResponse {
	var se *exporterapi.StatusError
	switch {
	case errors.As(err, &se) && se.Code == http.StatusBadRequest:
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		return backend.ErrDataResponseWithSource(backend.StatusNotFound, backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden):
		return backend.ErrDataResponseWithSource(backend.StatusUnauthorized, backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, new(*queryError)):
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	default:
		return backend.ErrDataResponseWithSource(backend.StatusBadGateway, backend.ErrorSourceDownstream, err.Error())
	}
}

// queryError is a mistake in what the query asks for.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func badQuery(format string, args ...any) error {
	return &queryError{msg: fmt.Sprintf(format, args...)}
}

func limitOf(q Query, def, maxLimit int) int {
	switch {
	case q.Limit <= 0:
		return def
	case q.Limit > maxLimit:
		return maxLimit
	default:
		return q.Limit
	}
}

func (d *Datasource) queryEvents(ctx context.Context, dq backend.DataQuery, q Query) (data.Frames, error) {
	f := q.filter()
	f.From, f.To = dq.TimeRange.From, dq.TimeRange.To
	limit := limitOf(q, DefaultEventsLimit, MaxEventsLimit)
	var (
		events []wire.Event
		cursor string
	)
	for len(events) < limit {
		page, err := d.client.Events(ctx, exporterapi.EventsQuery{Filter: f, Limit: min(pageSize, limit-len(events)), Cursor: cursor})
		if err != nil {
			return nil, err
		}
		events = append(events, page.Events...)
		cursor = page.NextCursor
		if cursor == "" || len(page.Events) == 0 {
			break
		}
	}
	if len(events) > limit {
		events = events[:limit]
	}
	frame := d.eventsFrame(events)
	frame.Meta.PreferredVisualization = data.VisTypeTable
	if cursor != "" {
		frame.AppendNotices(data.Notice{
			Severity: data.NoticeSeverityInfo,
			Text:     fmt.Sprintf("Showing the newest %d events of the time range; narrow the filters or raise the limit (at most %d) to see more.", limit, MaxEventsLimit),
		})
	}
	return data.Frames{frame}, nil
}

func (d *Datasource) querySessions(ctx context.Context, dq backend.DataQuery, q Query) (data.Frames, error) {
	limit := limitOf(q, DefaultSessionsLimit, MaxSessionsLimit)
	sq := exporterapi.SessionsQuery{From: dq.TimeRange.From, To: dq.TimeRange.To, Text: strings.TrimSpace(q.Text)}
	if q.ActiveOnly {
		active := true
		sq.Active = &active
	}
	var sessions []wire.Session
	for len(sessions) < limit {
		sq.Limit = min(pageSize, limit-len(sessions))
		page, err := d.client.Sessions(ctx, sq)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, page.Sessions...)
		sq.Cursor = page.NextCursor
		if sq.Cursor == "" || len(page.Sessions) == 0 {
			break
		}
	}
	if len(sessions) > limit {
		sessions = sessions[:limit]
	}
	if id := strings.TrimSpace(q.Session); id != "" {
		sessions = slices.DeleteFunc(sessions, func(s wire.Session) bool { return s.SessionID != id })
	}
	return data.Frames{d.sessionsFrame(sessions)}, nil
}

func (d *Datasource) querySessionTrace(ctx context.Context, q Query) (data.Frames, error) {
	id := strings.TrimSpace(q.Session)
	if id == "" {
		return nil, badQuery("a session-trace query needs a session id")
	}
	detail, err := d.client.Session(ctx, id)
	if err != nil {
		var se *exporterapi.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return nil, fmt.Errorf("session %s: the exporter does not know it (%w)", id, err)
		}
		return nil, err
	}
	return data.Frames{traceFrame(detail)}, nil
}

func (d *Datasource) queryEventRate(ctx context.Context, dq backend.DataQuery, q Query) (data.Frames, error) {
	b := newBuckets(dq.TimeRange.From, dq.TimeRange.To, dq.Interval, dq.MaxDataPoints)
	by := q.GroupBy
	if by == "" {
		by = wire.RateByEvent
	}
	r, err := d.client.EventRates(ctx, b.query(q.filter(), by))
	if err != nil {
		var se *exporterapi.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return nil, fmt.Errorf("the exporter does not count event rates (%w): upgrade it to a version that serves %s", err, exporterapi.RouteEventRate)
		}
		return nil, err
	}
	b.fill(r)
	return data.Frames{b.frame()}, nil
}

func (d *Datasource) queryLive(q Query) (data.Frames, error) {
	ch, err := Channel(d.uid, q.filter())
	if err != nil {
		return nil, badQuery("%v", err)
	}
	frame := d.eventsFrame(nil)
	frame.Meta.Channel = ch
	return data.Frames{frame}, nil
}
