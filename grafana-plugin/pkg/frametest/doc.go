// Package frametest reads the data frames a stream sends, as Grafana's
// frontend does. It is test support for the plugin's tests and its end-to-end
// tests: only _test.go files import it.
package frametest
