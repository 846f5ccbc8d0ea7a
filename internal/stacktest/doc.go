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
// It must not be imported, and must not change the files it checks.
package stacktest
