// Package proctest is test support for tests that run real processes (the
// exporter, the hook, Prometheus, the plugin): a free loopback address, a
// goroutine-safe log buffer, and polling for conditions of another process.
//
// Only tests import it; it must not be imported by the product's code.
package proctest
