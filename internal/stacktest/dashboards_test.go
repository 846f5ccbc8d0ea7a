package stacktest

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// provisionedDatasources reads deploy/grafana/provisioning/datasources: uid → type.
func provisionedDatasources(tb testing.TB) map[string]string {
	tb.Helper()
	var f struct {
		Datasources []struct {
			Name           string            `yaml:"name"`
			UID            string            `yaml:"uid"`
			Type           string            `yaml:"type"`
			URL            string            `yaml:"url"`
			JSONData       map[string]any    `yaml:"jsonData"`
			SecureJSONData map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(tb, repoPath("deploy", "grafana", "provisioning", "datasources", "datasources.yml"), &f)
	out := map[string]string{}
	for _, d := range f.Datasources {
		out[d.UID] = d.Type
	}
	return out
}

// pluginQueryTypes are the query types of the claude-hooks data source plugin.
var pluginQueryTypes = []string{"events", "sessions", "session-trace", "event-rate", "live"}

// TestDashboards: each dashboard loads, has its fixed uid (unique), tags that the
// dashboard links find, unique panel ids, panels inside the 24-column grid, data
// sources that provisioning defines (with the matching type), well-formed plugin
// queries, and only variables it defines or Grafana provides.
func TestDashboards(t *testing.T) {
	dss := provisionedDatasources(t)
	for _, uid := range []string{"prometheus", "jaeger", "claude-hooks"} {
		if dss[uid] == "" {
			t.Errorf("provisioning defines no data source with uid %q", uid)
		}
	}
	dashes := loadDashboards(t)
	uids := map[string]string{}
	tagged := map[string]int{}
	for _, d := range dashes {
		for _, tag := range d.Tags {
			tagged[tag]++
		}
	}
	if len(dashes) != len(expectedDashboards) {
		t.Errorf("%d dashboards, want %d", len(dashes), len(expectedDashboards))
	}
	for _, d := range dashes {
		t.Run(d.file, func(t *testing.T) {
			if want := expectedDashboards[d.file]; d.UID != want {
				t.Errorf("uid %q, want the fixed %q", d.UID, want)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = d.file
			if d.Title == "" {
				t.Error("no title")
			}
			checkLinks(t, d, tagged)
			checkPanels(t, d, dss)
			checkVariables(t, d, dss)
		})
	}
}

func checkLinks(t *testing.T, d dashboard, tagged map[string]int) {
	t.Helper()
	if len(d.Links) == 0 {
		t.Error("no links to the other dashboards")
	}
	for _, l := range d.Links {
		switch l.Type {
		case "dashboards":
			for _, tag := range l.Tags {
				if tagged[tag] < 2 {
					t.Errorf("link %q: tag %q is on %d dashboards", l.Title, tag, tagged[tag])
				}
			}
		case "link":
			checkURL(t, d, "link "+l.Title, l.URL)
		default:
			t.Errorf("link %q: type %q", l.Title, l.Type)
		}
	}
}

var dashURLRE = regexp.MustCompile(`^/d/([\w-]+)`)

// checkURL: a link to a dashboard names one that exists; its variables resolve.
func checkURL(t *testing.T, d dashboard, where, u string) {
	t.Helper()
	if m := dashURLRE.FindStringSubmatch(u); m != nil {
		found := false
		for _, uid := range expectedDashboards {
			found = found || uid == m[1]
		}
		if !found {
			t.Errorf("%s: links to unknown dashboard %q", where, m[1])
		}
	}
	checkVarRefs(t, d, where, u)
}

// checkVarRefs: every variable referenced in s is the dashboard's own or one of
// Grafana's built-ins.
func checkVarRefs(t *testing.T, d dashboard, where, s string) {
	t.Helper()
	known := map[string]string{}
	for _, v := range d.Templating.List {
		known[v.Name] = "x"
	}
	for _, b := range []string{"__rate_interval", "__interval", "__range", "__url_time_range", "__value", "__data", "__all"} {
		known[b] = "x"
	}
	// ${__value.raw} and ${__data.fields.x} are data-link built-ins.
	s = regexp.MustCompile(`\$\{__(value|data)\.[^}]*\}`).ReplaceAllString(s, "")
	if _, unknown := substitute(s, known); len(unknown) > 0 {
		t.Errorf("%s: unknown variables %v", where, unknown)
	}
}

func checkPanels(t *testing.T, d dashboard, dss map[string]string) {
	t.Helper()
	ids := map[int]bool{}
	n := 0
	for _, p := range d.allPanels() {
		where := "panel " + p.Title
		if ids[p.ID] {
			t.Errorf("%s: id %d used twice", where, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24 columns", where, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		n++
		checkRef(t, where, p.Datasource, dss)
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", where)
		}
		for _, q := range p.Targets {
			checkRef(t, where+" "+q.RefID, q.Datasource, dss)
			if q.Datasource == nil || p.Datasource == nil || q.Datasource.UID != p.Datasource.UID {
				t.Errorf("%s %s: query data source differs from the panel's", where, q.RefID)
			}
			switch {
			case q.Datasource == nil:
			case q.Datasource.UID == "prometheus":
				if strings.TrimSpace(q.Expr) == "" {
					t.Errorf("%s %s: empty expr", where, q.RefID)
				}
				checkVarRefs(t, d, where, q.Expr)
			case q.Datasource.UID == "claude-hooks":
				if !slices.Contains(pluginQueryTypes, q.QueryType) {
					t.Errorf("%s %s: queryType %q, want one of %v", where, q.RefID, q.QueryType, pluginQueryTypes)
				}
				if q.QueryType == "session-trace" && q.Session == "" {
					t.Errorf("%s %s: session-trace without a session", where, q.RefID)
				}
				checkVarRefs(t, d, where, q.Session+" "+q.Tool+" "+q.Text)
			}
		}
		// Data links in field config.
		for _, u := range regexp.MustCompile(`"url":\s*"((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(p.FieldConfig), -1) {
			var s string
			_ = json.Unmarshal([]byte(`"`+u[1]+`"`), &s)
			checkURL(t, d, where+" data link", s)
		}
	}
	if n == 0 {
		t.Error("no panels")
	}
	for _, a := range d.Annotations.List {
		if a.Datasource != nil && a.Datasource.UID != "-- Grafana --" {
			checkRef(t, "annotation", a.Datasource, dss)
		}
	}
}

func checkRef(t *testing.T, where string, ref *datasourceRef, dss map[string]string) {
	t.Helper()
	if ref == nil {
		t.Errorf("%s: no data source (it would use the default)", where)
		return
	}
	typ, ok := dss[ref.UID]
	if !ok {
		t.Errorf("%s: data source uid %q is not provisioned", where, ref.UID)
	} else if ref.Type != typ {
		t.Errorf("%s: data source %q has type %q, provisioning says %q", where, ref.UID, ref.Type, typ)
	}
}

func checkVariables(t *testing.T, d dashboard, dss map[string]string) {
	t.Helper()
	names := map[string]bool{}
	for _, v := range d.Templating.List {
		where := "variable " + v.Name
		if names[v.Name] {
			t.Errorf("%s: defined twice", where)
		}
		names[v.Name] = true
		if v.Type != "query" {
			continue
		}
		checkRef(t, where, v.Datasource, dss)
		if v.Datasource != nil && v.Datasource.UID == "claude-hooks" {
			var q target
			if err := json.Unmarshal(v.Query, &q); err != nil || !slices.Contains(pluginQueryTypes, q.QueryType) {
				t.Errorf("%s: plugin query %s is not a query model with a known queryType", where, v.Query)
			}
		}
		if v.Regex != "" {
			if _, err := regexp.Compile(strings.Trim(v.Regex, "/")); err != nil {
				t.Errorf("%s: regex: %v", where, err)
			}
		}
	}
	// A variable's own query may use the variables before it and the built-ins.
	for _, v := range d.Templating.List {
		if v.Datasource != nil && v.Datasource.UID == "prometheus" {
			checkVarRefs(t, d, "variable "+v.Name, variableQuery(t, v))
		}
	}
}

// TestSubstitute pins the variable handling the stack test relies on.
func TestSubstitute(t *testing.T) {
	vars := map[string]string{"tool": ".+", "__range": "5m", "session": "s-1"}
	tests := []struct {
		in, want string
		unknown  []string
	}{
		{`rate(x{tool=~"$tool"}[$__range])`, `rate(x{tool=~".+"}[5m])`, nil},
		{`label_replace(v, "a", "$1$2", "b", "(.)(.)")`, `label_replace(v, "a", "$1$2", "b", "(.)(.)")`, nil},
		{`/trace/${session}`, `/trace/s-1`, nil},
		{`${tool:regex} $nope`, `.+ $nope`, []string{"nope"}},
	}
	for _, tc := range tests {
		got, unknown := substitute(tc.in, vars)
		if got != tc.want || !slices.Equal(unknown, tc.unknown) {
			t.Errorf("substitute(%q) = %q %v, want %q %v", tc.in, got, unknown, tc.want, tc.unknown)
		}
	}
}
