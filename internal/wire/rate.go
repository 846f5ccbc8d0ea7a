package wire

import (
	"net/url"
	"strconv"
	"time"
)

// Groupings of GET /api/v1/events/rate (its by parameter).
const (
	RateByEvent = "event"
	RateByTool  = "tool"
)

// MaxRateBuckets bounds the buckets of one event-rate answer.
const MaxRateBuckets = 11000

// RateQuery is what GET /api/v1/events/rate counts: the events passing
// Filter from Filter.From to Filter.To (both required), per Step-wide bucket
// starting at Filter.From, per event name (By RateByEvent) or tool (By
// RateByTool; events without a tool are then not counted).
type RateQuery struct {
	Filter Filter
	Step   time.Duration
	By     string
}

// Buckets is the number of buckets from From to To, the last one partial when
// the range is not a multiple of Step.
func (q RateQuery) Buckets() int {
	if q.Step <= 0 || !q.Filter.To.After(q.Filter.From) {
		return 0
	}
	span := q.Filter.To.Sub(q.Filter.From)
	return int((span + q.Step - 1) / q.Step)
}

// ParseRateQuery reads a RateQuery from query parameters: the events
// filter's, step (a duration such as 30s or 1m, or milliseconds) and by.
func ParseRateQuery(v url.Values) (RateQuery, error) {
	f, err := ParseFilter(v)
	if err != nil {
		return RateQuery{}, err
	}
	q := RateQuery{Filter: f, By: v.Get("by")}
	if q.By == "" {
		q.By = RateByEvent
	}
	if q.By != RateByEvent && q.By != RateByTool {
		return q, &ParamError{"by", "want event or tool"}
	}
	if f.From.IsZero() {
		return q, &ParamError{"from", "is required"}
	}
	if f.To.IsZero() {
		return q, &ParamError{"to", "is required"}
	}
	s := v.Get("step")
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		q.Step = time.Duration(ms) * time.Millisecond
	} else if q.Step, err = time.ParseDuration(s); err != nil {
		return q, &ParamError{"step", "want a duration such as 30s or 1m, or milliseconds"}
	}
	if q.Step < time.Millisecond {
		return q, &ParamError{"step", "want at least 1ms"}
	}
	if n := q.Buckets(); n == 0 || n > MaxRateBuckets {
		return q, &ParamError{"step", "the range from from to to makes " + strconv.Itoa(n) + " buckets of this step, want 1 to " + strconv.Itoa(MaxRateBuckets)}
	}
	return q, nil
}

// Values renders the query back into query parameters.
func (q RateQuery) Values() url.Values {
	v := q.Filter.Values()
	v.Set("step", strconv.FormatInt(q.Step.Milliseconds(), 10))
	if q.By != "" {
		v.Set("by", q.By)
	}
	return v
}

// EventRates is the answer of GET /api/v1/events/rate.
type EventRates struct {
	// Start is the start of the first bucket (the query's from).
	Start time.Time `json:"start"`
	// StepMS is the width of a bucket in milliseconds.
	StepMS int64 `json:"step_ms"`
	// Buckets is the number of buckets; every series has that many counts.
	Buckets int `json:"buckets"`
	// By is what the series are grouped by: event or tool.
	By string `json:"by"`
	// Series are the names with at least one event, sorted by name.
	Series []RateSeries `json:"series"`
}

// RateSeries is the counts of one event name or tool.
type RateSeries struct {
	Name string `json:"name"`
	// Counts are the events per bucket, from Start in steps of StepMS.
	Counts []int64 `json:"counts"`
}
