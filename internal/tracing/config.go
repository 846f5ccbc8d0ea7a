package tracing

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk"
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

// endpoint is where and how to send spans, resolved from flags and environment.
type endpoint struct {
	protocol string
	// raw is the endpoint as given; fromGenericEnv says it came from
	// OTEL_EXPORTER_OTLP_ENDPOINT, a base URL to which HTTP appends /v1/traces.
	raw            string
	fromGenericEnv bool
	insecure       bool
	headers        map[string]string
}

// resolveEndpoint applies the precedence flags > OTEL_EXPORTER_OTLP_TRACES_* >
// OTEL_EXPORTER_OTLP_*. It reports ok=false when nothing says where to export, or the
// environment switches the traces signal off.
func resolveEndpoint(opts Options, env func(string) string) (endpoint, bool, error) {
	e := endpoint{raw: opts.Endpoint}
	if e.raw == "" {
		if env("OTEL_SDK_DISABLED") == "true" || env("OTEL_TRACES_EXPORTER") == "none" {
			return endpoint{}, false, nil
		}
		if v := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
			e.raw = v
		} else if v := env("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
			e.raw, e.fromGenericEnv = v, true
		}
	}
	if e.raw == "" {
		return endpoint{}, false, nil
	}
	e.protocol = firstNonEmpty(opts.Protocol, env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), env("OTEL_EXPORTER_OTLP_PROTOCOL"), ProtocolHTTPProtobuf)
	switch e.protocol {
	case ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON:
	default:
		return endpoint{}, false, fmt.Errorf("otlp protocol %q: want %s, %s or %s", e.protocol, ProtocolGRPC, ProtocolHTTPProtobuf, ProtocolHTTPJSON)
	}
	e.insecure = opts.Insecure ||
		strings.EqualFold(firstNonEmpty(env("OTEL_EXPORTER_OTLP_TRACES_INSECURE"), env("OTEL_EXPORTER_OTLP_INSECURE")), "true")

	var err error
	e.headers, err = parseKeyValues(firstNonEmpty(env("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), env("OTEL_EXPORTER_OTLP_HEADERS")))
	if err != nil {
		return endpoint{}, false, fmt.Errorf("otlp headers: %w", err)
	}
	if len(opts.Headers) > 0 {
		if e.headers == nil {
			e.headers = make(map[string]string, len(opts.Headers))
		}
		maps.Copy(e.headers, opts.Headers)
	}
	return e, true, nil
}

// newOTLPExporter builds the exporter. Everything resolved above is passed
// explicitly (and wins over the SDK's own reading of the process environment); the
// SDK still reads the variables this package does not interpret itself: timeout,
// compression, certificates.
func newOTLPExporter(ctx context.Context, e endpoint) (sdktrace.SpanExporter, error) {
	hasScheme := strings.Contains(e.raw, "://")
	var u *url.URL
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
		o = append(o, otlptracehttp.WithEndpointURL(e.raw), otlptracehttp.WithURLPath(httpTracesPath(u.Path, e.fromGenericEnv)))
	} else {
		o = append(o, otlptracehttp.WithEndpoint(e.raw), otlptracehttp.WithURLPath(httpTracesPath("", true)))
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

// httpTracesPath follows the OTLP exporter specification: a base URL
// (OTEL_EXPORTER_OTLP_ENDPOINT) gets /v1/traces appended; a traces URL is used as
// it is. A flag URL without a path is taken as a base URL too, because nobody means
// to post spans to "/".
func httpTracesPath(p string, base bool) string {
	if base || p == "" || p == "/" {
		return path.Join("/", p, "v1/traces")
	}
	return p
}

// newResource builds service.name=claude-code, the distro, the SDK and host.name,
// then applies OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (which wins for
// service.name), as the specification orders them.
func newResource(version string, env func(string) string) (*resource.Resource, error) {
	kv := map[attribute.Key]attribute.Value{
		semconv.ServiceNameKey:          attribute.StringValue(ServiceName),
		semconv.TelemetryDistroNameKey:  attribute.StringValue(DistroName),
		semconv.TelemetrySDKNameKey:     attribute.StringValue("opentelemetry"),
		semconv.TelemetrySDKLanguageKey: attribute.StringValue("go"),
		semconv.TelemetrySDKVersionKey:  attribute.StringValue(sdk.Version()),
	}
	if version != "" {
		kv[semconv.TelemetryDistroVersionKey] = attribute.StringValue(version)
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		kv[semconv.HostNameKey] = attribute.StringValue(host)
	}
	fromEnv, err := parseKeyValues(env("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	for k, v := range fromEnv {
		kv[attribute.Key(k)] = attribute.StringValue(v)
	}
	if name := strings.TrimSpace(env("OTEL_SERVICE_NAME")); name != "" {
		kv[semconv.ServiceNameKey] = attribute.StringValue(name)
	}
	attrs := make([]attribute.KeyValue, 0, len(kv))
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		attrs = append(attrs, attribute.KeyValue{Key: k, Value: kv[k]})
	}
	return resource.NewWithAttributes(semconv.SchemaURL, attrs...), nil
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
