#!/usr/bin/env bash
# `make run`: starts the daemon built into $1 (default bin) with its defaults, waits until
# it answers, then says where to look and what to do next. Ctrl-C stops it.
# ADDR (default 127.0.0.1:9469) is the listen address; further arguments go to serve.
set -euo pipefail
bin="${1:-bin}"
shift || true
addr="${ADDR:-127.0.0.1:9469}"
host="${addr%:*}"
port="${addr##*:}"

echo "run: starting $bin/claude-hooks-exporter serve on $addr (state in ${XDG_STATE_HOME:-~/.local/state}/claude-hooks-exporter)"
"$bin/claude-hooks-exporter" serve --web.listen-address="$addr" "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM

# Wait until the port answers, or the daemon gives up (its error is already on stderr).
until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || exit $?
		exit 1
	fi
	sleep 0.2
done

url="http://$addr"
cat <<MSG

claude-hooks-exporter is up (pid $pid).
  metrics  $url/metrics
  API      $url/api/v1/status   (also /api/v1/sessions, /api/v1/events)
  stream   $url/api/v1/stream   (watch events arrive: curl -N $url/api/v1/stream)

Next, in another terminal: $bin/claude-hooks-exporter install
  (it copies both binaries to ~/.local/bin and adds our hooks to ~/.claude/settings.json;
   --dry-run shows the diff first). New Claude Code sessions then show up above.
Ctrl-C stops the daemon.

MSG
set +e
wait "$pid"
code=$?
# A second wait when Ctrl-C interrupted the first: the daemon drains and checkpoints first.
if kill -0 "$pid" 2>/dev/null; then
	wait "$pid"
	code=$?
fi
exit "$code"
