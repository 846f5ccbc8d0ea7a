// Package jaegertest runs a real Jaeger v2 for end-to-end trace tests and reads
// traces back from its query API.
//
// It owns finding the Jaeger binary ($JAEGER_BIN, else scripts/jaeger.sh at the
// module root, which builds Jaeger outside this module and caches it), starting it
// on free loopback ports with in-memory storage, stopping it with the test, and the
// few types of the query API's JSON that tests read.
//
// It is a test helper: only _test.go files may import it (a test in this package
// checks that). It must not be imported by product code, must not skip a test when
// Jaeger is missing (a trace backend is part of the test), and holds no assertions
// of its own about what the exporter sends.
package jaegertest
