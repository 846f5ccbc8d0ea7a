package stacktest

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// rawDashboard is a dashboard as the file has it, data source variable
// references unresolved (loadDashboards resolves them).
type rawDashboard struct {
	file   string
	Title  string `json:"title"`
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Requires []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"__requires"`
	Panels     []rawPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Label      string          `json:"label"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Refresh    int             `json:"refresh"`
			Datasource *datasourceRef  `json:"datasource"`
			Current    struct {
				Value any `json:"value"` // a string, or a list for multi-value variables
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
}

type rawPanel struct {
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Datasource  *datasourceRef `json:"datasource"`
	Targets     []target       `json:"targets"`
	Panels      []rawPanel     `json:"panels"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

func (p rawPanel) all() []rawPanel {
	out := []rawPanel{p}
	for _, c := range p.Panels {
		out = append(out, c.all()...)
	}
	return out
}

// validUnits are Grafana unit ids (packages/grafana-data valueFormats) these
// dashboards may use; a misspelt unit shows raw numbers.
var validUnits = []string{
	"none", "short", "percent", "percentunit", "bytes", "decbytes", "ns", "µs", "ms", "s", "m", "h", "d",
	"dtdurations", "dtdurationms", "ops", "reqps", "cps", "currencyUSD", "dateTimeAsIso", "string", "bool",
}

// lintConfig is dashboards/.lint, the dashboard linter's exclusions.
type lintConfig struct {
	Exclusions map[string]*struct {
		Reason  string `yaml:"reason"`
		Entries []struct {
			Dashboard string `yaml:"dashboard"`
		} `yaml:"entries"`
	} `yaml:"exclusions"`
}

func (c lintConfig) excluded(rule, dashboard string) bool {
	e, ok := c.Exclusions[rule]
	if !ok {
		return false
	}
	return e == nil || len(e.Entries) == 0 || slices.ContainsFunc(e.Entries, func(x struct {
		Dashboard string `yaml:"dashboard"`
	}) bool {
		return x.Dashboard == dashboard
	})
}

// pluginVar is the name of the plugin's data source variable: the linter's
// <type>_datasource cannot be a Grafana variable name (dashboards/.lint).
const pluginVar = "claudehooks_datasource"

// TestDashboardLint applies the rules of Grafana's dashboard linter that need
// no network (what `dashboard-linter lint --strict` reported on these files),
// with the exclusions of dashboards/.lint, and what importing a dashboard into
// another Grafana needs:
//   - template-datasource-rule: a data source variable per data source type
//     used, named datasource (the only one) or <type>_datasource and labelled
//     "Data source" or "<Type> data source";
//   - panel-datasource-rule, for every panel and query, not only the linter's
//     panel types: the data source is a data source variable, never a uid;
//   - query variables take their data source from a variable too, and reload
//     when the time range changes (template-on-time-change-reload-rule);
//   - panel-units-rule, for every panel: a valid unit, also in overrides;
//   - __inputs for grafana.com-style import, one per data source variable,
//     which the variable's current value refers to, and __requires naming them;
//   - no link to a host (localhost, 127.0.0.1): traces open through the
//     trace data source variable.
func TestDashboardLint(t *testing.T) {
	var cfg lintConfig
	readYAML(t, repoPath("dashboards", ".lint"), &cfg)
	provisioned := map[string]int{} // type → provisioned data sources of it
	for _, typ := range provisionedDatasources(t) {
		provisioned[typ]++
	}
	caser := func(s string) string { // the linter's title case: first letter of each word
		prev := ' '
		return strings.Map(func(r rune) rune {
			defer func() { prev = r }()
			if !unicode.IsLetter(prev) && !unicode.IsDigit(prev) {
				return unicode.ToUpper(r)
			}
			return r
		}, s)
	}
	usedExclusions := map[string]bool{}
	for _, d := range loadRawDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			raw, err := os.ReadFile(repoPath("dashboards", d.file))
			if err != nil {
				t.Fatal(err)
			}
			dsVars := map[string]string{} // variable name → data source type
			inputs := map[string]string{} // input name → plugin id
			for _, in := range d.Inputs {
				if in.Type != "datasource" {
					t.Errorf("__inputs %s: type %q, want datasource", in.Name, in.Type)
				}
				inputs[in.Name] = in.PluginID
			}
			var dsTemplates []string
			for _, v := range d.Templating.List {
				if v.Type == "datasource" {
					var typ string
					if err := json.Unmarshal(v.Query, &typ); err != nil {
						t.Errorf("variable %s: query %s is not a data source type", v.Name, v.Query)
					}
					dsVars[v.Name] = typ
					dsTemplates = append(dsTemplates, v.Name)
				}
			}
			if len(dsVars) == 0 {
				t.Fatal("template-datasource-rule: no data source variable")
			}
			usedInputs := map[string]bool{}
			for _, v := range d.Templating.List {
				where := "variable " + v.Name
				switch v.Type {
				case "datasource":
					typ := dsVars[v.Name]
					names := []string{typ + "_datasource"}
					labels := []string{caser(typ) + " data source"}
					if len(dsVars) == 1 {
						names, labels = append(names, "datasource"), append(labels, "Data source")
					}
					if !slices.Contains(names, v.Name) || !slices.Contains(labels, v.Label) {
						exempt := typ == "claudehooks-live-datasource" && v.Name == pluginVar && v.Label == "Claude Code hooks data source"
						if !exempt {
							t.Errorf("template-datasource-rule: %s labelled %q, want a name in %v labelled one of %v", where, v.Label, names, labels)
						} else if !cfg.excluded("template-datasource-rule", d.Title) {
							t.Errorf("template-datasource-rule: %s is the plugin's exception, but dashboards/.lint does not exclude %q", where, d.Title)
						} else {
							usedExclusions[d.Title] = true
						}
					}
					cur, _ := v.Current.Value.(string)
					in := strings.TrimSuffix(strings.TrimPrefix(cur, "${"), "}")
					if inputs[in] != typ {
						t.Errorf("%s: current value %q is not an __inputs data source of type %s", where, v.Current.Value, typ)
					}
					usedInputs[in] = true
					if provisioned[typ] != 1 {
						t.Errorf("%s: provisioning defines %d data sources of type %s, want 1 (the one the variable picks in compose)", where, provisioned[typ], typ)
					}
				case "query":
					if !isVarRef(v.Datasource, dsVars) {
						t.Errorf("%s: data source %+v is not a data source variable", where, v.Datasource)
					}
					if v.Refresh != 2 {
						t.Errorf("template-on-time-change-reload-rule: %s: refresh %d, want 2 (on time range change)", where, v.Refresh)
					}
				}
			}
			for in := range inputs {
				if !usedInputs[in] {
					t.Errorf("__inputs %s: no data source variable uses it", in)
				}
			}
			for _, typ := range dsVars {
				if !slices.ContainsFunc(d.Requires, func(r struct {
					Type string `json:"type"`
					ID   string `json:"id"`
				}) bool {
					return r.Type == "datasource" && r.ID == typ
				}) {
					t.Errorf("__requires names no data source %s", typ)
				}
			}
			n := 0
			for _, top := range d.Panels {
				for _, p := range top.all() {
					if p.Type == "row" {
						continue
					}
					n++
					where := "panel " + p.Title
					if !isVarRef(p.Datasource, dsVars) {
						t.Errorf("panel-datasource-rule: %s: data source %+v is not a data source variable", where, p.Datasource)
					}
					for _, q := range p.Targets {
						if !isVarRef(q.Datasource, dsVars) || q.Datasource.UID != p.Datasource.UID {
							t.Errorf("panel-datasource-rule: %s query %s: data source %+v, want the panel's variable", where, q.RefID, q.Datasource)
						}
					}
					if !slices.Contains(validUnits, p.FieldConfig.Defaults.Unit) {
						t.Errorf("panel-units-rule: %s: unit %q, want one of %v", where, p.FieldConfig.Defaults.Unit, validUnits)
					}
					for _, o := range p.FieldConfig.Overrides {
						for _, pr := range o.Properties {
							if u, ok := pr.Value.(string); pr.ID == "unit" && (!ok || !slices.Contains(validUnits, u)) {
								t.Errorf("panel-units-rule: %s: override unit %v", where, pr.Value)
							}
						}
					}
				}
			}
			if n == 0 {
				t.Error("no panels")
			}
			if m := regexp.MustCompile(`(?i)https?://(localhost|127\.0\.0\.1)[^"]*`).Find(raw); m != nil {
				t.Errorf("links to a host of this machine: %s", m)
			}
			if regexp.MustCompile(`"uid":\s*"(prometheus|jaeger|claude-hooks)"`).Match(raw) {
				t.Error("names a provisioned data source uid instead of a variable")
			}
		})
	}
	for rule, e := range cfg.Exclusions {
		if rule != "template-datasource-rule" {
			t.Errorf("dashboards/.lint excludes %s, which this test does not know", rule)
			continue
		}
		for _, x := range e.Entries {
			if !usedExclusions[x.Dashboard] {
				t.Errorf("dashboards/.lint: exclusion of %s for %q is not needed", rule, x.Dashboard)
			}
		}
	}
}

// isVarRef reports whether ref names one of the data source variables and
// has that variable's type.
func isVarRef(ref *datasourceRef, vars map[string]string) bool {
	if ref == nil {
		return false
	}
	name := strings.TrimPrefix(ref.UID, "$")
	name = strings.TrimSuffix(strings.TrimPrefix(name, "{"), "}")
	typ, ok := vars[name]
	return ok && (ref.UID == "$"+name || ref.UID == "${"+name+"}") && ref.Type == typ
}

func loadRawDashboards(tb testing.TB) []rawDashboard {
	tb.Helper()
	var out []rawDashboard
	for _, d := range loadDashboards(tb) {
		b, err := os.ReadFile(repoPath("dashboards", d.file))
		if err != nil {
			tb.Fatal(err)
		}
		var r rawDashboard
		if err := json.Unmarshal(b, &r); err != nil {
			tb.Fatalf("%s: %v", d.file, err)
		}
		r.file = d.file
		out = append(out, r)
	}
	return out
}
