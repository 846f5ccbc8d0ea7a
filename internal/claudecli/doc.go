// Package claudecli is test support for running the real Claude Code CLI
// offline: a scripted Messages API server that drives it, and the scenarios
// the exporter is checked against. It must not be imported by non-test code.
package claudecli
