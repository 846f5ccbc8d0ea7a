package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// sseClient reads the daemon's live stream.
type sseClient struct {
	resp   *http.Response
	events chan wire.Event
	errs   chan error
	cancel context.CancelFunc
}

// openStream connects to /api/v1/stream with a query and an optional
// Last-Event-ID; events are delivered on the channel in arrival order.
func openStream(tb testing.TB, addr, query, lastID string) *sseClient {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/stream?"+query, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		cancel()
		tb.Fatalf("stream: %s: %s", resp.Status, b)
	}
	c := &sseClient{resp: resp, events: make(chan wire.Event, 100000), errs: make(chan error, 1), cancel: cancel}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var id, event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "event: "):
				event = line[7:]
			case strings.HasPrefix(line, "data: "):
				if event != "hook" {
					c.errs <- fmt.Errorf("stream sent %s: %s", event, line[6:])
					return
				}
				var ev wire.Event
				if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil {
					c.errs <- err
					return
				}
				if strconv.FormatInt(ev.Seq, 10) != id {
					c.errs <- fmt.Errorf("id %s for seq %d", id, ev.Seq)
					return
				}
				c.events <- ev
			}
		}
		close(c.events)
	}()
	tb.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next waits for n events.
func (c *sseClient) next(tb testing.TB, n int, timeout time.Duration) []wire.Event {
	tb.Helper()
	out := make([]wire.Event, 0, n)
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case ev, ok := <-c.events:
			if !ok {
				tb.Fatalf("stream ended after %d of %d events", len(out), n)
			}
			out = append(out, ev)
		case err := <-c.errs:
			tb.Fatal(err)
		case <-deadline:
			tb.Fatalf("got %d of %d events in %s", len(out), n, timeout)
		}
	}
	return out
}

// postEvents sends payloads in one POST /v1/events.
func postEvents(tb testing.TB, addr string, payloads []string) {
	tb.Helper()
	resp, err := http.Post("http://"+addr+"/v1/events", "application/x-ndjson", strings.NewReader(strings.Join(payloads, "\n")))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("POST /v1/events: %s %s", resp.Status, b)
	}
}

func notification(session string, i int) string {
	return fmt.Sprintf(`{"session_id":%q,"hook_event_name":"Notification","notification_type":"idle_prompt","message":"event %d"}`, session, i)
}

// TestStreamResumeFromStore: a client disconnects, 1,000 events arrive, it
// reconnects with Last-Event-ID and receives exactly those 1,000, in order,
// from the daemon's store; then live events continue without a gap.
func TestStreamResumeFromStore(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	const sid = "2b7c9e1a-4d3f-4a6b-8c2d-9e0f1a2b3c4d"
	c := openStream(t, d.addr, "session="+sid, "")
	var first []string
	for i := range 10 {
		first = append(first, notification(sid, i))
	}
	postEvents(t, d.addr, first)
	got := c.next(t, 10, 30*time.Second)
	last := got[len(got)-1].Seq
	c.close()

	var more []string
	for i := 10; i < 1010; i++ {
		more = append(more, notification(sid, i))
	}
	// Another session's events must not leak into the filtered stream.
	more = append(more, notification("other-session", 0))
	postEvents(t, d.addr, more)
	waitFor(t, 30*time.Second, "1,001 more events applied", func() (bool, error) {
		mfs, err := d.metrics()
		if err == nil && sum(mfs, "claude_hooks_events_total", nil) != 1011 {
			err = fmt.Errorf("events_total %v, want 1011", sum(mfs, "claude_hooks_events_total", nil))
		}
		return err == nil, err
	})

	c2 := openStream(t, d.addr, "session="+sid, strconv.FormatInt(last, 10))
	resumed := c2.next(t, 1000, 30*time.Second)
	for i, ev := range resumed {
		if want := fmt.Sprintf("event %d", i+10); ev.Summary != want {
			t.Fatalf("resumed event %d: summary %q, want %q", i, ev.Summary, want)
		}
		if i > 0 && ev.Seq <= resumed[i-1].Seq {
			t.Fatalf("resumed events out of order at %d: %d after %d", i, ev.Seq, resumed[i-1].Seq)
		}
	}
	postEvents(t, d.addr, []string{notification(sid, 5000)})
	if ev := c2.next(t, 1, 30*time.Second)[0]; ev.Summary != "event 5000" {
		t.Fatalf("after the replay the live event was %q, want event 5000 (no gap, no duplicate)", ev.Summary)
	}
}
