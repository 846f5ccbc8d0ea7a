// Package goldentest compares what a test produced with a golden file and
// rewrites the file instead when the test binary runs with -update. It is
// test support: only _test.go files import it.
package goldentest
