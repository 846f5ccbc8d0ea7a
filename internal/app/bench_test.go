package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
//
// The clients write prepared HTTP/1.1 requests on their connections
// (leanPoster); the variant client=net-http uses net/http's client, which
// costs the two shared cores about half as much CPU again as the daemon.
func BenchmarkHTTPIngest(b *testing.B) {
	for _, v := range []struct {
		name         string
		store, naive bool
	}{
		{"store=true", true, false},
		{"store=false", false, false},
		{"store=true,client=net-http", true, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			state := b.TempDir()
			extra := []string{"--log.level=warn", "--checkpoint.interval=1s", "--web.enable-pprof"}
			// CHX_DAEMON_FLAGS adds flags to the daemon's, to compare settings.
			if v := os.Getenv("CHX_DAEMON_FLAGS"); v != "" {
				extra = append(extra, strings.Fields(v)...)
			}
			if !v.store {
				extra = append(extra, "--store.path=")
			}
			d := startDaemon(b, state, nil, extra...)
			load := ingestLoad{addr: d.addr, pid: d.cmd.Process.Pid, naive: v.naive,
				profile: "http://" + d.addr + "/debug/pprof/profile?seconds=4", metrics: "http://" + d.addr + "/metrics"}
			for b.Loop() {
				load.run(b, func() (bool, error) {
					mfs, err := d.metrics()
					return err == nil && sum(mfs, "claude_hooks_events_total", nil) >= ingestTotal, err
				})
				if out := os.Getenv("CHX_DAEMON_HEAPPROFILE"); out != "" {
					// The daemon's heap once every event is applied: go tool pprof <binary> <file>.
					if err := fetch("http://"+d.addr+"/debug/pprof/heap", out); err != nil {
						b.Error(err)
					}
				}
				if v.store {
					// The database and its log: a checkpoint may still be copying.
					var size int64
					for _, f := range []string{"events.db", "events.db-wal"} {
						if fi, err := os.Stat(filepath.Join(state, f)); err == nil {
							size += fi.Size()
						}
					}
					b.ReportMetric(float64(size)/(1<<20), "db-MiB")
				}
			}
		})
	}
}

// BenchmarkHTTPFloor runs HTTPIngest's load against testdata/floorserver: a
// net/http server that answers 204 and does nothing else (spool=false), or
// only appends each body to a spool (spool=true). Its CPU per event is the
// floor under the daemon's. Run: go test -run '^$' -bench HTTPFloor -benchtime 1x ./internal/app
func BenchmarkHTTPFloor(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "floorserver")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/floorserver").CombinedOutput(); err != nil {
		b.Fatalf("build floorserver: %v\n%s", err, out)
	}
	for _, withSpool := range []bool{false, true} {
		b.Run(fmt.Sprintf("spool=%v", withSpool), func(b *testing.B) {
			dir := ""
			if withSpool {
				dir = b.TempDir()
			}
			cmd := exec.Command(bin, "-spool="+dir)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			addr, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			load := ingestLoad{addr: strings.TrimSpace(addr), pid: cmd.Process.Pid}
			for b.Loop() {
				load.run(b, nil)
			}
		})
	}
}

// The HTTP ingest load: 16 clients, 5,000 requests each.
const (
	ingestClients   = 16
	ingestPerClient = 5000
	ingestTotal     = ingestClients * ingestPerClient
)

// ingestLoad POSTs ingestTotal PostToolUse payloads of 2 KB to a server
// process and reports its throughput, CPU per event and peak memory.
type ingestLoad struct {
	addr    string
	pid     int
	naive   bool   // net/http's client instead of leanPoster
	profile string // pprof URL for CHX_DAEMON_CPUPROFILE, if the server has one
	metrics string // the daemon's /metrics, sampled for its spool backlog
}

// ingestPayload is a Read's result: 1,800 bytes of this project's Go source
// (a fixed copy, so that runs compare).
func ingestPayload(b *testing.B) []byte {
	src, err := os.ReadFile(filepath.Join("..", "store", "testdata", "tool-output.txt"))
	if err != nil {
		b.Fatal(err)
	}
	return []byte(fmt.Sprintf(`{"session_id":"5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13","hook_event_name":"PostToolUse","tool_name":"Read","tool_use_id":"toolu_x","tool_input":{"file_path":"/src/app/main.go"},"tool_response":{"content":%q},"duration_ms":3}`, src[:1800]))
}

// run sends the load and, when applied is set, waits until it reports every
// event applied.
func (l ingestLoad) run(b *testing.B, applied func() (bool, error)) {
	b.Helper()
	payload := ingestPayload(b)
	cpu0, _ := procStat(b, l.pid)
	self0 := selfCPU(b)
	var peak, peakAnon atomic.Int64
	var peakBacklog float64 // written by the sampler, read after it returns
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, rss := procStat(b, l.pid); rss > peak.Load() {
					peak.Store(rss)
					peakAnon.Store(rssAnon(l.pid))
				}
				if l.metrics != "" {
					peakBacklog = max(peakBacklog, scrapeGauge(l.metrics, "claude_hooks_spool_backlog_bytes"))
				}
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	if out := os.Getenv("CHX_DAEMON_CPUPROFILE"); out != "" && l.profile != "" {
		// Profile the daemon for 4 s of the run: go tool pprof <binary> <file>.
		wg.Go(func() {
			if err := fetch(l.profile, out); err != nil {
				b.Error(err)
			}
		})
	}
	for range ingestClients {
		wg.Go(func() {
			post, closeConn, err := l.poster(payload)
			if err != nil {
				b.Error(err)
				return
			}
			defer closeConn()
			for range ingestPerClient {
				if err := post(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	accepted := time.Since(start)
	appliedAt := accepted
	if applied != nil {
		waitFor(b, 5*time.Minute, "every event applied", applied)
		appliedAt = time.Since(start)
	}
	close(stop)
	<-sampled
	cpu1, rss := procStat(b, l.pid)
	self1 := selfCPU(b)
	b.ReportMetric(ingestTotal/accepted.Seconds(), "accepted-events/s")
	if applied != nil {
		b.ReportMetric(ingestTotal/appliedAt.Seconds(), "applied-events/s")
	}
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/ingestTotal, "cpu-us/event")
	// The load generator's own CPU (this test process), which shares the cores.
	b.ReportMetric(float64((self1-self0).Microseconds())/ingestTotal, "client-cpu-us/event")
	b.ReportMetric(float64(max(peak.Load(), rss))/(1<<20), "peak-rss-MiB")
	// Of which anonymous memory (heaps, SQLite's caches); the rest is the
	// executable's pages.
	b.ReportMetric(float64(peakAnon.Load())/(1<<20), "peak-anon-MiB")
	if l.metrics != "" {
		// What the daemon had not read from its spool yet: above zero when
		// the pipeline or the store fell behind the clients.
		b.ReportMetric(peakBacklog/(1<<20), "peak-backlog-MiB")
	}
}

// scrapeGauge reads one unlabelled sample from a Prometheus text endpoint
// (0 when it cannot).
func scrapeGauge(url, name string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// poster returns a function that POSTs payload once over one keep-alive
// connection and checks for 204.
func (l ingestLoad) poster(payload []byte) (post func() error, closeConn func(), err error) {
	if l.naive {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		return func() error {
			resp, err := client.Post("http://"+l.addr+"/v1/hooks", "application/json", bytes.NewReader(payload))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				return fmt.Errorf("POST: %s", resp.Status)
			}
			return nil
		}, client.CloseIdleConnections, nil
	}
	return leanPoster(l.addr, payload)
}

// leanPoster writes one prepared HTTP/1.1 request per call on a single
// connection and reads the 204 answer's head (a 204 has no body). Anything
// but 204 is an error.
func leanPoster(addr string, payload []byte) (post func() error, closeConn func(), err error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	req := fmt.Appendf(nil, "POST /v1/hooks HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(payload))
	req = append(req, payload...)
	br := bufio.NewReader(conn)
	return func() error {
		if _, err := conn.Write(req); err != nil {
			return err
		}
		status, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(status, []byte("HTTP/1.1 204 ")) {
			return fmt.Errorf("POST: %q", bytes.TrimSpace(status))
		}
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(bytes.TrimSpace(line)) == 0 {
				return nil
			}
		}
	}, func() { conn.Close() }, nil
}

// selfCPU is this process's CPU time (user+system, every thread).
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
