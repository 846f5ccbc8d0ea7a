package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/claudehooks/claude-hooks-exporter/"

// allowed lists, for every package of ours, the packages of ours it may
// import (its non-test files). A package missing here fails the test: a new
// package says where it sits. Data flows one way: capture -> spool -> tail
// -> decode -> tracker -> sinks; leaves import nothing of ours; only app
// wires. Test-support packages (goldentest, jaegertest, proctest,
// hookscript, storetest, claudecli) are imported by tests only.
var allowed = map[string][]string{
	"cmd/exporter":       {"internal/app"},
	"cmd/hook":           {"internal/spool"},
	"internal/agreement": {},
	"internal/api":       {"internal/wire"},
	"internal/app": {"internal/api", "internal/atomicfile", "internal/checkpoint", "internal/claudesettings", "internal/eventview",
		"internal/hookevent", "internal/legacy", "internal/live", "internal/metrics", "internal/pipeline",
		"internal/pricing", "internal/server", "internal/session", "internal/spool", "internal/store",
		"internal/tail", "internal/tracing", "internal/transcript", "internal/wire"},
	"internal/atomicfile":     {},
	"internal/checkpoint":     {"internal/atomicfile"},
	"internal/claudecli":      {},
	"internal/claudesettings": {"internal/atomicfile"},
	"internal/eventview":      {"internal/hookevent", "internal/redact", "internal/wire"},
	"internal/goldentest":     {},
	"internal/histo":          {},
	"internal/hookevent":      {},
	"internal/hookscript":     {"internal/transcript"},
	"internal/jaegertest":     {},
	"internal/layering":       {},
	"internal/legacy":         {"internal/checkpoint", "internal/spool"},
	"internal/live":           {"internal/wire"},
	"internal/metrics":        {"internal/histo", "internal/session"},
	"internal/pipeline": {"internal/checkpoint", "internal/histo", "internal/hookevent", "internal/retry", "internal/session",
		"internal/spool", "internal/tail", "internal/timeline", "internal/transcript"},
	"internal/pricing":  {},
	"internal/proctest": {},
	"internal/redact":   {},
	"internal/server":   {"internal/hookevent", "internal/spool"},
	"internal/session": {"internal/histo", "internal/hookevent", "internal/pricing", "internal/redact",
		"internal/timeline", "internal/transcript"},
	"internal/spool":     {},
	"internal/stacktest": {},
	"internal/retry":     {},
	"internal/store":     {"internal/eventview", "internal/retry", "internal/timeline", "internal/traceid", "internal/wire"},
	"internal/store/storetest": {"internal/hookevent", "internal/pipeline", "internal/pricing", "internal/session",
		"internal/timeline", "internal/transcript"},
	"internal/tail":                  {},
	"internal/timeline":              {},
	"internal/traceid":               {},
	"internal/tracing":               {"internal/session", "internal/traceid"},
	"internal/transcript":            {"internal/hookevent"},
	"internal/wire":                  {},
	"grafana-plugin/pkg":             {"grafana-plugin/pkg/plugin"},
	"grafana-plugin/pkg/exporterapi": {"internal/wire"},
	"grafana-plugin/pkg/frametest":   {},
	"grafana-plugin/pkg/e2e":         {},
	"grafana-plugin/pkg/plugin":      {"grafana-plugin/pkg/exporterapi", "internal/hookevent", "internal/retry", "internal/wire"},
	"scripts/pluginrelease":          {},
}

// exporting may link OpenTelemetry exporters and gRPC: the trace sink, the
// daemon that wires it, and the Grafana plugin (its SDK speaks gRPC).
var exporting = []string{"internal/tracing", "internal/app", "cmd/exporter", "grafana-plugin/pkg", "grafana-plugin/pkg/plugin"}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(tb testing.TB) []pkg {
	tb.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			tb.Fatal(err)
		}
		if strings.Contains(p.ImportPath, "/node_modules/") || strings.Contains(p.ImportPath, "/testdata/") {
			continue
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		tb.Fatalf("go list found %d packages: wrong directory?", len(pkgs))
	}
	return pkgs
}

// TestImports checks every package's imports of ours against allowed.
func TestImports(t *testing.T) {
	for _, p := range list(t) {
		name := strings.TrimPrefix(p.ImportPath, module)
		want, ok := allowed[name]
		if !ok {
			t.Errorf("package %s is not in the layering table: say which of our packages it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if dep == "internal/app" && name != "cmd/exporter" {
				t.Errorf("%s imports internal/app: nothing imports app", name)
				continue
			}
			if !slices.Contains(want, dep) {
				t.Errorf("%s imports %s, which the architecture does not allow", name, dep)
			}
		}
	}
}

// TestNoExporterInStorage: the store, the API and every other package
// outside exporting link no OpenTelemetry exporter and no gRPC.
func TestNoExporterInStorage(t *testing.T) {
	checked := 0
	for _, p := range list(t) {
		name := strings.TrimPrefix(p.ImportPath, module)
		if slices.Contains(exporting, name) || strings.HasSuffix(name, "/e2e") {
			continue
		}
		checked++
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "go.opentelemetry.io/otel/exporters") || d == "google.golang.org/grpc" {
				t.Errorf("%s depends on %s: only %v may link exporters or gRPC", name, d, exporting)
				break
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d packages, want every package outside %v", checked, exporting)
	}
}
