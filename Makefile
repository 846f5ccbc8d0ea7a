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
# The real Claude Code CLI's suite runs on its own (test-claude), verbosely, so the log shows its sessions.
CLAUDE_PKG = ./internal/claudecli
# Claude Code version test-claude runs against; empty: the one pinned in internal/claudecli/npm.
CLAUDE_CODE_VERSION ?=

# The host's platform: make test builds the plugin backend for it only (cross-builds are release's).
HOSTOS    := $(shell $(GO) env GOOS)
HOSTARCH  := $(shell $(GO) env GOARCH)

.PHONY: all build test test-deps test-claude test-faults unit fuzz bench run lint clean release

all: build

## build: the daemon and the lean hook binary into ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/claude-hooks-exporter ./cmd/exporter
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/claude-hooks-hook ./cmd/hook

## test: fetch what the tests need (starting no service), check formatting, vet, test the plugin frontend, build
## each artifact once (the two binaries, the frontend, the host's plugin backend) and hand them to the tests,
## race-test everything, run the real Claude Code CLI's scenarios (test-claude), fuzz the decoders for a bounded
## time, and check that no system service was enabled
test: test-deps
	@unformatted="$$("$$($(GO) env GOROOT)/bin/gofmt" -l cmd internal grafana-plugin/pkg scripts)"; if [ -n "$$unformatted" ]; then echo "not gofmt-ed: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS) ./internal/app/testdata/floorserver
	$(MAKE) plugin-test plugin-host-backend build
	JAEGER_BIN="$$(scripts/jaeger.sh)" PATH="$$(scripts/prometheus.sh):$$PATH:/usr/bin" \
	CLAUDE_HOOKS_EXPORTER_BIN="$(abspath $(BIN))/claude-hooks-exporter" CLAUDE_HOOKS_HOOK_BIN="$(abspath $(BIN))/claude-hooks-hook" \
	CLAUDE_HOOKS_PLUGIN_BIN="$(abspath grafana-plugin/dist)/gpx_claudehooks_$(HOSTOS)_$(HOSTARCH)" \
		$(GO) test -race -count=1 -timeout 40m $(filter-out %/internal/claudecli,$(PKGS))
	$(MAKE) test-claude
	$(MAKE) fuzz
	scripts/check-no-service.sh

## test-faults: the fault-injection suite (internal/app TestFault*: real daemon and hook processes; corrupt store,
## cross-site posts, slow bodies, large concurrent batches, invalid UTF-8, full disk, cut and renamed spool files) at
## full size, with the crash (kill -9) and bad-input cases that already held. `make test` runs them with short bounds.
test-faults:
	CHX_FAULTS=long $(GO) test -race -count=1 -timeout 60m -run '^(TestFault|TestCrashExactlyOnce|TestHookEntryPointsBadInput)' -v ./internal/app

## test-deps: Prometheus and promtool unpacked from Debian's package (not installed: no service), npm, Jaeger v2
## built from the module proxy and the pinned Claude Code CLI from npm, into a cache outside the repository
test-deps:
	scripts/test-deps.sh

## test-claude: the real Claude Code CLI driven through every scenario (internal/claudecli) against the goldens
## of its version; CLAUDE_CODE_VERSION=x.y.z installs and runs another version (a diff shows what it changed)
test-claude:
	CLAUDE_CODE_VERSION=$(CLAUDE_CODE_VERSION) CLAUDE_CODE_BIN="$$(CLAUDE_CODE_VERSION=$(CLAUDE_CODE_VERSION) scripts/claude-code.sh)" \
		$(GO) test -race -count=1 -v -timeout 15m $(CLAUDE_PKG)

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

## release-binaries: the daemon and the hook for every supported platform into dist/ (part of release)
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
.PHONY: release-binaries
release-binaries:
	@for p in $(RELEASE_PLATFORMS); do os=$${p%/*}; arch=$${p#*/}; \
		echo "release: $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/$$os-$$arch/claude-hooks-exporter ./cmd/exporter || exit 1; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '-s -w' -o dist/$$os-$$arch/claude-hooks-hook ./cmd/hook || exit 1; \
	done

clean:
	rm -rf $(BIN) dist

## plugin: the Grafana data source into grafana-plugin/dist as Grafana's catalog expects it: module.js, plugin.json,
## img/, README.md, CHANGELOG.md, LICENSE, the backends for Linux, macOS and Windows on amd64 and arm64 (named as the
## plugin SDK's mage build:backend names them) and the SDK's Go build manifest (go_plugin_build_manifest)
## plugin-host: the same with the backend for this machine only (what `make test` builds: cross-building the six
## backends takes minutes)
## release: `make plugin`, then bin/claudehooks-live-datasource-<version>.zip (top folder = the plugin id, its layout
## checked) and the source archive the manifest describes, bin/claude-hooks-exporter-<version>-source.zip
## (for the plugin validator's -sourceCodeUri; it has go.mod at its root). Needs a clean git tree.
.PHONY: plugin plugin-host plugin-frontend plugin-manifest plugin-test release
PLUGIN_ID      := claudehooks-live-datasource
PLUGIN_EXE     := gpx_claudehooks
PLUGIN_DIST    := grafana-plugin/dist
PLUGIN_VERSION  = $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' grafana-plugin/package.json)
PLUGIN_TARGETS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
PLUGIN_HOST     = $(shell $(GO) env GOOS)/$(shell $(GO) env GOARCH)
# As the SDK's mage build: static, stripped, Arrow's JSON through the standard library, the SDK's build info.
PLUGIN_LDFLAGS  = -s -w -X main.Version=$(VERSION) -X 'github.com/grafana/grafana-plugin-sdk-go/build/buildinfo.buildInfoJSON={"time":$(shell git log -1 --format=%ct 2>/dev/null || echo 0)000,"pluginID":"$(PLUGIN_ID)","version":"$(PLUGIN_VERSION)"}'

# plugin_backend builds the backend for one os/arch into dist/ (.exe on Windows).
define plugin_backend
CGO_ENABLED=0 GOOS=$(word 1,$(subst /, ,$(1))) GOARCH=$(word 2,$(subst /, ,$(1))) $(GO) build -trimpath -tags arrow_json_stdlib -ldflags "$(subst ",\",$(PLUGIN_LDFLAGS))" -o $(PLUGIN_DIST)/$(PLUGIN_EXE)_$(subst /,_,$(1))$(if $(filter windows/%,$(1)),.exe) ./grafana-plugin/pkg
@test -s $(PLUGIN_DIST)/$(PLUGIN_EXE)_$(subst /,_,$(1))$(if $(filter windows/%,$(1)),.exe)

endef

plugin: plugin-frontend
	$(foreach t,$(PLUGIN_TARGETS),$(call plugin_backend,$(t)))
	$(MAKE) plugin-manifest

plugin-host: plugin-frontend plugin-host-backend

# plugin-host-backend: the host's backend and the manifest, without building the frontend again (make test has
# plugin-test build it once)
.PHONY: plugin-host-backend
plugin-host-backend:
	$(call plugin_backend,$(PLUGIN_HOST))
	$(MAKE) plugin-manifest

plugin-frontend: grafana-plugin/node_modules/.package-lock.json
	cd grafana-plugin && npm run build
	@for f in module.js plugin.json README.md CHANGELOG.md LICENSE; do \
		test -s $(PLUGIN_DIST)/$$f || { echo "plugin: dist/$$f is missing" >&2; exit 1; }; done
	@grep -q '"executable": *"$(PLUGIN_EXE)"' $(PLUGIN_DIST)/plugin.json || { echo "plugin: dist/plugin.json names no executable $(PLUGIN_EXE)" >&2; exit 1; }

plugin-manifest:
	$(GO) run ./scripts/pluginrelease manifest -src . -out $(PLUGIN_DIST)/go_plugin_build_manifest
	@test -s $(PLUGIN_DIST)/go_plugin_build_manifest

release:
	@test -z "$$(git status --porcelain)" || { echo "release: commit first: the build manifest must describe the source archive" >&2; exit 1; }
	$(MAKE) plugin release-binaries
	mkdir -p $(BIN)
	$(GO) run ./scripts/pluginrelease zip -dist $(PLUGIN_DIST) -out $(BIN)/$(PLUGIN_ID)-$(PLUGIN_VERSION).zip
	git archive --format=zip --prefix=claude-hooks-exporter-$(VERSION)/ -o $(BIN)/claude-hooks-exporter-$(VERSION)-source.zip HEAD

## node_modules is installed again only when package-lock.json changed (npm ci writes node_modules/.package-lock.json);
## it is removed first: npm ci's own removal fails with ENOTEMPTY on some file systems
grafana-plugin/node_modules/.package-lock.json: grafana-plugin/package-lock.json
	rm -rf grafana-plugin/node_modules
	cd grafana-plugin && npm ci --no-audit --no-fund

## plugin-test: the plugin frontend: type-check, lint, unit tests, production build (the one build make test makes)
plugin-test: grafana-plugin/node_modules/.package-lock.json
	cd grafana-plugin && npm run typecheck && npm run lint && npm run test:ci && npm run build
