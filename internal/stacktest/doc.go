// Package stacktest holds the tests of what users run: docker-compose.yml and the
// Dockerfile at the repository root, deploy/ (Prometheus configuration, recording
// and alert rules with their promtool unit tests, Grafana provisioning, Jaeger's
// configuration), the dashboards in dashboards/ and docs/runbooks.md.
//
// It has no code of its own: the tests load those files, run promtool, load the
// compose file with compose-go (through testdata/composecheck, a module of its own
// so compose-go's dependencies stay out of go.mod), and start the real exporter,
// hook command and Prometheus to evaluate every rule and dashboard query.
//
// The stack test builds the exporter and hook from this checkout, or uses
// $CLAUDE_HOOKS_EXPORTER_BIN and $CLAUDE_HOOKS_HOOK_BIN when both are set; it needs
// prometheus and promtool on PATH and Jaeger v2 (scripts/jaeger.sh), as make
// test-deps installs them.
//
// It must not be imported, and must not change the files it checks.
package stacktest
