// Package exporterapi is the Grafana plugin's client of claude-hooks-exporter's
// HTTP query API and live event stream (docs/api.md): status, events, sessions,
// one session's timeline, and the Server-Sent Events stream with resumption.
//
// It owns transport concerns only: URLs, the bearer token, status codes,
// decoding the wire types and parsing SSE. It must not build Grafana frames or
// know about Grafana at all, and it must not import the exporter's pipeline,
// store or server packages: it speaks to a running exporter over HTTP.
package exporterapi
