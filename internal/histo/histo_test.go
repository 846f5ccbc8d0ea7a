package histo

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/testing/protocmp"
)

// observationSets exercise classic bound edges (values equal to a bound go into
// that bucket), exact powers of two (native bucket edges), the zero bucket,
// negative values, gaps that split native spans, and values beyond the last bound.
var observationSets = []struct {
	name string
	obs  []float64
}{
	{"empty", nil},
	{"one", []float64{1.5}},
	{"agent work", []float64{0.003, 0.012, 0.05, 0.3, 0.3, 1, 2, 4.187, 3.912, 12, 48.23, 61, 300, 1799.9, 3600, 7200, 9000}},
	{"bucket edges", []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}},
	{"powers of two", []float64{0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 1024, 1 << 20}},
	{"zero and tiny", []float64{0, 0, 1e-9, DefaultZeroThreshold, -DefaultZeroThreshold, 2e-6}},
	{"negative", []float64{-0.5, -3, -1000, 0.7}},
	{"gaps", []float64{1, 1.1, 1.5, 1.9, 40, 40.5, 41, 1e4}},
	// Native indexes 0 and 3 (a gap of two: one span), then 24 and 28 (a gap of three: two spans).
	{"span gaps", []float64{1, 1.25, 8, 10.8}},
}

func classicAndNative(bounds []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                         "test_duration_seconds",
		Help:                         "Test.",
		Buckets:                      bounds,
		NativeHistogramBucketFactor:  1.1,
		NativeHistogramZeroThreshold: DefaultZeroThreshold,
	})
}

func write(tb testing.TB, m prometheus.Metric) *dto.Metric {
	tb.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		tb.Fatalf("write metric: %v", err)
	}
	return &out
}

// ignoreCreated drops the created timestamp, which client_golang's live
// histogram sets and a value derived from a log cannot know.
var ignoreCreated = protocmp.IgnoreFields(&dto.Histogram{}, "created_timestamp")

func TestMetricMatchesClientGolang(t *testing.T) {
	desc := prometheus.NewDesc("test_duration_seconds", "Test.", nil, nil)
	for _, tc := range observationSets {
		t.Run(tc.name, func(t *testing.T) {
			ref := classicAndNative(AgentBuckets)
			h := New(AgentBuckets)
			for _, v := range tc.obs {
				ref.Observe(v)
				h.Observe(v)
			}
			m, err := h.Metric(desc)
			if err != nil {
				t.Fatalf("Metric: %v", err)
			}
			if diff := cmp.Diff(write(t, ref), write(t, m), protocmp.Transform(), ignoreCreated); diff != "" {
				t.Errorf("dto differs from client_golang's (-client_golang +ours):\n%s", diff)
			}
		})
	}
}

func TestMetricCarriesBothBucketKinds(t *testing.T) {
	desc := prometheus.NewDesc("test_duration_seconds", "Test.", []string{"tool"}, nil)
	h := New(AgentBuckets)
	for _, v := range []float64{0.2, 0.3, 7, 90} {
		h.Observe(v)
	}
	m, err := h.Metric(desc, "Bash")
	if err != nil {
		t.Fatalf("Metric: %v", err)
	}
	got := write(t, m)
	if n := len(got.GetHistogram().GetBucket()); n != len(AgentBuckets) {
		t.Errorf("classic buckets: got %d, want %d", n, len(AgentBuckets))
	}
	if got.GetHistogram().GetSchema() != Schema || len(got.GetHistogram().GetPositiveSpan()) == 0 {
		t.Errorf("native part missing: schema %d, spans %v", got.GetHistogram().GetSchema(), got.GetHistogram().GetPositiveSpan())
	}
	if l := got.GetLabel(); len(l) != 1 || l[0].GetName() != "tool" || l[0].GetValue() != "Bash" {
		t.Errorf("labels: got %v", l)
	}
}

func TestMetricRejectsBadLabels(t *testing.T) {
	desc := prometheus.NewDesc("test_duration_seconds", "Test.", []string{"tool"}, nil)
	tests := []struct {
		name   string
		labels []string
	}{
		{"invalid utf-8", []string{"Bash\xff"}},
		{"too few", nil},
		{"too many", []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(AgentBuckets).Metric(desc, tc.labels...)
			if err == nil {
				t.Fatalf("Metric(%q) = %v, want an error", tc.labels, m)
			}
		})
	}
}

func TestMetricIsASnapshot(t *testing.T) {
	desc := prometheus.NewDesc("test_duration_seconds", "Test.", nil, nil)
	h := New(AgentBuckets)
	h.Observe(1)
	m, err := h.Metric(desc)
	if err != nil {
		t.Fatal(err)
	}
	h.Observe(2)
	if got := write(t, m).GetHistogram().GetSampleCount(); got != 1 {
		t.Errorf("sample count after a later Observe: got %d, want 1", got)
	}
}

// TestJSONRoundTrip checks that a histogram restored half way continues exactly
// as one that was never serialised.
func TestJSONRoundTrip(t *testing.T) {
	desc := prometheus.NewDesc("test_duration_seconds", "Test.", nil, nil)
	for _, tc := range observationSets {
		t.Run(tc.name, func(t *testing.T) {
			whole := New(AgentBuckets)
			first := New(AgentBuckets)
			half := len(tc.obs) / 2
			for i, v := range tc.obs {
				whole.Observe(v)
				if i < half {
					first.Observe(v)
				}
			}
			b, err := json.Marshal(first)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var restored Histogram
			if err := json.Unmarshal(b, &restored); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			for _, v := range tc.obs[half:] {
				restored.Observe(v)
			}
			if diff := cmp.Diff(whole, &restored); diff != "" {
				t.Errorf("restored histogram differs (-want +got):\n%s", diff)
			}
			mw, err := whole.Metric(desc)
			if err != nil {
				t.Fatal(err)
			}
			mr, err := restored.Metric(desc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(write(t, mw), write(t, mr), protocmp.Transform()); diff != "" {
				t.Errorf("restored metric differs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnmarshalRejectsInconsistentState(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"counts length", `{"bounds":[1,2],"counts":[1,0],"count":1,"sum":1,"zero_threshold":0.000001,"positive":{"0":1}}`, "bucket counts"},
		{"classic count", `{"bounds":[1],"counts":[1,1],"count":1,"sum":1,"zero_threshold":0.000001,"positive":{"0":1}}`, "classic buckets hold 2"},
		{"native count", `{"bounds":[1],"counts":[1,0],"count":1,"sum":1,"zero_threshold":0.000001}`, "native buckets 0"},
		{"unsorted bounds", `{"bounds":[2,1],"counts":[0,0,0],"count":0,"sum":0,"zero_threshold":0.000001}`, "strictly increasing"},
		{"negative threshold", `{"bounds":[1],"counts":[0,0],"count":0,"sum":0,"zero_threshold":-1}`, "zero threshold"},
		{"not json", `{"bounds":`, "unexpected end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			err := json.Unmarshal([]byte(tc.json), &h)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unmarshal: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestObserveIgnoresNonFinite(t *testing.T) {
	h := New(AgentBuckets)
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 3} {
		h.Observe(v)
	}
	if h.Count != 1 || h.Sum != 3 {
		t.Errorf("count %d sum %g, want 1 and 3", h.Count, h.Sum)
	}
	if _, err := json.Marshal(h); err != nil {
		t.Errorf("marshal after non-finite observations: %v", err)
	}
}

func TestNewNormalisesBounds(t *testing.T) {
	h := New([]float64{5, 1, 1, math.Inf(1), math.NaN(), 2})
	if diff := cmp.Diff([]float64{1, 2, 5}, h.Bounds); diff != "" {
		t.Errorf("bounds (-want +got):\n%s", diff)
	}
	if len(h.Counts) != 4 {
		t.Errorf("counts: got %d, want 4", len(h.Counts))
	}
}

func TestCloneIsDeep(t *testing.T) {
	h := New(AgentBuckets)
	h.Observe(1)
	c := h.Clone()
	h.Observe(1)
	h.Observe(-1)
	if c.Count != 1 || c.Positive[nativeIndex(1)] != 1 || len(c.Negative) != 0 || c.Counts[4] != 1 {
		t.Errorf("clone changed with the original: %+v", c)
	}
}

func BenchmarkObserve(b *testing.B) {
	h := New(AgentBuckets)
	vals := []float64{0.003, 0.3, 4.187, 48.23, 300}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Observe(vals[i%len(vals)])
		i++
	}
}
