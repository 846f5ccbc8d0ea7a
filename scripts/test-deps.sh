#!/usr/bin/env bash
# Installs what `make test` needs and a fresh Debian machine lacks:
# Prometheus with promtool (Debian package) and Jaeger v2 (built from the Go
# module proxy into a cache outside the product module, see scripts/jaeger.sh) and
# the real Claude Code CLI from npm (a cache outside the repository, see scripts/claude-code.sh).
set -euo pipefail
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: prometheus/promtool missing and not root: install the Debian package prometheus" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends prometheus
fi
if ! command -v npm >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: npm missing and not root: install Node.js 20 and npm" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends nodejs npm
fi
"$(dirname "$0")/jaeger.sh" >/dev/null
"$(dirname "$0")/claude-code.sh" >/dev/null
