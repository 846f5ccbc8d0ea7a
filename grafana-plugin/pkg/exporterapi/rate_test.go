package exporterapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/exporterapi"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// EventRates sends the query as the exporter's parameters and refuses an
// answer whose buckets are not the ones asked for.
func TestEventRates(t *testing.T) {
	from := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	q := wire.RateQuery{Filter: wire.Filter{From: from, To: from.Add(3 * time.Minute), Tool: "Bash"}, Step: time.Minute, By: wire.RateByTool}
	for _, tc := range []struct {
		name, body string
		wantErr    bool
	}{
		{"good", `{"start":"2026-05-01T10:00:00Z","step_ms":60000,"buckets":3,"by":"tool","series":[{"name":"Bash","counts":[1,0,2]}]}`, false},
		{"wrong buckets", `{"start":"2026-05-01T10:00:00Z","step_ms":60000,"buckets":2,"by":"tool","series":[]}`, true},
		{"short series", `{"start":"2026-05-01T10:00:00Z","step_ms":60000,"buckets":3,"by":"tool","series":[{"name":"Bash","counts":[1]}]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var params string
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != exporterapi.RouteEventRate {
					http.NotFound(w, r)
					return
				}
				params = r.URL.RawQuery
				fmt.Fprint(w, tc.body)
			})
			r, err := newClient(t, srv.URL, "").EventRates(context.Background(), q)
			if want := "by=tool&from=2026-05-01T10%3A00%3A00Z&step=60000&to=2026-05-01T10%3A03%3A00Z&tool=Bash"; params != want {
				t.Errorf("parameters %s, want %s", params, want)
			}
			if tc.wantErr {
				var pe *exporterapi.ProtocolError
				if !errors.As(err, &pe) {
					t.Errorf("EventRates = %+v, %v; want a ProtocolError", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]wire.RateSeries{{Name: "Bash", Counts: []int64{1, 0, 2}}}, r.Series); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
		})
	}
}
