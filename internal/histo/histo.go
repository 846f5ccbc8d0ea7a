package histo

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Schema is the native histogram schema: 2^3 buckets per power of two, a growth
// factor of about 1.09 from one bucket to the next. It is what client_golang picks
// for a NativeHistogramBucketFactor of 1.1.
const Schema = 3

// DefaultZeroThreshold is the width of the native zero bucket: observations whose
// absolute value is at or below it count as zero. A microsecond is far below any
// duration this exporter measures.
const DefaultZeroThreshold = 1e-6

// AgentBuckets are classic upper bounds, in seconds, for agent work: tool calls,
// turns, permission waits and subagents last from a few milliseconds to hours.
var AgentBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// schema3Bounds are the fractions that split one power of two into the eight
// schema-3 buckets, the same table client_golang uses, so observations land in
// identical bucket indexes.
var schema3Bounds = []float64{
	0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048,
	0.7071067811865475, 0.7711054127039704, 0.8408964152537144, 0.9170040432046711,
}

// Histogram is a classic plus native histogram held as plain data. The zero
// value is not usable; call New. It is not safe for concurrent use: its owner
// serialises access.
type Histogram struct {
	// Bounds are the classic upper bounds, strictly increasing, without +Inf.
	Bounds []float64 `json:"bounds"`
	// Counts are the non-cumulative classic bucket counts; the last one is +Inf.
	Counts []uint64 `json:"counts"`
	// Count and Sum cover every observation.
	Count uint64  `json:"count"`
	Sum   float64 `json:"sum"`
	// ZeroThreshold and ZeroCount describe the native zero bucket.
	ZeroThreshold float64 `json:"zero_threshold"`
	ZeroCount     uint64  `json:"zero_count"`
	// Positive and Negative map native bucket indexes (schema 3) to counts.
	Positive map[int]uint64 `json:"positive,omitempty"`
	Negative map[int]uint64 `json:"negative,omitempty"`
}

// New returns an empty histogram with the given classic upper bounds. Bounds are
// copied, sorted and de-duplicated; NaN and +Inf bounds are dropped (+Inf is
// always implicit).
func New(bounds []float64) *Histogram {
	b := make([]float64, 0, len(bounds))
	for _, v := range bounds {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			continue
		}
		b = append(b, v)
	}
	slices.Sort(b)
	b = slices.Compact(b)
	return &Histogram{
		Bounds:        b,
		Counts:        make([]uint64, len(b)+1),
		ZeroThreshold: DefaultZeroThreshold,
	}
}

// Observe adds one observation. NaN and infinite values are ignored: they carry
// no duration and could not be stored as JSON.
func (h *Histogram) Observe(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	h.Counts[sort.SearchFloat64s(h.Bounds, v)]++
	h.Count++
	h.Sum += v
	switch {
	case v > h.ZeroThreshold:
		if h.Positive == nil {
			h.Positive = make(map[int]uint64)
		}
		h.Positive[nativeIndex(v)]++
	case v < -h.ZeroThreshold:
		if h.Negative == nil {
			h.Negative = make(map[int]uint64)
		}
		h.Negative[nativeIndex(-v)]++
	default:
		h.ZeroCount++
	}
}

// nativeIndex is the schema-3 bucket index of v > 0: bucket i holds values in
// (2^((i-1)/8), 2^(i/8)].
func nativeIndex(v float64) int {
	frac, exp := math.Frexp(v)
	return sort.SearchFloat64s(schema3Bounds, frac) + (exp-1)*len(schema3Bounds)
}

// Clone returns a deep copy, for handing a snapshot to a reader outside the
// owner's lock.
func (h *Histogram) Clone() *Histogram {
	c := *h
	c.Bounds = slices.Clone(h.Bounds)
	c.Counts = slices.Clone(h.Counts)
	c.Positive = maps.Clone(h.Positive)
	c.Negative = maps.Clone(h.Negative)
	return &c
}

// histogramJSON breaks the recursion of UnmarshalJSON.
type histogramJSON Histogram

// UnmarshalJSON restores a histogram and checks that its parts agree, so a
// damaged checkpoint is refused instead of exposing inconsistent buckets.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var v histogramJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	if err := (*Histogram)(&v).validate(); err != nil {
		return fmt.Errorf("decode histogram: %w", err)
	}
	*h = Histogram(v)
	return nil
}

func (h *Histogram) validate() error {
	if !slices.IsSorted(h.Bounds) || len(slices.Compact(slices.Clone(h.Bounds))) != len(h.Bounds) {
		return errors.New("bounds not strictly increasing")
	}
	if len(h.Counts) != len(h.Bounds)+1 {
		return fmt.Errorf("%d bucket counts for %d bounds", len(h.Counts), len(h.Bounds))
	}
	var classic, native uint64
	for _, c := range h.Counts {
		classic += c
	}
	native = h.ZeroCount
	for _, c := range h.Positive {
		native += c
	}
	for _, c := range h.Negative {
		native += c
	}
	if classic != h.Count || native != h.Count {
		return fmt.Errorf("count %d, classic buckets hold %d, native buckets %d", h.Count, classic, native)
	}
	if math.IsNaN(h.ZeroThreshold) || h.ZeroThreshold < 0 {
		return errors.New("invalid zero threshold")
	}
	return nil
}

// Metric returns the histogram as one Prometheus metric for desc with the given
// label values, carrying both the classic buckets and the native schema-3 spans
// and deltas. The result is a copy: later observations do not change it. It
// fails when the label values do not fit desc or are not valid UTF-8.
func (h *Histogram) Metric(desc *prometheus.Desc, labelValues ...string) (prometheus.Metric, error) {
	// A const histogram without buckets validates the label values against desc
	// and builds the label pairs exactly as client_golang does.
	base, err := prometheus.NewConstHistogram(desc, 0, 0, nil, labelValues...)
	if err != nil {
		return nil, fmt.Errorf("histogram metric: %w", err)
	}
	var m dto.Metric
	if err := base.Write(&m); err != nil {
		return nil, fmt.Errorf("histogram metric: %w", err)
	}
	his := &dto.Histogram{
		SampleCount:   new(h.Count),
		SampleSum:     new(h.Sum),
		Bucket:        make([]*dto.Bucket, len(h.Bounds)),
		Schema:        new(int32(Schema)),
		ZeroThreshold: new(h.ZeroThreshold),
		ZeroCount:     new(h.ZeroCount),
	}
	var cum uint64
	for i, ub := range h.Bounds {
		cum += h.Counts[i]
		his.Bucket[i] = &dto.Bucket{CumulativeCount: new(cum), UpperBound: new(ub)}
	}
	his.NegativeSpan, his.NegativeDelta = spans(h.Negative)
	his.PositiveSpan, his.PositiveDelta = spans(h.Positive)
	// A native histogram without any bucket and a zero threshold of zero would
	// look classic to a scraper; client_golang adds an empty span for that case.
	if h.ZeroThreshold == 0 && h.ZeroCount == 0 && len(his.PositiveSpan) == 0 && len(his.NegativeSpan) == 0 {
		his.PositiveSpan = []*dto.BucketSpan{{Offset: new(int32(0)), Length: new(uint32(0))}}
	}
	return &metric{desc: desc, labels: m.Label, his: his}, nil
}

// spans encodes native buckets as spans and deltas the way client_golang does:
// gaps of one or two empty buckets stay inside a span, longer gaps start a new one.
func spans(buckets map[int]uint64) ([]*dto.BucketSpan, []int64) {
	if len(buckets) == 0 {
		return nil, nil
	}
	idx := slices.Sorted(maps.Keys(buckets))
	var (
		out    []*dto.BucketSpan
		deltas = make([]int64, 0, len(idx))
		prev   int64
		next   int
	)
	appendDelta := func(count int64) {
		*out[len(out)-1].Length++
		deltas = append(deltas, count-prev)
		prev = count
	}
	for n, i := range idx {
		gap := int32(i - next)
		if n == 0 || gap > 2 {
			out = append(out, &dto.BucketSpan{Offset: new(gap), Length: new(uint32(0))})
		} else {
			for range gap {
				appendDelta(0)
			}
		}
		appendDelta(int64(buckets[i]))
		next = i + 1
	}
	return out, deltas
}

// metric is a fixed histogram sample.
type metric struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	his    *dto.Histogram
}

var _ prometheus.Metric = (*metric)(nil)

// Desc implements prometheus.Metric.
func (m *metric) Desc() *prometheus.Desc { return m.desc }

// Write implements prometheus.Metric.
func (m *metric) Write(out *dto.Metric) error {
	out.Label = m.labels
	out.Histogram = m.his
	return nil
}
