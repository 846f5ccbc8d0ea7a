# syntax=docker/dockerfile:1
# Multi-stage build of claude-hooks-exporter.
#
#   docker build -t claude-hooks-exporter .                          the exporter image (default target)
#   docker build --target binaries --output bin .                    static binaries for the host, no Go needed
#   docker build --target plugin --output grafana-plugin/dist .      the Grafana plugin, no Node needed
#
# docker-compose.yml builds the exporter target.

# Static binaries of the daemon and the hook (CGO off: they run on any Linux).
FROM golang:1.26.8-bookworm AS go-build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
ARG VERSION=dev
RUN go build -ldflags "-s -w -X github.com/claudehooks/claude-hooks-exporter/internal/app.Version=${VERSION}" \
        -o /out/claude-hooks-exporter ./cmd/exporter \
 && go build -ldflags "-s -w" -o /out/claude-hooks-hook ./cmd/hook

# The plugin's Go backend, for both architectures Grafana runs on; the binary name
# is the "executable" of grafana-plugin/src/plugin.json.
FROM go-build AS plugin-backend
COPY grafana-plugin/ grafana-plugin/
RUN exe="$(sed -n 's/.*"executable": *"\([^"]*\)".*/\1/p' grafana-plugin/src/plugin.json)" \
 && test -n "$exe" \
 && GOARCH=amd64 go build -ldflags "-s -w" -o "/out/plugin/${exe}_linux_amd64" ./grafana-plugin/pkg \
 && GOARCH=arm64 go build -ldflags "-s -w" -o "/out/plugin/${exe}_linux_arm64" ./grafana-plugin/pkg

# The plugin's frontend (webpack, as Grafana's create-plugin tooling does).
FROM node:20.20.2-bookworm-slim AS plugin-frontend
WORKDIR /src/grafana-plugin
COPY grafana-plugin/package.json grafana-plugin/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY grafana-plugin/ ./
RUN npm run build

# grafana-plugin/dist: frontend plus backend binaries.
FROM scratch AS plugin
COPY --from=plugin-frontend /src/grafana-plugin/dist/ /
COPY --from=plugin-backend /out/plugin/ /

FROM scratch AS binaries
COPY --from=go-build /out/claude-hooks-exporter /out/claude-hooks-hook /

# The exporter image: a small Alpine base for the health check's wget.
FROM alpine:3.22.1 AS exporter
RUN mkdir -p /var/lib/claude-hooks-exporter /spool /run/claude-hooks \
 && chown 65532:65532 /var/lib/claude-hooks-exporter /spool
COPY --from=go-build /out/claude-hooks-exporter /out/claude-hooks-hook /usr/local/bin/
USER 65532:65532
EXPOSE 9469
ENTRYPOINT ["/usr/local/bin/claude-hooks-exporter"]
CMD ["serve", "--state.dir=/var/lib/claude-hooks-exporter", "--spool.dir=/spool"]
