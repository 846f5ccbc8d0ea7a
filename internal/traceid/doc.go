// Package traceid derives the OpenTelemetry trace id of a session and the span
// ids of its spans from the session id and the tracker's span keys, so that the
// trace exporter, the store and the API name the same spans the same way.
//
// It imports only the standard library: code that shows ids (the store, the
// API) must not link an exporter to compute them.
package traceid
