# claude-hooks-exporter: build, test, benchmark and run.
GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/claudehooks/claude-hooks-exporter/internal/app.Version=$(VERSION)
# Fuzz budgets are execution counts (about 10-20 s each here), not durations: Go 1.26's
# fuzz coordinator can fail a -fuzztime=<duration> run with a spurious "context deadline
# exceeded" as the time runs out (golang/go#75804, fixed in Go 1.27). FUZZTIME=<d> overrides.
FUZZTIME  ?=
CACHE     ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/claude-hooks-exporter
# Our packages: npm can unpack Go files under grafana-plugin/node_modules, which are not ours.
PKGS       = $(shell $(GO) list -e ./... | grep -v /node_modules/)

.PHONY: all build test test-deps test-faults unit fuzz bench run lint clean

all: build

## build: the daemon and the lean hook binary into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/claude-hooks-exporter ./cmd/exporter
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/claude-hooks-hook ./cmd/hook

## test: install what the tests need, then check formatting, vet, test the plugin frontend and build the plugin,
## race-test everything and fuzz the decoders for a bounded time
test: test-deps
	@unformatted="$$("$$($(GO) env GOROOT)/bin/gofmt" -l cmd internal grafana-plugin/pkg)"; if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS) ./internal/app/testdata/floorserver
	$(MAKE) plugin-test plugin
	JAEGER_BIN="$$(scripts/jaeger.sh)" PATH="$$PATH:/usr/bin" $(GO) test -race -count=1 -timeout 40m $(PKGS)
	$(MAKE) fuzz

## test-faults: the fault-injection suite (internal/app TestFault*: real daemon and hook processes; corrupt store,
## cross-site posts, slow bodies, large concurrent batches, invalid UTF-8, full disk, cut and renamed spool files) at
## full size, with the crash (kill -9) and bad-input cases that already held. `make test` runs them with short bounds.
test-faults:
	CHX_FAULTS=long $(GO) test -race -count=1 -timeout 60m -run '^(TestFault|TestCrashExactlyOnce|TestHookEntryPointsBadInput)' -v ./internal/app

## test-deps: Prometheus (promtool) from Debian and Jaeger v2 built from the module proxy into a cache
test-deps:
	scripts/test-deps.sh

## fuzz: bounded fuzzing of the decoders of untrusted input (payloads, spool records, transcripts,
## secrets, live channel paths)
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(or $(FUZZTIME),400000x) ./internal/hookevent
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(or $(FUZZTIME),600000x) ./internal/spool
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(or $(FUZZTIME),100000x) ./internal/transcript
	$(GO) test -run='^$$' -fuzz='^FuzzSecrets$$' -fuzztime=$(or $(FUZZTIME),20000x) ./internal/redact
	$(GO) test -run='^$$' -fuzz='^FuzzChannelPath$$' -fuzztime=$(or $(FUZZTIME),40000x) ./grafana-plugin/pkg/plugin

## bench: every benchmark once (see docs/benchmarks.md for the figures)
bench:
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

## run: start the daemon with its embedded defaults
run: build
	$(BIN)/claude-hooks-exporter serve

clean:
	rm -rf $(BIN)

## plugin: the Grafana data source into grafana-plugin/dist: module.js, plugin.json and the Linux amd64/arm64 backends
.PHONY: plugin plugin-test
PLUGIN_LDFLAGS := -s -w -X main.Version=$(VERSION)
plugin: grafana-plugin/node_modules/.package-lock.json
	cd grafana-plugin && npm run build
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(PLUGIN_LDFLAGS)' -o grafana-plugin/dist/gpx_claudehooks_linux_amd64 ./grafana-plugin/pkg
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(PLUGIN_LDFLAGS)' -o grafana-plugin/dist/gpx_claudehooks_linux_arm64 ./grafana-plugin/pkg
	@for f in module.js plugin.json gpx_claudehooks_linux_amd64 gpx_claudehooks_linux_arm64; do \
		test -s grafana-plugin/dist/$$f || { echo "plugin: dist/$$f is missing" >&2; exit 1; }; done
	@grep -q '"executable": *"gpx_claudehooks"' grafana-plugin/dist/plugin.json || { echo "plugin: dist/plugin.json names no executable gpx_claudehooks" >&2; exit 1; }

grafana-plugin/node_modules/.package-lock.json: grafana-plugin/package-lock.json
	cd grafana-plugin && npm ci --no-audit --no-fund

## plugin-test: the plugin frontend from a clean install: type-check, lint, unit tests, production build
## (node_modules is removed first: npm ci's own removal fails with ENOTEMPTY on some file systems)
plugin-test:
	rm -rf grafana-plugin/node_modules
	cd grafana-plugin && npm ci --no-audit --no-fund && npm run typecheck && npm run lint && npm run test:ci && npm run build
