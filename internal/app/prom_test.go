package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// prometheusServer is a real Prometheus (Debian package) started by a test.
type prometheusServer struct {
	addr string
}

// startPrometheus runs Prometheus scraping target every 500 ms.
func startPrometheus(tb testing.TB, target string) *prometheusServer {
	tb.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		tb.Fatalf("prometheus not installed (make test-deps installs it): %v", err)
	}
	dir := tb.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
scrape_configs:
  - job_name: claude-hooks-exporter
    static_configs:
      - targets: [%q]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	p := &prometheusServer{addr: freeAddr(tb)}
	logs := &syncBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr,
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	waitFor(tb, 30*time.Second, "prometheus ready", func() (bool, error) {
		select {
		case <-done:
			tb.Fatalf("prometheus exited early:\n%s", logs.String())
		default:
		}
		resp, err := http.Get("http://" + p.addr + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return p
}

// query runs an instant PromQL query and returns the single value it yields;
// ok is false when the result is empty.
func (p *prometheusServer) query(q string) (v float64, ok bool, err error) {
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, false, err
	}
	if body.Status != "success" {
		return 0, false, fmt.Errorf("query %s: %s", q, body.Error)
	}
	if len(body.Data.Result) == 0 {
		return 0, false, nil
	}
	if len(body.Data.Result) > 1 {
		return 0, false, fmt.Errorf("query %s: %d series, want one", q, len(body.Data.Result))
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err = strconv.ParseFloat(s, 64)
	return v, true, err
}

// waitValue waits until q yields want.
func (p *prometheusServer) waitValue(tb testing.TB, q string, want float64) {
	tb.Helper()
	waitFor(tb, 30*time.Second, fmt.Sprintf("%s == %v", q, want), func() (bool, error) {
		v, ok, err := p.query(q)
		if err == nil && ok && v != want {
			err = fmt.Errorf("%s = %v", q, v)
		}
		return ok && v == want, err
	})
}

// hookEvents sends payloads through the real claude-hooks-hook binary.
func hookEvents(tb testing.TB, spoolDir string, payloads ...string) {
	tb.Helper()
	for _, p := range payloads {
		out, serr, code, err := runHook(context.Background(), hookBin, []string{"--spool.dir", spoolDir}, []byte(p))
		if err != nil || code != 0 || len(out) != 0 {
			tb.Fatalf("hook: code %d err %v stdout %q stderr %q", code, err, out, serr)
		}
	}
}

// TestPrometheusScrapesDaemon: a real Prometheus scrapes the daemon while hook
// events arrive through the real hook command; exact values come back from its API.
func TestPrometheusScrapesDaemon(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	p := startPrometheus(t, d.addr)
	const sid = "7d1e4c2a-9b3f-4e5d-8c6a-1f2e3d4c5b6a"
	ev := func(name, extra string) string {
		return fmt.Sprintf(`{"session_id":%q,"hook_event_name":%q,"cwd":"/src/app","prompt_id":"p-1"%s}`, sid, name, extra)
	}
	tool := func(name, id, tool string, extra string) string {
		return ev(name, fmt.Sprintf(`,"tool_name":%q,"tool_use_id":%q,"tool_input":{"command":"go test ./..."}%s`, tool, id, extra))
	}
	hookEvents(t, d.spoolDir,
		ev("SessionStart", `,"source":"startup","model":"claude-opus-4-6"`),
		ev("UserPromptSubmit", `,"prompt":"run the tests"`),
		tool("PreToolUse", "t1", "Bash", ""),
		tool("PostToolUse", "t1", "Bash", `,"tool_response":{"stdout":"ok"},"duration_ms":250`),
		tool("PreToolUse", "t2", "Bash", ""),
		tool("PostToolUse", "t2", "Bash", `,"tool_response":{"stdout":"ok"},"duration_ms":500`),
		tool("PreToolUse", "t3", "Bash", ""),
		tool("PostToolUseFailure", "t3", "Bash", `,"error":"exit status 1","is_interrupt":false,"duration_ms":1000`),
		tool("PreToolUse", "t4", "Read", ""),
		tool("PostToolUse", "t4", "Read", `,"tool_response":{"content":"x"},"duration_ms":2000`),
		ev("Stop", `,"stop_hook_active":false`),
	)
	p.waitValue(t, `claude_hooks_sessions_active`, 1)
	p.waitValue(t, `claude_hooks_tool_calls_total{tool="Bash",outcome="success"}`, 2)
	p.waitValue(t, `claude_hooks_tool_calls_total{tool="Bash",outcome="failure"}`, 1)
	p.waitValue(t, `claude_hooks_tool_calls_total{tool="Read",outcome="success"}`, 1)
	p.waitValue(t, `sum(claude_hooks_tool_duration_seconds_count)`, 4)
	p.waitValue(t, `sum(claude_hooks_tool_duration_seconds_sum)`, 3.75)
	p.waitValue(t, `claude_hooks_tool_duration_seconds_count{tool="Bash"}`, 3)
	p.waitValue(t, `sum(claude_hooks_events_total)`, 11)
	p.waitValue(t, `sum(claude_hooks_turns_total)`, 1)

	promtoolAcceptsMetrics(t, d)

	hookEvents(t, d.spoolDir, ev("SessionEnd", `,"reason":"prompt_input_exit"`))
	p.waitValue(t, `claude_hooks_sessions_active`, 0)
	p.waitValue(t, `max_over_time(claude_hooks_sessions_active[1m])`, 1)
	p.waitValue(t, `sum(claude_hooks_sessions_started_total{source="startup"})`, 1)
}

// promtoolAcceptsMetrics pipes the daemon's real /metrics output through
// `promtool check metrics`, which lints names, suffixes, help and label use.
func promtoolAcceptsMetrics(tb testing.TB, d *daemon) {
	tb.Helper()
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Contains(body, []byte("claude_hooks_tool_duration_seconds_bucket")) {
		tb.Fatalf("/metrics lacks the tool histogram:\n%s", body)
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		tb.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
