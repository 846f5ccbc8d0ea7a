package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
	"github.com/claudehooks/claude-hooks-exporter/internal/store"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// samplePayloads returns the reference hook payloads, one per event.
func samplePayloads(tb testing.TB) [][]byte {
	tb.Helper()
	return proctest.ReadLines(tb, "testdata/events-current.jsonl", 20)
}

// withSession rewrites a payload's session_id (and tool_use_id, to keep pairs unique).
func withSession(tb testing.TB, payload []byte, session string, n int) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		tb.Fatal(err)
	}
	m["session_id"] = session
	if id, ok := m["tool_use_id"].(string); ok {
		m["tool_use_id"] = fmt.Sprintf("%s_%d", id, n)
	}
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestCrashExactlyOnce is the capture acceptance's crash test: while hook
// processes write 50,000 events the daemon is killed with SIGKILL three times
// and restarted; afterwards claude_hooks_events_total sums to exactly 50,000.
func TestCrashExactlyOnce(t *testing.T) {
	const total = 50000
	const workers = 8
	state := t.TempDir()
	d := startDaemon(t, state, nil)
	payloads := samplePayloads(t)
	// Pre-render the payloads so the writers only exec.
	rendered := make([][]byte, 0, 512)
	for i := range 512 {
		rendered = append(rendered, withSession(t, payloads[i%len(payloads)], fmt.Sprintf("00000000-0000-4000-8000-%012d", i%7), i))
	}

	var written atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, workers)
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				out, serr, code, err := runHook(ctx, hookBin, []string{"--spool.dir", d.spoolDir}, rendered[i%int64(len(rendered))])
				if err != nil || code != 0 || len(out) != 0 {
					errs <- fmt.Errorf("hook %d: code %d err %v stdout %q stderr %q", i, code, err, out, serr)
					return
				}
				written.Add(1)
			}
		}()
	}
	for _, at := range []int64{total / 5, total / 2, total * 4 / 5} {
		waitFor(t, 5*time.Minute, fmt.Sprintf("%d events written", at), func() (bool, error) {
			select {
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			return written.Load() >= at, nil
		})
		d.kill()
		d.start()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := countRecords(t, d.spoolDir); got != total {
		t.Fatalf("spool holds %d records, want %d", got, total)
	}
	var last float64
	waitFor(t, 3*time.Minute, "every event applied", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		last = sum(mfs, "claude_hooks_events_total", nil)
		return last >= total && sum(mfs, "claude_hooks_spool_backlog_bytes", nil) == 0, nil
	})
	// The store's group commit has caught up.
	waitFor(t, time.Minute, "store commits caught up", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		return sum(mfs, "claude_hooks_store_pending_events", nil) == 0 && sum(mfs, "claude_hooks_store_commits_total", nil) > 0 &&
			sum(mfs, "claude_hooks_store_commit_failures_total", nil) == 0, nil
	})
	// A clean restart must neither lose nor repeat anything either.
	d.stop()
	d.start()
	waitFor(t, time.Minute, "backlog drained after restart", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		last = sum(mfs, "claude_hooks_events_total", nil)
		return sum(mfs, "claude_hooks_spool_backlog_bytes", nil) == 0, nil
	})
	if last != total {
		t.Fatalf("claude_hooks_events_total sums to %v after three SIGKILLs, want exactly %d", last, total)
	}
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if r := sum(mfs, "claude_hooks_records_rejected_total", nil); r != 0 {
		t.Fatalf("%v records rejected, want 0", r)
	}
	// The event store holds every spooled event exactly once (inserts are
	// idempotent by record id, so replays after each SIGKILL add nothing)...
	var st wire.Status
	getJSON(t, "http://"+d.addr+"/api/v1/status", &st)
	if st.StoreEvents != total {
		t.Fatalf("store holds %d events, want exactly %d", st.StoreEvents, total)
	}
	// ...and survived the kills intact.
	d.stop()
	db, err := store.Open(context.Background(), store.Options{Path: filepath.Join(state, "events.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(context.Background()); err != nil {
		t.Fatalf("store integrity after three SIGKILLs: %v", err)
	}
}

func getJSON(tb testing.TB, url string, v any) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
}

// TestHookEntryPointsBadInput feeds garbage, empty and 20 MiB inputs to both
// hook entry points: never exit 2, nothing on stdout, the input preserved in the
// spool and counted by the daemon as rejected.
func TestHookEntryPointsBadInput(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 20<<20)
	inputs := []struct {
		name, reason string
		payload      []byte
	}{
		{"garbage", "invalid_json", []byte("\x00\xffnot json{")},
		{"empty", "empty", nil},
		{"20MiB", "oversized", big},
	}
	entries := []struct {
		name string
		bin  string
		args []string
	}{
		{"claude-hooks-hook", hookBin, nil},
		{"claude-hooks-exporter hook", exporterBin, []string{"hook"}},
	}
	state := t.TempDir()
	spoolDir := filepath.Join(state, "spool")
	for _, e := range entries {
		for _, in := range inputs {
			t.Run(e.name+"/"+in.name, func(t *testing.T) {
				args := append(append([]string{}, e.args...), "--spool.dir", spoolDir)
				out, _, code, err := runHook(context.Background(), e.bin, args, in.payload)
				if err != nil {
					t.Fatal(err)
				}
				if code == 2 || (code != 0 && code != 1) {
					t.Fatalf("exit code %d, want 0 or 1", code)
				}
				if len(out) != 0 {
					t.Fatalf("stdout %q, want nothing", out)
				}
			})
		}
	}
	if got, want := countRecords(t, spoolDir), len(entries)*len(inputs); got != want {
		t.Fatalf("spool holds %d records, want %d (every bad input preserved)", got, want)
	}
	d := startDaemon(t, state, nil)
	waitFor(t, 30*time.Second, "bad records counted", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		for _, in := range inputs {
			if sum(mfs, "claude_hooks_records_rejected_total", map[string]string{"reason": in.reason}) != float64(len(entries)) {
				return false, nil
			}
		}
		return true, nil
	})
	// The hook must still exit 1 (never 2) when it cannot write.
	ro := filepath.Join(t.TempDir(), "file-not-dir")
	if err := os.WriteFile(ro, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		args := append(append([]string{}, e.args...), "--spool.dir", filepath.Join(ro, "spool"))
		out, serr, code, err := runHook(context.Background(), e.bin, args, []byte(`{"hook_event_name":"Stop","session_id":"s"}`))
		if err != nil {
			t.Fatal(err)
		}
		if code != 1 || len(out) != 0 || strings.Count(strings.TrimSpace(string(serr)), "\n") != 0 || len(serr) == 0 {
			t.Errorf("%s with an unwritable spool: code %d stdout %q stderr %q, want 1, nothing, one line", e.name, code, out, serr)
		}
	}
}

// TestHTTPIngest covers POST /v1/hooks and /v1/events end to end: appended,
// applied and counted; bad bodies get clear 4xx answers.
func TestHTTPIngest(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	payloads := samplePayloads(t)
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := http.Post("http://"+d.addr+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	for _, p := range payloads {
		if code, body := post("/v1/hooks", string(p)); code != http.StatusNoContent {
			t.Fatalf("POST /v1/hooks: %d %s", code, body)
		}
	}
	batch := string(bytes.Join(payloads[:5], []byte("\n")))
	if code, body := post("/v1/events", batch); code != http.StatusOK || !strings.Contains(body, `"accepted":5`) {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	tests := []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/v1/hooks", "{not json", http.StatusBadRequest, "not valid JSON"},
		{"/v1/hooks", "", http.StatusBadRequest, "empty payload"},
		{"/v1/hooks", "[1,2]", http.StatusBadRequest, "not a JSON object"},
		{"/v1/events", string(payloads[0]) + "\n{bad", http.StatusBadRequest, "line 2"},
		{"/v1/hooks", `{"a":"` + strings.Repeat("x", 9<<20) + `"}`, http.StatusRequestEntityTooLarge, "limit"},
	}
	for _, tt := range tests {
		code, body := post(tt.path, tt.body)
		if code != tt.code || !strings.Contains(body, tt.msg) {
			t.Errorf("POST %s %.20q: %d %s, want %d containing %q", tt.path, tt.body, code, body, tt.code, tt.msg)
		}
	}
	want := float64(len(payloads) + 5)
	waitFor(t, 30*time.Second, "ingested events applied", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		if got := sum(mfs, "claude_hooks_events_total", nil); got != want {
			return false, fmt.Errorf("events_total %v, want %v; rejected %v", got, want, sum(mfs, "claude_hooks_records_rejected_total", nil))
		}
		return true, nil
	})
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	// The batch repeated the first five samples: Setup, SessionStart, ...
	if got := sum(mfs, "claude_hooks_events_total", map[string]string{"event": "SessionStart"}); got != 2 {
		t.Errorf("SessionStart events = %v, want 2", got)
	}
	if got := sum(mfs, "claude_hooks_events_total", map[string]string{"event": "PreToolUse"}); got != 1 {
		t.Errorf("PreToolUse events = %v, want 1", got)
	}
	if got := sum(mfs, "claude_hooks_http_ingest_rejected_total", nil); got != float64(len(tests)) {
		t.Errorf("http ingest rejections = %v, want %d", got, len(tests))
	}
}

// TestListenBeyondLoopbackNeedsToken: the daemon refuses to start, and with a
// token a wrong one gets 401 and a foreign Host on loopback gets 403.
func TestListenBeyondLoopbackNeedsToken(t *testing.T) {
	out, serr, code, err := runHook(context.Background(), exporterBin, []string{"serve", "--web.listen-address=0.0.0.0:0", "--state.dir=" + t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 || !strings.Contains(string(serr), "without --web.auth-token-file") || len(out) != 0 {
		t.Fatalf("serve on 0.0.0.0 without a token: code %d stderr %q", code, serr)
	}

	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, t.TempDir(), nil, "--web.auth-token-file="+tokFile)
	do := func(host, token string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/metrics", nil)
		if host != "" {
			req.Host = host
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name, host, token string
		want              int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong token", "", "nope", http.StatusUnauthorized},
		{"right token", "", "s3cret-token", http.StatusOK},
		{"foreign host", "evil.example.com", "s3cret-token", http.StatusForbidden},
		{"localhost name", "localhost:9469", "s3cret-token", http.StatusOK},
	} {
		if got := do(tt.host, tt.token); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}
