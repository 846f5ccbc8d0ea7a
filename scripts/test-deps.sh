#!/usr/bin/env bash
# Gets what `make test` needs and a fresh Debian machine lacks, starting no service:
# Prometheus and promtool unpacked from Debian's package into a cache (scripts/prometheus.sh),
# Node.js and npm (Debian packages, no services), and Jaeger v2 built from the Go module
# proxy into a cache outside the product module (scripts/jaeger.sh), and the real Claude Code CLI from npm
# into a cache outside the repository (scripts/claude-code.sh).
set -euo pipefail
here="$(dirname "$0")"
"$here/prometheus.sh" >/dev/null
if ! command -v npm >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "test-deps: npm missing and not root: install Node.js 20 and npm" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends nodejs npm
fi
"$here/jaeger.sh" >/dev/null
"$here/claude-code.sh" >/dev/null
