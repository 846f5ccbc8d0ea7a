package pricing

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// defaultYAML is a copy of deploy/prices.yaml; TestDefaultMatchesDeploy keeps
// them identical.
//
//go:embed prices.yaml
var defaultYAML []byte

// Price is what one model costs, in US dollars per million tokens.
type Price struct {
	Input        float64 `yaml:"input"`
	Output       float64 `yaml:"output"`
	CacheRead    float64 `yaml:"cache_read"`
	CacheWrite   float64 `yaml:"cache_write"`    // 5-minute cache write
	CacheWrite1h float64 `yaml:"cache_write_1h"` // 1-hour cache write
}

// Tokens are the token counts of one or more API responses of one model.
// CacheWrite1h is the part of CacheWrite that went to the 1-hour cache.
type Tokens struct {
	Input, Output, CacheRead, CacheWrite, CacheWrite1h int64
}

// Table maps model names to prices by longest matching prefix. It is immutable
// and safe for concurrent use.
type Table struct {
	// entries are sorted by descending prefix length, then prefix, so the first
	// match is the longest.
	entries []entry
}

type entry struct {
	prefix string
	price  Price
}

type file struct {
	Models map[string]Price `yaml:"models"`
}

// Parse reads a price table in the format of deploy/prices.yaml. Unknown keys,
// duplicate or empty prefixes and negative or non-finite prices are errors.
func Parse(b []byte) (*Table, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse price table: empty document")
		}
		return nil, fmt.Errorf("parse price table: %w", err)
	}
	if len(f.Models) == 0 {
		return nil, errors.New("parse price table: no models")
	}
	t := &Table{entries: make([]entry, 0, len(f.Models))}
	for prefix, p := range f.Models {
		if strings.TrimSpace(prefix) == "" {
			return nil, errors.New("parse price table: empty model prefix")
		}
		for _, v := range []float64{p.Input, p.Output, p.CacheRead, p.CacheWrite, p.CacheWrite1h} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("parse price table: model %q: price %v is not a non-negative number", prefix, v)
			}
		}
		t.entries = append(t.entries, entry{prefix: prefix, price: p})
	}
	slices.SortFunc(t.entries, func(a, b entry) int {
		if len(a.prefix) != len(b.prefix) {
			return len(b.prefix) - len(a.prefix)
		}
		return strings.Compare(a.prefix, b.prefix)
	})
	return t, nil
}

// Load reads and parses a price table file.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read price table: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

var defaultTable = sync.OnceValue(func() *Table {
	t, err := Parse(defaultYAML)
	if err != nil {
		// The embedded file is tested; an error here is a build defect, and an
		// empty table (every model unknown) is the safe way to degrade.
		return &Table{}
	}
	return t
})

// Default returns the built-in table, the copy of deploy/prices.yaml compiled
// into the binary.
func Default() *Table { return defaultTable() }

// Lookup returns the price of a model: the entry with the longest prefix of
// the model name, matched from the first "claude-" in it (so that provider
// forms such as "us.anthropic.claude-sonnet-4-5-20250929-v1:0" or
// "anthropic/claude-haiku-4-5" find the same entry). ok is false when no entry
// matches.
func (t *Table) Lookup(model string) (p Price, ok bool) {
	if t == nil {
		return Price{}, false
	}
	if i := strings.Index(model, "claude-"); i > 0 {
		model = model[i:]
	}
	for _, e := range t.entries {
		if strings.HasPrefix(model, e.prefix) {
			return e.price, true
		}
	}
	return Price{}, false
}

// Cost is the price of the tokens in US dollars. Counts may be negative (a
// correction of an earlier count), and so may the result.
func (p Price) Cost(n Tokens) float64 {
	write5m := n.CacheWrite - n.CacheWrite1h
	return (float64(n.Input)*p.Input +
		float64(n.Output)*p.Output +
		float64(n.CacheRead)*p.CacheRead +
		float64(write5m)*p.CacheWrite +
		float64(n.CacheWrite1h)*p.CacheWrite1h) / 1e6
}

// Match says how Resolve priced a model.
type Match int

// Matches.
const (
	// Unknown: no entry matches and the model's family has no entry; cost 0.
	Unknown Match = iota
	// Listed: an entry's prefix matches the model name.
	Listed
	// Family: no prefix matches, and the model is priced as the newest listed
	// model of its family (a new claude-opus-* as the newest claude-opus entry).
	// The price is an estimate until the table lists the model.
	Family
)

// Resolve returns the price of a model and how it was found: Lookup's entry
// when one matches; otherwise, for a name of the form claude-<family>-<version>
// (or the older claude-<version>-<family>), the entry of that family with the
// highest version, so that a model released after the table was written is
// not counted at 0. The entry's prefix is returned as well ("" when Unknown).
func (t *Table) Resolve(model string) (Price, Match, string) {
	if t == nil {
		return Price{}, Unknown, ""
	}
	if i := strings.Index(model, "claude-"); i > 0 {
		model = model[i:]
	}
	for _, e := range t.entries {
		if strings.HasPrefix(model, e.prefix) {
			return e.price, Listed, e.prefix
		}
	}
	family, _ := familyVersion(model)
	if family == "" {
		return Price{}, Unknown, ""
	}
	var best *entry
	var bestVersion []int
	for i := range t.entries {
		e := &t.entries[i]
		f, v := familyVersion(e.prefix)
		if f != family {
			continue
		}
		if best == nil || slices.Compare(v, bestVersion) > 0 {
			best, bestVersion = e, v
		}
	}
	if best == nil {
		return Price{}, Unknown, ""
	}
	return best.price, Family, best.prefix
}

// familyVersion splits a model name into its family (opus, sonnet, haiku, ...)
// and its version numbers: claude-opus-4-5-20251101 is (opus, [4 5]),
// claude-3-5-haiku-20241022 is (haiku, [3 5]). Parts of more than two digits
// (dates) are not part of the version. family is "" for other names.
func familyVersion(name string) (string, []int) {
	rest, ok := strings.CutPrefix(name, "claude-")
	if !ok {
		return "", nil
	}
	var family string
	var version []int
	for _, part := range strings.Split(rest, "-") {
		if n, err := strconv.Atoi(part); err == nil && len(part) <= 2 {
			version = append(version, n)
			continue
		}
		if _, err := strconv.Atoi(part); err == nil {
			continue // a date
		}
		if family != "" {
			break // a suffix such as "v1:0" or "latest"
		}
		family = part
	}
	return family, version
}

// Prefixes lists the table's model prefixes, longest first.
func (t *Table) Prefixes() []string {
	if t == nil {
		return nil
	}
	out := make([]string, len(t.entries))
	for i, e := range t.entries {
		out[i] = e.prefix
	}
	return out
}
