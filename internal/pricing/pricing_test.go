package pricing

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultMatchesDeploy(t *testing.T) {
	deploy, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prices.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(deploy, defaultYAML) {
		t.Fatal("internal/pricing/prices.yaml differs from deploy/prices.yaml: copy deploy/prices.yaml over it")
	}
	if _, err := Load(filepath.Join("..", "..", "deploy", "prices.yaml")); err != nil {
		t.Fatalf("deploy/prices.yaml: %v", err)
	}
	if len(Default().Prefixes()) == 0 {
		t.Fatal("default table is empty")
	}
}

func TestLookup(t *testing.T) {
	opus45 := Price{Input: 5, Output: 25, CacheRead: 0.5, CacheWrite: 6.25, CacheWrite1h: 10}
	opus41 := Price{Input: 15, Output: 75, CacheRead: 1.5, CacheWrite: 18.75, CacheWrite1h: 30}
	sonnet := Price{Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75, CacheWrite1h: 6}
	haiku := Price{Input: 1, Output: 5, CacheRead: 0.1, CacheWrite: 1.25, CacheWrite1h: 2}
	tests := []struct {
		model string
		want  Price
		ok    bool
	}{
		{"claude-opus-4-6", opus45, true},
		{"claude-opus-4-5-20251101", opus45, true},
		{"claude-opus-4-7", opus45, true},
		{"claude-opus-4-1-20250805", opus41, true},
		{"claude-opus-4-20250514", opus41, true},
		{"claude-opus-4-0", opus41, true},
		{"claude-sonnet-4-5-20250929", sonnet, true},
		{"claude-sonnet-4-6", sonnet, true},
		{"claude-sonnet-4-20250514", sonnet, true},
		{"claude-haiku-4-5", haiku, true},
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", haiku, true},
		{"anthropic/claude-sonnet-4-5", sonnet, true},
		{"claude-3-5-haiku-20241022", Price{Input: 0.8, Output: 4, CacheRead: 0.08, CacheWrite: 1, CacheWrite1h: 1.6}, true},
		// What Claude Code 2.1.337 uses: its default and the model a switch moved to.
		{"claude-opus-5-5", Price{Input: 4, Output: 20, CacheRead: 0.2, CacheWrite: 5, CacheWrite1h: 8}, true},
		{"claude-opus-5", opus45, true},
		{"<synthetic>", Price{}, false},
		{"", Price{}, false},
		{"gpt-5", Price{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			got, ok := Default().Lookup(tc.model)
			if ok != tc.ok || got != tc.want {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tc.model, got, ok, tc.want, tc.ok)
			}
		})
	}
	var nilTable *Table
	if _, ok := nilTable.Lookup("claude-opus-4-6"); ok {
		t.Error("a nil table priced a model")
	}
}

// TestResolveFamily: a model the table does not list yet is priced as the
// newest listed model of its family, and says so; other names stay unknown.
func TestResolveFamily(t *testing.T) {
	opus55, _ := Default().Lookup("claude-opus-5-5")
	sonnet55, _ := Default().Lookup("claude-sonnet-5-5")
	haiku55, _ := Default().Lookup("claude-haiku-5-5")
	tests := []struct {
		model  string
		want   Price
		match  Match
		prefix string
	}{
		{"claude-opus-5-5", opus55, Listed, "claude-opus-5-5"},
		{"claude-opus-6", opus55, Family, "claude-opus-5-5"},
		{"claude-opus-6-1-20270101", opus55, Family, "claude-opus-5-5"},
		{"us.anthropic.claude-opus-7-v1:0", opus55, Family, "claude-opus-5-5"},
		{"claude-sonnet-6", sonnet55, Family, "claude-sonnet-5-5"},
		{"claude-haiku-9", haiku55, Family, "claude-haiku-5-5"},
		{"claude-4-haiku", haiku55, Family, "claude-haiku-5-5"},
		{"claude-poem-1", Price{}, Unknown, ""},
		{"claude-", Price{}, Unknown, ""},
		{"gpt-5", Price{}, Unknown, ""},
		{"<synthetic>", Price{}, Unknown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			got, match, prefix := Default().Resolve(tc.model)
			if got != tc.want || match != tc.match || prefix != tc.prefix {
				t.Errorf("Resolve(%q) = %+v, %v, %q; want %+v, %v, %q", tc.model, got, match, prefix, tc.want, tc.match, tc.prefix)
			}
		})
	}
	var nilTable *Table
	if _, m, _ := nilTable.Resolve("claude-opus-6"); m != Unknown {
		t.Error("a nil table priced a model")
	}
}

func TestCost(t *testing.T) {
	p, _ := Default().Lookup("claude-opus-4-6")
	// The first message of the sample transcript: 3 input, 187 output, 14250
	// cache read, 5139 cache write, all of it to the 1-hour cache.
	got := p.Cost(Tokens{Input: 3, Output: 187, CacheRead: 14250, CacheWrite: 5139, CacheWrite1h: 5139})
	want := (3*5 + 187*25 + 14250*0.5 + 5139*10) / 1e6
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("cost = %v, want %v", got, want)
	}
	got = p.Cost(Tokens{CacheWrite: 1000, CacheWrite1h: 400})
	want = (600*6.25 + 400*10) / 1e6
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("split cache write cost = %v, want %v", got, want)
	}
	if got := p.Cost(Tokens{Output: -10}); got >= 0 {
		t.Errorf("a correction downwards cost %v, want negative", got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr bool
		want    []string
	}{
		{"ok", "models:\n  a: {input: 1}\n  ab: {output: 2}\n", false, []string{"ab", "a"}},
		{"unknown key", "models:\n  a: {inpt: 1}\n", true, nil},
		{"unknown top key", "model:\n  a: {input: 1}\n", true, nil},
		{"negative", "models:\n  a: {input: -1}\n", true, nil},
		{"nan", "models:\n  a: {input: .nan}\n", true, nil},
		{"duplicate", "models:\n  a: {input: 1}\n  a: {input: 2}\n", true, nil},
		{"empty prefix", "models:\n  '': {input: 1}\n", true, nil},
		{"no models", "models: {}\n", true, nil},
		{"empty", "", true, nil},
		{"not yaml", "models: [", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := Parse([]byte(tc.yaml))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, tab.Prefixes()); diff != "" {
				t.Errorf("prefixes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
