#!/usr/bin/env bash
# Fails when `make test` left a Prometheus system service behind: the package must not
# be installed by the tests (scripts/prometheus.sh only unpacks its binaries), and where
# systemd exists its unit must not be enabled. A package the machine's owner installed
# before is theirs, and is reported, not failed.
set -euo pipefail
if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed"; then
	echo "check-no-service: the prometheus package was installed on this machine before (not by make test); leaving it alone"
	exit 0
fi
if command -v systemctl >/dev/null; then
	state="$(systemctl is-enabled prometheus.service 2>/dev/null || true)"
	case "$state" in
	enabled | enabled-runtime | static | indirect | alias)
		echo "check-no-service: prometheus.service is $state after make test" >&2
		exit 1
		;;
	esac
	echo "check-no-service: prometheus.service is ${state:-absent} (systemctl is-enabled), no service enabled"
else
	echo "check-no-service: no systemd here; the prometheus package is not installed, so no service can start"
fi
