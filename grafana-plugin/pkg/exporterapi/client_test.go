package exporterapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/exporterapi"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newClient(tb testing.TB, url, token string) *exporterapi.Client {
	tb.Helper()
	c, err := exporterapi.New(exporterapi.Options{URL: url, Token: token, UserAgent: "test/1"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

func serve(tb testing.TB, h http.HandlerFunc) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "  ", "127.0.0.1:9469", "ftp://host", "http://", "http://%zz"} {
		if _, err := exporterapi.New(exporterapi.Options{URL: u}); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

// Requests carry the token, the user agent and the path prefix of the URL.
func TestRequests(t *testing.T) {
	type seen struct{ path, query, auth, ua string }
	got := make(chan seen, 10)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("User-Agent")}
		switch {
		case strings.HasSuffix(r.URL.Path, "/status"):
			fmt.Fprint(w, `{"service":"claude-hooks-exporter","version":"v1"}`)
		case strings.HasSuffix(r.URL.Path, "/events"):
			fmt.Fprint(w, `{"events":[{"seq":1,"id":"a","time":"2026-05-01T10:00:00Z","session_id":"s","event":"Stop"}],"next_cursor":"n"}`)
		case strings.HasSuffix(r.URL.Path, "/sessions"):
			fmt.Fprint(w, `{"sessions":[]}`)
		default:
			fmt.Fprint(w, `{"session":{"session_id":"a b"},"spans":[]}`)
		}
	})
	c := newClient(t, srv.URL+"/exporter/", "tok")
	ctx := context.Background()
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := c.Events(ctx, exporterapi.EventsQuery{
		Filter: wire.Filter{Tool: "Bash", Events: []string{"PreToolUse", "Stop"}, From: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)},
		Limit:  10, Cursor: "c1", Ascending: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].Seq != 1 || page.NextCursor != "n" {
		t.Errorf("events page %+v", page)
	}
	active := true
	if _, err := c.Sessions(ctx, exporterapi.SessionsQuery{Active: &active, Text: "rm -rf", Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Session(ctx, "a b"); err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"/exporter/api/v1/status", "", "Bearer tok", "test/1"},
		{"/exporter/api/v1/events", "cursor=c1&event=PreToolUse%2CStop&from=2026-05-01T10%3A00%3A00Z&limit=10&order=asc&tool=Bash", "Bearer tok", "test/1"},
		{"/exporter/api/v1/sessions", "active=true&limit=5&q=rm+-rf", "Bearer tok", "test/1"},
		{"/exporter/api/v1/sessions/a b", "", "Bearer tok", "test/1"},
	}
	for i, w := range want {
		if g := <-got; g != w {
			t.Errorf("request %d: got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		h       http.HandlerFunc
		check   func(error) bool
		wantErr string
	}{
		{name: "401", h: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"missing or wrong bearer token"}`)
		}, check: func(err error) bool {
			var se *exporterapi.StatusError
			return errors.As(err, &se) && se.Code == 401
		}, wantErr: "GET /api/v1/status: 401 Unauthorized: missing or wrong bearer token"},
		{name: "404 text", h: http.NotFound, check: func(err error) bool {
			var se *exporterapi.StatusError
			return errors.As(err, &se) && se.Code == 404
		}, wantErr: "GET /api/v1/status: 404 Not Found: 404 page not found"},
		{name: "not json", h: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }, check: func(err error) bool {
			var pe *exporterapi.ProtocolError
			return errors.As(err, &pe)
		}, wantErr: "GET /api/v1/status: unexpected answer: decode JSON: invalid character 'h' looking for beginning of value"},
		{name: "other service", h: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"success"}`) }, check: func(err error) bool {
			return errors.Is(err, exporterapi.ErrNotExporter)
		}, wantErr: `GET /api/v1/status: unexpected answer: not a claude-hooks-exporter: service is ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newClient(t, serve(t, tt.h).URL, "").Status(context.Background())
			if err == nil || !tt.check(err) || err.Error() != tt.wantErr {
				t.Errorf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
	srv := serve(t, http.NotFound)
	url := srv.URL
	srv.Close()
	if _, err := newClient(t, url, "").Status(context.Background()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed port: %v, want ECONNREFUSED", err)
	}
}

func TestStream(t *testing.T) {
	const body = ": heartbeat\n\n" +
		"id: 7\nevent: hook\ndata: {\"seq\":7,\"id\":\"a\",\"time\":\"2026-05-01T10:00:00Z\",\"session_id\":\"s\",\"event\":\"PreToolUse\",\"payload\":\"eyJhIjoxfQ==\",\"tool\":\"Bash\"}\n\n" +
		"retry: 1000\n\n" + // no data: nothing to dispatch
		"event: unknown\ndata: {}\n\n" +
		"id: 9\r\nevent: hook\r\ndata: {\"seq\":0,\"id\":\"b\",\r\ndata: \"time\":\"2026-05-01T10:00:01Z\",\"session_id\":\"s\",\"event\":\"Stop\"}\r\n\r\n" +
		"event: error\ndata: {\"error\":\"stream subscriber fell behind; reconnect with Last-Event-ID\"}\n\n"
	var lastID, query string
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		lastID, query = r.Header.Get("Last-Event-ID"), r.URL.RawQuery
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, body)
	})
	c := newClient(t, srv.URL, "")
	var got []wire.Event
	opened := false
	err := c.Stream(context.Background(), exporterapi.StreamOptions{
		Filter: wire.Filter{Outcome: "failure", From: time.Now()}, After: 6, OnOpen: func() { opened = true },
	}, func(ev *wire.Event) error {
		got = append(got, *ev)
		return nil
	})
	var ee *exporterapi.EventError
	if !errors.As(err, &ee) || ee.Message != "stream subscriber fell behind; reconnect with Last-Event-ID" {
		t.Errorf("Stream = %v, want the exporter's error event", err)
	}
	if lastID != "6" || query != "outcome=failure" || !opened {
		t.Errorf("Last-Event-ID %q, query %q, opened %v; want 6, outcome=failure (no time range), true", lastID, query, opened)
	}
	var seqs []int64
	var names []string
	for _, ev := range got {
		seqs, names = append(seqs, ev.Seq), append(names, ev.Event)
	}
	if diff := cmp.Diff([]int64{7, 9}, seqs); diff != "" {
		t.Errorf("seqs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"PreToolUse", "Stop"}, names); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if len(got) > 0 && (got[0].Payload != nil || got[0].Tool != "Bash") {
		t.Errorf("first event: payload %q, tool %q; want no payload (skipped), tool Bash", got[0].Payload, got[0].Tool)
	}
}

func TestStreamEnds(t *testing.T) {
	t.Run("closed by the exporter", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, ": heartbeat\n\n") })
		err := newClient(t, srv.URL, "").Stream(context.Background(), exporterapi.StreamOptions{}, func(*wire.Event) error { return nil })
		if !errors.Is(err, exporterapi.ErrStreamClosed) {
			t.Errorf("Stream = %v, want ErrStreamClosed", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"query parameter \"outcome\": want one of success, failure, interrupted, denied"}`)
		})
		err := newClient(t, srv.URL, "").Stream(context.Background(), exporterapi.StreamOptions{}, func(*wire.Event) error { return nil })
		var se *exporterapi.StatusError
		if !errors.As(err, &se) || se.Code != 400 {
			t.Errorf("Stream = %v, want a 400 StatusError", err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		err := newClient(t, srv.URL, "").Stream(context.Background(), exporterapi.StreamOptions{IdleTimeout: 20 * time.Millisecond}, func(*wire.Event) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "stream silent for 20ms") {
			t.Errorf("Stream = %v, want the idle timeout", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(context.Background())
		err := newClient(t, srv.URL, "").Stream(ctx, exporterapi.StreamOptions{OnOpen: cancel}, func(*wire.Event) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Stream = %v, want context.Canceled", err)
		}
	})
	t.Run("callback error", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "id: 1\nevent: hook\ndata: {\"seq\":1}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		stop := errors.New("stop")
		err := newClient(t, srv.URL, "").Stream(context.Background(), exporterapi.StreamOptions{}, func(*wire.Event) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("Stream = %v, want the callback's error", err)
		}
	})
	t.Run("bad event", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "event: hook\ndata: {\n\n") })
		err := newClient(t, srv.URL, "").Stream(context.Background(), exporterapi.StreamOptions{}, func(*wire.Event) error { return nil })
		var pe *exporterapi.ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("Stream = %v, want a ProtocolError", err)
		}
	})
}

// A data line longer than the reader's buffer is read whole.
func TestStreamLongLine(t *testing.T) {
	summary := strings.Repeat("x", 200<<10)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "id: 1\nevent: hook\ndata: {\"seq\":1,\"summary\":%q}\n\n", summary)
	})
	var got string
	err := newClient(t, srv.URL, "").Stream(context.Background(), exporterapi.StreamOptions{}, func(ev *wire.Event) error {
		got = ev.Summary
		return nil
	})
	if !errors.Is(err, exporterapi.ErrStreamClosed) || got != summary {
		t.Errorf("Stream = %v, summary of %d bytes; want ErrStreamClosed and %d bytes", err, len(got), len(summary))
	}
}
