package exporterapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Routes of the exporter's query API, relative to its base URL.
const (
	RouteStatus   = "/api/v1/status"
	RouteEvents   = "/api/v1/events"
	RouteSessions = "/api/v1/sessions"
	RouteStream   = "/api/v1/stream"
)

// maxErrorBody caps how much of a non-2xx answer is read for its message.
const maxErrorBody = 4 << 10

// Options configure a Client.
type Options struct {
	// URL is the exporter's base URL, e.g. http://127.0.0.1:9469. A path is
	// kept as a prefix (for an exporter behind a reverse proxy).
	URL string
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// UserAgent is sent with every request.
	UserAgent string
	// Timeout bounds each request/response call (not the stream). Zero means 30 s.
	Timeout time.Duration
	// Transport carries the requests; nil means a private clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Client calls one exporter. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	userAgent string
	api       *http.Client // request/response calls, with a timeout
	stream    *http.Client // the SSE stream: no overall timeout, ended by its context
	transport http.RoundTripper
}

// New checks the options and returns a Client.
func New(opts Options) (*Client, error) {
	raw := strings.TrimSpace(opts.URL)
	if raw == "" {
		return nil, errors.New("exporter URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse exporter URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("exporter URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("exporter URL %q has no host", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	tr := opts.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{
		base:      u,
		token:     opts.Token,
		userAgent: opts.UserAgent,
		api:       &http.Client{Transport: tr, Timeout: timeout},
		stream:    &http.Client{Transport: tr},
		transport: tr,
	}, nil
}

// URL is the exporter's base URL as the client uses it.
func (c *Client) URL() string { return c.base.String() }

// CloseIdleConnections closes idle keep-alive connections; call it when the
// client is dropped.
func (c *Client) CloseIdleConnections() { c.api.CloseIdleConnections() }

// StatusError is a non-2xx answer from the exporter.
type StatusError struct {
	Route   string
	Code    int
	Message string // the {"error": ...} text, or the start of the body
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("GET %s: %d %s", e.Route, e.Code, http.StatusText(e.Code))
	}
	return fmt.Sprintf("GET %s: %d %s: %s", e.Route, e.Code, http.StatusText(e.Code), e.Message)
}

// ProtocolError is a 2xx answer that is not what the route promises: the
// server at the URL is most likely not a claude-hooks-exporter.
type ProtocolError struct {
	Route string
	Err   error
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("GET %s: unexpected answer: %v", e.Route, e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// ErrNotExporter is wrapped by the ProtocolError of a status answer whose
// service is not claude-hooks-exporter.
var ErrNotExporter = errors.New("not a claude-hooks-exporter")

// Status calls GET /api/v1/status and checks that the answer comes from a
// claude-hooks-exporter.
func (c *Client) Status(ctx context.Context) (*wire.Status, error) {
	var st wire.Status
	if err := c.getJSON(ctx, RouteStatus, nil, &st); err != nil {
		return nil, err
	}
	if st.Service != wire.ServiceName {
		return nil, &ProtocolError{Route: RouteStatus, Err: fmt.Errorf("%w: service is %q", ErrNotExporter, st.Service)}
	}
	return &st, nil
}

// EventsQuery is one page request of GET /api/v1/events.
type EventsQuery struct {
	Filter    wire.Filter
	Limit     int    // 0: the exporter's default
	Cursor    string // from the previous page's NextCursor
	Ascending bool   // oldest first; newest first otherwise
}

// Events fetches one page of events.
func (c *Client) Events(ctx context.Context, q EventsQuery) (*wire.EventsPage, error) {
	v := q.Filter.Values()
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Ascending {
		v.Set("order", "asc")
	} else {
		v.Set("order", "desc")
	}
	var page wire.EventsPage
	if err := c.getJSON(ctx, RouteEvents, v, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// SessionsQuery is one page request of GET /api/v1/sessions.
type SessionsQuery struct {
	Active   *bool // nil: both
	From, To time.Time
	CWD      string
	Text     string
	Limit    int
	Cursor   string
}

// Sessions fetches one page of session summaries.
func (c *Client) Sessions(ctx context.Context, q SessionsQuery) (*wire.SessionsPage, error) {
	v := url.Values{}
	if q.Active != nil {
		v.Set("active", strconv.FormatBool(*q.Active))
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.CWD != "" {
		v.Set("cwd", q.CWD)
	}
	if q.Text != "" {
		v.Set("q", q.Text)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	var page wire.SessionsPage
	if err := c.getJSON(ctx, RouteSessions, v, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Session fetches one session's summary and timeline. A session the exporter
// does not know is a *StatusError with Code 404.
func (c *Client) Session(ctx context.Context, id string) (*wire.SessionDetail, error) {
	if id == "" {
		return nil, errors.New("session id is empty")
	}
	var d wire.SessionDetail
	if err := c.getJSON(ctx, RouteSessions+"/"+url.PathEscape(id), nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (c *Client) newRequest(ctx context.Context, route string, q url.Values) (*http.Request, error) {
	// route is escaped (a session id may hold any character); keep it so.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + route
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return nil, fmt.Errorf("build request %s: %w", route, err)
	}
	u.Path = p
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request %s: %w", route, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

func (c *Client) getJSON(ctx context.Context, route string, q url.Values, out any) error {
	req, err := c.newRequest(ctx, route, q)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.api.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", route, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError(route, resp)
	}
	dec := json.NewDecoder(resp.Body)
	if err := dec.Decode(out); err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: read answer: %w", route, err)
		}
		return &ProtocolError{Route: route, Err: fmt.Errorf("decode JSON: %w", err)}
	}
	return nil
}

// statusError reads the error message of a non-2xx answer.
func statusError(route string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := strings.TrimSpace(string(body))
	var e wire.Error
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	} else if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &StatusError{Route: route, Code: resp.StatusCode, Message: msg}
}
