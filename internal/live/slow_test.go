package live

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// TestSlowSubscriber connects a client that never reads (a raw TCP connection,
// so the kernel's socket buffers fill and the server's writes block) and a
// client that reads everything. 200,000 events of about 1 KiB are published
// (25,000 under the race detector; the slow client is dropped after ~3,000):
// the slow client is dropped and counted, the fast one receives every event in
// order, and Publish never waits (if it did, this test would hang: nothing
// reads the slow connection until publishing is over). Then the slow client
// reads: a contiguous prefix of the events, the error message, the end.
func TestSlowSubscriber(t *testing.T) {
	total := int64(200_000)
	if raceEnabled {
		total = 25_000
	}
	const (
		batch  = 100
		buffer = 1024
		window = buffer / 2 // the fast client is never further behind than this
	)
	b := New(Options{AssignSeq: true, Buffer: buffer, WriteTimeout: time.Minute})
	srv := startServer(t, b)

	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "GET /api/v1/stream HTTP/1.1\r\nHost: live.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	slowResp, err := http.ReadResponse(bufio.NewReaderSize(slow, 512), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slowResp.Body.Close()
	if slowResp.StatusCode != http.StatusOK {
		t.Fatalf("slow client: status %d", slowResp.StatusCode)
	}

	fast := dial(t, srv, "", "")
	if n := b.Subscribers(); n != 2 {
		t.Fatalf("Subscribers() = %d, want 2", n)
	}

	// The fast reader checks order as it goes and reports progress.
	var received atomic.Int64
	progress := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	go func() {
		readErr <- func() error {
			for want := int64(1); want <= total; want++ {
				m, err := fast.next()
				if err != nil {
					return fmt.Errorf("after seq %d: %w", want-1, err)
				}
				if m.Comment == "heartbeat" {
					want--
					continue
				}
				if m.Event != "hook" || m.ID != strconv.FormatInt(want, 10) {
					return fmt.Errorf("got message %q %q, want hook event %d", m.Event, m.ID, want)
				}
				received.Store(want)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
			return nil
		}()
	}()

	evs := make([]wire.Event, batch)
	for i := range evs {
		evs[i] = testEvent(i, 1024)
	}
	var maxPublish time.Duration
	for published := int64(0); published < total; published += batch {
		for published-received.Load() > window {
			select {
			case <-progress:
			case err := <-readErr:
				t.Fatalf("fast client stopped: %v", err)
			}
		}
		start := time.Now()
		b.Publish(evs)
		maxPublish = max(maxPublish, time.Since(start))
	}
	if err := <-readErr; err != nil {
		t.Fatalf("fast client: %v", err)
	}
	t.Logf("longest Publish of %d events: %v", batch, maxPublish)
	if d := b.Dropped(); d != 1 {
		t.Errorf("Dropped() = %d, want 1", d)
	}
	if n := b.Subscribers(); n != 1 {
		t.Errorf("Subscribers() = %d, want 1 (the fast client)", n)
	}

	// The slow client now reads what was queued for it, then the error.
	slowConn := &sseConn{resp: slowResp, br: bufio.NewReaderSize(slowResp.Body, 64<<10), cancel: func() {}}
	var last int64
	for {
		m, err := slowConn.next()
		if err != nil {
			t.Fatalf("slow client after seq %d: %v, want the error message", last, err)
		}
		if m.Comment == "heartbeat" {
			continue
		}
		if m.Event == "error" {
			want := `{"error":"stream subscriber fell behind; reconnect with Last-Event-ID"}`
			if m.Data != want || m.ID != "" {
				t.Errorf("error message: id %q data %s, want no id and %s", m.ID, m.Data, want)
			}
			break
		}
		if m.ID != strconv.FormatInt(last+1, 10) {
			t.Fatalf("slow client: id %q after %d", m.ID, last)
		}
		last++
	}
	if _, err := slowConn.next(); !errors.Is(err, io.EOF) {
		t.Errorf("slow client after the error: %v, want EOF", err)
	}
	if last >= total-buffer {
		t.Errorf("slow client got %d events before being dropped: it was not slow", last)
	}
	t.Logf("slow client received %d events, then the error", last)
}
