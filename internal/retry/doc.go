// Package retry is the exporter's one retry policy, built on
// github.com/cenkalti/backoff/v5: a sink that fails (pipeline delivery, the
// store's commits) or a connection that drops (the plugin's live stream) is
// tried again after a wait that doubles up to a cap, jittered so that
// retries of several parts drift apart, never giving up on its own.
//
// It must not decide what is retried or log anything: callers do, through
// the notify function.
package retry
