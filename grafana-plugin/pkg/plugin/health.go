package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/exporterapi"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// CheckHealth asks the exporter for its status and says, in words a user can
// act on, what is wrong when that fails.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{
			Status:  backend.HealthStatusError,
			Message: "Set the exporter URL, e.g. http://127.0.0.1:9469 (the exporter's --web.listen-address): " + d.settingsErr.Error(),
		}, nil
	}
	st, err := d.client.Status(ctx)
	if err != nil {
		d.log.Debug("health check failed", "url", d.client.URL(), "err", err)
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: HealthMessage(d.client.URL(), err)}, nil
	}
	details, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode status: %w", err)
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: healthyMessage(st), JSONDetails: details}, nil
}

func healthyMessage(st *wire.Status) string {
	lag := time.Duration(st.IngestLagSeconds * float64(time.Second)).Round(time.Millisecond)
	return fmt.Sprintf("Connected to claude-hooks-exporter %s: %d events applied, ingest lag %s.", st.Version, st.EventsApplied, lag)
}

// HealthMessage explains a failed status call to the person configuring the
// data source: nothing listening, a rejected token, something other than the
// exporter at the URL, or another failure.
func HealthMessage(url string, err error) string {
	var (
		se *exporterapi.StatusError
		pe *exporterapi.ProtocolError
		ne net.Error
		de *net.DNSError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Connection refused at %s: nothing is listening there. Start the exporter (claude-hooks-exporter serve) or set the URL to its --web.listen-address.", url)
	case errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden):
		return fmt.Sprintf("Token rejected: the exporter at %s answered %d %s. Set Token to the contents of the exporter's --web.auth-token-file (or clear it if the exporter runs without one).", url, se.Code, http.StatusText(se.Code))
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		return fmt.Sprintf("Not a claude-hooks-exporter: %s answered 404 Not Found for %s. Check that the URL is the exporter's address without a path (and that the exporter is recent enough to serve its query API).", url, exporterapi.RouteStatus)
	case errors.As(err, &pe):
		return fmt.Sprintf("Not a claude-hooks-exporter: %s did not answer %s with the exporter's status (%v). Check that the URL points at the exporter, not at another service.", url, exporterapi.RouteStatus, pe.Err)
	case errors.As(err, &se):
		return fmt.Sprintf("The exporter at %s answered %d %s: %s", url, se.Code, http.StatusText(se.Code), se.Message)
	case errors.As(err, &de):
		return fmt.Sprintf("Cannot resolve the host of %s: %v. Check the URL.", url, de)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("Timed out waiting for %s: check the URL and that no firewall drops the connection.", url)
	default:
		return fmt.Sprintf("Cannot reach the exporter at %s: %v", url, err)
	}
}
