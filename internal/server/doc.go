// Package server owns the daemon's HTTP surface: hook ingest (POST /v1/hooks,
// POST /v1/events), /metrics, /healthz and /readyz, with bearer-token auth and a
// Host check against DNS rebinding.
//
// Ingest only appends to the spool and answers after the append: a 2xx means the
// event is durable. The server must not reach into the pipeline; it sees the
// spool writer and a few read-only functions handed to it by the app.
package server
