package exporterapi

import (
	"context"
	"fmt"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// RouteEventRate counts events per time bucket on the exporter.
const RouteEventRate = "/api/v1/events/rate"

// EventRates fetches the exporter's count of the events q selects per time
// bucket and event name or tool: one request however many events there are.
// The answer is checked to have the buckets asked for.
func (c *Client) EventRates(ctx context.Context, q wire.RateQuery) (*wire.EventRates, error) {
	var r wire.EventRates
	if err := c.getJSON(ctx, RouteEventRate, q.Values(), &r); err != nil {
		return nil, err
	}
	if r.Buckets != q.Buckets() {
		return nil, &ProtocolError{Route: RouteEventRate, Err: fmt.Errorf("%d buckets, asked for %d", r.Buckets, q.Buckets())}
	}
	for _, s := range r.Series {
		if len(s.Counts) != r.Buckets {
			return nil, &ProtocolError{Route: RouteEventRate, Err: fmt.Errorf("series %q has %d counts for %d buckets", s.Name, len(s.Counts), r.Buckets)}
		}
	}
	return &r, nil
}
