package api

import (
	"context"
	"net/http"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// RateCounter answers GET /api/v1/events/rate: the event store's count of
// events per time bucket and event name or tool.
type RateCounter interface {
	EventRates(ctx context.Context, q wire.RateQuery) (wire.EventRates, error)
}

// rate answers GET /api/v1/events/rate: the events passing the events
// route's filters counted per step-wide bucket from from to to (both
// required) and per event name (by=event, the default) or tool (by=tool).
func (h *handler) rate(w http.ResponseWriter, r *http.Request) {
	if h.opts.Rates == nil {
		writeError(w, http.StatusServiceUnavailable, ErrStoreDisabled)
		return
	}
	q, err := wire.ParseRateQuery(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rates, err := h.opts.Rates.EventRates(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rates)
}
