#!/usr/bin/env bash
# Prints the path of a Jaeger v2 binary, building it first when the cache lacks one.
#
# Jaeger is built OUTSIDE the product module, in a cache directory with a go.mod of
# its own, so its hundreds of dependencies never reach our go.mod or go.sum:
#
#   ${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}/jaeger/
#     go.mod, go.sum   module jaegertool, `tool github.com/jaegertracing/jaeger/cmd/jaeger`
#     build.log        output of the last build
#     jaeger           the binary (reused as long as it exists)
#
# The first build downloads and compiles for several minutes; later runs print the
# path at once. Concurrent runs take a lock, so only one of them builds.
# Only the binary path goes to stdout; progress and errors go to stderr.
set -euo pipefail

version="${JAEGER_VERSION:-v1.76.0}"
pkg="github.com/jaegertracing/jaeger/cmd/jaeger"
cache="${CLAUDE_HOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-hooks-exporter}"
dir="$cache/jaeger"
bin="$dir/jaeger"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

command -v go >/dev/null || { echo "jaeger.sh: go not found in PATH" >&2; exit 1; }
mkdir -p "$dir"

build() {
	# Another run may have finished the build while we waited for the lock.
	if [ -x "$bin" ]; then
		return 0
	fi
	echo "jaeger.sh: building Jaeger v2 (module github.com/jaegertracing/jaeger $version) into $dir (takes a few minutes, log in build.log)" >&2
	(
		cd "$dir"
		# The cache is its own module: no workspace, no flags from the caller's module.
		export GOWORK=off GOFLAGS=-mod=mod
		if [ ! -f go.mod ]; then
			go mod init jaegertool
		fi
		go get -tool "$pkg@$version"
		# Build to a temporary name and rename, so an interrupted build never leaves a
		# file that a later run would take for a finished binary.
		go build -o jaeger.tmp "$pkg"
		mv -f jaeger.tmp jaeger
	) >"$dir/build.log" 2>&1 || {
		echo "jaeger.sh: build failed, last lines of $dir/build.log:" >&2
		tail -n 20 "$dir/build.log" >&2
		return 1
	}
}

if command -v flock >/dev/null; then
	exec 9>"$dir/.lock"
	flock 9
fi
build
echo "$bin"
