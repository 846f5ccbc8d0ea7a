package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// History is what the events and sessions routes read: the event store.
type History interface {
	Events(ctx context.Context, f wire.Filter, limit int, cursor string, asc bool) (wire.EventsPage, error)
	Sessions(ctx context.Context, q wire.SessionQuery) (wire.SessionsPage, error)
	Session(ctx context.Context, id string) (wire.SessionDetail, bool, error)
	// Stats is the store's size in bytes and its event count; MaxSeq its
	// newest event's seq.
	Stats(ctx context.Context) (bytes int64, events int64, err error)
	MaxSeq(ctx context.Context) (int64, error)
	// Health is nil while the store's commits succeed.
	Health() error
}

// Options configures the handler.
type Options struct {
	// Store answers the events and sessions routes; nil when the daemon runs
	// without a store: those routes then answer 503 and status reports no store.
	Store History
	// Rates answers GET /api/v1/events/rate; nil: that route answers 503.
	Rates RateCounter
	// Status fills GET /api/v1/status; the handler adds the store's size,
	// event count and last seq when it has a store. nil: only those.
	Status func(ctx context.Context) wire.Status
	Logger *slog.Logger
}

// ErrStoreDisabled is the message of the 503 answered without a store.
const ErrStoreDisabled = `the event store is disabled (--store.path="")`

// New returns the handler of the /api/v1/ routes (the live stream excepted).
// It expects the full request path, e.g. /api/v1/events.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/events", get(h.events))
	mux.HandleFunc("/api/v1/events/rate", get(h.rate))
	mux.HandleFunc("/api/v1/sessions", get(h.sessions))
	mux.HandleFunc("/api/v1/sessions/{id}", get(h.session))
	mux.HandleFunc("/api/v1/status", get(h.status))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s (see docs/api.md)", r.URL.Path))
	})
	return mux
}

type handler struct {
	opts Options
}

// storeUp answers 503 and reports false when there is no store or it cannot
// answer truly: its commits fail or it was declared failed (stale data would
// look like an answer).
func (h *handler) storeUp(w http.ResponseWriter) bool {
	if h.opts.Store == nil {
		writeError(w, http.StatusServiceUnavailable, ErrStoreDisabled)
		return false
	}
	if err := h.opts.Store.Health(); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return false
	}
	return true
}

// get answers other methods than GET and HEAD with 405.
func get(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed, use GET", r.Method))
			return
		}
		fn(w, r)
	}
}

func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	if !h.storeUp(w) {
		return
	}
	q := r.URL.Query()
	f, err := wire.ParseFilter(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	limit, err := parseLimit(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var asc bool
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		asc = true
	default:
		h.fail(w, r, &wire.ParamError{Param: "order", Msg: "want asc or desc"})
		return
	}
	page, err := h.opts.Store.Events(r.Context(), f, limit, q.Get("cursor"), asc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *handler) sessions(w http.ResponseWriter, r *http.Request) {
	if !h.storeUp(w) {
		return
	}
	q := r.URL.Query()
	var sq wire.SessionQuery
	if v := q.Get("active"); v != "" {
		active, err := strconv.ParseBool(v)
		if err != nil {
			h.fail(w, r, &wire.ParamError{Param: "active", Msg: "want true or false"})
			return
		}
		sq.Active = &active
	}
	// The time range has the events' syntax and checks.
	span, err := wire.ParseFilter(url.Values{"from": q["from"], "to": q["to"]})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sq.From, sq.To = span.From, span.To
	sq.CWD = q.Get("cwd")
	if sq.CWD == "" {
		sq.CWD = q.Get("project")
	}
	sq.Text = q.Get("q")
	if sq.Limit, err = parseLimit(q); err != nil {
		h.fail(w, r, err)
		return
	}
	sq.Cursor = q.Get("cursor")
	page, err := h.opts.Store.Sessions(r.Context(), sq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	if !h.storeUp(w) {
		return
	}
	id := r.PathValue("id")
	d, ok, err := h.opts.Store.Session(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("session %q not found", id))
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	var st wire.Status
	if h.opts.Status != nil {
		st = h.opts.Status(r.Context())
	}
	st.Service = wire.ServiceName
	if s := h.opts.Store; s != nil {
		bytes, events, err := s.Stats(r.Context())
		if err != nil {
			h.opts.Logger.Warn("store stats", "err", err)
		} else {
			st.StoreBytes, st.StoreEvents = bytes, events
		}
		if st.LastSeq == 0 {
			st.LastSeq, _ = s.MaxSeq(r.Context())
		}
	}
	writeJSON(w, http.StatusOK, st)
}

// parseLimit reads limit: an integer of at least 1, wire.DefaultLimit when
// absent; above wire.MaxLimit it is capped.
func parseLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return wire.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, &wire.ParamError{Param: "limit", Msg: fmt.Sprintf("want an integer from 1 to %d", wire.MaxLimit)}
	}
	return min(n, wire.MaxLimit), nil
}

// fail answers a malformed parameter with 400 naming it, and anything else
// with 500 (logged; the client gets no detail).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *wire.ParamError
	switch {
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, pe.Error())
	case r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
	default:
		h.opts.Logger.Error("api query", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error (logged by the daemon)")
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, wire.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a write error means the client is gone
}
