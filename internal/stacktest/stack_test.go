package stacktest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// The workload's sessions: one that works, one left waiting on a permission prompt.
const (
	sessionWorks   = "7d1e4c2a-9b3f-4e5d-8c6a-1f2e3d4c5b6a"
	sessionWaiting = "0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60"
)

// payload is one hook payload of session sid.
func payload(sid, event, extra string) string {
	return fmt.Sprintf(`{"session_id":%q,"hook_event_name":%q,"cwd":"/src/app","prompt_id":"p-%s"%s}`, sid, event, sid[:4], extra)
}

// toolCall is a PreToolUse and its end; end is PostToolUse or PostToolUseFailure.
// pl makes the payloads (payload, or one that adds members).
func toolCall(pl func(sid, event, extra string) string, sid, id, tool, end string, durationMS int) []string {
	in := fmt.Sprintf(`,"tool_name":%q,"tool_use_id":%q,"tool_input":{"command":"make test"}`, tool, id)
	out := fmt.Sprintf(`%s,"duration_ms":%d,"tool_response":{"stdout":"ok"}`, in, durationMS)
	if end == "PostToolUseFailure" {
		out = fmt.Sprintf(`%s,"duration_ms":%d,"error":"exit status 1","is_interrupt":false`, in, durationMS)
	}
	return []string{pl(sid, "PreToolUse", in), pl(sid, end, out)}
}

// transcriptPath is where the workload keeps sessionWorks's transcript.
func transcriptPath(dir string) string { return filepath.Join(dir, sessionWorks+".jsonl") }

// transcriptLine is one assistant response of a transcript, as Claude Code writes it.
func transcriptLine(msgID, model, agentID string, in, out, cacheRead, cacheCreation int) string {
	side := ""
	if agentID != "" {
		side = fmt.Sprintf(`"isSidechain":true,"agentId":%q,`, agentID)
	}
	return fmt.Sprintf(`{"type":"assistant",%s"message":{"id":%q,"type":"message","role":"assistant","model":%q,`+
		`"content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":%d,"cache_creation_input_tokens":%d,`+
		`"cache_read_input_tokens":%d,"output_tokens":%d}},"uuid":"u-%s"}`+"\n",
		side, msgID, model, in, cacheCreation, cacheRead, out, msgID)
}

// The workload's transcript of sessionWorks, written before the hook events of
// each phase: a turn with a subagent (phase 1), then a second turn (phase 2).
var (
	transcript1 = fmt.Sprintf(`{"type":"user","promptId":"p-%s","message":{"role":"user","content":"run the tests"},"uuid":"u-0"}`+"\n", sessionWorks[:4]) +
		transcriptLine("msg_st_1", "claude-opus-4-6", "", 12, 340, 8000, 2000) +
		transcriptLine("msg_st_2", "claude-haiku-4-5", "ag-1", 30, 150, 1200, 400)
	// A model the price table lists only by family (priced as the newest of
	// it) and one it does not know: the metrics behind ClaudeCodeModelNotPriced.
	transcript2 = transcriptLine("msg_st_3", "claude-opus-4-6", "", 5, 600, 10000, 0) +
		transcriptLine("msg_st_4", "claude-opus-9-9", "", 1, 2, 0, 0) +
		transcriptLine("msg_st_5", "acme-model-1", "", 3, 4, 0, 0)
)

// Token totals of the transcript: after phase 1, and by model and type after both.
const transcriptTokens1 = 12 + 340 + 8000 + 2000 + 30 + 150 + 1200 + 400

var transcriptTokens = map[string]map[string]int64{
	"claude-opus-4-6":  {"input": 17, "output": 940, "cache_read": 18000, "cache_creation": 2000},
	"claude-haiku-4-5": {"input": 30, "output": 150, "cache_read": 1200, "cache_creation": 400},
	"claude-opus-9-9":  {"input": 1, "output": 2, "cache_read": 0, "cache_creation": 0},
	"acme-model-1":     {"input": 3, "output": 4, "cache_read": 0, "cache_creation": 0},
}

// workload returns the scripted hook traffic in two phases. The first creates
// every series once (Prometheus counts no increase for a series' first sample);
// the second changes them between scrapes, so rates are not zero: of its five
// timed tool calls two are over their budget (Bash 400 s > 300 s, Read 2 s > 1 s).
// sessionWorks's events name its transcript under transcriptDir (transcript1,
// transcript2), so that token and cost metrics exist too.
func workload(transcriptDir string) (phase1, phase2 []string) {
	a, b := sessionWorks, sessionWaiting
	withTranscript := `,"transcript_path":` + strconv.Quote(transcriptPath(transcriptDir))
	// ev is payload, with the transcript for sessionWorks.
	ev := func(sid, event, extra string) string {
		if sid == a {
			extra = withTranscript + extra
		}
		return payload(sid, event, extra)
	}
	call := func(sid, id, tool, end string, durationMS int) []string {
		return toolCall(ev, sid, id, tool, end, durationMS)
	}
	phase1 = append(phase1,
		ev(a, "SessionStart", `,"source":"startup","model":"claude-opus-4-6"`),
		ev(a, "UserPromptSubmit", `,"prompt":"run the tests"`),
	)
	phase1 = append(phase1, call(a, "t1", "Bash", "PostToolUse", 100)...)
	phase1 = append(phase1, call(a, "t2", "Read", "PostToolUse", 50)...)
	phase1 = append(phase1, call(a, "t3", "mcp__github__get_pr", "PostToolUse", 200)...)
	phase1 = append(phase1, call(a, "t4", "Grep", "PostToolUseFailure", 30)...)
	// A permission prompt answered: one permission-wait observation.
	editIn := `,"tool_name":"Edit","tool_use_id":"t5","tool_input":{"file_path":"/src/app/main.go"}`
	phase1 = append(phase1,
		ev(a, "PreToolUse", editIn),
		ev(a, "PermissionRequest", `,"tool_name":"Edit","tool_input":{"file_path":"/src/app/main.go"}`),
		ev(a, "PostToolUse", editIn+`,"duration_ms":10,"tool_response":{"ok":true}`),
		ev(a, "SubagentStart", `,"agent_id":"ag-1","agent_type":"Explore"`),
		ev(a, "SubagentStop", `,"agent_id":"ag-1","agent_type":"Explore"`),
		ev(a, "PreCompact", `,"trigger":"auto"`),
		ev(a, "Notification", `,"notification_type":"idle_prompt","message":"waiting"`),
		ev(a, "Stop", `,"stop_hook_active":false`),
		// Session b starts a Bash call and is left on its permission prompt.
		ev(b, "SessionStart", `,"source":"startup","model":"claude-opus-4-6"`),
		ev(b, "UserPromptSubmit", `,"prompt":"deploy"`),
		ev(b, "PreToolUse", `,"tool_name":"Bash","tool_use_id":"b1","tool_input":{"command":"make deploy"}`),
		ev(b, "PermissionRequest", `,"tool_name":"Bash","tool_input":{"command":"make deploy"}`),
		"this is not JSON", // a rejected record
	)
	phase2 = append(phase2, ev(a, "UserPromptSubmit", `,"prompt":"and now fix them"`))
	phase2 = append(phase2, call(a, "t6", "Bash", "PostToolUse", 250)...)
	phase2 = append(phase2, call(a, "t7", "Bash", "PostToolUse", 400_000)...)
	phase2 = append(phase2, call(a, "t8", "Read", "PostToolUse", 2000)...)
	phase2 = append(phase2, call(a, "t9", "Read", "PostToolUse", 100)...)
	phase2 = append(phase2, call(a, "t10", "mcp__github__get_pr", "PostToolUse", 500)...)
	phase2 = append(phase2,
		ev(a, "StopFailure", `,"error":"rate_limit","error_details":"429 Too Many Requests"`),
		ev(a, "SessionEnd", `,"reason":"prompt_input_exit"`),
	)
	return phase1, phase2
}

// waitingAlert is the alert the stack test must see firing.
const waitingAlert = "ClaudeCodeWaitingOnUser"

// shortWaitFor gives the permission-wait alert a short `for`, so it fires within
// the test; nothing else in the rules changes.
func shortWaitFor(file string, n *yaml.Node) {
	var walk func(*yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.MappingNode {
			isAlert := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "alert" && n.Content[i+1].Value == waitingAlert {
					isAlert = true
				}
			}
			if isAlert {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == "for" {
						n.Content[i+1].Value = "5s"
						return true
					}
				}
			}
		}
		found := false
		for _, c := range n.Content {
			found = walk(c) || found
		}
		return found
	}
	walk(n)
}

// TestStack runs the exporter, fed through the real hook command, under a real
// Prometheus that loads deploy/prometheus (scrape targets and token file
// rewritten, the permission-wait alert's `for` shortened). Every rule and every
// dashboard query must evaluate without error, the dashboard queries must return
// data, every metric they name must exist, and the permission-wait alert must fire.
func TestStack(t *testing.T) {
	e := startExporter(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(e.token), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	dir := testPrometheusDir(t, e.addr, tokenFile, promAddr, shortWaitFor)
	var alerts ruleFile
	readYAML(t, filepath.Join(dir, "rules", "alerts.yml"), &alerts)
	if !slices.ContainsFunc(alerts.Groups, func(g struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	}) bool {
		return slices.ContainsFunc(g.Rules, func(r rule) bool { return r.Alert == waitingAlert && r.For == "5s" })
	}) {
		t.Fatalf("alerts.yml has no %s alert to shorten", waitingAlert)
	}
	p := startPrometheus(t, promAddr, filepath.Join(dir, "prometheus.yml"))

	if err := os.WriteFile(transcriptPath(e.transcriptDir), []byte(transcript1), 0o600); err != nil {
		t.Fatal(err)
	}
	phase1, phase2 := workload(e.transcriptDir)
	e.hook(t, phase1...)
	// Phase 1 is in Prometheus once a scrape shows all of it applied.
	events := 0
	for _, pl := range phase1 {
		if strings.HasPrefix(pl, "{") {
			events++
		}
	}
	waitFor(t, 60*time.Second, "Prometheus to scrape the first phase and its transcript", func() (bool, error) {
		s, err := p.query(`sum(claude_hooks_events_total)`)
		if err != nil || len(s) != 1 || s[0].value() != strconv.Itoa(events) {
			return false, errIfExited(e, p)
		}
		s, err = p.query(`sum(claude_hooks_tokens_total)`)
		return err == nil && len(s) == 1 && s[0].value() == strconv.Itoa(transcriptTokens1), errIfExited(e, p)
	})
	f, err := os.OpenFile(transcriptPath(e.transcriptDir), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(transcript2); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	e.hook(t, phase2...)
	for _, pl := range phase2 {
		if strings.HasPrefix(pl, "{") {
			events++
		}
	}
	waitFor(t, 60*time.Second, "Prometheus to scrape the second phase", func() (bool, error) {
		s, err := p.query(`sum(claude_hooks_events_total)`)
		return err == nil && len(s) == 1 && s[0].value() == strconv.Itoa(events), errIfExited(e, p)
	})
	// From here every series has samples of two scrapes: a rule group evaluated
	// later has data for each of its rules.
	scraped := time.Now()

	// Rates move once a scrape after phase 2 lands; the SLO rules run every minute.
	waitFor(t, 100*time.Second, "the over-budget ratio, every rule group evaluated since and the alert firing", func() (bool, error) {
		if err := errIfExited(e, p); err != nil {
			return false, err
		}
		s, err := p.query(`claude_hooks:tool_calls_over_budget:ratio_rate5m`)
		if err != nil || len(s) != 1 {
			return false, nil
		}
		if v, _ := strconv.ParseFloat(s[0].value(), 64); !(v > 0 && v < 1) {
			return false, nil
		}
		groups, err := ruleGroups(p)
		if err != nil {
			return false, nil
		}
		for _, g := range groups {
			if !g.LastEvaluation.After(scraped) {
				return false, nil
			}
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return false, nil
				}
			}
		}
		st, err := alertState(p, waitingAlert)
		return err == nil && st == "firing", nil
	})

	t.Run("rules", func(t *testing.T) { checkRulesEvaluate(t, p) })
	t.Run("dashboard queries", func(t *testing.T) { checkDashboardQueries(t, p) })
	t.Run("metric names", func(t *testing.T) { checkMetricNames(t, e) })
	t.Run("budget buckets", func(t *testing.T) { checkBudgetBuckets(t, e, p) })
	t.Run("session usage", func(t *testing.T) { checkSessionUsage(t, e) })
	t.Run("variables", func(t *testing.T) { checkVariablesResolve(t, p, e) })
	t.Run("permission wait alert", func(t *testing.T) {
		var data struct {
			Alerts []struct {
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
				State       string            `json:"state"`
			} `json:"alerts"`
		}
		if err := p.api("alerts", nil, &data); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range data.Alerts {
			names = append(names, a.Labels["alertname"]+"="+a.State)
			if a.Labels["alertname"] != waitingAlert {
				continue
			}
			if a.State != "firing" || a.Labels["severity"] != "warning" || a.Labels["instance"] != e.addr {
				t.Errorf("%s: state %s labels %v", waitingAlert, a.State, a.Labels)
			}
			if !strings.Contains(a.Annotations["description"], "1 session(s) are blocked") {
				t.Errorf("%s: description %q", waitingAlert, a.Annotations["description"])
			}
			return
		}
		t.Fatalf("%s not in /api/v1/alerts: %v", waitingAlert, names)
	})
}

func errIfExited(e *exporter, p *prometheus) error {
	if err := e.exited(); err != nil {
		return err
	}
	return p.exited()
}

// ruleGroup is a group of /api/v1/rules.
type ruleGroup struct {
	Name           string    `json:"name"`
	LastEvaluation time.Time `json:"lastEvaluation"`
	Rules          []struct {
		Name      string `json:"name"`
		Query     string `json:"query"`
		Health    string `json:"health"`
		LastError string `json:"lastError"`
		Type      string `json:"type"`
	} `json:"rules"`
}

func ruleGroups(p *prometheus) ([]ruleGroup, error) {
	var data struct {
		Groups []ruleGroup `json:"groups"`
	}
	err := p.api("rules", nil, &data)
	return data.Groups, err
}

func alertState(p *prometheus, name string) (string, error) {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.api("rules", url.Values{"type": {"alert"}}, &data); err != nil {
		return "", err
	}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Name == name {
				return r.State, nil
			}
		}
	}
	return "", fmt.Errorf("no alert %s", name)
}

// checkRulesEvaluate: Prometheus loaded every rule of the repository, evaluated
// each without error, and each expression also runs through the query API.
func checkRulesEvaluate(t *testing.T, p *prometheus) {
	groups, err := ruleGroups(p)
	if err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range groups {
		for _, r := range g.Rules {
			loaded++
			if r.Health != "ok" || r.LastError != "" {
				t.Errorf("group %s rule %s: health %s: %s", g.Name, r.Name, r.Health, r.LastError)
			}
		}
	}
	rules := allRules(t)
	if loaded != len(rules) {
		t.Errorf("Prometheus loaded %d rules, the repository has %d", loaded, len(rules))
	}
	for _, r := range rules {
		if _, err := p.query(r.Expr); err != nil {
			t.Errorf("rule %s%s: %v", r.Record, r.Alert, err)
		}
	}
}

// emptyByDesign are dashboard queries the workload cannot give data: none yet.
var emptyByDesign = map[string]string{}

// checkDashboardQueries: every PromQL expression of every dashboard, with
// Grafana's variables substituted, evaluates without error and returns data.
func checkDashboardQueries(t *testing.T, p *prometheus) {
	n := 0
	for _, d := range loadDashboards(t) {
		for _, q := range d.promQueries(t) {
			n++
			expr, unknown := substitute(q.expr, grafanaVars(sessionWorks))
			if len(unknown) > 0 {
				t.Errorf("%s: unknown variables %v", q.where, unknown)
				continue
			}
			s, err := p.query(expr)
			if err != nil {
				t.Errorf("%s: %v", q.where, err)
				continue
			}
			if _, ok := emptyByDesign[q.where]; !ok && len(s) == 0 {
				t.Errorf("%s: no data for %s", q.where, expr)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d PromQL queries in the dashboards", n)
	}
}

var (
	metricNameRE = regexp.MustCompile(`\b(claude_hooks[A-Za-z0-9_:]*|process_[a-z_]+|go_[a-z_]+|up)\b`)
	stringLitRE  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
)

// metricNames are the metric names an expression selects (string literals, where
// label values and regexes live, are skipped).
func metricNames(expr string) []string {
	var out []string
	for _, m := range metricNameRE.FindAllString(stringLitRE.ReplaceAllString(expr, `""`), -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// checkMetricNames: every metric a dashboard or rule names is in the exporter's
// /metrics, a recording rule, or Prometheus's own up.
func checkMetricNames(t *testing.T, e *exporter) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(e.metrics(t)))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"up": true}
	for name, mf := range mfs {
		known[name] = true
		switch mf.GetType().String() {
		case "HISTOGRAM":
			known[name+"_bucket"], known[name+"_sum"], known[name+"_count"] = true, true, true
		case "SUMMARY":
			known[name+"_sum"], known[name+"_count"] = true, true
		}
	}
	for _, r := range allRules(t) {
		if r.Record != "" {
			known[r.Record] = true
		}
	}
	check := func(where, expr string) {
		for _, m := range metricNames(expr) {
			if !known[m] {
				t.Errorf("%s: metric %s is neither on /metrics nor a recording rule", where, m)
			}
		}
	}
	for _, d := range loadDashboards(t) {
		for _, q := range d.promQueries(t) {
			check(q.where, q.expr)
		}
	}
	for _, r := range allRules(t) {
		check("rule "+r.Record+r.Alert, r.Expr)
	}
}

// checkSessionUsage: the transcript's tokens are on /metrics by model and type,
// priced; the ended session's figures in the query API are the transcript's
// totals (the subagent's included once) and cost what the metrics say.
func checkSessionUsage(t *testing.T, e *exporter) {
	var (
		sess wire.SessionDetail
		mfs  map[string]*dto.MetricFamily
	)
	waitFor(t, 20*time.Second, "the session to end with all of its transcript", func() (bool, error) {
		if err := json.Unmarshal(e.get(t, "/api/v1/sessions/"+sessionWorks), &sess); err != nil {
			return false, err
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if mfs, err = parser.TextToMetricFamilies(strings.NewReader(e.metrics(t))); err != nil {
			return false, err
		}
		return sess.Session.Status == "ended" && sess.Session.OutputTokens == 1090+2+4, e.exited()
	})
	got := map[string]map[string]int64{}
	for _, m := range mfs["claude_hooks_tokens_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if got[labels["model"]] == nil {
			got[labels["model"]] = map[string]int64{}
		}
		got[labels["model"]][labels["type"]] = int64(m.GetCounter().GetValue())
	}
	if diff := cmp.Diff(transcriptTokens, got); diff != "" {
		t.Errorf("claude_hooks_tokens_total (-want +got):\n%s", diff)
	}
	var cost float64
	for _, m := range mfs["claude_hooks_cost_usd_total"].GetMetric() {
		if v := m.GetCounter().GetValue(); v <= 0 && !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetValue() == "acme-model-1" }) {
			t.Errorf("claude_hooks_cost_usd_total %v = %v, want a price", m.GetLabel(), v)
		}
		cost += m.GetCounter().GetValue()
	}
	ss := sess.Session
	type figures struct {
		In, Out, CacheRead, CacheCreation int64
		Models                            []string
	}
	want := figures{12 + 30 + 5 + 1 + 3, 340 + 150 + 600 + 2 + 4, 8000 + 1200 + 10000, 2000 + 400,
		[]string{"acme-model-1", "claude-haiku-4-5", "claude-opus-4-6", "claude-opus-9-9"}}
	if diff := cmp.Diff(want, figures{ss.InputTokens, ss.OutputTokens, ss.CacheReadTokens, ss.CacheCreationTokens, ss.Models}); diff != "" {
		t.Errorf("session %s usage (-want +got):\n%s", sessionWorks, diff)
	}
	if math.Abs(ss.CostUSD-cost) > 2e-6 || cost == 0 {
		t.Errorf("session cost_usd %v, the metrics say %v", ss.CostUSD, cost)
	}
}

// checkBudgetBuckets: each budget is a bucket boundary of the exporter's real
// tool duration histogram, and the per-tool budget Prometheus records is the
// table's row for a tool with one and the default row for an MCP tool.
func checkBudgetBuckets(t *testing.T, e *exporter, p *prometheus) {
	bounds := map[string]bool{"+Inf": true}
	for _, m := range regexp.MustCompile(`claude_hooks_tool_duration_seconds_bucket\{[^}]*le="([^"]+)"`).FindAllStringSubmatch(e.metrics(t), -1) {
		bounds[m[1]] = true
	}
	if len(bounds) < 5 {
		t.Fatalf("the exporter shows %d tool duration buckets", len(bounds))
	}
	rows := budgetRows(t)
	for _, r := range rows {
		if !bounds[r.le] {
			t.Errorf("budget of %s: %s s is not a bucket boundary of claude_hooks_tool_duration_seconds", r.tool, r.le)
		}
	}
	for tool, want := range map[string]string{"Bash": "300", "Read": "1", "mcp__github__get_pr": "60"} {
		s, err := p.query(fmt.Sprintf(`claude_hooks:tool_latency_budget_seconds:by_tool{tool=%q}`, tool))
		if err != nil || len(s) != 1 || s[0].value() != want || s[0].Metric["le"] != want {
			t.Errorf("budget of %s: %+v %v, want %s (le=%s)", tool, s, err, want, want)
		}
	}
}

// checkVariablesResolve: each Prometheus variable yields values: the tool and
// instance lists include what the workload produced, and the trace id derived
// from the session is the session UUID without dashes, as the trace uses.
func checkVariablesResolve(t *testing.T, p *prometheus, e *exporter) {
	want := map[string]string{"tool": "Bash", "instance": e.addr}
	for _, d := range loadDashboards(t) {
		for _, v := range d.Templating.List {
			if v.Datasource == nil || v.Datasource.UID != "prometheus" {
				continue
			}
			q, unknown := substitute(variableQuery(t, v), grafanaVars(sessionWorks))
			if len(unknown) > 0 {
				t.Errorf("%s: variable %s: unknown variables %v", d.file, v.Name, unknown)
				continue
			}
			switch {
			case labelValuesRE.MatchString(q):
				m := labelValuesRE.FindStringSubmatch(q)
				s, err := p.query(m[1])
				if err != nil {
					t.Errorf("%s: variable %s: %v", d.file, v.Name, err)
					continue
				}
				var vals []string
				for _, x := range s {
					vals = append(vals, x.Metric[m[2]])
				}
				if w, ok := want[v.Name]; ok && !slices.Contains(vals, w) {
					t.Errorf("%s: variable %s = %v, want %s among them", d.file, v.Name, vals, w)
				}
				if len(vals) == 0 {
					t.Errorf("%s: variable %s has no values", d.file, v.Name)
				}
			case queryResultRE.MatchString(q):
				s, err := p.query(queryResultRE.FindStringSubmatch(q)[1])
				if err != nil || len(s) != 1 {
					t.Errorf("%s: variable %s: %v %v", d.file, v.Name, s, err)
					continue
				}
				// Grafana applies the regex to the series as text: {labels} value ts.
				text := "{"
				for k, val := range s[0].Metric {
					text += fmt.Sprintf("%s=%q, ", k, val)
				}
				text += "}"
				re := regexp.MustCompile(strings.Trim(v.Regex, "/"))
				m := re.FindStringSubmatch(text)
				if m == nil {
					t.Errorf("%s: variable %s: regex %s does not match %s", d.file, v.Name, v.Regex, text)
					continue
				}
				if v.Name == "trace_id" && m[1] != strings.ReplaceAll(sessionWorks, "-", "") {
					t.Errorf("trace_id = %q, want the session id without dashes", m[1])
				}
			}
		}
	}
	// The budget panels compare against NaN-free numbers: the SLO ratio is a number.
	s, err := p.query(`claude_hooks:tool_calls_over_budget:ratio_rate5m`)
	if err != nil || len(s) != 1 {
		t.Fatalf("ratio: %v %v", s, err)
	}
	if v, _ := strconv.ParseFloat(s[0].value(), 64); math.IsNaN(v) {
		t.Error("over-budget ratio is NaN")
	}
}
