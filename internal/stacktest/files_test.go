package stacktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

// rule is one recording or alert rule.
type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// loadRules reads every file of deploy/prometheus/rules.
func loadRules(tb testing.TB) map[string]ruleFile {
	tb.Helper()
	files, err := filepath.Glob(repoPath("deploy", "prometheus", "rules", "*.yml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no rule files in deploy/prometheus/rules (%v)", err)
	}
	out := map[string]ruleFile{}
	for _, f := range files {
		var rf ruleFile
		readYAML(tb, f, &rf)
		out[filepath.Base(f)] = rf
	}
	return out
}

// allRules flattens the rule files in a stable order.
func allRules(tb testing.TB) []rule {
	tb.Helper()
	files := loadRules(tb)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var rs []rule
	for _, n := range names {
		for _, g := range files[n].Groups {
			rs = append(rs, g.Rules...)
		}
	}
	return rs
}

func readYAML(tb testing.TB, path string, out any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(out); err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
}

// dashboard is the part of a Grafana dashboard model the tests read.
type dashboard struct {
	file        string
	UID         string      `json:"uid"`
	Title       string      `json:"title"`
	Tags        []string    `json:"tags"`
	Links       []dashLink  `json:"links"`
	Panels      []panel     `json:"panels"`
	Templating  templating  `json:"templating"`
	Annotations annotations `json:"annotations"`
}

type dashLink struct {
	Title string   `json:"title"`
	Type  string   `json:"type"`
	Tags  []string `json:"tags"`
	URL   string   `json:"url"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Datasource  *datasourceRef  `json:"datasource"`
	Targets     []target        `json:"targets"`
	Panels      []panel         `json:"panels"`
	FieldConfig json.RawMessage `json:"fieldConfig"`
	GridPos     struct {
		X, Y, W, H int
	} `json:"gridPos"`
}

// target is a panel query: PromQL for Prometheus, the plugin's query model for
// the claude-hooks data source.
type target struct {
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`
	Expr       string         `json:"expr"`
	QueryType  string         `json:"queryType"`
	Session    string         `json:"session"`
	Events     []string       `json:"events"`
	Tool       string         `json:"tool"`
	Outcome    string         `json:"outcome"`
	Text       string         `json:"text"`
}

type templating struct {
	List []variable `json:"list"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Datasource *datasourceRef  `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Regex      string          `json:"regex"`
	AllValue   string          `json:"allValue"`
	IncludeAll bool            `json:"includeAll"`
}

type annotations struct {
	List []struct {
		Datasource *datasourceRef `json:"datasource"`
	} `json:"list"`
}

// expectedDashboards are the provisioned dashboards and their fixed uids: links,
// bookmarks and alert annotations depend on them.
var expectedDashboards = map[string]string{
	"overview.json":         "claude-hooks-overview",
	"tools.json":            "claude-hooks-tools",
	"session-explorer.json": "claude-hooks-session",
	"latency-budgets.json":  "claude-hooks-budgets",
	"exporter-health.json":  "claude-hooks-exporter",
}

// loadDashboards reads every JSON file in dashboards/.
func loadDashboards(tb testing.TB) []dashboard {
	tb.Helper()
	files, err := filepath.Glob(repoPath("dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no dashboards (%v)", err)
	}
	var ds []dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		d.file = filepath.Base(f)
		d.resolveDatasources(tb)
		ds = append(ds, d)
	}
	return ds
}

// resolveDatasources replaces each reference to a data source variable
// (${prometheus_datasource}) with the uid of the data source of the
// variable's type that provisioning defines, as Grafana resolves it in the
// compose stack, where each type has one. lintDashboards checks the
// references themselves.
func (d *dashboard) resolveDatasources(tb testing.TB) {
	tb.Helper()
	uidOf := map[string]string{} // type → provisioned uid
	for uid, typ := range provisionedDatasources(tb) {
		uidOf[typ] = uid
	}
	vars := map[string]string{} // "${name}" and "$name" → the provisioned uid
	for _, v := range d.Templating.List {
		if v.Type != "datasource" {
			continue
		}
		var typ string
		if err := json.Unmarshal(v.Query, &typ); err != nil || uidOf[typ] == "" {
			tb.Errorf("%s: data source variable %s: query %s names no provisioned data source type", d.file, v.Name, v.Query)
			continue
		}
		vars["${"+v.Name+"}"], vars["$"+v.Name] = uidOf[typ], uidOf[typ]
	}
	resolve := func(r *datasourceRef) {
		if r != nil && vars[r.UID] != "" {
			r.UID = vars[r.UID]
		}
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for i := range ps {
			resolve(ps[i].Datasource)
			for j := range ps[i].Targets {
				resolve(ps[i].Targets[j].Datasource)
			}
			walk(ps[i].Panels)
		}
	}
	walk(d.Panels)
	for i := range d.Templating.List {
		resolve(d.Templating.List[i].Datasource)
	}
}

// allPanels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// promQuery is one PromQL expression of a dashboard: a panel target or a variable.
type promQuery struct {
	where string
	expr  string
}

// promQueries returns the dashboard's PromQL: panel targets on the Prometheus data
// source, and query variables on it (label_values(metric, label) as its metric,
// query_result(expr) as expr).
func (d dashboard) promQueries(tb testing.TB) []promQuery {
	tb.Helper()
	var out []promQuery
	for _, p := range d.allPanels() {
		for _, t := range p.Targets {
			if t.Datasource != nil && t.Datasource.UID == "prometheus" {
				out = append(out, promQuery{where: d.file + ": panel " + p.Title + " " + t.RefID, expr: t.Expr})
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Datasource == nil || v.Datasource.UID != "prometheus" {
			continue
		}
		q := variableQuery(tb, v)
		if m := labelValuesRE.FindStringSubmatch(q); m != nil {
			q = m[1]
		} else if m := queryResultRE.FindStringSubmatch(q); m != nil {
			q = m[1]
		} else {
			tb.Errorf("%s: variable %s: query %q is neither label_values nor query_result", d.file, v.Name, q)
			continue
		}
		out = append(out, promQuery{where: d.file + ": variable " + v.Name, expr: q})
	}
	return out
}

var (
	labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
	queryResultRE = regexp.MustCompile(`^query_result\((.+)\)$`)
)

// variableQuery is a Prometheus query variable's query string (Grafana stores it
// as a string or as {"query": ...}).
func variableQuery(tb testing.TB, v variable) string {
	tb.Helper()
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &obj); err != nil {
		tb.Fatalf("variable %s: query: %v", v.Name, err)
	}
	return obj.Query
}

// grafanaVars are the values the tests give Grafana's variables before sending a
// dashboard query to Prometheus: the built-ins as Grafana computes them for a
// 15 s scrape interval, the dashboards' own variables as their "All" value, and
// $session as the test workload's session.
func grafanaVars(session string) map[string]string {
	return map[string]string{
		"__rate_interval": "1m",
		"__interval":      "15s",
		"__range":         "5m",
		"tool":            ".+",
		"instance":        ".+",
		"session":         session,
	}
}

// varRefRE matches Grafana variable references: $name, ${name}, ${name:format}.
// $1 and the like (regex groups of label_replace) are not variables.
var varRefRE = regexp.MustCompile(`\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\$([A-Za-z_]\w*)`)

// substitute replaces the variables in s; it reports the names it did not know.
func substitute(s string, vars map[string]string) (string, []string) {
	var unknown []string
	out := varRefRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := varRefRE.FindStringSubmatch(m)
		name := sm[1] + sm[2]
		if v, ok := vars[name]; ok {
			return v
		}
		unknown = append(unknown, name)
		return m
	})
	return out, unknown
}
