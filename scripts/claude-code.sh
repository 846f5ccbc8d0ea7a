#!/usr/bin/env bash
# Prints the path of the real Claude Code CLI the tests drive (internal/claudecli),
# installing it first when the cache lacks it.
#
# The pinned version is installed with `npm ci` from the lock file in
# internal/claudecli/npm/, OUTSIDE the repository, so its ~430 MB node_modules
# never sits in the tree that `go list ./...` walks:
#
#   ${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}/claude-code/<version>/
#     package.json, package-lock.json   copies of internal/claudecli/npm/ (pinned version only)
#     install.log                       output of the last install
#     node_modules/.bin/claude          the native CLI (reused as long as it exists)
#
# CLAUDE_CODE_VERSION=<version> installs another version (no lock file: `npm install
# @anthropic-ai/claude-code@<version>`), for `make test-claude CLAUDE_CODE_VERSION=...`.
# Concurrent runs take a lock, so only one of them installs.
# Only the binary path goes to stdout; progress and errors go to stderr.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
lockdir="$here/internal/claudecli/npm"
pinned="$(sed -n 's/.*"@anthropic-ai\/claude-code": *"\([^"]*\)".*/\1/p' "$lockdir/package.json" | head -n 1)"
version="${CLAUDE_CODE_VERSION:-$pinned}"
cache="${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}"
dir="$cache/claude-code/$version"
bin="$dir/node_modules/.bin/claude"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

command -v npm >/dev/null || { echo "claude-code.sh: npm not found in PATH (scripts/test-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$dir"

install() {
	# Another run may have finished the install while we waited for the lock.
	if [ -x "$bin" ]; then
		return 0
	fi
	echo "claude-code.sh: installing @anthropic-ai/claude-code@$version into $dir (about 430 MB, log in install.log)" >&2
	(
		cd "$dir"
		rm -rf node_modules
		if [ "$version" = "$pinned" ]; then
			cp "$lockdir/package.json" "$lockdir/package-lock.json" .
			npm ci --no-audit --no-fund
		else
			rm -f package-lock.json
			printf '{"name":"claude-hooks-exporter-claude-cli","private":true}\n' >package.json
			npm install --no-audit --no-fund --save-exact "@anthropic-ai/claude-code@$version"
		fi
		# The package's postinstall puts the native binary in place of a stub:
		# check that what we got runs.
		"$bin" --version
	) >"$dir/install.log" 2>&1 || {
		echo "claude-code.sh: install failed, last lines of $dir/install.log:" >&2
		tail -n 20 "$dir/install.log" >&2
		rm -rf "$dir/node_modules"
		return 1
	}
}

if command -v flock >/dev/null; then
	exec 9>"$dir/.lock"
	flock 9
fi
install
echo "$bin"
