package stacktest

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// runbookURL is where every alert's runbook_url must point: a section of
// docs/runbooks.md.
const runbookURL = "https://github.com/claudehooks/claude-hooks-exporter/blob/main/docs/runbooks.md#"

// TestAlertsAreDocumented: every alert has a known severity, a summary, a
// description carrying a value, and a runbook_url whose anchor is a section of
// docs/runbooks.md; every section there belongs to an alert.
func TestAlertsAreDocumented(t *testing.T) {
	b, err := os.ReadFile(repoPath("docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^## (.+)$`).FindAllStringSubmatch(string(b), -1) {
		anchors[githubAnchor(m[1])] = m[1]
	}
	severities := map[string]bool{"critical": true, "warning": true, "info": true}
	seen := map[string]bool{}
	for _, r := range allRules(t) {
		if r.Alert == "" {
			continue
		}
		t.Run(r.Alert, func(t *testing.T) {
			if seen[r.Alert] {
				t.Errorf("alert name used twice")
			}
			seen[r.Alert] = true
			if !severities[r.Labels["severity"]] {
				t.Errorf("severity %q, want critical, warning or info", r.Labels["severity"])
			}
			if strings.TrimSpace(r.Annotations["summary"]) == "" {
				t.Error("no summary")
			}
			if d := r.Annotations["description"]; !strings.Contains(d, "$value") && !strings.Contains(d, "query") {
				t.Errorf("description shows no value: %q", d)
			}
			u := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(u, runbookURL)
			if !ok {
				t.Fatalf("runbook_url %q is not under %s", u, runbookURL)
			}
			if anchor != strings.ToLower(r.Alert) {
				t.Errorf("runbook anchor %q, want %q", anchor, strings.ToLower(r.Alert))
			}
			if _, ok := anchors[anchor]; !ok {
				t.Errorf("docs/runbooks.md has no section for #%s", anchor)
			}
		})
	}
	for a, title := range anchors {
		if !seen[title] {
			t.Errorf("docs/runbooks.md section %q (#%s) belongs to no alert", title, a)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestBudgetTable: every row of the tool latency budget table has a tool, its le
// label is its value written as the histogram writes bucket boundaries, and there
// is exactly one default row. (The stack test checks the boundaries against the
// exporter's real buckets.)
func TestBudgetTable(t *testing.T) {
	rows := budgetRows(t)
	if len(rows) < 2 {
		t.Fatalf("budget table has %d rows", len(rows))
	}
	tools := map[string]bool{}
	for _, r := range rows {
		if tools[r.tool] {
			t.Errorf("tool %q has two budget rows", r.tool)
		}
		tools[r.tool] = true
		want := strconv.FormatFloat(r.value, 'g', -1, 64)
		if r.value > 1e300 {
			want = "+Inf"
		}
		if r.le != want {
			t.Errorf("tool %s: le %q, want %q (the value %v)", r.tool, r.le, want, r.value)
		}
	}
	if !tools["default"] {
		t.Error("no default row (tool=\"default\") for tools without their own budget")
	}
}

// budgetRow is one row of claude_hooks:tool_latency_budget_seconds.
type budgetRow struct {
	tool, le string
	value    float64
}

func budgetRows(tb testing.TB) []budgetRow {
	tb.Helper()
	var rows []budgetRow
	vectorRE := regexp.MustCompile(`^vector\(([^)]+)\)$`)
	for _, r := range allRules(tb) {
		if r.Record != "claude_hooks:tool_latency_budget_seconds" {
			continue
		}
		m := vectorRE.FindStringSubmatch(strings.TrimSpace(r.Expr))
		if m == nil {
			tb.Fatalf("budget row %v: expr %q is not vector(<number>)", r.Labels, r.Expr)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			tb.Fatalf("budget row %v: %v", r.Labels, err)
		}
		if r.Labels["tool"] == "" || r.Labels["le"] == "" {
			tb.Fatalf("budget row %q without tool or le label", r.Expr)
		}
		rows = append(rows, budgetRow{tool: r.Labels["tool"], le: r.Labels["le"], value: v})
	}
	return rows
}
