// Package e2e tests the Grafana plugin as Grafana runs it: it builds the
// plugin binary, starts it through hashicorp/go-plugin with Grafana's
// handshake over gRPC, and calls it through the pluginv2 clients against a real
// claude-hooks-exporter process fed by the real hook command. It also holds
// the stream latency benchmark.
//
// It has no code outside its tests and must not import the plugin's packages:
// everything goes through the wire protocol.
package e2e
