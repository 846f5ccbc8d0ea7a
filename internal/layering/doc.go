// Package layering holds no code: its test checks the import graph of the
// module against the architecture (docs/architecture.md): which of our
// packages each package may import, that nothing imports app, and that only
// the packages that export traces link an OpenTelemetry exporter or gRPC.
package layering
