package app_test

// The fault-injection suite (issue 14): real daemon and hook processes, each
// test one fault a user or an attacker can cause. `make test` runs it with
// short bounds; `make test-faults` (CHX_FAULTS=long) runs it at full size.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/claudehooks/claude-hooks-exporter/internal/spool"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// faultScale picks the short bound for `make test` and the long one for
// `make test-faults`.
func faultScale(short, long int) int {
	if os.Getenv("CHX_FAULTS") == "long" {
		return long
	}
	return short
}

// get returns the status and body of a GET.
func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventsApplied reads claude_hooks_events_total.
func (d *daemon) eventsApplied() (float64, error) {
	mfs, err := d.metrics()
	if err != nil {
		return 0, err
	}
	return sum(mfs, "claude_hooks_events_total", nil), nil
}

// waitApplied waits until the daemon's metrics count want events.
func (d *daemon) waitApplied(tb testing.TB, timeout time.Duration, want float64) {
	tb.Helper()
	waitFor(tb, timeout, fmt.Sprintf("%v events counted", want), func() (bool, error) {
		got, err := d.eventsApplied()
		if err != nil {
			return false, err
		}
		if got > want {
			tb.Fatalf("events_total = %v, more than the %v sent: counted twice", got, want)
		}
		return got == want, nil
	})
}

// storedIDs pages through GET /api/v1/events and returns how often each
// event id is stored.
func storedIDs(tb testing.TB, addr string) (map[string]int, error) {
	ids := map[string]int{}
	cursor := ""
	for {
		url := "http://" + addr + "/api/v1/events?limit=1000&cursor=" + cursor
		resp, err := http.Get(url)
		if err != nil {
			return nil, err
		}
		var page wire.EventsPage
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET /api/v1/events: %s", resp.Status)
		}
		if err != nil {
			return nil, err
		}
		for _, ev := range page.Events {
			ids[ev.ID]++
		}
		if page.NextCursor == "" {
			return ids, nil
		}
		cursor = page.NextCursor
	}
}

// corruptFile overwrites every page of a SQLite file but the first.
func corruptFile(tb testing.TB, path string) {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xa5garbage", 512))
	for off := int64(4096); off < fi.Size(); off += 4096 {
		if _, err := f.WriteAt(junk, off); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestFaultCorruptStore (item 1, acceptance 2): the database is corrupted
// while the daemon runs and again before a start. Metrics keep counting new
// events within a second, the stream keeps delivering, /readyz names the
// store, and after the restart the store holds every event of the spool once.
func TestFaultCorruptStore(t *testing.T) {
	state := t.TempDir()
	d := startDaemon(t, state, nil)
	n := faultScale(600, 6000)
	big := strings.Repeat("x", 2000)
	var sent []string
	batch := func(from, count int) {
		t.Helper()
		var ps []string
		for i := from; i < from+count; i++ {
			ps = append(ps, fmt.Sprintf(`{"session_id":"s-%d","hook_event_name":"Notification","notification_type":"idle_prompt","message":"%d %s"}`, i%7, i, big))
		}
		postEvents(t, d.addr, ps)
		sent = append(sent, ps...)
	}
	batch(0, n)
	d.waitApplied(t, 30*time.Second, float64(n))
	waitFor(t, 30*time.Second, "events stored", func() (bool, error) {
		ids, err := storedIDs(t, d.addr)
		return err == nil && len(ids) == n, err
	})

	// Corrupt it under the running daemon.
	corruptFile(t, filepath.Join(state, "events.db"))
	s := openStream(t, d.addr, "", "")
	defer s.close()
	for round := 0; round < 3; round++ {
		start := time.Now()
		from := len(sent)
		batch(from, n/3)
		d.waitApplied(t, 10*time.Second, float64(len(sent)))
		t.Logf("round %d: %d events counted in %s", round, n/3, time.Since(start))
		got := s.next(t, n/3, 10*time.Second)
		if got[0].Summary == "" && got[0].Event != "Notification" {
			t.Fatalf("stream delivered %+v", got[0])
		}
	}
	waitFor(t, 20*time.Second, "/readyz naming the store", func() (bool, error) {
		code, body := get(t, "http://"+d.addr+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "store"), fmt.Errorf("%d %s", code, body)
	})
	// Counting must stay within a second of the post while the store is down.
	start := time.Now()
	batch(len(sent), 50)
	d.waitApplied(t, 10*time.Second, float64(len(sent)))
	if el := time.Since(start); el > time.Second {
		t.Errorf("with the store failed, 50 events took %s to be counted, want < 1 s", el)
	}
	if code, body := get(t, "http://"+d.addr+"/api/v1/events"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/v1/events with the store failed: %d %.200s, want 503", code, body)
	}
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if up := sum(mfs, "claude_hooks_store_up", nil); up != 0 {
		t.Errorf("claude_hooks_store_up = %v, want 0", up)
	}
	s.close()
	d.stop()

	// Restart: the database is moved aside and rebuilt from the spool.
	d.start()
	waitFor(t, 60*time.Second, "store rebuilt from the spool", func() (bool, error) {
		ids, err := storedIDs(t, d.addr)
		if err != nil {
			return false, err
		}
		for id, c := range ids {
			if c != 1 {
				t.Fatalf("event %s stored %d times", id, c)
			}
		}
		return len(ids) == len(sent), fmt.Errorf("%d of %d stored", len(ids), len(sent))
	})
	d.waitApplied(t, 10*time.Second, float64(len(sent)))
	code, body := get(t, "http://"+d.addr+"/readyz")
	if code != http.StatusOK {
		t.Errorf("/readyz after the rebuild: %d %s", code, body)
	}
	aside, _ := filepath.Glob(filepath.Join(state, "events.db.corrupt-*"))
	if len(aside) == 0 {
		t.Error("the corrupt database was not kept aside")
	}

	// Corrupt it again while the daemon is down, then start.
	d.stop()
	corruptFile(t, filepath.Join(state, "events.db"))
	d.start()
	batch(len(sent), 20)
	d.waitApplied(t, 10*time.Second, float64(len(sent)))
	waitFor(t, 60*time.Second, "store rebuilt after a corrupt start", func() (bool, error) {
		ids, err := storedIDs(t, d.addr)
		if err != nil {
			return false, err
		}
		return len(ids) == len(sent), fmt.Errorf("%d of %d stored", len(ids), len(sent))
	})
}

// TestFaultCrossSitePost (item 2, acceptance 3): what a web page on another
// site can send to the default listener (text/plain, or JSON with a foreign
// Origin) gets 403 and changes nothing; Claude Code's http hooks and curl
// still get in.
func TestFaultCrossSitePost(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	hook := `{"session_id":"csrf","hook_event_name":"Notification","notification_type":"idle_prompt","message":"x"}`
	post := func(path, ctype, origin, site string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+d.addr+path, strings.NewReader(hook))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct{ path, ctype, origin, site string }{
		{"/v1/hooks", "text/plain;charset=UTF-8", "https://evil.example", "cross-site"},
		{"/v1/events", "text/plain", "https://evil.example", ""},
		{"/v1/hooks", "text/plain", "", ""},
		{"/v1/hooks", "application/x-www-form-urlencoded", "", ""},
		{"/v1/hooks", "multipart/form-data; boundary=x", "", ""},
		{"/v1/hooks", "application/json", "https://evil.example", ""},
		{"/v1/hooks", "application/json", "http://localhost:1", "same-site"},
	} {
		if code := post(c.path, c.ctype, c.origin, c.site); code != http.StatusForbidden {
			t.Errorf("POST %s %q Origin %q Sec-Fetch-Site %q: %d, want 403", c.path, c.ctype, c.origin, c.site, code)
		}
	}
	// Non-browser clients and the exporter's own origin.
	if code := post("/v1/hooks", "application/json", "", ""); code != http.StatusNoContent {
		t.Errorf("Claude Code http hook: %d", code)
	}
	if code := post("/v1/events", "application/x-ndjson", "", ""); code != http.StatusOK {
		t.Errorf("curl batch: %d", code)
	}
	if code := post("/v1/hooks", "application/json", "http://"+d.addr, "same-origin"); code != http.StatusNoContent {
		t.Errorf("same origin: %d", code)
	}
	d.waitApplied(t, 10*time.Second, 3)
	if n := countRecords(t, d.spoolDir); n != 3 {
		t.Errorf("spool holds %d records, want the 3 accepted", n)
	}
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(mfs, "claude_hooks_http_ingest_rejected_total", map[string]string{"reason": "cross_site"}); got != 7 {
		t.Errorf("rejected{reason=cross_site} = %v, want 7", got)
	}
}

// TestFaultSlowBody (item 9): a client that sends its headers and then a
// body byte by byte, or nothing, is cut off by the read timeout instead of
// holding a connection forever.
func TestFaultSlowBody(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil, "--web.read-timeout=1s")
	conns := faultScale(20, 300)
	var open []net.Conn
	for range conns {
		c, err := net.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /v1/hooks HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"a\":", d.addr)
		open = append(open, c)
	}
	for i, c := range open {
		// The server closes it (after a 4xx or without an answer) well
		// before this generous bound; the old daemon never did.
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("connection %d still open after 20 s with a 1 s read timeout: %v", i, err)
		}
	}
}

// TestFaultConcurrentLargeBatches (item 5, acceptance 4): many large
// /v1/events bodies at once from loopback keep the daemon's peak memory
// bounded, and every accepted event is stored once.
func TestFaultConcurrentLargeBatches(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	clients := faultScale(6, 20)
	batchBytes := faultScale(20<<20, 60<<20)
	line := strings.Repeat("y", 4000)
	errs := make(chan error, clients)
	accepted := make(chan int, clients)
	for c := range clients {
		go func() {
			// Lines made as they are sent: the test holds no batch in memory.
			gen := func(w io.Writer) (lines int, size int64, err error) {
				for size < int64(batchBytes) && err == nil {
					var k int
					k, err = fmt.Fprintf(w, `{"session_id":"big-%d","hook_event_name":"Notification","notification_type":"idle_prompt","message":"%d %s"}`+"\n", c, lines, line)
					size += int64(k)
					lines++
				}
				return lines, size, err
			}
			_, size, _ := gen(io.Discard) // a Content-Length, as curl sends for a file
			pr, pw := io.Pipe()
			lines := make(chan int, 1)
			go func() {
				n, _, err := gen(pw)
				lines <- n
				pw.CloseWithError(err)
			}()
			req, err := http.NewRequest(http.MethodPost, "http://"+d.addr+"/v1/events", pr)
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.ContentLength = size
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("POST /v1/events: %s %s", resp.Status, body)
				return
			}
			accepted <- <-lines
			errs <- nil
		}()
	}
	total := 0
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for range clients {
		total += <-accepted
	}
	d.waitApplied(t, 5*time.Minute, float64(total))
	waitFor(t, 5*time.Minute, "every accepted event stored", func() (bool, error) {
		var st wire.Status
		getJSON(t, "http://"+d.addr+"/api/v1/status", &st)
		return st.StoreEvents >= int64(total), fmt.Errorf("%d of %d stored", st.StoreEvents, total)
	})
	ids, err := storedIDs(t, d.addr)
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("event %s stored %d times", id, n)
		}
	}
	if len(ids) != total {
		t.Fatalf("%d distinct events stored, want %d", len(ids), total)
	}
	peak := peakRSS(t, d.cmd.Process.Pid)
	t.Logf("%d clients x %d MiB: %d events, peak RSS %d MiB", clients, batchBytes>>20, total, peak>>20)
	if peak > 300<<20 {
		t.Errorf("peak RSS %d MiB, want under 300 MiB", peak>>20)
	}
}

// peakRSS reads a process's peak resident set (VmHWM).
func peakRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc status")
	return 0
}

// TestFaultInvalidUTF8 (item 6): a payload with invalid UTF-8 is served as
// valid JSON by the query API and the stream, counted, and kept raw in the
// spool.
func TestFaultInvalidUTF8(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	s := openStream(t, d.addr, "", "")
	defer s.close()
	bad := "{\"session_id\":\"utf8\",\"hook_event_name\":\"Notification\",\"notification_type\":\"idle_prompt\",\"message\":\"caf\xe9 \xff\"}"
	resp, err := http.Post("http://"+d.addr+"/v1/hooks", "application/json", strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %s", resp.Status)
	}
	got := s.next(t, 1, 10*time.Second)
	if !utf8.Valid(got[0].Payload) || !json.Valid(got[0].Payload) || !strings.Contains(string(got[0].Payload), "caf\uFFFD") {
		t.Errorf("streamed payload %q: want valid JSON with U+FFFD", got[0].Payload)
	}
	code, body := get(t, "http://"+d.addr+"/api/v1/events")
	if code != http.StatusOK || !utf8.ValidString(body) || !json.Valid([]byte(body)) {
		t.Errorf("GET /api/v1/events: %d, valid UTF-8 %v, valid JSON %v: %.300q", code, utf8.ValidString(body), json.Valid([]byte(body)), body)
	}
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if n := sum(mfs, "claude_hooks_records_utf8_replaced_total", nil); n != 1 {
		t.Errorf("claude_hooks_records_utf8_replaced_total = %v, want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(d.spoolDir, "spool-*.jsonl"))
	var raw []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		raw = append(raw, b...)
	}
	if !strings.Contains(string(raw), "caf\xe9 \xff") {
		t.Error("the spool does not keep the bytes received")
	}
}

// TestFaultHookDiskFull (item 10): a hook that cannot append (the spool file
// is /dev/full: every write fails with ENOSPC, as on a full disk) exits 1,
// never 2, and counts the failure where the daemon sees it:
// claude_hooks_hook_failures_total and /readyz.
func TestFaultHookDiskFull(t *testing.T) {
	state := t.TempDir()
	d := startDaemon(t, state, nil)
	now := time.Now()
	for _, day := range []time.Time{now, now.Add(24 * time.Hour)} {
		name := filepath.Join(d.spoolDir, spool.FileName(day))
		if err := os.Remove(name); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/full", name); err != nil {
			t.Fatal(err)
		}
	}
	runs := faultScale(3, 20)
	for range runs {
		_, stderr, code, err := runHook(t.Context(), hookBin, []string{"--spool.dir", d.spoolDir},
			[]byte(`{"session_id":"full","hook_event_name":"Stop"}`))
		if err != nil {
			t.Fatal(err)
		}
		if code != 1 || !strings.Contains(string(stderr), "no space left") {
			t.Fatalf("hook on a full disk: exit %d, stderr %q; want 1 and the reason", code, stderr)
		}
	}
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if n := sum(mfs, "claude_hooks_hook_failures_total", nil); n != float64(runs) {
		t.Errorf("claude_hooks_hook_failures_total = %v, want %d", n, runs)
	}
	code, body := get(t, "http://"+d.addr+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "hooks failed to append") {
		t.Errorf("/readyz with hooks failing: %d %s, want 503 naming the hooks", code, body)
	}
}

// hookRun appends one event through the real hook binary.
func hookRun(tb testing.TB, spoolDir string, i int) {
	tb.Helper()
	_, stderr, code, err := runHook(tb.Context(), hookBin, []string{"--spool.dir", spoolDir},
		[]byte(fmt.Sprintf(`{"session_id":"f-%d","hook_event_name":"Notification","notification_type":"idle_prompt","message":"n %d"}`, i%3, i)))
	if err != nil || code != 0 {
		tb.Fatalf("hook: exit %d, %v, %s", code, err, stderr)
	}
}

// spoolFile returns the only spool file of dir.
func spoolFile(tb testing.TB, dir string) string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	if err != nil || len(files) != 1 {
		tb.Fatalf("spool files %v (%v), want one", files, err)
	}
	return files[0]
}

// TestFaultSpoolCut (item 4): a spool file cut below what the daemon read,
// while it runs and while it is stopped, is read on from its new end: its
// events are not counted again.
func TestFaultSpoolCut(t *testing.T) {
	state := t.TempDir()
	d := startDaemon(t, state, nil)
	n := faultScale(40, 200)
	for i := range n {
		hookRun(t, d.spoolDir, i)
	}
	d.waitApplied(t, 20*time.Second, float64(n))
	path := spoolFile(t, d.spoolDir)
	cut := func() {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// Cut mid-record, well past the fingerprint (1 KiB).
		if err := os.Truncate(path, fi.Size()-fi.Size()/4-7); err != nil {
			t.Fatal(err)
		}
	}
	// While it runs.
	cut()
	hookRun(t, d.spoolDir, n)
	d.waitApplied(t, 20*time.Second, float64(n+1))
	// While it is stopped.
	d.stop()
	cut()
	d.start()
	hookRun(t, d.spoolDir, n+1)
	d.waitApplied(t, 20*time.Second, float64(n+2))
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(mfs, "claude_hooks_events_total", nil); got != float64(n+2) {
		t.Errorf("events_total = %v after two cuts, want %d", got, n+2)
	}
}

// TestFaultSpoolRenamed (item 8): a spool file renamed while the daemon is
// down (logrotate's .1, a manual .old.jsonl) is still read to its end.
func TestFaultSpoolRenamed(t *testing.T) {
	for _, newName := range []string{"%s.jsonl.1", "%s.old.jsonl"} {
		t.Run(newName, func(t *testing.T) {
			state := t.TempDir()
			d := startDaemon(t, state, nil)
			n := faultScale(10, 100)
			for i := range n {
				hookRun(t, d.spoolDir, i)
			}
			d.waitApplied(t, 20*time.Second, float64(n))
			d.stop()
			for i := n; i < 2*n; i++ {
				hookRun(t, d.spoolDir, i)
			}
			path := spoolFile(t, d.spoolDir)
			if err := os.Rename(path, fmt.Sprintf(newName, strings.TrimSuffix(path, ".jsonl"))); err != nil {
				t.Fatal(err)
			}
			d.start()
			hookRun(t, d.spoolDir, 2*n) // a new file under the old name
			d.waitApplied(t, 20*time.Second, float64(2*n+1))
		})
	}
}

// TestFaultTranscriptSymlink (item 7): a transcript path inside
// --transcripts.allowed-dirs that is a symlink to a file outside is not read;
// a real file beside it is.
func TestFaultTranscriptSymlink(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "projects", "-src-app")
	if err := os.MkdirAll(allowed, 0o700); err != nil {
		t.Fatal(err)
	}
	usage := func(id string, out int) []byte {
		return fmt.Appendf(nil, `{"type":"assistant","message":{"id":%q,"model":"claude-opus-4-6","usage":{"input_tokens":1,"output_tokens":%d}}}`+"\n", id, out)
	}
	secret := filepath.Join(root, "secret.jsonl")
	if err := os.WriteFile(secret, usage("m-secret", 7), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(allowed, "s-link.jsonl")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(allowed, "s-real.jsonl")
	if err := os.WriteFile(real, usage("m-real", 5), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, filepath.Join(root, "state"), nil, "--transcripts.allowed-dirs="+filepath.Join(root, "projects"))
	var ps []string
	for _, s := range []struct{ id, path string }{{"s-link", link}, {"s-real", real}} {
		for _, ev := range []string{"SessionStart", "Stop"} {
			ps = append(ps, fmt.Sprintf(`{"session_id":%q,"transcript_path":%q,"hook_event_name":%q}`, s.id, s.path, ev))
		}
	}
	postEvents(t, d.addr, ps)
	d.waitApplied(t, 20*time.Second, 4)
	waitFor(t, 20*time.Second, "the real transcript's tokens", func() (bool, error) {
		mfs, err := d.metrics()
		if err != nil {
			return false, err
		}
		return sum(mfs, "claude_hooks_tokens_total", nil) >= 6, nil
	})
	postEvents(t, d.addr, ps[1:2]) // another Stop: the link is polled again
	d.waitApplied(t, 20*time.Second, 5)
	mfs, err := d.metrics()
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(mfs, "claude_hooks_tokens_total", nil); got != 6 {
		t.Errorf("tokens_total = %v, want 6 (the file outside the allowed directories was read through a link)", got)
	}
}
