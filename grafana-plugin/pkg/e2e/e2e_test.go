package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/frametest"
	"github.com/claudehooks/claude-hooks-exporter/grafana-plugin/pkg/plugin"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

const (
	uid = "claude-hooks"
	// scriptedSession is the session of testdata/session.jsonl.
	scriptedSession = "5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13"
	liveSession     = "e2e0c0de-1111-4222-8333-944455556666"
)

// livePayload is a PreToolUse of the live session whose Bash command is the
// marker the test follows.
func livePayload(marker string) []byte {
	return fmt.Appendf(nil, `{"session_id":%q,"cwd":"/home/dev/src/e2e","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":%q},"tool_use_id":"toolu_%s"}`,
		liveSession, marker, strings.ReplaceAll(marker, "-", "_"))
}

func markers(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("echo %s-%03d", prefix, i)
	}
	return out
}

func frames(tb testing.TB, dr *pluginv2.DataResponse) data.Frames {
	tb.Helper()
	if dr == nil {
		tb.Fatal("no response")
	}
	if dr.Error != "" {
		tb.Fatalf("query error: %s", dr.Error)
	}
	fs, err := data.UnmarshalArrowFrames(dr.Frames)
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}

func fieldNames(f *data.Frame) []string {
	var out []string
	for _, fld := range f.Fields {
		out = append(out, fld.Name)
	}
	return out
}

func column[T any](tb testing.TB, f *data.Frame, name string) []T {
	tb.Helper()
	fld, _ := f.FieldByName(name)
	if fld == nil {
		tb.Fatalf("frame %q has no field %q (fields %v)", f.Name, name, fieldNames(f))
	}
	out := make([]T, fld.Len())
	for i := range out {
		v, ok := fld.At(i).(T)
		if !ok {
			tb.Fatalf("field %q row %d is %T", name, i, fld.At(i))
		}
		out[i] = v
	}
	return out
}

// The plugin, run as Grafana runs it, against a real exporter fed by the real
// hook: health, every query type, and a live stream that survives an exporter
// restart without losing or repeating an event.
func TestPluginAgainstExporter(t *testing.T) {
	exp := startExporter(t)
	script := readLines(t, "session.jsonl")
	hook(t, exp.spoolDir, script...)
	exp.waitApplied(uint64(len(script)))
	start := time.Now()

	p := startPlugin(t)
	pc := dsSettings(uid, exp.url(), "")

	t.Run("CheckHealth", func(t *testing.T) {
		res, err := p.diagnostics.CheckHealth(ctxTimeout(t, 10*time.Second), &pluginv2.CheckHealthRequest{PluginContext: pc})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(": %d events applied, ingest lag ", len(script))
		if res.Status != pluginv2.CheckHealthResponse_OK || !strings.HasPrefix(res.Message, "Connected to claude-hooks-exporter ") || !contains(res.Message, want) {
			t.Errorf("CheckHealth = %v %q, want OK, connected, %q", res.Status, res.Message, want)
		}
	})

	query := func(t *testing.T, queryType string, model map[string]any) *pluginv2.DataResponse {
		t.Helper()
		return p.query(t, pc, queryType, model, start.Add(-time.Hour))
	}

	t.Run("QueryData/events", func(t *testing.T) {
		fs := frames(t, query(t, "events", map[string]any{}))
		if len(fs) != 1 {
			t.Fatalf("%d frames", len(fs))
		}
		f := fs[0]
		if diff := cmp.Diff([]string{"time", "session", "event", "tool", "agent", "summary", "duration", "outcome", "seq"}, fieldNames(f)); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
		if f.Rows() != len(script) {
			t.Errorf("%d rows, want %d", f.Rows(), len(script))
		}
		names := column[string](t, f, "event")
		if names[0] != "SessionEnd" || names[len(names)-1] != "Setup" {
			t.Errorf("events %v: want newest first, SessionEnd to Setup", names)
		}
		seqs := column[int64](t, f, "seq")
		if !slices.IsSortedFunc(seqs, func(a, b int64) int { return int(b - a) }) {
			t.Errorf("seqs %v not descending", seqs)
		}
		for _, s := range column[string](t, f, "session") {
			if s != scriptedSession {
				t.Fatalf("session %q", s)
			}
		}
	})

	t.Run("QueryData/events-filtered", func(t *testing.T) {
		f := frames(t, query(t, "events", map[string]any{"tool": "Bash", "outcome": "failure"}))[0]
		if got := column[string](t, f, "event"); !cmp.Equal(got, []string{"PostToolUseFailure"}) {
			t.Errorf("failed Bash events %v, want [PostToolUseFailure]", got)
		}
		if got := column[string](t, f, "summary"); len(got) != 1 || !contains(got[0], "npm test") {
			t.Errorf("summary %v, want the npm test command", got)
		}
	})

	t.Run("QueryData/sessions", func(t *testing.T) {
		f := frames(t, query(t, "sessions", map[string]any{}))[0]
		if got := column[string](t, f, "session"); !cmp.Equal(got, []string{scriptedSession}) {
			t.Fatalf("sessions %v", got)
		}
		if got := column[string](t, f, "status"); got[0] != "ended" {
			t.Errorf("status %q, want ended", got[0])
		}
		if got := column[int64](t, f, "events"); got[0] != int64(len(script)) {
			t.Errorf("events %d, want %d", got[0], len(script))
		}
		fld, _ := f.FieldByName("session")
		if fld.Config == nil || len(fld.Config.Links) != 1 || fld.Config.Links[0].Internal == nil || fld.Config.Links[0].Internal.DatasourceUID != uid {
			t.Errorf("session field has no trace link: %+v", fld.Config)
		}
	})

	t.Run("QueryData/session-trace", func(t *testing.T) {
		f := frames(t, query(t, "session-trace", map[string]any{"session": scriptedSession}))[0]
		if f.Meta == nil || f.Meta.PreferredVisualization != data.VisTypeTrace {
			t.Errorf("meta %+v, want preferredVisualisationType trace", f.Meta)
		}
		if f.Rows() == 0 {
			t.Fatal("no spans")
		}
		ids := column[string](t, f, "spanID")
		parents := column[*string](t, f, "parentSpanID")
		roots := 0
		for i, p := range parents {
			if p == nil {
				roots++
				continue
			}
			if !slices.Contains(ids, *p) {
				t.Errorf("span %s: parent %s is not in the trace", ids[i], *p)
			}
		}
		if roots != 1 {
			t.Errorf("%d root spans, want 1 (the session has ended)", roots)
		}
		for _, tid := range column[string](t, f, "traceID") {
			if len(tid) != 32 {
				t.Fatalf("trace id %q", tid)
			}
		}
		ops := column[string](t, f, "operationName")
		if !slices.ContainsFunc(ops, func(s string) bool { return contains(s, "Bash") }) {
			t.Errorf("operations %v: no Bash tool span", ops)
		}
		for _, d := range column[float64](t, f, "duration") {
			if d < 0 {
				t.Errorf("negative duration %v", d)
			}
		}
	})

	t.Run("QueryData/event-rate", func(t *testing.T) {
		f := frames(t, query(t, "event-rate", map[string]any{}))[0]
		total := 0.0
		for _, fld := range f.Fields[1:] {
			for i := range fld.Len() {
				total += fld.At(i).(float64)
			}
		}
		if int(total) != len(script) || len(f.Fields)-1 != len(script) { // every event name occurs once in the script
			t.Errorf("counted %v events in %d series, want %d in %d", total, len(f.Fields)-1, len(script), len(script))
		}
	})

	var channel string
	t.Run("QueryData/live", func(t *testing.T) {
		f := frames(t, query(t, "live", map[string]any{"session": liveSession}))[0]
		channel = f.Meta.Channel
		if want, err := plugin.Channel(uid, wire.Filter{SessionID: liveSession}); err != nil || channel != want {
			t.Errorf("channel %q, want %q (%v)", channel, want, err)
		}
	})
	if channel == "" {
		t.Fatal("no live channel")
	}
	path := strings.TrimPrefix(channel, "ds/"+uid+"/")

	t.Run("PublishStream", func(t *testing.T) {
		res, err := p.stream.PublishStream(ctxTimeout(t, 5*time.Second), &pluginv2.PublishStreamRequest{PluginContext: pc, Path: path, Data: []byte(`{}`)})
		if err != nil || res.Status != pluginv2.PublishStreamResponse_PERMISSION_DENIED {
			t.Errorf("PublishStream = %v, %v; want permission denied", res, err)
		}
	})

	// Two events of the live session exist before anyone subscribes.
	before := markers("before", 2)
	for _, m := range before {
		hook(t, exp.spoolDir, livePayload(m))
	}
	exp.waitApplied(uint64(len(script) + len(before)))

	sub, err := p.stream.SubscribeStream(ctxTimeout(t, 10*time.Second), &pluginv2.SubscribeStreamRequest{PluginContext: pc, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != pluginv2.SubscribeStreamResponse_OK {
		t.Fatalf("SubscribeStream status %v", sub.Status)
	}
	var initial data.Frame
	if err := json.Unmarshal(sub.Data, &initial); err != nil {
		t.Fatalf("initial data: %v", err)
	}
	if got := column[string](t, &initial, "summary"); !cmp.Equal(got, before) {
		t.Errorf("initial data %v, want %v (oldest first)", got, before)
	}
	bad, err := p.stream.SubscribeStream(ctxTimeout(t, 10*time.Second), &pluginv2.SubscribeStreamRequest{PluginContext: pc, Path: "events/nope"})
	if err != nil || bad.Status != pluginv2.SubscribeStreamResponse_NOT_FOUND {
		t.Errorf("SubscribeStream of a bad path = %v, %v; want not found", bad, err)
	}

	streamCtx, cancelStream := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancelStream()
	rs, err := p.stream.RunStream(streamCtx, &pluginv2.RunStreamRequest{PluginContext: pc, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		seq     int64
		summary string
	}
	rows := make(chan row, 1000)
	recvErr := make(chan error, 1)
	go func() {
		var fr frametest.Reader
		for {
			pkt, err := rs.Recv()
			if err != nil {
				recvErr <- err
				close(rows)
				return
			}
			cols, err := fr.Columns(pkt.Data)
			if err != nil {
				recvErr <- err
				close(rows)
				return
			}
			for i := range cols["seq"] {
				if s := str(cols["session"][i]); s != liveSession {
					recvErr <- fmt.Errorf("streamed an event of session %q", s)
					close(rows)
					return
				}
				rows <- row{num(cols["seq"][i]), str(cols["summary"][i])}
			}
		}
	}()
	// The stream is upstream once the exporter counts its subscriber.
	waitFor(t, 20*time.Second, "the plugin's upstream stream", func() (bool, error) {
		st, err := exp.status()
		return err == nil && st.StreamSubscribers >= 1, nil
	})

	var got []row
	receive := func(n int) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for len(got) < n {
			select {
			case r, ok := <-rows:
				if !ok {
					t.Fatalf("stream ended after %d rows: %v\nplugin logs:\n%s", len(got), <-recvErr, p.logs)
				}
				got = append(got, r)
			case <-timeout:
				t.Fatalf("timed out with %d of %d rows: %v\nplugin logs:\n%s\nexporter logs:\n%s", len(got), n, got, p.logs, exp.logs)
			}
		}
	}

	live := markers("live", 20)
	for _, m := range live {
		hook(t, exp.spoolDir, livePayload(m))
	}
	receive(len(live))

	// Restart the exporter mid-stream: events written while it is down, and
	// after it is back, must all arrive once, in order.
	exp.stop()
	down := markers("down", 15)
	for _, m := range down {
		hook(t, exp.spoolDir, livePayload(m))
	}
	exp.start()
	after := markers("after", 15)
	for _, m := range after {
		hook(t, exp.spoolDir, livePayload(m))
	}
	receive(len(live) + len(down) + len(after))

	var summaries []string
	for i, r := range got {
		summaries = append(summaries, r.summary)
		if i > 0 && r.seq <= got[i-1].seq {
			t.Errorf("row %d: seq %d after %d", i, r.seq, got[i-1].seq)
		}
	}
	want := slices.Concat(live, down, after)
	if diff := cmp.Diff(want, summaries); diff != "" {
		t.Errorf("streamed events (-want +got):\n%s", diff)
	}
	// Nothing more (a duplicate) arrives once the exporter is idle.
	extra := markers("last", 1)
	hook(t, exp.spoolDir, livePayload(extra[0]))
	receive(len(want) + 1)
	if last := got[len(got)-1].summary; last != extra[0] {
		t.Errorf("after the restart, the next event streamed was %q, want %q (a duplicate?)", last, extra[0])
	}

	// Grafana ends RunStream by cancelling the call when the last subscriber
	// leaves; the plugin then closes its upstream connection.
	cancelStream()
	if err := <-recvErr; status.Code(err) != codes.Canceled {
		t.Errorf("Recv after cancel = %v, want Canceled", err)
	}
	if testing.Verbose() {
		t.Logf("plugin logs:\n%s", p.logs)
	}
	waitFor(t, 20*time.Second, "the plugin to close its upstream stream", func() (bool, error) {
		st, err := exp.status()
		return err == nil && st.StreamSubscribers == 0, nil
	})
}

// With the exporter down, a wrong token and a wrong URL, CheckHealth says
// three different things, each naming what to fix.
func TestCheckHealthFailures(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withToken := startExporter(t, "--web.auth-token-file="+tokenFile)
	notExporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<!doctype html><title>Grafana</title>")
	}))
	t.Cleanup(notExporter.Close)
	down := "http://" + freeAddr(t)

	p := startPlugin(t)
	tests := []struct {
		name, uid, url, token, want string
		ok                          bool
	}{
		{name: "right token", uid: "ok", url: withToken.url(), token: "s3cret-token", ok: true, want: "Connected to claude-hooks-exporter "},
		{name: "exporter down", uid: "down", url: down, want: "Connection refused at " + down},
		{name: "wrong token", uid: "token", url: withToken.url(), token: "guess", want: "Token rejected: the exporter at " + withToken.url() + " answered 401 Unauthorized"},
		{name: "no token", uid: "notoken", url: withToken.url(), want: "Token rejected"},
		{name: "wrong URL", uid: "url", url: notExporter.URL, want: "Not a claude-hooks-exporter: " + notExporter.URL},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.diagnostics.CheckHealth(ctxTimeout(t, 10*time.Second), &pluginv2.CheckHealthRequest{PluginContext: dsSettings(tt.uid, tt.url, tt.token)})
			if err != nil {
				t.Fatal(err)
			}
			wantStatus := pluginv2.CheckHealthResponse_ERROR
			if tt.ok {
				wantStatus = pluginv2.CheckHealthResponse_OK
			}
			if res.Status != wantStatus || !strings.HasPrefix(res.Message, tt.want) {
				t.Errorf("CheckHealth = %v %q, want %v starting %q", res.Status, res.Message, wantStatus, tt.want)
			}
			seen[tt.name] = res.Message
		})
	}
	distinct := map[string]bool{seen["exporter down"]: true, seen["wrong token"]: true, seen["wrong URL"]: true}
	if len(distinct) != 3 {
		t.Errorf("the three failures do not have three distinct messages: %v", seen)
	}
}
