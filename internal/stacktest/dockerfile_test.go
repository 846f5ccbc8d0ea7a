package stacktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dockerStage is one FROM ... AS name section of the Dockerfile.
type dockerStage struct {
	image, name string
	lines       []string // instructions after FROM, continuation lines joined
}

// parseDockerfile splits the Dockerfile into stages.
func parseDockerfile(tb testing.TB) []dockerStage {
	tb.Helper()
	b, err := os.ReadFile(repoPath("Dockerfile"))
	if err != nil {
		tb.Fatal(err)
	}
	var stages []dockerStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			s := dockerStage{image: f[1]}
			if len(f) >= 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			if !strings.EqualFold(f[0], "ARG") {
				tb.Fatalf("Dockerfile: %q before the first FROM", line)
			}
			return
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	for _, l := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		flush()
	}
	flush()
	return stages
}

func (s dockerStage) has(re string) bool {
	r := regexp.MustCompile(re)
	for _, l := range s.lines {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}

// TestDockerfile: a multi-stage build with pinned base images: a Go stage at least
// as new as go.mod wants, building static binaries of the exporter and the hook; a
// Node stage building the plugin frontend with the plugin's own build script; a
// small final image for the exporter, not running as root, that compose builds.
// Every file the build copies from the context exists.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	byName := map[string]dockerStage{}
	for _, s := range stages {
		if s.name != "" {
			byName[s.name] = s
		}
	}
	var goStage, nodeStage *dockerStage
	for i, s := range stages {
		if _, isStage := byName[s.image]; isStage || s.image == "scratch" {
			continue
		}
		if !pinnedImageRE.MatchString(s.image) {
			t.Errorf("stage %s: base image %q is not pinned to an exact version", s.name, s.image)
		}
		switch {
		case strings.HasPrefix(s.image, "golang:"):
			goStage = &stages[i]
		case strings.HasPrefix(s.image, "node:"):
			nodeStage = &stages[i]
		}
	}
	if goStage == nil || nodeStage == nil {
		t.Fatalf("want a golang and a node stage, have %+v", stages)
	}

	// Go: version, static binaries of both commands.
	mod, err := os.ReadFile(repoPath("go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)(?:\.(\d+))?`).FindStringSubmatch(string(mod))
	have := regexp.MustCompile(`^golang:(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(goStage.image)
	if want == nil || have == nil || versionLess(have[1:], want[1:]) {
		t.Errorf("Go image %s is older than go.mod's go %v", goStage.image, want)
	}
	if !goStage.has(`CGO_ENABLED=0`) {
		t.Error("the Go stage does not set CGO_ENABLED=0 (static binaries)")
	}
	for _, cmd := range []string{"./cmd/exporter", "./cmd/hook"} {
		if !goStage.has(`go build .*` + regexp.QuoteMeta(cmd)) {
			t.Errorf("the Go stage does not build %s", cmd)
		}
	}

	// Node: the plugin's own build.
	if !nodeStage.has(`npm ci`) || !nodeStage.has(`npm run build`) {
		t.Error("the node stage does not run npm ci and npm run build")
	}
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	if b, err := os.ReadFile(repoPath("grafana-plugin", "package.json")); err != nil {
		t.Errorf("the node stage builds grafana-plugin: %v", err)
	} else if err := json.Unmarshal(b, &pkg); err != nil || pkg.Scripts["build"] == "" {
		t.Errorf("grafana-plugin/package.json has no build script (%v)", err)
	}

	// The final image.
	final := stages[len(stages)-1]
	if final.name != "exporter" {
		t.Errorf("the last (default) stage is %q, want exporter", final.name)
	}
	if !regexp.MustCompile(`^(alpine|gcr\.io/distroless/static)`).MatchString(final.image) {
		t.Errorf("final image %s: want a small base (alpine or distroless static)", final.image)
	}
	for _, bin := range []string{"claude-hooks-exporter", "claude-hooks-hook"} {
		if !final.has(`COPY --from=` + goStage.name + `.*` + bin) {
			t.Errorf("final image does not copy %s from the Go stage", bin)
		}
	}
	if !final.has(`^USER [1-9]`) {
		t.Error("final image runs as root")
	}
	if !final.has(`^ENTRYPOINT .*claude-hooks-exporter`) {
		t.Error("final image's entrypoint is not the exporter")
	}

	// Every COPY from the build context names something that exists.
	copyRE := regexp.MustCompile(`^COPY\s+(.+)$`)
	for _, s := range stages {
		for _, l := range s.lines {
			m := copyRE.FindStringSubmatch(l)
			if m == nil || strings.Contains(l, "--from=") {
				continue
			}
			f := strings.Fields(m[1])
			for _, src := range f[:len(f)-1] {
				if _, err := os.Stat(repoPath(filepath.FromSlash(src))); err != nil {
					t.Errorf("stage %s: COPY %s: %v", s.name, src, err)
				}
			}
		}
	}

	// docker-compose.yml builds a stage that exists.
	if _, ok := byName["exporter"]; !ok {
		t.Error("no exporter stage for docker-compose.yml's build target")
	}
	ign, err := os.ReadFile(repoPath(".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"grafana-plugin/node_modules", "grafana-plugin/dist", ".git"} {
		if !strings.Contains(string(ign), p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
}

// versionLess compares dotted version parts numerically (a missing part is 0).
func versionLess(a, b []string) bool {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
