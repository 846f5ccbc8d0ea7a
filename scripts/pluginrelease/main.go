package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/build/utils"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pluginrelease:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: pluginrelease manifest|zip [flags]")
	}
	fl := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "manifest":
		src := fl.String("src", ".", "the repository root (where go.mod is)")
		out := fl.String("out", "grafana-plugin/dist/go_plugin_build_manifest", "the manifest to write")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		files, err := sourceGoFiles(*src)
		if err != nil {
			return err
		}
		m, err := manifest(*src, files)
		if err != nil {
			return err
		}
		return os.WriteFile(*out, []byte(m), 0o644)
	case "zip":
		dist := fl.String("dist", "grafana-plugin/dist", "the built plugin")
		out := fl.String("out", "", "the zip to write")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("zip: -out is required")
		}
		if err := writeZip(*dist, *out); err != nil {
			return err
		}
		id, err := checkZip(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %s/ with the plugin and its six backends\n", *out, id)
		return nil
	default:
		return fmt.Errorf("unknown command %q: want manifest or zip", args[0])
	}
}

// sourceGoFiles lists the .go files of the source tree under root, relative
// to it and slash-separated: what a source archive of a clean checkout holds
// (`make release` insists on one). Directories named node_modules (npm can
// unpack Go files there) and hidden ones (.git) are not part of it.
func sourceGoFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the Go files of %s: %w", root, err)
	}
	return files, nil
}

// manifest is the SDK's Go build manifest of files (paths relative to root):
// they are copied to an empty directory and the SDK's generator walks it, as
// it walks a plugin's directory, so the format is the SDK's by construction.
func manifest(root string, files []string) (string, error) {
	tmp, err := os.MkdirTemp("", "plugin-manifest-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", fmt.Errorf("manifest: %w", err)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", err
		}
	}
	// GenerateManifest walks the working directory.
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if err := os.Chdir(tmp); err != nil {
		return "", err
	}
	m, genErr := utils.GenerateManifest()
	if err := os.Chdir(wd); err != nil {
		return "", err
	}
	if genErr != nil {
		return "", fmt.Errorf("manifest: %w", genErr)
	}
	return m, nil
}

// Targets are the platforms the backend is built for.
var Targets = []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64", "windows_arm64"}

// required are the files of dist/ besides the backends: what Grafana loads
// and what the plugin validator and catalog look for.
var required = []string{"plugin.json", "module.js", "README.md", "CHANGELOG.md", "LICENSE", "go_plugin_build_manifest"}

// pluginJSON is what the zip's layout depends on.
type pluginJSON struct {
	ID         string `json:"id"`
	Executable string `json:"executable"`
	Info       struct {
		Logos       map[string]string `json:"logos"`
		Screenshots []struct {
			Path string `json:"path"`
		} `json:"screenshots"`
	} `json:"info"`
}

// backends are the executable names of the six backends.
func backends(exe string) []string {
	var out []string
	for _, t := range Targets {
		name := exe + "_" + t
		if strings.HasPrefix(t, "windows_") {
			name += ".exe"
		}
		out = append(out, name)
	}
	return out
}

// expected lists the files a plugin directory must hold, from its plugin.json.
func expected(pj pluginJSON) []string {
	want := slices.Clone(required)
	want = append(want, backends(pj.Executable)...)
	for _, l := range pj.Info.Logos {
		want = append(want, l)
	}
	for _, s := range pj.Info.Screenshots {
		want = append(want, s.Path)
	}
	slices.Sort(want)
	return slices.Compact(want)
}

func readPluginJSON(b []byte) (pluginJSON, error) {
	var pj pluginJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return pj, fmt.Errorf("plugin.json: %w", err)
	}
	if pj.ID == "" || pj.Executable == "" {
		return pj, errors.New("plugin.json: no id or no executable")
	}
	return pj, nil
}

// writeZip writes dist/ into out under a top folder named for the plugin id,
// the backends executable.
func writeZip(dist, out string) error {
	b, err := os.ReadFile(filepath.Join(dist, "plugin.json"))
	if err != nil {
		return fmt.Errorf("zip: %w (run make plugin first)", err)
	}
	pj, err := readPluginJSON(b)
	if err != nil {
		return err
	}
	for _, f := range expected(pj) {
		if fi, err := os.Stat(filepath.Join(dist, filepath.FromSlash(f))); err != nil || fi.Size() == 0 {
			return fmt.Errorf("zip: %s/%s is missing or empty (run make plugin)", dist, f)
		}
	}
	exes := backends(pj.Executable)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dist, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(path.Base(rel), pj.Executable+"_") && !slices.Contains(exes, rel) {
			return nil // a backend for a platform not released (e.g. from an older build)
		}
		mode := fs.FileMode(0o644)
		if slices.Contains(exes, rel) {
			mode = 0o755
		}
		h := &zip.FileHeader{Name: pj.ID + "/" + rel, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("zip %s: %w", dist, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip %s: %w", dist, err)
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// checkZip reads a plugin zip back: one top folder, named for the plugin id
// of the plugin.json inside it, holding every expected file, the backends
// executable. It returns the plugin id.
func checkZip(name string) (string, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", name, err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	top := ""
	for _, f := range zr.File {
		dir, rest, ok := strings.Cut(f.Name, "/")
		if !ok || rest == "" && !f.FileInfo().IsDir() {
			return "", fmt.Errorf("check %s: %s is not inside a top folder", name, f.Name)
		}
		if top != "" && dir != top {
			return "", fmt.Errorf("check %s: two top folders, %s and %s", name, top, dir)
		}
		top = dir
		files[rest] = f
	}
	pjf, ok := files["plugin.json"]
	if !ok {
		return "", fmt.Errorf("check %s: no %s/plugin.json", name, top)
	}
	rc, err := pjf.Open()
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return "", err
	}
	pj, err := readPluginJSON(b)
	if err != nil {
		return "", err
	}
	if top != pj.ID {
		return "", fmt.Errorf("check %s: top folder %s, want the plugin id %s", name, top, pj.ID)
	}
	for _, f := range expected(pj) {
		if _, ok := files[f]; !ok {
			return "", fmt.Errorf("check %s: no %s/%s", name, top, f)
		}
	}
	for _, exe := range backends(pj.Executable) {
		if files[exe].Mode()&0o111 == 0 {
			return "", fmt.Errorf("check %s: %s/%s is not executable", name, top, exe)
		}
	}
	return pj.ID, nil
}
