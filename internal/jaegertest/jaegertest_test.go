package jaegertest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOnlyTestsImportIt: the package imports testing, so product code that
// imported it would carry the test flags; only _test.go files may use it.
func TestOnlyTestsImportIt(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const self = "github.com/claudehooks/claude-hooks-exporter/internal/jaegertest"
	cmd := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var importers []string
	listed := false
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if fields[0] == self {
			listed = true
		}
		for _, imp := range fields[1:] {
			if imp == self {
				importers = append(importers, fields[0])
			}
		}
	}
	if !listed {
		t.Fatalf("go list did not list %s; output:\n%s", self, out)
	}
	if len(importers) != 0 {
		t.Errorf("non-test code imports %s: %v", self, importers)
	}
}

func TestSpanParentAndTags(t *testing.T) {
	const body = `{"traceID":"t1","spanID":"s2","operationName":"turn",
		"references":[{"refType":"FOLLOWS_FROM","traceID":"t1","spanID":"s9"},
		              {"refType":"CHILD_OF","traceID":"t0","spanID":"s8"},
		              {"refType":"CHILD_OF","traceID":"t1","spanID":"s1"}],
		"startTime":1700000000000001,"duration":1500000,
		"tags":[{"key":"claude_code.turns","type":"int64","value":9007199254740993},
		        {"key":"error","type":"bool","value":true},
		        {"key":"session.id","type":"string","value":"abc"}]}`
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var s Span
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if got := s.Parent(); got != "s1" {
		t.Errorf("Parent() = %q, want s1 (the CHILD_OF within the span's own trace)", got)
	}
	if got := (Span{TraceID: "t1"}).Parent(); got != "" {
		t.Errorf("Parent() of a root = %q, want empty", got)
	}
	want := map[string]string{"claude_code.turns": "9007199254740993", "error": "true", "session.id": "abc"}
	if diff := cmp.Diff(want, TagMap(s.Tags)); diff != "" {
		t.Errorf("TagMap (-want +got):\n%s", diff)
	}
	if s.StartTime != 1700000000000001 || s.Duration != 1500000 {
		t.Errorf("times = %d, %d", s.StartTime, s.Duration)
	}
}
