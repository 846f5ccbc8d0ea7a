package goldentest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, format)
	r.fatal = true
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.fatal = true; runtime.Goexit() }

// compare runs Compare on r in a goroutine of its own, as a Fatal ends it.
func compare(r *recorder, path string, got []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Compare(r, path, got)
	}()
	<-done
}

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "x.golden")

	// A missing golden fails and says how to create it.
	r := &recorder{TB: t}
	compare(r, path, []byte("a\n"))
	if !r.fatal || len(r.errors) != 1 || !strings.Contains(r.errors[0], "-update") {
		t.Fatalf("missing golden: fatal %v, errors %q; want one fatal naming -update", r.fatal, r.errors)
	}

	// -update writes it, directory included; then the same output passes
	// and a different one fails.
	*update = true
	Compare(t, path, []byte("a\n"))
	*update = false
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Fatalf("after -update the golden holds %q, %v", b, err)
	}
	r = &recorder{TB: t}
	compare(r, path, []byte("a\n"))
	if len(r.errors) != 0 {
		t.Errorf("equal output failed: %q", r.errors)
	}
	r = &recorder{TB: t}
	compare(r, path, []byte("b\n"))
	if len(r.errors) != 1 || r.fatal {
		t.Errorf("different output: errors %q, fatal %v; want one error", r.errors, r.fatal)
	}
}
