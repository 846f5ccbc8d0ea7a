package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFile(tb testing.TB, name, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var manifestLine = regexp.MustCompile(`^[0-9a-f]{64}:[^:\\]+$`)

// The manifest lists every Go file of the source tree (none under
// node_modules or hidden directories) with its sha256, in the SDK's
// "hash:path" lines, which is what the plugin validator checks against the
// source code.
func TestManifest(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                             "module example.com/x\n",
		"grafana-plugin/pkg/main.go":         "package main\n",
		"internal/wire/wire.go":              "package wire\n",
		"internal/wire/wire_test.go":         "package wire\n\n// test files are in the archive too\n",
		"grafana-plugin/node_modules/x/x.go": "package evil\n",
		"node_modules/y.go":                  "package evil\n",
		".git/hooks/z.go":                    "package hidden\n",
		"grafana-plugin/.config/notes.md":    "not Go\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(root, name), content)
	}
	out := filepath.Join(t.TempDir(), "go_plugin_build_manifest")
	if err := run([]string{"manifest", "-src", root, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, l := range got {
		if !manifestLine.MatchString(l) {
			t.Errorf("line %q is not hash:path", l)
		}
	}
	var want []string
	for _, name := range []string{"grafana-plugin/pkg/main.go", "internal/wire/wire.go", "internal/wire/wire_test.go"} {
		want = append(want, sum(files[name])+":"+name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

// The manifest of this repository names the backend's sources with their
// hashes and nothing under node_modules.
func TestManifestOfRepository(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m")
	if err := run([]string{"manifest", "-src", root, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m := string(b)
	for _, f := range []string{"grafana-plugin/pkg/main.go", "internal/wire/wire.go", "scripts/pluginrelease/main.go"} {
		content, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(content)
		if !strings.Contains(m, hex.EncodeToString(h[:])+":"+f+"\n") {
			t.Errorf("manifest has no line for %s with its hash", f)
		}
	}
	if strings.Contains(m, "node_modules") {
		t.Error("manifest lists files under node_modules")
	}
}

// fakeDist is a small dist/ with the real plugin.json: tiny files stand for
// the six backends, whose building is make's.
func fakeDist(tb testing.TB) (string, pluginJSON) {
	tb.Helper()
	dist := tb.TempDir()
	b, err := os.ReadFile("../../grafana-plugin/src/plugin.json")
	if err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, filepath.Join(dist, "plugin.json"), string(b))
	pj, err := readPluginJSON(b)
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range expected(pj) {
		if f != "plugin.json" {
			writeFile(tb, filepath.Join(dist, f), "x")
		}
	}
	writeFile(tb, filepath.Join(dist, "module.js.map"), "{}")
	writeFile(tb, filepath.Join(dist, pj.Executable+"_linux_386"), "old") // not a released platform
	return dist, pj
}

// The catalog zip holds one folder named for the plugin id with plugin.json,
// the frontend, README, CHANGELOG, LICENSE, the logos and screenshots,
// the Go build manifest and the six backends, executable.
func TestZipLayout(t *testing.T) {
	dist, pj := fakeDist(t)
	if pj.ID != "claudehooks-live-datasource" {
		t.Fatalf("plugin id %q", pj.ID)
	}
	if len(pj.Info.Screenshots) == 0 {
		t.Error("plugin.json names no screenshots")
	}
	out := filepath.Join(t.TempDir(), "p.zip")
	if err := run([]string{"zip", "-dist", dist, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
		isExe := strings.HasPrefix(f.Name, pj.ID+"/gpx_claudehooks_")
		if isExe != (f.Mode()&0o111 != 0) {
			t.Errorf("%s: mode %v", f.Name, f.Mode())
		}
	}
	want := []string{
		"CHANGELOG.md", "LICENSE", "README.md", "go_plugin_build_manifest",
		"gpx_claudehooks_darwin_amd64", "gpx_claudehooks_darwin_arm64",
		"gpx_claudehooks_linux_amd64", "gpx_claudehooks_linux_arm64",
		"gpx_claudehooks_windows_amd64.exe", "gpx_claudehooks_windows_arm64.exe",
		"module.js", "module.js.map", "plugin.json",
	}
	for _, s := range pj.Info.Screenshots {
		want = append(want, s.Path)
	}
	for _, l := range pj.Info.Logos {
		want = append(want, l)
	}
	for i := range want {
		want[i] = pj.ID + "/" + want[i]
	}
	slices.Sort(want)
	want = slices.Compact(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
}

func TestZipRefusesIncompleteDist(t *testing.T) {
	for _, missing := range []string{"gpx_claudehooks_windows_arm64.exe", "go_plugin_build_manifest", "LICENSE", "CHANGELOG.md"} {
		t.Run(missing, func(t *testing.T) {
			dist, _ := fakeDist(t)
			if err := os.Remove(filepath.Join(dist, missing)); err != nil {
				t.Fatal(err)
			}
			err := run([]string{"zip", "-dist", dist, "-out", filepath.Join(t.TempDir(), "p.zip")}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("zip without %s: %v, want an error naming it", missing, err)
			}
		})
	}
}

func TestCheckZipRefuses(t *testing.T) {
	dist, pj := fakeDist(t)
	pjBytes, err := os.ReadFile(filepath.Join(dist, "plugin.json"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, entries map[string]os.FileMode) string {
		name := filepath.Join(t.TempDir(), "z.zip")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for n, mode := range entries {
			h := &zip.FileHeader{Name: n}
			h.SetMode(mode)
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(n, "plugin.json") {
				w.Write(pjBytes)
			} else {
				w.Write([]byte("x"))
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return name
	}
	full := func(top string, exeMode os.FileMode) map[string]os.FileMode {
		m := map[string]os.FileMode{}
		for _, f := range expected(pj) {
			m[top+"/"+f] = 0o644
		}
		for _, e := range backends(pj.Executable) {
			m[top+"/"+e] = exeMode
		}
		return m
	}
	if _, err := checkZip(write(t, full(pj.ID, 0o755))); err != nil {
		t.Fatalf("a complete zip: %v", err)
	}
	for name, entries := range map[string]map[string]os.FileMode{
		"top folder not the id":   full("dist", 0o755),
		"backends not executable": full(pj.ID, 0o644),
		"no top folder":           {"plugin.json": 0o644},
		"two top folders":         func() map[string]os.FileMode { m := full(pj.ID, 0o755); m["other/x"] = 0o644; return m }(),
	} {
		t.Run(name, func(t *testing.T) {
			if id, err := checkZip(write(t, entries)); err == nil {
				t.Errorf("checkZip = %q, nil; want an error", id)
			}
		})
	}
}

// grafanaDependency is the Grafana the plugin is built against (@grafana/*
// in package.json) and tested with (the compose stack's image), no older.
func TestGrafanaDependency(t *testing.T) {
	var pj struct {
		Dependencies struct {
			GrafanaDependency string `json:"grafanaDependency"`
		} `json:"dependencies"`
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	for name, v := range map[string]any{"../../grafana-plugin/src/plugin.json": &pj, "../../grafana-plugin/package.json": &pkg} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`image: grafana/grafana:(\S+)`).FindSubmatch(compose)
	if m == nil {
		t.Fatal("docker-compose.yml runs no grafana/grafana image")
	}
	built := pkg.Dependencies["@grafana/data"]
	for _, p := range []string{"@grafana/runtime", "@grafana/ui", "@grafana/schema"} {
		if pkg.Dependencies[p] != built {
			t.Errorf("%s %s, @grafana/data %s: build against one Grafana", p, pkg.Dependencies[p], built)
		}
	}
	if want := ">=" + built; pj.Dependencies.GrafanaDependency != want || string(m[1]) != built {
		t.Errorf("grafanaDependency %q, built against %s, compose tests with %s: want %q and the same image", pj.Dependencies.GrafanaDependency, built, m[1], want)
	}
}
