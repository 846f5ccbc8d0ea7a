package jaegertest

import "fmt"

// Trace is one trace as the query API (v1 JSON, GET /api/traces/{id}) returns it:
// the parts tests read.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span of a Trace. Times are in microseconds, as Jaeger keeps them.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	// StartTime is the start in microseconds since the Unix epoch.
	StartTime int64 `json:"startTime"`
	// Duration is the length in microseconds.
	Duration  int64  `json:"duration"`
	Tags      []Tag  `json:"tags"`
	ProcessID string `json:"processID"`
}

// Parent returns the span id of the span's CHILD_OF reference within its own
// trace, or "" for a root.
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" && r.TraceID == s.TraceID {
			return r.SpanID
		}
	}
	return ""
}

// Reference links a span to another (CHILD_OF for the parent, FOLLOWS_FROM).
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Tag is a span attribute or a resource attribute. Value is a string, a bool or a
// json.Number (numbers are decoded with UseNumber, so int64 values keep every digit).
type Tag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Process is the resource of the spans that refer to it by ProcessID.
type Process struct {
	ServiceName string `json:"serviceName"`
	Tags        []Tag  `json:"tags"`
}

// TagMap returns the tags as key to value, each value formatted with fmt.Sprint
// ("true", "42", "text").
func TagMap(tags []Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = fmt.Sprint(t.Value)
	}
	return m
}
