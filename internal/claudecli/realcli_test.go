package claudecli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/claudehooks/claude-hooks-exporter/internal/goldentest"
	"github.com/claudehooks/claude-hooks-exporter/internal/proctest"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Binaries built once for the test; install finds the hook binary next to the
// exporter and copies both to its --bin-dir.
var exporterBin, hookBin string

func TestMain(m *testing.M) {
	if code, done := RunMain(); done {
		os.Exit(code)
	}
	if os.Getenv(probeEnv) == "1" {
		os.Exit(probe())
	}
	dir, err := os.MkdirTemp("", "chx-cli-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exporterBin = filepath.Join(dir, "claude-hooks-exporter")
	hookBin = filepath.Join(dir, "claude-hooks-hook")
	for out, pkg := range map[string]string{exporterBin: "../../cmd/exporter", hookBin: "../../cmd/hook"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// Every goroutine the harness started (model server, output reader,
		// process waiters) is owned and has ended.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// The models the scenarios see: the CLI's default and the one a switch moves to.
const switchModel = "claude-haiku-4-5"

// steps is the model's script for every scenario (see Server). The background
// agent works only once bgGate is closed.
func steps(bgGate <-chan struct{}) map[string][]Reply {
	bash := func(cmd string) ToolUse {
		return ToolUse{Name: "Bash", Input: map[string]any{"command": cmd, "description": "run " + cmd}}
	}
	return map[string][]Reply{
		"tools": {
			{Tools: []ToolUse{bash("echo hi")}},
			{Tools: []ToolUse{
				{Name: "Read", Input: map[string]any{"file_path": "notes.txt"}},
				{Name: "Glob", Input: map[string]any{"pattern": "*.txt"}},
			}},
			{Tools: []ToolUse{bash("ls missing.txt")}},
			{Text: "Tools done."},
		},
		"deny": {
			{Tools: []ToolUse{
				bash("rm -f /var/tmp/chx-never"),
				{Name: "WebFetch", Input: map[string]any{"url": "http://example.invalid/", "prompt": "read"}},
			}},
			{Text: "Both refused."},
		},
		"agent-fg": {
			{Tools: []ToolUse{{Name: "Agent", Input: map[string]any{
				"description": "fg helper", "prompt": Marker("sub-fg") + " work", "subagent_type": "general-purpose", "run_in_background": false,
			}}}},
			{Text: "Helper finished."},
		},
		"sub-fg": {{Tools: []ToolUse{bash("echo sub")}}, {Text: "Foreground report."}},
		"agent-bg": {
			{Tools: []ToolUse{{Name: "Agent", Input: map[string]any{
				"description": "bg helper", "prompt": Marker("sub-bg") + " work", "subagent_type": "general-purpose", "run_in_background": true,
			}}}},
			{Text: "Helper launched."},
		},
		"sub-bg": {{Tools: []ToolUse{bash("echo bg")}, After: bgGate}, {Text: "Background report."}},
		"greet":  {{Text: "Hello."}},
		"mcp": {
			{Tools: []ToolUse{{Name: "mcp__" + MCPServerName + "__ask", Input: map[string]any{"question": "Which colour?"}}}},
			{Text: "Asked."},
		},
		"switch": {{Text: "Switched."}},
		"hang":   {{Hang: true}},
	}
}

// scenario is one step of the real session; run drives the CLI through it.
type scenario struct {
	name string
	run  func(tb testing.TB, h *harness)
	// after are events the CLI sends after the scenario's last result (its
	// hooks for them run in the background): the scenario ends when they are in
	// the spool.
	after []string
}

var scenarios = []scenario{
	{"tools", func(tb testing.TB, h *harness) { h.prompt(tb, Marker("tools")+" go", 1) }, nil},
	{"deny", func(tb testing.TB, h *harness) { h.prompt(tb, Marker("deny")+" go", 1) }, nil},
	{"subagent-foreground", func(tb testing.TB, h *harness) { h.prompt(tb, Marker("agent-fg")+" go", 1) }, nil},
	// The background agent works only after its parent's turn stopped (as a
	// slower agent would, and deterministically so); its result comes back as
	// a second turn (<task-notification>).
	{"subagent-background", func(tb testing.TB, h *harness) {
		h.prompt(tb, Marker("agent-bg")+" go", 1)
		close(h.bgGate)
		h.untilResults(tb, 1)
	}, nil},
	{"skill-shell", func(tb testing.TB, h *harness) { h.prompt(tb, "/greet", 1) }, nil},
	{"mcp-elicitation", func(tb testing.TB, h *harness) { h.prompt(tb, Marker("mcp")+" go", 1) }, nil},
	{"model-switch", func(tb testing.TB, h *harness) {
		h.control(tb, "set-model-1", map[string]any{"subtype": "set_model", "model": switchModel})
		h.prompt(tb, Marker("switch")+" go", 1)
	}, nil},
	{"interrupt", func(tb testing.TB, h *harness) {
		if err := h.cli.Prompt(Marker("hang") + " wait"); err != nil {
			tb.Fatal(err)
		}
		select {
		case <-h.model.Hung:
		case <-time.After(2 * time.Minute):
			tb.Fatalf("the model server never saw the request to hang on; CLI output:\n%s", h.tail())
		}
		h.control(tb, "interrupt-1", map[string]any{"subtype": "interrupt"})
		h.untilResults(tb, 1)
	}, []string{"Interrupt"}},
	{"compaction", func(tb testing.TB, h *harness) { h.prompt(tb, "/compact", 1) }, nil},
	{"end", func(tb testing.TB, h *harness) {
		if err := h.cli.CloseInput(); err != nil {
			tb.Fatal(err)
		}
		if err := h.cli.Wait(2 * time.Minute); err != nil {
			tb.Fatalf("claude-code: %v\n%s", err, h.stderr.String())
		}
	}, nil},
}

// TestRealCLI runs the pinned Claude Code CLI through every scenario in one
// session, with our hook registered for every event and the daemon reading the
// spool, and checks per scenario the metrics the events yield, then the
// session's tokens and cost, its span tree, its API summary and the payloads
// the CLI sent. Goldens are in testdata/<version>/; -update rewrites them.
// CLAUDE_CODE_VERSION runs another installed version against them.
func TestRealCLI(t *testing.T) {
	h := newHarness(t)
	var sessions int
	defer func() {
		t.Logf("real-cli: Claude Code %s ran %d real session(s), %d scenario(s), %d hook events, %d model requests",
			WantedVersion(), sessions, len(scenarios), h.records, len(h.model.Requests()))
	}()
	h.start(t)
	sessions++
	var metricsOut bytes.Buffer
	prev := h.sync(t, "start")
	for _, sc := range scenarios {
		sc.run(t, h)
		cur := h.sync(t, sc.name, sc.after...)
		fmt.Fprintf(&metricsOut, "# scenario %s\n", sc.name)
		for _, l := range delta(prev, cur, scenarioFamilies) {
			fmt.Fprintln(&metricsOut, l)
		}
		prev = cur
	}
	dir := filepath.Join("testdata", WantedVersion())
	goldentest.Compare(t, filepath.Join(dir, "metrics.golden"), metricsOut.Bytes())

	// Whole-session figures: tokens and cost come from the transcripts.
	var totals bytes.Buffer
	for _, l := range delta(nil, prev, sessionFamilies) {
		fmt.Fprintln(&totals, l)
	}
	goldentest.Compare(t, filepath.Join(dir, "session-metrics.golden"), totals.Bytes())

	// Acceptance: the real CLI's events all have names, its models all have prices.
	if v := sample(prev, "claude_hooks_events_total", "event", "other"); v != 0 {
		t.Errorf("claude_hooks_events_total{event=\"other\"} = %v for the real CLI's events, want 0", v)
	}
	for k, v := range prev {
		if strings.HasPrefix(k, "claude_hooks_cost_unknown_model_tokens_total") && v != 0 {
			t.Errorf("%s = %v, want 0: every model the CLI used must have a price", k, v)
		}
	}
	if got, want := sumFamily(prev, "claude_hooks_events_total"), float64(h.records); got != want {
		t.Errorf("claude_hooks_events_total adds up to %v, the CLI sent %v payloads", got, want)
	}
	// Per event: exactly the payloads the CLI sent under that name.
	sent := map[string]float64{}
	for _, p := range readSpool(t, h.spool) {
		var ev struct {
			Name string `json:"hook_event_name"`
		}
		if err := json.Unmarshal(p, &ev); err != nil {
			t.Fatal(err)
		}
		sent[ev.Name]++
	}
	for name, n := range sent {
		if got := sample(prev, "claude_hooks_events_total", "event", name); got != n {
			t.Errorf("claude_hooks_events_total{event=%q} = %v, the CLI sent %v", name, got, n)
		}
	}

	detail := h.session(t)
	goldentest.Compare(t, filepath.Join(dir, "spans.golden"), []byte(h.norm.spanTree(detail.Spans)))
	goldentest.Compare(t, filepath.Join(dir, "session.golden.json"), h.norm.summary(t, detail.Session))
	goldentest.Compare(t, filepath.Join(dir, "payloads.golden.jsonl"), h.payloads.Bytes())
}

// harness is the running set-up: model server, daemon, CLI.
type harness struct {
	root, home, project, spool string
	model                      *Server
	cli                        *Process
	stderr                     *proctest.Buffer
	daemonAddr                 string
	daemonLogs                 *proctest.Buffer

	cliBin, sock, mcpConfig string
	bgGate                  chan struct{}
	hookEvents              int

	norm     *normaliser
	records  int // spool records read so far
	payloads bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	bgGate := make(chan struct{})
	h := newBareHarness(t, NewServer(steps(bgGate)))
	h.bgGate = bgGate
	h.norm = newNormaliser(h.root)
	if err := os.CopyFS(h.project, os.DirFS("testdata/project")); err != nil {
		t.Fatal(err)
	}
	h.serveModel(t)
	h.startDaemon(t)
	h.install(t)
	return h
}

// newBareHarness makes the scratch directories (HOME, project) and finds the
// CLI; it starts nothing.
func newBareHarness(t *testing.T, model *Server) *harness {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	h := &harness{
		root:    root,
		home:    filepath.Join(root, "home"),
		project: filepath.Join(root, "project"),
		spool:   filepath.Join(root, "state", "spool"),
		stderr:  &proctest.Buffer{},
		model:   model,
		cliBin:  bin,
	}
	for _, d := range []string{h.home, filepath.Join(h.home, "tmp"), h.project} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// serveModel serves the model on a Unix socket the bridge forwards to.
func (h *harness) serveModel(t *testing.T) {
	sock := filepath.Join(h.root, "model.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.model}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	h.sock = sock
}

func (h *harness) startDaemon(t *testing.T) {
	h.daemonAddr = proctest.FreeAddr(t)
	h.daemonLogs = &proctest.Buffer{}
	state := filepath.Join(h.root, "state")
	cmd := exec.Command(exporterBin, "serve",
		"--web.listen-address="+h.daemonAddr,
		"--state.dir="+state,
		"--spool.dir="+h.spool,
		"--log.level=debug",
		"--checkpoint.interval=200ms",
		"--spool.poll-interval=100ms",
	)
	cmd.Env = append(os.Environ(), "HOME="+h.home)
	cmd.Stdout, cmd.Stderr = h.daemonLogs, h.daemonLogs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("daemon logs (tail):\n%s", tailString(h.daemonLogs.String(), 4000))
		}
	})
	proctest.WaitFor(t, 30*time.Second, "daemon ready", func() (bool, error) {
		select {
		case <-done:
			t.Fatalf("daemon exited early:\n%s", h.daemonLogs.String())
		default:
		}
		resp, err := http.Get("http://" + h.daemonAddr + "/healthz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// install registers our hook for every event as a user would (the install
// command), then makes the hooks synchronous: the CLI then waits for each hook
// before it goes on, so the spool holds the events in the CLI's order and a
// scenario's events are all there when its result arrives.
func (h *harness) install(t *testing.T) {
	settings := filepath.Join(h.home, ".claude", "settings.json")
	cmd := exec.Command(exporterBin, "install", "--settings="+settings, "--spool.dir="+h.spool, "--bin-dir="+filepath.Join(h.root, "bin"))
	cmd.Env = append(os.Environ(), "HOME="+h.home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	b, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	hooks, _ := s["hooks"].(map[string]any)
	if len(hooks) == 0 {
		t.Fatalf("install wrote no hooks:\n%s", b)
	}
	for _, groups := range hooks {
		for _, g := range groups.([]any) {
			for _, hk := range g.(map[string]any)["hooks"].([]any) {
				delete(hk.(map[string]any), "async")
			}
		}
	}
	h.hookEvents = len(hooks)
	if b, err = json.MarshalIndent(s, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, b, 0o600); err != nil {
		t.Fatal(err)
	}
	mcp := fmt.Sprintf(`{"mcpServers":{%q:{"type":"stdio","command":%q,"args":[],"env":{%q:"1"}}}}`, MCPServerName, mustExecutable(t), MCPEnv)
	h.mcpConfig = filepath.Join(h.root, "mcp.json")
	if err := os.WriteFile(h.mcpConfig, []byte(mcp), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustExecutable(tb testing.TB) string {
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	return self
}

func (h *harness) start(t *testing.T) {
	p, err := Start(Options{
		Binary: h.cliBin,
		Dir:    h.project,
		Home:   h.home,
		Socket: h.sock,
		Stderr: h.stderr,
		Args: []string{
			"--mcp-config", h.mcpConfig,
			// Allowed without asking: everything else is denied, as no one can approve it.
			"--allowedTools", "Bash(echo *)", "Bash(ls *)", "Read", "Glob", "Agent", "mcp__" + MCPServerName + "__ask",
			"--disallowedTools", "WebFetch",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.cli = p
	t.Cleanup(func() {
		p.Kill()
		p.Wait(10 * time.Second)
		if t.Failed() {
			t.Logf("claude-code stderr (tail):\n%s\nstdout (tail):\n%s", tailString(h.stderr.String(), 3000), h.tail())
		}
	})
}

// tail is the CLI's last output lines, for failure messages.
func (h *harness) tail() string {
	out := h.cli.Output()
	if len(out) > 15 {
		out = out[len(out)-15:]
	}
	var b strings.Builder
	for _, l := range out {
		b.WriteString(tailString(string(l), 600))
		b.WriteByte('\n')
	}
	return b.String()
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// cliTimeout bounds the wait for any one line of CLI output.
const cliTimeout = 2 * time.Minute

// prompt sends a prompt and waits for n results.
func (h *harness) prompt(tb testing.TB, text string, n int) {
	tb.Helper()
	if err := h.cli.Prompt(text); err != nil {
		tb.Fatal(err)
	}
	h.untilResults(tb, n)
}

// untilResults reads CLI output until n result messages, answering the
// elicitations the MCP server makes the CLI ask.
func (h *harness) untilResults(tb testing.TB, n int) {
	tb.Helper()
	for n > 0 {
		m, err := h.cli.Next(cliTimeout)
		if err != nil {
			tb.Fatalf("%v; stderr:\n%s\nstdout:\n%s", err, tailString(h.stderr.String(), 3000), h.tail())
		}
		switch {
		case m.Type == "result":
			n--
		case m.Type == "control_request":
			h.answer(tb, m)
		}
	}
}

func (h *harness) answer(tb testing.TB, m Message) {
	tb.Helper()
	var req struct {
		Subtype string `json:"subtype"`
	}
	json.Unmarshal(m.Request, &req)
	if req.Subtype != "elicitation" {
		tb.Fatalf("unexpected control request from the CLI: %s", m.Raw)
	}
	if err := h.cli.Answer(m.ReqID, map[string]any{"action": "accept", "content": map[string]any{"answer": "blue"}}); err != nil {
		tb.Fatal(err)
	}
}

// control sends a control request and waits for its response.
func (h *harness) control(tb testing.TB, id string, req map[string]any) {
	tb.Helper()
	if err := h.cli.Control(id, req); err != nil {
		tb.Fatal(err)
	}
	for {
		m, err := h.cli.Next(cliTimeout)
		if err != nil {
			tb.Fatalf("%v waiting for the response to %s; stdout:\n%s", err, id, h.tail())
		}
		if m.Type != "control_response" {
			continue
		}
		var r struct {
			Response struct {
				Subtype string `json:"subtype"`
				ID      string `json:"request_id"`
				Error   string `json:"error"`
			} `json:"response"`
		}
		json.Unmarshal(m.Raw, &r)
		if r.Response.ID != id {
			continue
		}
		if r.Response.Subtype != "success" {
			tb.Fatalf("control request %s: %s", id, m.Raw)
		}
		return
	}
}

// sync waits until the spool holds the given events among its new records,
// reads those records and waits until the daemon applied all of them; it
// returns the daemon's samples then.
func (h *harness) sync(tb testing.TB, scenario string, after ...string) map[string]float64 {
	tb.Helper()
	var recs []json.RawMessage
	proctest.WaitFor(tb, time.Minute, fmt.Sprintf("the CLI to send %v", after), func() (bool, error) {
		recs = readSpool(tb, h.spool)
		seen := map[string]bool{}
		for _, p := range recs[h.records:] {
			var ev struct {
				Name string `json:"hook_event_name"`
			}
			json.Unmarshal(p, &ev)
			seen[ev.Name] = true
		}
		for _, name := range after {
			if !seen[name] {
				return false, nil
			}
		}
		return true, nil
	})
	var lines [][]byte
	for _, p := range recs[h.records:] {
		lines = append(lines, h.norm.payload(tb, p))
	}
	// Within a scenario the payloads are sorted: the hooks of parallel tool
	// calls, and a background agent's SubagentStart and its launch's
	// PostToolUse, arrive in any order.
	slices.SortFunc(lines, bytes.Compare)
	fmt.Fprintf(&h.payloads, "{\"scenario\":%q}\n", scenario)
	for _, l := range lines {
		h.payloads.Write(l)
		h.payloads.WriteByte('\n')
	}
	h.records = len(recs)
	var samples map[string]float64
	proctest.WaitFor(tb, time.Minute, fmt.Sprintf("the daemon to apply %d events", h.records), func() (bool, error) {
		s, err := scrape("http://" + h.daemonAddr + "/metrics")
		if err != nil {
			return false, err
		}
		samples = s
		return sumFamily(s, "claude_hooks_events_total") == float64(h.records), nil
	})
	return samples
}

// readSpool returns the payloads of every record in the spool, in file order.
func readSpool(tb testing.TB, dir string) []json.RawMessage {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "spool-*.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(files)
	var out []json.RawMessage
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var rec struct {
				P   json.RawMessage `json:"p"`
				Bad string          `json:"bad"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				tb.Fatalf("spool %s: %v", f, err)
			}
			if rec.Bad != "" {
				tb.Fatalf("spool %s: the hook kept a bad record (%s): %s", f, rec.Bad, line)
			}
			out = append(out, append(json.RawMessage(nil), rec.P...))
		}
	}
	return out
}

// session fetches the API summary of the one session the CLI ran.
func (h *harness) session(tb testing.TB) wire.SessionDetail {
	tb.Helper()
	var page wire.SessionsPage
	getJSON(tb, "http://"+h.daemonAddr+"/api/v1/sessions", &page)
	if len(page.Sessions) != 1 {
		tb.Fatalf("the API lists %d sessions, want the 1 the CLI ran", len(page.Sessions))
	}
	var d wire.SessionDetail
	proctest.WaitFor(tb, 30*time.Second, "the session to be stored as ended", func() (bool, error) {
		getJSON(tb, "http://"+h.daemonAddr+"/api/v1/sessions/"+page.Sessions[0].SessionID, &d)
		return d.Session.Status == "ended", nil
	})
	return d
}

func getJSON(tb testing.TB, url string, v any) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
}

// scrape returns every counter sample of /metrics by its series text,
// name{label="value",...}, labels sorted.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		if mf.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(ls)
			out[name+"{"+strings.Join(ls, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out, nil
}

// Families compared per scenario (what the events alone decide) and for the
// whole session (what the transcripts add).
var (
	scenarioFamilies = []string{
		"claude_hooks_events_total", "claude_hooks_sessions_started_total", "claude_hooks_sessions_ended_total",
		"claude_hooks_turns_total", "claude_hooks_tool_calls_total", "claude_hooks_permission_requests_total",
		"claude_hooks_subagents_total", "claude_hooks_compactions_total", "claude_hooks_notifications_total",
		"claude_hooks_stop_failures_total", "claude_hooks_interrupts_total", "claude_hooks_model_switches_total",
		"claude_hooks_skill_shell_commands_total", "claude_hooks_system_turns_total", "claude_hooks_late_events_total",
		"claude_hooks_tracker_overflow_total",
	}
	sessionFamilies = []string{
		"claude_hooks_tokens_total", "claude_hooks_cost_usd_total", "claude_hooks_cost_unknown_model_tokens_total",
		"claude_hooks_cost_estimated_tokens_total",
	}
)

// delta lists cur - prev for the series of the given families that changed.
func delta(prev, cur map[string]float64, families []string) []string {
	var out []string
	for k, v := range cur {
		name := k[:strings.IndexByte(k, '{')]
		if !slices.Contains(families, name) {
			continue
		}
		if d := v - prev[k]; d != 0 {
			out = append(out, fmt.Sprintf("%s %s", k, formatFloat(d)))
		}
	}
	sort.Strings(out)
	return out
}

func formatFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", v), "0"), ".")
}

func sumFamily(s map[string]float64, family string) float64 {
	total := 0.0
	for k, v := range s {
		if strings.HasPrefix(k, family+"{") {
			total += v
		}
	}
	return total
}

func sample(s map[string]float64, family, label, value string) float64 {
	return s[fmt.Sprintf("%s{%s=%q}", family, label, value)]
}

// normaliser replaces what changes from run to run (ids, the scratch
// directory, durations, times) with stable stand-ins, numbered in order of
// first appearance.
type normaliser struct {
	paths []string // replaced by $ROOT, longest first
	ids   map[string]string
	next  map[string]int
}

var (
	uuidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	agentRE = regexp.MustCompile(`\ba[0-9a-f]{16}\b`)
	timeRE  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	// durationRE finds durations written into text (a subagent's report).
	durationRE = regexp.MustCompile(`(?i)(duration[_a-z]*"?\s*[:=>]\s*)\d+`)
	// volatileNumber names the members whose numbers are clock readings.
	volatileNumber = regexp.MustCompile(`(?i:duration|time|elapsed|timestamp)|_ms$|Ms$|^ts$`)
)

func newNormaliser(root string) *normaliser {
	dashed := strings.ReplaceAll(root, "/", "-")
	return &normaliser{
		paths: []string{root, dashed},
		ids:   map[string]string{},
		next:  map[string]int{},
	}
}

func (n *normaliser) id(kind, v string) string {
	if s, ok := n.ids[v]; ok {
		return s
	}
	n.next[kind]++
	s := fmt.Sprintf("<%s-%d>", kind, n.next[kind])
	n.ids[v] = s
	return s
}

func (n *normaliser) str(s string) string {
	for _, p := range n.paths {
		s = strings.ReplaceAll(s, p, "$ROOT")
	}
	s = uuidRE.ReplaceAllStringFunc(s, func(v string) string { return n.id("uuid", v) })
	s = agentRE.ReplaceAllStringFunc(s, func(v string) string { return n.id("agent", v) })
	s = durationRE.ReplaceAllString(s, "${1}0")
	return timeRE.ReplaceAllString(s, "<time>")
}

func (n *normaliser) value(key string, v any) any {
	switch x := v.(type) {
	case string:
		return n.str(x)
	case float64:
		if volatileNumber.MatchString(key) {
			return 0
		}
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(x))
		for _, k := range keys {
			out[n.str(k)] = n.value(k, x[k])
		}
		return out
	case []any:
		for i := range x {
			x[i] = n.value(key, x[i])
		}
		return x
	}
	return v
}

// payload normalises one hook payload to a compact JSON line (keys sorted).
func (n *normaliser) payload(tb testing.TB, p json.RawMessage) []byte {
	tb.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(p))
	if err := d.Decode(&v); err != nil {
		tb.Fatalf("payload: %v: %s", err, p)
	}
	b, err := json.Marshal(n.value("", v))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// spanTree renders the spans as an indented tree: kind, name, outcome, error
// type and the attributes that do not change between runs. Turns are in start
// order; other siblings (parallel tools, a background agent racing its turn)
// by their normalised key.
func (n *normaliser) spanTree(spans []wire.Span) string {
	children := map[string][]wire.Span{}
	for _, s := range spans {
		children[s.ParentID] = append(children[s.ParentID], s)
	}
	var b strings.Builder
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		sort.SliceStable(kids, func(i, j int) bool {
			a, c := kids[i], kids[j]
			if a.Kind == "turn" && c.Kind == "turn" {
				return a.Start.Before(c.Start)
			}
			if a.Kind != c.Kind {
				return a.Kind < c.Kind
			}
			return n.str(a.Key) < n.str(c.Key)
		})
		for _, s := range kids {
			fmt.Fprintf(&b, "%s%s %q", strings.Repeat("  ", depth), s.Kind, n.str(s.Name))
			if s.Outcome != "" {
				fmt.Fprintf(&b, " outcome=%s", s.Outcome)
			}
			if s.ErrorType != "" {
				fmt.Fprintf(&b, " error=%s", s.ErrorType)
			}
			keys := make([]string, 0, len(s.Attrs))
			for k := range s.Attrs {
				if !volatileAttr(k) {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := s.Attrs[k]
				if str, ok := v.(string); ok {
					v = n.str(str)
				}
				fmt.Fprintf(&b, " %s=%v", k, v)
			}
			b.WriteByte('\n')
			walk(s.SpanID, depth+1)
		}
	}
	walk("", 0)
	return b.String()
}

// volatileAttr names span attributes whose values differ between runs.
func volatileAttr(k string) bool {
	switch k {
	case "session.id", "gen_ai.conversation.id", "prompt.id", "gen_ai.agent.id", "claude_code.cwd", "file.path":
		return true
	}
	return strings.HasSuffix(k, ".size")
}

// summary normalises the API's session summary.
func (n *normaliser) summary(tb testing.TB, s wire.Session) []byte {
	tb.Helper()
	s.SessionID = n.str(s.SessionID)
	s.CWD = n.str(s.CWD)
	s.Start, s.LastActivity = time.Time{}, time.Time{}
	if s.End != nil {
		s.End = &time.Time{}
	}
	s.TraceID = ""
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(b, '\n')
}
