package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/frametest"
	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// eventFields are the fields of the plugin's event frames, in order.
var eventFields = []string{"time", "session", "event", "tool", "agent", "summary", "duration", "outcome", "seq"}

// benchSession is the session of the benchmark's events.
const benchSession = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

// stamped is something received, with when it was received.
type stamped struct {
	at   time.Time
	data []byte
}

// packetFunc records what RunStream hands its sender.
type packetFunc func(*backend.StreamPacket) error

func (f packetFunc) Send(p *backend.StreamPacket) error { return f(p) }

// BenchmarkStreamLatency measures POST /v1/hooks → the live frame, 2,000 events
// paced at 200 and 1,000 per second, through a real exporter process:
//
//   - host=sender: the plugin's RunStream in this process; the time is taken
//     when RunStream hands the encoded frame to its sender.
//   - host=grpc: the plugin binary started as Grafana starts it; the time is
//     taken when the frame arrives at the gRPC client (Grafana's side), and the
//     plugin process's CPU time is divided by the events.
//
// A direct SSE subscriber of the exporter runs alongside, so that the
// plugin's own share (frame time minus the SSE arrival of the same event) is
// reported apart from the exporter's.
// Run: go test -run '^$' -bench StreamLatency -benchtime 1x ./grafana-plugin/pkg/e2e
func BenchmarkStreamLatency(b *testing.B) {
	const n = 2000
	for _, host := range []string{"sender", "grpc"} {
		for _, rate := range []int{200, 1000} {
			b.Run(fmt.Sprintf("host=%s/%d-per-s", host, rate), func(b *testing.B) {
				exp := startExporter(b, "--log.level=info")
				path, err := plugin.ChannelPath(wire.Filter{SessionID: benchSession})
				if err != nil {
					b.Fatal(err)
				}
				frames := make(chan stamped, 4*n)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				pid := 0
				switch host {
				case "sender":
					js, _ := json.Marshal(map[string]any{"url": exp.url()})
					d := plugin.New(backend.DataSourceInstanceSettings{UID: "bench", JSONData: js}, plugin.Options{})
					defer d.Dispose()
					if _, err := d.SubscribeStream(ctx, &backend.SubscribeStreamRequest{Path: path}); err != nil {
						b.Fatal(err)
					}
					done := make(chan error, 1)
					go func() {
						done <- d.RunStream(ctx, &backend.RunStreamRequest{Path: path}, backend.NewStreamSender(packetFunc(func(p *backend.StreamPacket) error {
							frames <- stamped{time.Now(), p.Data}
							return nil
						})))
					}()
					defer func() { cancel(); <-done }()
				case "grpc":
					p := startPlugin(b)
					pid = p.pid
					pc := dsSettings("bench", exp.url(), "")
					if _, err := p.stream.SubscribeStream(ctx, &pluginv2.SubscribeStreamRequest{PluginContext: pc, Path: path}); err != nil {
						b.Fatal(err)
					}
					rs, err := p.stream.RunStream(ctx, &pluginv2.RunStreamRequest{PluginContext: pc, Path: path})
					if err != nil {
						b.Fatal(err)
					}
					go func() {
						for {
							pkt, err := rs.Recv()
							if err != nil {
								return
							}
							frames <- stamped{time.Now(), pkt.Data}
						}
					}()
				}
				sse := directStream(b, ctx, exp.url(), n)
				waitFor(b, 20*time.Second, "two stream subscribers", func() (bool, error) {
					st, err := exp.status()
					return err == nil && st.StreamSubscribers >= 2, nil
				})
				var r latencyResult
				for b.Loop() {
					r = latencyRun(b, exp.url(), pid, n, rate, frames, sse)
				}
				b.ReportMetric(r.p50.Seconds()*1e3, "p50-ms")
				b.ReportMetric(r.p99.Seconds()*1e3, "p99-ms")
				b.ReportMetric(r.sseP50.Seconds()*1e3, "exporter-p50-ms")
				b.ReportMetric(r.sseP99.Seconds()*1e3, "exporter-p99-ms")
				b.ReportMetric(r.ownP50.Seconds()*1e3, "plugin-p50-ms")
				b.ReportMetric(r.ownP99.Seconds()*1e3, "plugin-p99-ms")
				if pid != 0 {
					b.ReportMetric(float64(r.cpuPerEvent.Nanoseconds())/1e3, "plugin-cpu-µs/event")
				}
			})
		}
	}
}

// directStream subscribes to the exporter's stream for the benchmark's
// session and stamps each event's arrival.
func directStream(b *testing.B, ctx context.Context, url string, n int) <-chan stamped {
	b.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/stream?session="+benchSession, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("stream: %s", resp.Status)
	}
	out := make(chan stamped, 4*n)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			if line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
				out <- stamped{time.Now(), bytes.Clone(line)}
			}
		}
	}()
	return out
}

type latencyResult struct {
	p50, p99       time.Duration // POST → frame
	sseP50, sseP99 time.Duration // POST → direct SSE subscriber
	ownP50, ownP99 time.Duration // direct SSE arrival → frame, per event
	cpuPerEvent    time.Duration
}

// latencyRun posts n events at rate per second and waits for each in the
// frames and on the direct stream.
func latencyRun(b *testing.B, url string, pid, n, rate int, frames, sse <-chan stamped) latencyResult {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	sent := make([]time.Time, n)
	var sentMu sync.Mutex
	var cpu0 time.Duration
	if pid != 0 {
		cpu0 = procCPU(b, pid)
	}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	for i := range n {
		<-tick.C
		payload := fmt.Appendf(nil, `{"session_id":%q,"hook_event_name":"Notification","notification_type":"idle_prompt","message":"lat %d","pad":%q}`,
			benchSession, i, strings.Repeat("x", 1800))
		sentMu.Lock()
		sent[i] = time.Now()
		sentMu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Post(url+"/v1/hooks", "application/json", bytes.NewReader(payload))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				b.Errorf("POST /v1/hooks: %s", resp.Status)
			}
		}()
	}
	tick.Stop()
	wg.Wait()

	var fr frametest.Reader // the stream's frames: the schema came with the first one, before this run
	fr.Names = eventFields
	frameAt := make([]time.Time, n)
	sseAt := make([]time.Time, n)
	deadline := time.After(2 * time.Minute)
	for got, gotSSE := 0, 0; got < n || gotSSE < n; {
		select {
		case s := <-frames:
			cols, err := fr.Columns(s.data)
			if err != nil {
				b.Fatal(err)
			}
			for _, v := range cols["summary"] {
				frameAt[index(b, str(v), n, frameAt)] = s.at
				got++
			}
		case s := <-sse:
			var ev wire.Event
			if err := json.Unmarshal(s.data, &ev); err != nil {
				b.Fatal(err)
			}
			sseAt[index(b, ev.Summary, n, sseAt)] = s.at
			gotSSE++
		case <-deadline:
			b.Fatal("not every event arrived within 2 minutes")
		}
	}
	var r latencyResult
	if pid != 0 {
		r.cpuPerEvent = (procCPU(b, pid) - cpu0) / time.Duration(n)
	}
	var lat, sseLat, own []time.Duration
	for i := range n {
		lat = append(lat, frameAt[i].Sub(sent[i]))
		sseLat = append(sseLat, sseAt[i].Sub(sent[i]))
		own = append(own, frameAt[i].Sub(sseAt[i]))
	}
	r.p50, r.p99 = percentiles(lat)
	r.sseP50, r.sseP99 = percentiles(sseLat)
	r.ownP50, r.ownP99 = percentiles(own)
	return r
}

// index reads the i of "lat i" and checks it arrives once.
func index(b *testing.B, summary string, n int, seen []time.Time) int {
	b.Helper()
	i, err := strconv.Atoi(strings.TrimPrefix(summary, "lat "))
	if err != nil || i < 0 || i >= n || !seen[i].IsZero() {
		b.Fatalf("unexpected or repeated event %q", summary)
	}
	return i
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100]
}

// procCPU reads a process's user+system CPU time from /proc.
func procCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}
