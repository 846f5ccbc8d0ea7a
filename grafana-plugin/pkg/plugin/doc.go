// Package plugin is the Grafana data source for claude-hooks-exporter: it
// answers Grafana's health checks, data queries (events, sessions,
// session-trace, event-rate, live) and Grafana Live stream calls by reading the
// exporter's HTTP API through exporterapi, and turns what it reads into data
// frames.
//
// It owns the query model, the frame shapes, the live channel paths and the
// upstream stream's resumption. It must not talk to the exporter other than
// through exporterapi, must not keep events beyond a request or a stream, and
// must not start goroutines that outlive the call that started them.
package plugin
