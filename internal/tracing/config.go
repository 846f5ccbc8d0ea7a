package tracing

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Protocols accepted in Options.Protocol and OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolHTTPJSON     = "http/json"
)

// ServiceName is the default service.name of the exported spans: they describe what
// Claude Code did, so they sit beside Claude Code's own telemetry, not under ours.
const ServiceName = "claude-code"

// DistroName is the telemetry.distro.name resource attribute: it says which program
// reconstructed the spans from hooks.
const DistroName = "claude-hooks-exporter"

// endpoint is where and how to send spans. An endpoint from the flags is
// passed to the exporter explicitly (and wins over the environment); without
// one, raw is empty and the OTLP exporter reads OTEL_EXPORTER_OTLP_[TRACES_]*
// itself (endpoint, headers, TLS, timeout, compression), as the specification
// describes.
type endpoint struct {
	protocol string
	raw      string
	insecure bool
	headers  map[string]string
}

// resolveEndpoint decides whether and how to export: the endpoint flag wins;
// otherwise OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or none; the
// exporter is selected here, as the SDK's contrib autoexport package would,
// which would link the metric and log exporters, the Prometheus bridge and
// the stdout exporters into the daemon for these few lines) and the presence
// of an OTLP endpoint in the environment decide. The protocol is the flag's,
// else OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL, else http/protobuf. ok=false
// means nothing says where to export.
func resolveEndpoint(opts Options, env func(string) string) (endpoint, bool, error) {
	e := endpoint{raw: opts.Endpoint, insecure: opts.Insecure, headers: opts.Headers}
	if e.raw == "" {
		if env("OTEL_SDK_DISABLED") == "true" {
			return endpoint{}, false, nil
		}
		switch x := env("OTEL_TRACES_EXPORTER"); x {
		case "", "otlp":
		case "none":
			return endpoint{}, false, nil
		default:
			return endpoint{}, false, fmt.Errorf("OTEL_TRACES_EXPORTER %q: want otlp or none", x)
		}
		if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && env("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
			return endpoint{}, false, nil
		}
	}
	// The exporter parses the header lists itself (also beside an endpoint
	// flag, for headers the flags do not set), but logs a malformed entry with
	// its value, which may be a secret: refuse them first, naming the entry by
	// position and key only.
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"} {
		if _, err := parseKeyValues(env(name)); err != nil {
			return endpoint{}, false, fmt.Errorf("otlp headers: %s: %w", name, err)
		}
	}
	e.protocol = firstNonEmpty(opts.Protocol, env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), env("OTEL_EXPORTER_OTLP_PROTOCOL"), ProtocolHTTPProtobuf)
	switch e.protocol {
	case ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON:
	default:
		return endpoint{}, false, fmt.Errorf("otlp protocol %q: want %s, %s or %s", e.protocol, ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON)
	}
	return e, true, nil
}

// newOTLPExporter builds the exporter. What the flags set is passed
// explicitly and wins over the SDK's own reading of the process environment;
// the SDK reads everything else.
func newOTLPExporter(ctx context.Context, e endpoint) (sdktrace.SpanExporter, error) {
	hasScheme := strings.Contains(e.raw, "://")
	var u *url.URL
	if e.raw == "" {
		return newEnvExporter(ctx, e.protocol)
	}
	if hasScheme {
		var err error
		if u, err = url.Parse(e.raw); err != nil {
			return nil, fmt.Errorf("otlp endpoint %q: %w", e.raw, err)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("otlp endpoint %q: no host", e.raw)
		}
	}

	if e.protocol == ProtocolGRPC {
		var o []otlptracegrpc.Option
		if hasScheme {
			o = append(o, otlptracegrpc.WithEndpointURL(e.raw))
		} else {
			o = append(o, otlptracegrpc.WithEndpoint(e.raw))
		}
		if e.insecure {
			o = append(o, otlptracegrpc.WithInsecure())
		}
		if len(e.headers) > 0 {
			o = append(o, otlptracegrpc.WithHeaders(e.headers))
		}
		exp, err := otlptracegrpc.New(ctx, o...)
		if err != nil {
			return nil, fmt.Errorf("create otlp grpc exporter: %w", err)
		}
		return exp, nil
	}

	var o []otlptracehttp.Option
	if hasScheme {
		o = append(o, otlptracehttp.WithEndpointURL(e.raw), otlptracehttp.WithURLPath(httpTracesPath(u.Path)))
	} else {
		o = append(o, otlptracehttp.WithEndpoint(e.raw), otlptracehttp.WithURLPath(httpTracesPath("")))
	}
	if e.insecure {
		o = append(o, otlptracehttp.WithInsecure())
	}
	if len(e.headers) > 0 {
		o = append(o, otlptracehttp.WithHeaders(e.headers))
	}
	if e.protocol == ProtocolHTTPJSON {
		o = append(o, otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
	} else {
		o = append(o, otlptracehttp.WithEncoding(otlptracehttp.EncodingProtobuf))
	}
	exp, err := otlptracehttp.New(ctx, o...)
	if err != nil {
		return nil, fmt.Errorf("create otlp http exporter: %w", err)
	}
	return exp, nil
}

// redactEndpoint drops a password from an endpoint URL before it is logged.
func redactEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// httpTracesPath is the path for an endpoint flag: a URL with a path is a
// traces URL, used as it is; one without a path is taken as a base URL that
// gets /v1/traces, because nobody means to post spans to "/".
func httpTracesPath(p string) string {
	if p == "" || p == "/" {
		return path.Join("/", p, "v1/traces")
	}
	return p
}

// newEnvExporter builds an OTLP exporter configured by the environment
// alone (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT and the rest): the SDK reads
// it, appending /v1/traces to a generic HTTP endpoint as the specification
// says.
func newEnvExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	if protocol == ProtocolGRPC {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("create otlp grpc exporter: %w", err)
		}
		return exp, nil
	}
	enc := otlptracehttp.EncodingProtobuf
	if protocol == ProtocolHTTPJSON {
		enc = otlptracehttp.EncodingJSON
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEncoding(enc))
	if err != nil {
		return nil, fmt.Errorf("create otlp http exporter: %w", err)
	}
	return exp, nil
}

// newResource is service.name=claude-code, the distro, the SDK and the host,
// then what the SDK reads from OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
// (which wins for service.name), in the specification's order.
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName(ServiceName), semconv.TelemetryDistroName(DistroName)}
	if version != "" {
		attrs = append(attrs, semconv.TelemetryDistroVersion(version))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(attrs...),
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	return res, nil
}

// parseKeyValues reads the "k1=v1,k2=v2" lists of OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS: blanks around keys and values are trimmed, values are
// percent-decoded, an empty list gives nil.
func parseKeyValues(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := make(map[string]string)
	// Errors name the entry by position and key only: header values are secrets.
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %d: want key=value", i+1)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): bad percent-encoding", i+1, k)
		}
		out[k] = dv
	}
	return out, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
