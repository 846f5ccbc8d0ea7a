#!/usr/bin/env bash
# Prints the directory holding the prometheus and promtool binaries the tests run,
# fetching them first when neither the PATH nor the cache has them.
#
# The binaries come from Debian's prometheus package, but the package is NOT installed:
# it is downloaded (apt-get download) and unpacked (dpkg-deb -x) into a cache directory,
# so its maintainer scripts never run, no system user is created, no systemd unit is
# enabled and nothing starts listening on :9090. The tests start Prometheus themselves,
# on loopback, with a temporary configuration.
#
#   ${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}/prometheus/usr/bin
#
# Only the directory goes to stdout; progress and errors go to stderr.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
	dirname "$(command -v promtool)"
	exit 0
fi
cache="${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}"
dir="$cache/prometheus"
if [ -x "$dir/usr/bin/prometheus" ] && [ -x "$dir/usr/bin/promtool" ]; then
	echo "$dir/usr/bin"
	exit 0
fi
command -v apt-get >/dev/null || { echo "prometheus.sh: no prometheus/promtool on PATH and no apt-get to fetch Debian's: install Prometheus" >&2; exit 1; }
mkdir -p "$dir"
echo "prometheus.sh: unpacking Debian's prometheus package into $dir (not installing it: no service is enabled)" >&2
(
	cd "$dir"
	rm -f prometheus_*.deb
	# apt-get download needs the package lists; a fresh machine has none yet.
	apt-get download prometheus >/dev/null 2>&1 || { apt-get update -q >&2 && apt-get download prometheus >&2; }
	dpkg-deb -x prometheus_*.deb "$dir"
	rm -f prometheus_*.deb
)
[ -x "$dir/usr/bin/prometheus" ] && [ -x "$dir/usr/bin/promtool" ] || { echo "prometheus.sh: the package held no prometheus/promtool binaries" >&2; exit 1; }
echo "$dir/usr/bin"
