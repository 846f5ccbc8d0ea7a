package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// cmpBytes compares payloads as a whole: element by element is slow.
var cmpBytes = cmp.Comparer(bytes.Equal)

// modes are the three ways a client receives events: live from the moment it
// connects, or resumed from the store or from the ring.
var modes = []string{"live", "resume-store", "resume-ring"}

func newModeBroker(mode string, store *memStore, opts Options) *Broker {
	if mode == "resume-store" {
		opts.Replay = store.EventsAfter
	}
	return New(opts)
}

func TestFilter(t *testing.T) {
	const n = 60
	cases := []struct {
		name  string
		query string
	}{
		{"all", ""},
		{"session", "session=sess-b"},
		{"events", "event=PreToolUse,PostToolUseFailure"},
		{"events repeated", "event=PreToolUse&event=Notification"},
		{"tool", "tool=mcp__github__create_issue"},
		{"agent id", "agent=agent-1"},
		{"agent type", "agent=Explore"},
		{"outcome", "outcome=denied"},
		{"text case-insensitive", "q=" + url.QueryEscape("GO TEST")},
		{"text cjk", "q=" + url.QueryEscape("プロンプト")},
		{"text in error", "q=fail+testthing"},
		{"text in tool", "q=github"},
		{"time range", "from=" + strconv.FormatInt(baseTime.Add(10*time.Millisecond).UnixMilli(), 10) + "&to=" + baseTime.Add(20*time.Millisecond).Format(time.RFC3339Nano)},
		{"combined", "session=sess-a&tool=Bash&outcome=success"},
	}
	for _, mode := range modes {
		for _, tc := range cases {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				q, err := url.ParseQuery(tc.query)
				if err != nil {
					t.Fatal(err)
				}
				f, err := wire.ParseFilter(q)
				if err != nil {
					t.Fatal(err)
				}
				store := &memStore{}
				b := newModeBroker(mode, store, Options{})
				srv := startServer(t, b)
				fd := &feed{b: b, store: store, size: 200}

				var c *sseConn
				if mode == "live" {
					c = dial(t, srv, tc.query, "")
				}
				var all []wire.Event
				for range n / 10 {
					all = append(all, fd.publish(10)...)
				}
				if mode != "live" {
					c = dial(t, srv, tc.query, "0")
				}
				var want []int64
				for i := range all {
					if f.Match(&all[i]) {
						want = append(want, all[i].Seq)
					}
				}
				if len(want) == 0 {
					t.Fatalf("filter %q matches no fixture event: the case tests nothing", tc.query)
				}
				// A last event that matches (a copy of the first match) ends
				// the read: anything wrongly let through comes before it.
				sentinel := all[want[0]-1]
				sentinel.Seq, sentinel.ID = int64(n+1), "sentinel"
				store.add([]wire.Event{sentinel})
				b.Publish([]wire.Event{sentinel})
				want = append(want, sentinel.Seq)

				var got []int64
				for {
					ev := c.nextEvent(t)
					got = append(got, ev.Seq)
					if ev.Seq == sentinel.Seq {
						break
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("seqs (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestMatcherAgreesWithFilter checks that the broker's prepared matcher gives
// wire.Filter.Match's answers, including the case-insensitive text query.
func TestMatcherAgreesWithFilter(t *testing.T) {
	filters := []wire.Filter{
		{},
		{Text: "GO test"},
		{Text: "ÉCOLE"},
		{Text: "検索"},
		{Text: "bash"},
		{Text: "exit CODE"},
		{Text: "nothing matches this"},
		{SessionID: "sess-a", Text: "main.go"},
		{Events: []string{"Notification"}, Text: "PERMISSION"},
	}
	var evs []wire.Event
	for i := range 40 {
		evs = append(evs, testEvent(i, 0))
	}
	evs = append(evs, wire.Event{Summary: "L'école est fermée"}, wire.Event{Tool: "BASH"})
	matched := 0
	for _, f := range filters {
		m := newMatcher(f)
		for i := range evs {
			var low lowered
			want := f.Match(&evs[i])
			if got := m.match(&evs[i], &low); got != want {
				t.Errorf("filter %+v, event %d (%q): matcher %v, Filter.Match %v", f, i, evs[i].Summary, got, want)
			}
			if want {
				matched++
			}
		}
	}
	if matched == 0 || matched == len(filters)*len(evs) {
		t.Fatalf("%d of %d pairs matched: the table does not discriminate", matched, len(filters)*len(evs))
	}
}

func TestOrderUnderConcurrentPublish(t *testing.T) {
	const total = 5000
	b := New(Options{})
	srv := startServer(t, b)
	fd := &feed{b: b, size: 100}
	clients := []*sseConn{dial(t, srv, "", ""), dial(t, srv, "", "")}

	done := make(chan struct{})
	go func() {
		defer close(done)
		for sent, size := 0, 1; sent < total; size = size%37 + 1 {
			k := min(size, total-sent)
			fd.publish(k)
			sent += k
		}
	}()
	for _, c := range clients {
		var got []int64
		for len(got) == 0 || got[len(got)-1] < total {
			got = append(got, c.nextEvent(t).Seq)
		}
		diffSeqs(t, seqRange(1, total), got)
	}
	<-done
	if d := b.Dropped(); d != 0 {
		t.Errorf("Dropped() = %d, want 0", d)
	}
}

func TestResume(t *testing.T) {
	for _, mode := range []string{"resume-store", "resume-ring"} {
		for _, via := range []string{"header", "param"} {
			t.Run(mode+"/"+via, func(t *testing.T) {
				store := &memStore{}
				b := newModeBroker(mode, store, Options{})
				b.replayPage = 64 // cross page boundaries
				srv := startServer(t, b)
				fd := &feed{b: b, store: store, size: 300}

				c := dial(t, srv, "", "")
				fd.publish(10)
				var last int64
				for range 10 {
					last = c.nextEvent(t).Seq
				}
				c.close()

				var published []wire.Event
				for range 20 {
					published = append(published, fd.publish(50)...)
				}
				id := strconv.FormatInt(last, 10)
				if via == "header" {
					c = dial(t, srv, "", id)
				} else {
					c = dial(t, srv, "last_event_id="+id, "")
				}
				var got []wire.Event
				for range 1000 {
					got = append(got, c.nextEvent(t))
				}
				if diff := cmp.Diff(published, got, cmpBytes); diff != "" {
					t.Fatalf("resumed events (-want +got):\n%s", diff)
				}
				// Exactly those: the next message is the next event published.
				next := fd.publish(1)
				if ev := c.nextEvent(t); ev.Seq != next[0].Seq {
					t.Errorf("after the 1000 resumed events got seq %d, want %d", ev.Seq, next[0].Seq)
				}
				if mode == "resume-store" {
					store.mu.Lock()
					calls := store.calls
					store.mu.Unlock()
					if calls < 1000/64 {
						t.Errorf("store read %d times, want paged reads (>= %d)", calls, 1000/64)
					}
				}
			})
		}
	}
}

// TestResumeAcrossLiveBoundary resumes while events keep arriving: some are
// published during the replay itself (so the store answers with events the
// subscriber also has in its buffer) and a second goroutine publishes all
// along. The client must see every seq after its resume point exactly once.
func TestResumeAcrossLiveBoundary(t *testing.T) {
	const (
		before = 500
		during = 300
		total  = 3000
	)
	for _, mode := range []string{"resume-store", "resume-ring"} {
		for _, from := range []int64{0, 1, 99, before - 1, before} {
			t.Run(fmt.Sprintf("%s/after-%d", mode, from), func(t *testing.T) {
				store := &memStore{}
				b := newModeBroker(mode, store, Options{})
				b.replayPage = 7
				srv := startServer(t, b)
				fd := &feed{b: b, store: store, size: 100}
				for range before / 50 {
					fd.publish(50)
				}
				start := make(chan struct{})
				store.during = func() {
					fd.publish(during)
					close(start)
				}
				afterDial := mode == "resume-ring" || from >= before
				if afterDial {
					// No store read to hook into: publish as soon as the client
					// is registered (so liveStart is exactly before), while its
					// backlog is being written.
					store.during = nil
				}
				var wg sync.WaitGroup
				wg.Go(func() {
					<-start
					for fd.publishUpTo(total, 13) {
					}
				})
				c := dial(t, srv, "", strconv.FormatInt(from, 10))
				if afterDial {
					close(start)
				}
				var got []int64
				for len(got) == 0 || got[len(got)-1] < total {
					got = append(got, c.nextEvent(t).Seq)
				}
				wg.Wait()
				diffSeqs(t, seqRange(from+1, total), got)
				if d := b.Dropped(); d != 0 {
					t.Errorf("Dropped() = %d, want 0", d)
				}
			})
		}
	}
}

func TestResumeFromAnotherNumbering(t *testing.T) {
	b := New(Options{AssignSeq: true})
	srv := startServer(t, b)
	b.Publish([]wire.Event{testEvent(1, 0), testEvent(2, 0)})
	// A client that saw seq 900 from a broker that restarted without a store
	// gets live events rather than waiting for seq 901.
	c := dial(t, srv, "", "900")
	b.Publish([]wire.Event{testEvent(3, 0)})
	if ev := c.nextEvent(t); ev.Seq != 3 || ev.ID != testEvent(3, 0).ID {
		t.Errorf("got seq %d id %s, want seq 3 id %s", ev.Seq, ev.ID, testEvent(3, 0).ID)
	}
}

func TestRingKeepsTheLastEvents(t *testing.T) {
	b := New(Options{RingSize: 10, AssignSeq: true})
	srv := startServer(t, b)
	for i := range 30 {
		b.Publish([]wire.Event{testEvent(i, 0)})
	}
	c := dial(t, srv, "", "5")
	var got []int64
	for range 10 {
		got = append(got, c.nextEvent(t).Seq)
	}
	if diff := cmp.Diff(seqRange(21, 30), got); diff != "" {
		t.Errorf("seqs (-want +got):\n%s", diff)
	}
}

// TestRingKeepsWithinItsBytes: the ring drops its oldest frames to stay
// within RingBytes, and a resume gets the newest ones it kept.
func TestRingKeepsWithinItsBytes(t *testing.T) {
	const limit = 5000
	b := New(Options{RingBytes: limit, AssignSeq: true})
	for i := range 30 {
		b.Publish([]wire.Event{testEvent(i, 1000)})
	}
	b.mu.Lock()
	n, size := b.ringLen, b.ringBytes
	sum := 0
	for i := range n {
		sum += len(b.ring[(b.ringPos-n+i+len(b.ring))%len(b.ring)].data)
	}
	b.mu.Unlock()
	if size > limit || size != sum || n < 3 || n > 4 {
		t.Fatalf("ring holds %d frames, %d bytes (counted %d); want 3 or 4 frames of ~1,100 bytes within %d", n, sum, size, limit)
	}
	srv := startServer(t, b)
	c := dial(t, srv, "", "0")
	var got []int64
	for range n {
		got = append(got, c.nextEvent(t).Seq)
	}
	if diff := cmp.Diff(seqRange(int64(31-n), 30), got); diff != "" {
		t.Errorf("seqs (-want +got):\n%s", diff)
	}
}

func TestPublishSeq(t *testing.T) {
	ev := func(seq int64) wire.Event {
		e := testEvent(int(seq), 0)
		e.Seq = seq
		return e
	}
	cases := []struct {
		name     string
		opts     Options
		batches  [][]wire.Event
		wantSeqs []int64
		wantLast int64
	}{
		{
			name:     "store seqs",
			batches:  [][]wire.Event{{ev(1), ev(2)}, {ev(3)}},
			wantSeqs: []int64{1, 2, 3},
			wantLast: 3,
		},
		{
			name:     "replayed after a crash",
			opts:     Options{StartSeq: 5},
			batches:  [][]wire.Event{{ev(4), ev(5), ev(6)}, {ev(6), ev(7)}, {ev(2)}},
			wantSeqs: []int64{6, 7},
			wantLast: 7,
		},
		{
			name:     "assigned",
			opts:     Options{AssignSeq: true, StartSeq: 100},
			batches:  [][]wire.Event{{ev(0), ev(0)}, {ev(50)}},
			wantSeqs: []int64{101, 102, 103},
			wantLast: 103,
		},
		{
			name:     "nothing",
			opts:     Options{StartSeq: 9},
			batches:  [][]wire.Event{nil, {ev(9)}},
			wantLast: 9,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.opts)
			s, _, _, err := b.subscribe(wire.Filter{}, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, batch := range tc.batches {
				b.Publish(batch)
			}
			var got []int64
			for len(s.ch) > 0 {
				fr := <-s.ch
				got = append(got, fr.seq)
				if !strings.HasPrefix(string(fr.data), "id: "+strconv.FormatInt(fr.seq, 10)+"\nevent: hook\ndata: {") || fr.ev.Payload != nil {
					t.Errorf("frame %d: data %q, payload kept %v", fr.seq, fr.data, fr.ev.Payload != nil)
				}
			}
			if diff := cmp.Diff(tc.wantSeqs, got); diff != "" {
				t.Errorf("seqs (-want +got):\n%s", diff)
			}
			if l := b.LastSeq(); l != tc.wantLast {
				t.Errorf("LastSeq() = %d, want %d", l, tc.wantLast)
			}
		})
	}
}

// TestPublishUnwatched: with the store replaying and no one subscribed,
// Publish only advances LastSeq; a stream that connects afterwards and
// resumes from the start gets those events from the store, then live ones,
// each once and in order.
func TestPublishUnwatched(t *testing.T) {
	store := &memStore{}
	b := New(Options{Replay: store.EventsAfter})
	fd := &feed{b: b, store: store, size: 100}
	before := fd.publish(40)
	if l := b.LastSeq(); l != 40 {
		t.Fatalf("LastSeq() = %d after 40 unwatched events, want 40", l)
	}
	if b.scratch.Len() != 0 {
		t.Errorf("Publish encoded %d bytes of frames with no subscriber", b.scratch.Len())
	}
	srv := startServer(t, b)
	c := dial(t, srv, "", "0")
	var got []wire.Event
	for range 40 {
		got = append(got, c.nextEvent(t))
	}
	after := fd.publish(5)
	for range 5 {
		got = append(got, c.nextEvent(t))
	}
	if diff := cmp.Diff(append(before, after...), got, cmpBytes); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestPublishKeepsNoReference checks that Publish neither changes the caller's
// events nor depends on them afterwards.
func TestPublishKeepsNoReference(t *testing.T) {
	b := New(Options{AssignSeq: true})
	s, _, _, err := b.subscribe(wire.Filter{}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	evs := []wire.Event{testEvent(1, 100)}
	orig := evs[0]
	orig.Payload = slices.Clone(evs[0].Payload)
	b.Publish(evs)
	if diff := cmp.Diff(orig, evs[0], cmpBytes); diff != "" {
		t.Errorf("Publish changed the caller's event (-before +after):\n%s", diff)
	}
	fr := <-s.ch
	before := string(fr.data)
	for i := range evs[0].Payload {
		evs[0].Payload[i] = '!'
	}
	evs[0] = wire.Event{}
	if string(fr.data) != before {
		t.Error("frame data changed with the caller's buffers")
	}
}

// TestStreamGolden pins the bytes of a stream: headers, events, and the error
// message a subscriber gets when it is dropped. The writer blocks the first
// write so the subscriber's one-event buffer overflows deterministically.
func TestStreamGolden(t *testing.T) {
	b := New(Options{Buffer: 1, AssignSeq: true, StartSeq: 41})
	w := newGatedWriter()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/stream?session=sess-b", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.ServeHTTP(w, req)
	}()
	<-w.flushed // headers sent: subscribed

	evs := []wire.Event{testEvent(1, 0), testEvent(4, 90), testEvent(7, 0), testEvent(10, 0)}
	d := 12.5
	evs[1].DurationMS = &d
	evs[1].Summary = `rm -rf "/tmp/日本" && echo <done>` + "\nline two"
	b.Publish(evs[:1])
	<-w.entered // the handler is writing the first event
	b.Publish(evs[1:2])
	b.Publish(evs[2:]) // the buffer holds one: this drops the subscriber
	if got := b.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d, want 1", got)
	}
	if got := b.Subscribers(); got != 0 {
		t.Errorf("Subscribers() = %d, want 0", got)
	}
	close(w.open)
	<-done

	var out strings.Builder
	fmt.Fprintf(&out, "status %d\n", w.code)
	for _, k := range []string{"Cache-Control", "Connection", "Content-Type", "X-Accel-Buffering"} {
		fmt.Fprintf(&out, "%s: %s\n", k, w.header.Get(k))
	}
	out.WriteString("\n")
	out.Write(w.buf.Bytes())
	golden(t, "stream.golden", out.String())
}

func TestBadRequest(t *testing.T) {
	cases := []struct {
		name, method, query, lastID string
	}{
		{"outcome", http.MethodGet, "outcome=maybe", ""},
		{"from", http.MethodGet, "from=yesterday", ""},
		{"to", http.MethodGet, "to=2026-13-01", ""},
		{"to before from", http.MethodGet, "from=2000&to=1000", ""},
		{"last_event_id not a number", http.MethodGet, "last_event_id=abc", ""},
		{"last_event_id negative", http.MethodGet, "last_event_id=-1", ""},
		{"Last-Event-ID header", http.MethodGet, "", "12x"},
		{"header wins over param", http.MethodGet, "last_event_id=5", "nope"},
		{"post", http.MethodPost, "", ""},
	}
	b := New(Options{})
	defer b.Close()
	var out strings.Builder
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, "/api/v1/stream?"+tc.query, nil)
		if tc.lastID != "" {
			req.Header.Set("Last-Event-ID", tc.lastID)
		}
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			t.Errorf("%s: status 200", tc.name)
		}
		fmt.Fprintf(&out, "# %s: %s ?%s Last-Event-ID=%q\n%d %s %s", tc.name, tc.method, tc.query, tc.lastID,
			rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	if n := b.Subscribers(); n != 0 {
		t.Errorf("Subscribers() = %d after refused requests, want 0", n)
	}
	golden(t, "errors.golden", out.String())
}

func TestHeartbeat(t *testing.T) {
	b := New(Options{Heartbeat: 5 * time.Millisecond})
	srv := startServer(t, b)
	c := dial(t, srv, "", "")
	m, err := c.next()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(message{Comment: "heartbeat"}, m); diff != "" {
		t.Errorf("first message (-want +got):\n%s", diff)
	}
}

// TestServerTimeouts runs a stream on a server with short read and write
// timeouts: the stream outlives both (heartbeats every 5 ms, 30 of them) and
// still delivers events.
func TestServerTimeouts(t *testing.T) {
	b := New(Options{Heartbeat: 5 * time.Millisecond, AssignSeq: true})
	srv := httptest.NewUnstartedServer(b)
	srv.Config.ReadTimeout = 40 * time.Millisecond
	srv.Config.WriteTimeout = 40 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(b.Close)
	c := dial(t, srv, "", "")
	for range 30 {
		m, err := c.next()
		if err != nil {
			t.Fatalf("stream ended early: %v", err)
		}
		if m.Comment != "heartbeat" {
			t.Fatalf("got %+v, want a heartbeat", m)
		}
	}
	b.Publish([]wire.Event{testEvent(1, 0)})
	if ev := c.nextEvent(t); ev.Seq != 1 {
		t.Errorf("seq %d, want 1", ev.Seq)
	}
}

func TestClose(t *testing.T) {
	b := New(Options{AssignSeq: true})
	srv := startServer(t, b)
	clients := []*sseConn{dial(t, srv, "", ""), dial(t, srv, "session=sess-a", ""), dial(t, srv, "", "0")}
	if n := b.Subscribers(); n != 3 {
		t.Fatalf("Subscribers() = %d, want 3", n)
	}
	b.Close()
	for i, c := range clients {
		rest, err := io.ReadAll(c.br)
		if err != nil {
			t.Errorf("client %d: %v", i, err)
		}
		if len(rest) != 0 {
			t.Errorf("client %d: got %q after Close, want nothing", i, rest)
		}
	}
	if n := b.Subscribers(); n != 0 {
		t.Errorf("Subscribers() = %d after Close, want 0", n)
	}
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d %s, want 503", resp.StatusCode, body)
	}
	b.Publish([]wire.Event{testEvent(1, 0)}) // still accepted
	if l := b.LastSeq(); l != 1 {
		t.Errorf("LastSeq() = %d, want 1", l)
	}
	b.Close() // idempotent
}

func TestReplayError(t *testing.T) {
	fail := errors.New("disk on fire")
	b := New(Options{StartSeq: 10, Replay: func(context.Context, int64, wire.Filter, int) ([]wire.Event, error) {
		return nil, fail
	}})
	srv := startServer(t, b)
	c := dial(t, srv, "", "3")
	m, err := c.next()
	if err != nil {
		t.Fatal(err)
	}
	want := message{Event: "error", Data: `{"error":"reading past events failed; reconnect with Last-Event-ID"}`}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if _, err := c.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the error: %v, want EOF", err)
	}
}

func golden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestResumeWaitsForTheStore: events are published before the store commits
// them; a resume waits (WaitStored) until they can be read back rather than
// skip them.
func TestResumeWaitsForTheStore(t *testing.T) {
	store := &memStore{}
	var waitedFor atomic.Int64
	committed := make(chan struct{})
	b := New(Options{Replay: store.EventsAfter, WaitStored: func(ctx context.Context, seq int64) error {
		waitedFor.Store(seq)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-committed:
			return nil
		}
	}})
	srv := startServer(t, b)
	fd := &feed{b: b, store: store, size: 100}
	c := dial(t, srv, "", "")
	fd.publish(10)
	for range 10 {
		c.nextEvent(t)
	}
	c.close()

	// Published, not stored yet.
	fd.store = nil
	lagging := fd.publish(100)
	go func() {
		for waitedFor.Load() == 0 {
			runtime.Gosched()
		}
		store.add(lagging)
		close(committed)
	}()
	c = dial(t, srv, "", "10")
	var got []wire.Event
	for range 100 {
		got = append(got, c.nextEvent(t))
	}
	diffSeqs(t, seqRange(11, 110), seqs(got))
	if w := waitedFor.Load(); w != 110 {
		t.Errorf("WaitStored(%d), want the live start 110", w)
	}
}

// TestResumeAheadOfStore (issue 14, item 3): after a crash the store has
// committed less than the stream delivered, and the pipeline's replay
// publishes those events again under the same seqs. A client resuming with
// the last id it saw gets only what follows it, each event once.
func TestResumeAheadOfStore(t *testing.T) {
	store := &memStore{}
	// Before the crash: seqs 1..20 were streamed, 1..10 committed.
	all := make([]wire.Event, 30)
	for i := range all {
		all[i] = testEvent(i+1, 50)
		all[i].Seq = int64(i + 1)
	}
	store.add(all[:10])
	b := New(Options{Replay: store.EventsAfter, StartSeq: 10})
	srv := startServer(t, b)
	c := dial(t, srv, "", "20") // subscribed once its headers arrive
	// The replay after the crash: 11..20 again, then new ones 21..30.
	store.add(all[10:])
	b.Publish(all[10:20])
	b.Publish(all[20:])
	var got []wire.Event
	for range 10 {
		got = append(got, c.nextEvent(t))
	}
	diffSeqs(t, seqRange(21, 30), seqs(got))
}
