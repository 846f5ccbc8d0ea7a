package plugin_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// closedURL is the URL of a loopback port nothing listens on.
func closedURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestCheckHealth(t *testing.T) {
	tests := []struct {
		name        string
		exporter    bool   // serve the fake exporter
		token       string // the exporter's token
		sent        string // the data source's token
		handler     http.HandlerFunc
		url         string // overrides the server's URL
		wantStatus  backend.HealthStatus
		wantMessage string // %s is the URL
	}{
		{name: "ok", exporter: true, wantStatus: backend.HealthStatusOk,
			wantMessage: "Connected to claude-hooks-exporter v1.2.3: 12 events applied, ingest lag 250ms."},
		{name: "ok with token", exporter: true, token: "s3cret", sent: "s3cret", wantStatus: backend.HealthStatusOk,
			wantMessage: "Connected to claude-hooks-exporter v1.2.3: 12 events applied, ingest lag 250ms."},
		{name: "wrong token", exporter: true, token: "s3cret", sent: "guess", wantStatus: backend.HealthStatusError,
			wantMessage: "Token rejected: the exporter at %s answered 401 Unauthorized. Set Token to the contents of the exporter's --web.auth-token-file (or clear it if the exporter runs without one)."},
		{name: "no token", exporter: true, token: "s3cret", wantStatus: backend.HealthStatusError,
			wantMessage: "Token rejected: the exporter at %s answered 401 Unauthorized. Set Token to the contents of the exporter's --web.auth-token-file (or clear it if the exporter runs without one)."},
		{name: "connection refused", wantStatus: backend.HealthStatusError,
			wantMessage: "Connection refused at %s: nothing is listening there. Start the exporter (claude-hooks-exporter serve) or set the URL to its --web.listen-address."},
		{name: "404", handler: http.NotFound, wantStatus: backend.HealthStatusError,
			wantMessage: "Not a claude-hooks-exporter: %s answered 404 Not Found for /api/v1/status. Check that the URL is the exporter's address without a path (and that the exporter is recent enough to serve its query API)."},
		{name: "html page", handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<!doctype html><title>Grafana</title>")) },
			wantStatus:  backend.HealthStatusError,
			wantMessage: "Not a claude-hooks-exporter: %s did not answer /api/v1/status with the exporter's status (decode JSON: invalid character '<' looking for beginning of value). Check that the URL points at the exporter, not at another service."},
		{name: "other json service", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"service":"prometheus","version":"3.0"}`))
		},
			wantStatus:  backend.HealthStatusError,
			wantMessage: "Not a claude-hooks-exporter: %s did not answer /api/v1/status with the exporter's status (not a claude-hooks-exporter: service is \"prometheus\"). Check that the URL points at the exporter, not at another service."},
		{name: "server error", handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 503, map[string]string{"error": "starting"})
		},
			wantStatus:  backend.HealthStatusError,
			wantMessage: "The exporter at %s answered 503 Service Unavailable: starting"},
		{name: "no url", url: "", wantStatus: backend.HealthStatusError,
			wantMessage: "Set the exporter URL, e.g. http://127.0.0.1:9469 (the exporter's --web.listen-address): exporter URL is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			switch {
			case tt.exporter:
				fe := newFakeExporter(t)
				fe.token = tt.token
				url = fe.srv.URL
			case tt.handler != nil:
				url = newServer(t, tt.handler).URL
			case tt.name == "connection refused":
				url = closedURL(t)
			}
			d := newDatasource(t, url, tt.sent)
			res, err := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.wantMessage
			if url != "" {
				want = strings.ReplaceAll(want, "%s", url)
			}
			if res.Status != tt.wantStatus || res.Message != want {
				t.Errorf("got %v %q\nwant %v %q", res.Status, res.Message, tt.wantStatus, want)
			}
			if tt.wantStatus == backend.HealthStatusOk && len(res.JSONDetails) == 0 {
				t.Error("healthy result has no details")
			}
		})
	}
}
