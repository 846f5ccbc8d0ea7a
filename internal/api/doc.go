// Package api serves the exporter's query API over the event store: GET
// /api/v1/events, /api/v1/sessions, /api/v1/sessions/{id} and /api/v1/status,
// JSON in the shapes of internal/wire, as docs/api.md describes them.
//
// It owns parameter parsing (a malformed parameter is a 400 naming it) and the
// mapping of store answers and errors to HTTP. It must not write to the store,
// authenticate (the server in front of it does), or serve the live stream.
package api
