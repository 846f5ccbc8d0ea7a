package tracing

// ParseHeaders parses a key=value,key=value header list, the format of
// OTEL_EXPORTER_OTLP_HEADERS, for a flag that overrides it. Values are
// percent-decoded. Its errors name an entry by position and key only: header
// values are often secrets.
func ParseHeaders(s string) (map[string]string, error) {
	return parseKeyValues(s)
}
