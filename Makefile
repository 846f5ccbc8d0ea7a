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

# The host's platform: make test builds the plugin backend for it only (cross-builds are release's).
HOSTOS    := $(shell $(GO) env GOOS)
HOSTARCH  := $(shell $(GO) env GOARCH)

.PHONY: all build test test-deps unit fuzz bench run lint clean release

all: build

## build: the daemon and the lean hook binary into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/claude-hooks-exporter ./cmd/exporter
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/claude-hooks-hook ./cmd/hook

## test: fetch what the tests need (starting no service), check formatting, vet, test the plugin frontend, build
## each artifact once (the two binaries, the frontend, the host's plugin backend) and hand them to the tests,
## race-test everything, fuzz the decoders for a bounded time, and check that no system service was enabled
test: test-deps
	@unformatted="$$("$$($(GO) env GOROOT)/bin/gofmt" -l cmd internal grafana-plugin/pkg)"; if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS) ./internal/app/testdata/floorserver
	$(MAKE) plugin-test plugin-host build
	JAEGER_BIN="$$(scripts/jaeger.sh)" PATH="$$(scripts/prometheus.sh):$$PATH:/usr/bin" \
	CLAUDE_HOOKS_EXPORTER_BIN="$(abspath $(BIN))/claude-hooks-exporter" CLAUDE_HOOKS_HOOK_BIN="$(abspath $(BIN))/claude-hooks-hook" \
	CLAUDE_HOOKS_PLUGIN_BIN="$(abspath grafana-plugin/dist)/gpx_claudehooks_$(HOSTOS)_$(HOSTARCH)" \
		$(GO) test -race -count=1 -timeout 40m $(PKGS)
	$(MAKE) fuzz
	scripts/check-no-service.sh

## test-deps: Prometheus and promtool unpacked from Debian's package (not installed: no service), npm, and
## Jaeger v2 built from the module proxy, into a cache
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

## run: build, start the daemon with its embedded defaults, and print where to look (ADDR=host:port moves it)
run:
	@echo "run: building $(BIN)/claude-hooks-exporter and $(BIN)/claude-hooks-hook (the first build compiles every dependency: a minute or two)"
	@$(MAKE) --no-print-directory build >/dev/null
	@scripts/run.sh $(BIN)

## release: the binaries for every supported platform into dist/, and the plugin with all its backends
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
release: plugin
	@for p in $(RELEASE_PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
		echo "release: $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/$$os-$$arch/claude-hooks-exporter ./cmd/exporter || exit 1; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w' -o dist/$$os-$$arch/claude-hooks-hook ./cmd/hook || exit 1; \
	done

clean:
	rm -rf $(BIN) dist

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

## node_modules is installed again only when package-lock.json changed (npm ci writes node_modules/.package-lock.json);
## it is removed first: npm ci's own removal fails with ENOTEMPTY on some file systems
grafana-plugin/node_modules/.package-lock.json: grafana-plugin/package-lock.json
	rm -rf grafana-plugin/node_modules
	cd grafana-plugin && npm ci --no-audit --no-fund

## plugin-test: the plugin frontend: type-check, lint, unit tests, production build (the one build make test makes)
plugin-test: grafana-plugin/node_modules/.package-lock.json
	cd grafana-plugin && npm run typecheck && npm run lint && npm run test:ci && npm run build

## plugin-host: the plugin backend for this machine's platform only, which the plugin's end-to-end tests run
.PHONY: plugin-host
plugin-host:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(PLUGIN_LDFLAGS)' -o grafana-plugin/dist/gpx_claudehooks_$(HOSTOS)_$(HOSTARCH) ./grafana-plugin/pkg
