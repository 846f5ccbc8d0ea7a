// Package e2e tests the Grafana plugin as Grafana runs it: it builds the
// plugin binary, starts it through hashicorp/go-plugin with Grafana's
// handshake over gRPC, and calls it through the pluginv2 clients against a real
// claude-hooks-exporter process fed by the real hook command. It also holds
// the live stream latency benchmark.
//
// It has no code outside its tests. The tests reach the plugin only through
// the wire protocol; only the benchmark's in-process variant calls the plugin
// package directly, to time the hand-over to RunStream's sender.
package e2e
