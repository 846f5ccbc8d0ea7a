package stacktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// promtool runs promtool with args in dir and returns its combined output.
func promtool(tb testing.TB, dir string, args ...string) (string, error) {
	tb.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		tb.Fatalf("promtool not installed (make test-deps installs it): %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// testPrometheusDir copies deploy/prometheus into a temporary directory with the
// exporter's scrape target, its token file and Prometheus's own target rewritten
// (the rest is the file users run), and applies edit to each rule file.
func testPrometheusDir(tb testing.TB, exporterAddr, tokenFile, selfAddr string, edit func(file string, rf *yaml.Node)) string {
	tb.Helper()
	dst := tb.TempDir()
	src := repoPath("deploy", "prometheus")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	var cfg map[string]any
	readYAML(tb, filepath.Join(src, "prometheus.yml"), &cfg)
	scrapes, _ := cfg["scrape_configs"].([]any)
	found := false
	for _, s := range scrapes {
		sc := s.(map[string]any)
		switch sc["job_name"] {
		case "claude-hooks-exporter":
			found = true
			sc["static_configs"] = []any{map[string]any{"targets": []any{exporterAddr}}}
			auth, ok := sc["authorization"].(map[string]any)
			if !ok {
				tb.Fatal("prometheus.yml: the claude-hooks-exporter job has no authorization (the exporter needs its token beyond loopback)")
			}
			auth["credentials_file"] = tokenFile
		case "prometheus":
			sc["static_configs"] = []any{map[string]any{"targets": []any{selfAddr}}}
		}
	}
	if !found {
		tb.Fatal("prometheus.yml: no claude-hooks-exporter scrape job")
	}
	writeYAML(tb, filepath.Join(dst, "prometheus.yml"), cfg)
	if edit != nil {
		files, _ := filepath.Glob(filepath.Join(dst, "rules", "*.yml"))
		for _, f := range files {
			var n yaml.Node
			readYAML(tb, f, &n)
			edit(filepath.Base(f), &n)
			writeYAML(tb, f, &n)
		}
	}
	return dst
}

func writeYAML(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// TestPromtoolCheckConfig: promtool accepts prometheus.yml with the rule files it
// loads. Only the token file path is swapped for one that exists here.
func TestPromtoolCheckConfig(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := testPrometheusDir(t, "exporter:9469", tok, "localhost:9090", nil)
	out, err := promtool(t, dir, "check", "config", "--lint=all", "prometheus.yml")
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	// The rule files must have been checked too: the glob found them.
	if !strings.Contains(out, "rules found") {
		t.Errorf("promtool check config found no rules:\n%s", out)
	}
}

// TestPromtoolCheckRules: every rule file passes promtool's checks and lint.
func TestPromtoolCheckRules(t *testing.T) {
	files, _ := filepath.Glob(repoPath("deploy", "prometheus", "rules", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no rule files")
	}
	out, err := promtool(t, repoRoot, append([]string{"check", "rules", "--lint=all"}, files...)...)
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestPromtoolRuleUnitTests runs the rule unit tests in deploy/prometheus/tests.
func TestPromtoolRuleUnitTests(t *testing.T) {
	files, _ := filepath.Glob(repoPath("deploy", "prometheus", "tests", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no rule unit tests in deploy/prometheus/tests")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := promtool(t, filepath.Dir(f), "test", "rules", filepath.Base(f))
			if err != nil || !strings.Contains(out, "SUCCESS") {
				t.Fatalf("promtool test rules %s: %v\n%s", filepath.Base(f), err, out)
			}
		})
	}
}

// ruleUnitTests is the part of a promtool test file the coverage check reads.
type ruleUnitTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertHasUnitTests: each alert has a promtool case where it fires (with
// its annotations checked) and one where it stays silent.
func TestEveryAlertHasUnitTests(t *testing.T) {
	firing, silent := map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob(repoPath("deploy", "prometheus", "tests", "*.yml"))
	for _, f := range files {
		var u ruleUnitTests
		readYAML(t, f, &u)
		for _, tc := range u.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) == 0 {
					silent[a.Alertname] = true
					continue
				}
				for _, e := range a.ExpAlerts {
					if e.ExpAnnotations["description"] == "" || e.ExpLabels["severity"] == "" {
						t.Errorf("%s: %s: an expected alert without severity or description", filepath.Base(f), a.Alertname)
					}
				}
				firing[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, r := range allRules(t) {
		if r.Alert == "" {
			continue
		}
		n++
		if !firing[r.Alert] {
			t.Errorf("alert %s has no unit test where it fires", r.Alert)
		}
		if !silent[r.Alert] {
			t.Errorf("alert %s has no unit test where it stays silent", r.Alert)
		}
	}
	if n == 0 {
		t.Fatal("no alert rules")
	}
}
