// Command gpx_claudehooks is the backend of the claudehooks-live-datasource
// Grafana plugin. Grafana starts it and talks to it over gRPC (hashicorp
// go-plugin); it is not meant to be run by hand.
package main

import (
	"log/slog"
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

func main() {
	logger := slog.New(plugin.NewSDKHandler(log.DefaultLogger))
	factory := plugin.NewFactory(plugin.Options{Logger: logger, Version: Version})
	if err := datasource.Manage(plugin.ID, factory, datasource.ManageOpts{}); err != nil {
		logger.Error("plugin stopped", "err", err)
		os.Exit(1)
	}
}
