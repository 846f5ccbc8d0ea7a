package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// latencyRun sends n events at rate per second through send and measures,
// for each, the time from just before send to its arrival at an SSE client.
func latencyRun(b *testing.B, d *daemon, n, rate int, send func(i int, payload []byte)) (p50, p99 time.Duration) {
	b.Helper()
	const sid = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	c := openStream(b, d.addr, "session="+sid, "")
	sent := make([]time.Time, n)
	var sentMu sync.Mutex
	lat := make([]time.Duration, 0, n)
	recvDone := make(chan error, 1)
	go func() {
		seen := make([]bool, n)
		deadline := time.After(2 * time.Minute)
		for len(lat) < n {
			select {
			case ev, ok := <-c.events:
				if !ok {
					recvDone <- fmt.Errorf("stream ended")
					return
				}
				at := time.Now()
				i, err := strconv.Atoi(strings.TrimPrefix(ev.Summary, "lat "))
				if err != nil || i >= n || seen[i] {
					recvDone <- fmt.Errorf("unexpected event %q", ev.Summary)
					return
				}
				seen[i] = true
				sentMu.Lock()
				lat = append(lat, at.Sub(sent[i]))
				sentMu.Unlock()
			case err := <-c.errs:
				recvDone <- err
				return
			case <-deadline:
				recvDone <- fmt.Errorf("only %d of %d events arrived", len(lat), n)
				return
			}
		}
		recvDone <- nil
	}()
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		payload := []byte(fmt.Sprintf(`{"session_id":%q,"hook_event_name":"Notification","notification_type":"idle_prompt","message":"lat %d","pad":%q}`, sid, i, strings.Repeat("x", 1800)))
		sentMu.Lock()
		sent[i] = time.Now()
		sentMu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); send(i, payload) }()
	}
	if err := <-recvDone; err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	c.close()
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// BenchmarkLiveLatency measures hook exec → SSE client and POST /v1/hooks →
// SSE client, with the store on, 2,000 events at 200 and 1,000 events/s.
// Run: go test -run '^$' -bench LiveLatency -benchtime 1x ./internal/app
func BenchmarkLiveLatency(b *testing.B) {
	const n = 2000
	for _, path := range []string{"hook", "post"} {
		for _, rate := range []int{200, 1000} {
			b.Run(fmt.Sprintf("%s/%d-per-s", path, rate), func(b *testing.B) {
				d := startDaemon(b, b.TempDir(), nil, append([]string{"--log.level=info"}, strings.Fields(os.Getenv("CHX_DAEMON_ARGS"))...)...)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				send := func(i int, payload []byte) {
					if path == "hook" {
						if _, serr, code, err := runHook(context.Background(), hookBin, []string{"--spool.dir", d.spoolDir}, payload); err != nil || code != 0 {
							b.Errorf("hook: %v %d %s", err, code, serr)
						}
						return
					}
					resp, err := client.Post("http://"+d.addr+"/v1/hooks", "application/json", bytes.NewReader(payload))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				var p50, p99 time.Duration
				for b.Loop() {
					p50, p99 = latencyRun(b, d, n, rate, send)
				}
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// procStat reads a process's CPU time (user+system) and resident set size.
func procStat(b *testing.B, pid int) (cpu time.Duration, rss int64) {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100), pages * int64(os.Getpagesize())
}

// BenchmarkHTTPIngest: 16 keep-alive clients POST /v1/hooks with 2 KB
// payloads; throughput counts events until the daemon has applied them all
// (stored, indexed and streamed), with the daemon's CPU per event and its
// peak resident memory. Run: go test -run '^$' -bench HTTPIngest -benchtime 1x ./internal/app
func BenchmarkHTTPIngest(b *testing.B) {
	const clients, perClient = 16, 5000
	const total = clients * perClient
	for _, storeOn := range []bool{true, false} {
		b.Run(fmt.Sprintf("store=%v", storeOn), func(b *testing.B) {
			state := b.TempDir()
			extra := []string{"--log.level=warn", "--checkpoint.interval=1s", "--web.enable-pprof"}
			if !storeOn {
				extra = append(extra, "--store.path=")
			}
			d := startDaemon(b, state, nil, extra...)
			pid := d.cmd.Process.Pid
			// A Read's result: 1,800 bytes of real Go source (it compresses
			// as real tool output does, about 3:1).
			src, err := os.ReadFile(filepath.Join("..", "store", "insert.go"))
			if err != nil {
				b.Fatal(err)
			}
			payload := []byte(fmt.Sprintf(`{"session_id":"5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13","hook_event_name":"PostToolUse","tool_name":"Read","tool_use_id":"toolu_x","tool_input":{"file_path":"/src/app/main.go"},"tool_response":{"content":%q},"duration_ms":3}`, src[:1800]))
			for b.Loop() {
				cpu0, _ := procStat(b, pid)
				var peak, peakAnon atomic.Int64
				stop := make(chan struct{})
				go func() {
					t := time.NewTicker(50 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							if _, rss := procStat(b, pid); rss > peak.Load() {
								peak.Store(rss)
								peakAnon.Store(rssAnon(pid))
							}
						}
					}
				}()
				start := time.Now()
				var wg sync.WaitGroup
				if out := os.Getenv("CHX_DAEMON_CPUPROFILE"); out != "" {
					// Profile the daemon for 4 s of the run: go tool pprof <binary> <file>.
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := fetch("http://"+d.addr+"/debug/pprof/profile?seconds=4", out); err != nil {
							b.Error(err)
						}
					}()
				}
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
						for range perClient {
							resp, err := client.Post("http://"+d.addr+"/v1/hooks", "application/json", bytes.NewReader(payload))
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != http.StatusNoContent {
								b.Errorf("POST: %s", resp.Status)
								return
							}
						}
					}()
				}
				wg.Wait()
				accepted := time.Since(start)
				waitFor(b, 5*time.Minute, "every event applied", func() (bool, error) {
					mfs, err := d.metrics()
					return err == nil && sum(mfs, "claude_hooks_events_total", nil) >= total, err
				})
				applied := time.Since(start)
				close(stop)
				if out := os.Getenv("CHX_DAEMON_HEAPPROFILE"); out != "" {
					// The daemon's heap once every event is applied: go tool pprof <binary> <file>.
					if err := fetch("http://"+d.addr+"/debug/pprof/heap", out); err != nil {
						b.Error(err)
					}
				}
				cpu1, rss := procStat(b, pid)
				peakRSS := max(peak.Load(), rss)
				b.ReportMetric(total/accepted.Seconds(), "accepted-events/s")
				b.ReportMetric(total/applied.Seconds(), "applied-events/s")
				b.ReportMetric(float64((cpu1-cpu0).Microseconds())/total, "cpu-us/event")
				b.ReportMetric(float64(peakRSS)/(1<<20), "peak-rss-MiB")
				// Of which anonymous memory (heaps, SQLite's caches); the rest
				// is the executable's pages.
				b.ReportMetric(float64(peakAnon.Load())/(1<<20), "peak-anon-MiB")
				if storeOn {
					fi, err := os.Stat(filepath.Join(state, "events.db"))
					if err == nil {
						b.ReportMetric(float64(fi.Size())/(1<<20), "db-MiB")
					}
				}
			}
		})
	}
}

// fetch saves the body of a GET to a file.
func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rssAnon reads a process's anonymous resident memory (RssAnon) in bytes.
func rssAnon(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
