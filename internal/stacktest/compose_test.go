package stacktest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// composeProject is the part of compose-go's normalised project the tests read.
type composeProject struct {
	Name     string                     `json:"name"`
	Services map[string]composeService  `json:"services"`
	Volumes  map[string]json.RawMessage `json:"volumes"`
}

type composeService struct {
	Image       string            `json:"image"`
	Build       *json.RawMessage  `json:"build"`
	User        string            `json:"user"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	Restart     string            `json:"restart"`
	Healthcheck *struct {
		Test []string `json:"test"`
	} `json:"healthcheck"`
	Ports []struct {
		HostIP    string `json:"host_ip"`
		Target    int    `json:"target"`
		Published string `json:"published"`
	} `json:"ports"`
	Volumes []struct {
		Type     string `json:"type"`
		Source   string `json:"source"`
		Target   string `json:"target"`
		ReadOnly bool   `json:"read_only"`
		Bind     *struct {
			// CreateHostPath is omitted when true (compose-go's OptOut).
			CreateHostPath *bool `json:"create_host_path"`
		} `json:"bind"`
	} `json:"volumes"`
	DependsOn map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
}

// testHome stands for the user's home directory when the compose file is loaded.
const testHome = "/home/stacktest"

// loadCompose loads docker-compose.yml with compose-go (built from
// testdata/composecheck, a module of its own) in a clean environment plus
// env (NAME=value settings).
func loadCompose(tb testing.TB, env ...string) composeProject {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "composecheck")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(repoRoot, "internal", "stacktest", "testdata", "composecheck")
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build composecheck (compose-go): %v\n%s", err, out)
	}
	cmd := exec.Command(bin, filepath.Join(repoRoot, "docker-compose.yml"))
	cmd.Env = append([]string{"HOME=" + testHome, "PATH=" + os.Getenv("PATH")}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("compose-go rejects docker-compose.yml: %v\n%s", err, stderr.String())
	}
	var p composeProject
	if err := json.Unmarshal(out, &p); err != nil {
		tb.Fatalf("decode project: %v", err)
	}
	return p
}

// pinnedImageRE is an image with an exact version tag (v1.2.3, 1.2.3, 1.2.3-suffix).
var pinnedImageRE = regexp.MustCompile(`^[\w./-]+:v?\d+\.\d+\.\d+(-[\w.-]+)?$`)

// TestCompose: docker-compose.yml loads with compose-go; every published port is
// on 127.0.0.1; images are pinned; services have health checks; data lives in
// named volumes; every bind mount from the repository exists (or, for the Grafana
// plugin, is what `make plugin` builds) and makes `up` fail rather than create an
// empty directory; the only mount from outside the repository is the host's spool.
func TestCompose(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"init", "exporter", "prometheus", "grafana", "jaeger"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("no service %q", name)
		}
	}
	for name, s := range p.Services {
		t.Run(name, func(t *testing.T) {
			switch {
			case s.Build != nil:
				if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
					t.Errorf("built image tagged %q: give it a tag other than latest", s.Image)
				}
			case !pinnedImageRE.MatchString(s.Image):
				t.Errorf("image %q is not pinned to an exact version", s.Image)
			}
			for _, port := range s.Ports {
				if port.HostIP != "127.0.0.1" {
					t.Errorf("port %d published on %q, want 127.0.0.1", port.Target, port.HostIP)
				}
			}
			oneShot := s.Restart == "no"
			if !oneShot && (s.Healthcheck == nil || len(s.Healthcheck.Test) == 0) {
				t.Error("no health check")
			}
			for _, v := range s.Volumes {
				switch v.Type {
				case "volume":
					if _, ok := p.Volumes[v.Source]; !ok {
						t.Errorf("volume %q is not a named volume of the project", v.Source)
					}
				case "bind":
					checkBind(t, name, v.Source, v.Target, v.Bind == nil || v.Bind.CreateHostPath == nil || *v.Bind.CreateHostPath)
				default:
					t.Errorf("mount of type %q at %s", v.Type, v.Target)
				}
			}
			for dep, d := range s.DependsOn {
				if _, ok := p.Services[dep]; !ok {
					t.Errorf("depends on unknown service %q", dep)
				}
				if d.Condition == "service_healthy" && p.Services[dep].Healthcheck == nil {
					t.Errorf("waits for %q to be healthy, which has no health check", dep)
				}
			}
		})
	}
	checkDataVolumes(t, p)
	checkWiring(t, p)
	checkComposeGolden(t, p)
}

// checkBind validates one bind mount's source.
func checkBind(t *testing.T, service, source, target string, createHostPath bool) {
	t.Helper()
	rel, err := filepath.Rel(repoRoot, source)
	if err != nil || strings.HasPrefix(rel, "..") {
		// Outside the repository: only the host's spool, created if missing.
		want := filepath.Join(testHome, ".local", "state", "claude-hooks-exporter", "spool")
		if service != "exporter" || source != want || target != "/spool" {
			t.Errorf("bind mount %s:%s from outside the repository; only the exporter's spool (%s) may be", source, target, want)
		}
		if !createHostPath {
			t.Errorf("spool bind mount must create the host directory when it is missing")
		}
		return
	}
	if createHostPath {
		t.Errorf("bind mount %s: set create_host_path: false, so a missing source fails `up` instead of mounting an empty directory", rel)
	}
	if rel == filepath.Join("grafana-plugin", "dist") {
		checkPluginBuild(t)
		return
	}
	if _, err := os.Stat(source); err != nil {
		t.Errorf("bind mount source %s does not exist in the repository: %v", rel, err)
	}
}

// checkPluginBuild: grafana-plugin/dist is a build output, absent from a clean
// clone; `make plugin` must produce it from the plugin's sources.
func checkPluginBuild(t *testing.T) {
	t.Helper()
	mk, err := os.ReadFile(repoPath("Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^plugin:`).Match(mk) {
		t.Error("grafana-plugin/dist is mounted into Grafana, but the Makefile has no plugin target that builds it")
	}
	var pj struct {
		ID         string `json:"id"`
		Executable string `json:"executable"`
	}
	b, err := os.ReadFile(repoPath("grafana-plugin", "src", "plugin.json"))
	if err != nil {
		t.Fatalf("grafana-plugin/dist is built from grafana-plugin/src: %v", err)
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		t.Fatalf("grafana-plugin/src/plugin.json: %v", err)
	}
	if pj.ID != "claudehooks-live-datasource" {
		t.Errorf("plugin id %q, want claudehooks-live-datasource", pj.ID)
	}
	if pj.Executable == "" {
		t.Error("plugin.json has no executable (the Dockerfile's plugin stage names the backend binaries after it)")
	}
}

// checkDataVolumes: each service's data directory is a named volume.
func checkDataVolumes(t *testing.T, p composeProject) {
	t.Helper()
	want := map[string]string{
		"exporter":   "/var/lib/claude-hooks-exporter",
		"prometheus": "/prometheus",
		"grafana":    "/var/lib/grafana",
		"jaeger":     "/badger",
	}
	for svc, dir := range want {
		found := false
		for _, v := range p.Services[svc].Volumes {
			found = found || (v.Type == "volume" && v.Target == dir)
		}
		if !found {
			t.Errorf("%s: data directory %s is not a named volume", svc, dir)
		}
	}
}

// mountOf returns the mount of service whose target contains path.
func mountOf(p composeProject, service, path string) (source string, ok bool) {
	for _, v := range p.Services[service].Volumes {
		if path == v.Target || strings.HasPrefix(path, v.Target+"/") {
			return v.Source, true
		}
	}
	return "", false
}

// checkWiring: the files and flags the services point at are the ones mounted.
func checkWiring(t *testing.T, p composeProject) {
	t.Helper()
	exp := p.Services["exporter"]
	args := strings.Join(exp.Command, " ")
	for _, want := range []string{"--web.listen-address=0.0.0.0:9469", "--web.auth-token-file=/run/claude-hooks/token", "--spool.dir=/spool"} {
		if !strings.Contains(args, want) {
			t.Errorf("exporter command %q lacks %s", args, want)
		}
	}
	if !strings.Contains(exp.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"], "jaeger:4318") {
		t.Errorf("exporter does not export traces to the jaeger service: %v", exp.Environment)
	}
	// The token every service reads is the one volume the init service writes.
	for _, svc := range []string{"exporter", "prometheus", "grafana", "init"} {
		if src, ok := mountOf(p, svc, "/run/claude-hooks/token"); !ok || src != "token" {
			t.Errorf("%s: /run/claude-hooks/token is not on the token volume", svc)
		}
	}
	if p.Services["exporter"].DependsOn["init"].Condition != "service_completed_successfully" {
		t.Error("exporter does not wait for init to generate the token")
	}
	// Prometheus reads prometheus.yml from the mounted deploy/prometheus.
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			Authorization struct {
				CredentialsFile string `yaml:"credentials_file"`
			} `yaml:"authorization"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, repoPath("deploy", "prometheus", "prometheus.yml"), &cfg)
	if src, ok := mountOf(p, "prometheus", "/etc/prometheus/prometheus.yml"); !ok || src != repoPath("deploy", "prometheus") {
		t.Errorf("prometheus: /etc/prometheus is not deploy/prometheus (%q)", src)
	}
	if !slices.Contains(p.Services["prometheus"].Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus command %v does not load /etc/prometheus/prometheus.yml", p.Services["prometheus"].Command)
	}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "claude-hooks-exporter" {
			continue
		}
		if sc.Authorization.CredentialsFile != "/run/claude-hooks/token" {
			t.Errorf("prometheus scrapes the exporter with token file %q", sc.Authorization.CredentialsFile)
		}
		if len(sc.StaticConfigs) != 1 || !slices.Equal(sc.StaticConfigs[0].Targets, []string{"exporter:9469"}) {
			t.Errorf("prometheus scrape targets %+v, want exporter:9469", sc.StaticConfigs)
		}
	}
	// Grafana: provisioning, dashboards where the provider looks, the plugin.
	g := p.Services["grafana"]
	if src, _ := mountOf(p, "grafana", "/etc/grafana/provisioning"); src != repoPath("deploy", "grafana", "provisioning") {
		t.Errorf("grafana provisioning mounted from %q", src)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, repoPath("deploy", "grafana", "provisioning", "dashboards", "dashboards.yml"), &prov)
	if len(prov.Providers) != 1 {
		t.Fatalf("%d dashboard providers, want 1", len(prov.Providers))
	}
	if src, _ := mountOf(p, "grafana", prov.Providers[0].Options.Path+"/overview.json"); src != repoPath("dashboards") {
		t.Errorf("the dashboard provider reads %s, where %q is mounted, not dashboards/", prov.Providers[0].Options.Path, src)
	}
	if home := g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if src, _ := mountOf(p, "grafana", home); src != repoPath("dashboards") {
			t.Errorf("home dashboard %s is not in the mounted dashboards", home)
		}
	}
	if src, _ := mountOf(p, "grafana", "/var/lib/grafana/plugins/claudehooks-live-datasource/plugin.json"); src != repoPath("grafana-plugin", "dist") {
		t.Errorf("the plugin directory is mounted from %q, want grafana-plugin/dist", src)
	}
	if !strings.Contains(g.Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"], "claudehooks-live-datasource") {
		t.Error("grafana does not allow the unsigned claudehooks-live-datasource plugin")
	}
	// Jaeger runs the mounted configuration.
	j := p.Services["jaeger"]
	if src, _ := mountOf(p, "jaeger", "/etc/jaeger/config.yaml"); src != repoPath("deploy", "jaeger", "config.yaml") {
		t.Errorf("jaeger config mounted from %q", src)
	}
	if !strings.Contains(strings.Join(j.Command, " "), "/etc/jaeger/config.yaml") {
		t.Errorf("jaeger command %v does not use /etc/jaeger/config.yaml", j.Command)
	}
}

// checkComposeGolden compares a summary of the stack (images, ports, mounts) with
// testdata/compose.golden.json, so any change to what users run shows in review.
func checkComposeGolden(t *testing.T, p composeProject) {
	t.Helper()
	type svc struct {
		Image  string   `json:"image"`
		Ports  []string `json:"ports,omitempty"`
		Mounts []string `json:"mounts,omitempty"`
	}
	sum := map[string]svc{}
	for name, s := range p.Services {
		var out svc
		out.Image = s.Image
		for _, port := range s.Ports {
			out.Ports = append(out.Ports, port.HostIP+":"+port.Published+"->"+jsonInt(port.Target))
		}
		for _, v := range s.Volumes {
			src := v.Source
			if rel, err := filepath.Rel(repoRoot, src); err == nil && !strings.HasPrefix(rel, "..") {
				src = "./" + filepath.ToSlash(rel)
			}
			m := v.Type + " " + src + " -> " + v.Target
			if v.ReadOnly {
				m += " (ro)"
			}
			out.Mounts = append(out.Mounts, m)
		}
		sort.Strings(out.Mounts)
		sum[name] = out
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	golden := filepath.Join("testdata", "compose.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("stack summary differs from %s (-want +got):\n%s", golden, diff)
	}
}

func jsonInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// TestComposePorts: the host ports are settings whose defaults are the
// ports the stack always published; set, they move the published port only.
func TestComposePorts(t *testing.T) {
	published := func(p composeProject) map[string]string {
		out := map[string]string{}
		for name, s := range p.Services {
			for _, port := range s.Ports {
				out[name] = port.HostIP + ":" + port.Published + "->" + jsonInt(port.Target)
			}
		}
		return out
	}
	want := map[string]string{
		"exporter": "127.0.0.1:9469->9469", "prometheus": "127.0.0.1:9090->9090",
		"grafana": "127.0.0.1:3000->3000", "jaeger": "127.0.0.1:16686->16686",
	}
	if diff := cmp.Diff(want, published(loadCompose(t))); diff != "" {
		t.Errorf("default ports (-want +got):\n%s", diff)
	}
	want = map[string]string{
		"exporter": "127.0.0.1:19469->9469", "prometheus": "127.0.0.1:19090->9090",
		"grafana": "127.0.0.1:13000->3000", "jaeger": "127.0.0.1:26686->16686",
	}
	got := published(loadCompose(t, "EXPORTER_PORT=19469", "PROMETHEUS_PORT=19090", "GRAFANA_PORT=13000", "JAEGER_PORT=26686"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ports set (-want +got):\n%s", diff)
	}
}
