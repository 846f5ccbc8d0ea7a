package live

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// BenchmarkPublish measures Publish per event (batches of 64 events with a
// 1 KiB payload, as the pipeline hands them over) with 0, 1 and 10
// subscribers, each drained by a goroutine as a stream handler would.
func BenchmarkPublish(b *testing.B) {
	const batch = 64
	for _, subs := range []int{0, 1, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			br := New(Options{AssignSeq: true, Buffer: 1 << 16})
			done := make(chan struct{})
			var wg sync.WaitGroup
			for range subs {
				s, _, _, err := br.subscribe(wire.Filter{}, 0, false)
				if err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					for {
						select {
						case <-s.ch:
						case <-done:
							return
						}
					}
				})
			}
			evs := make([]wire.Event, batch)
			for i := range evs {
				evs[i] = testEvent(i, 1024)
			}
			b.ReportAllocs()
			for b.Loop() {
				br.Publish(evs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
			close(done)
			wg.Wait()
			if d := br.Dropped(); d != 0 {
				b.Fatalf("%d subscribers dropped: the drainers did not keep up", d)
			}
		})
	}
}

// BenchmarkLatency measures the time from Publish to a client having read the
// whole SSE message over real HTTP (loopback), one event at a time at a fixed
// pace, and reports the percentiles. Each iteration is one event, so ns/op is
// the pacing interval; run it with -benchtime 2000x.
func BenchmarkLatency(b *testing.B) {
	for _, tc := range []struct{ rate, clients int }{{200, 1}, {1000, 1}, {1000, 10}} {
		b.Run(fmt.Sprintf("rate=%d/clients=%d", tc.rate, tc.clients), func(b *testing.B) {
			benchLatency(b, tc.rate, tc.clients)
		})
	}
}

// sample is one event's arrival at one client.
type sample struct {
	seq int64
	at  time.Time
}

func benchLatency(b *testing.B, rate, clients int) {
	br := New(Options{AssignSeq: true})
	srv := httptest.NewServer(br)
	defer srv.Close()
	defer br.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	samples := make(chan sample, 1<<16)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range clients {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/stream", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			defer resp.Body.Close()
			readArrivals(resp.Body, samples)
		})
	}

	ev := []wire.Event{testEvent(1, 2048)}
	var sent []time.Time // sent[i] is when seq i+1 was published
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for b.Loop() {
		<-tick.C
		sent = append(sent, time.Now())
		br.Publish(ev)
	}
	b.StopTimer()

	want := len(sent) * clients
	lat := make([]time.Duration, 0, want)
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for len(lat) < want {
		select {
		case s := <-samples:
			lat = append(lat, s.at.Sub(sent[s.seq-1]))
		case <-timeout.C:
			b.Fatalf("received %d of %d events", len(lat), want)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// readArrivals stamps each hook event when its message is complete.
func readArrivals(body interface{ Read([]byte) (int, error) }, out chan<- sample) {
	br := bufio.NewReaderSize(body, 64<<10)
	var seq int64
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("id: ")):
			seq, _ = strconv.ParseInt(string(bytes.TrimSpace(line[4:])), 10, 64)
		case len(line) == 1 && seq > 0:
			out <- sample{seq: seq, at: time.Now()}
			seq = 0
		}
	}
}
