package transcript

import (
	"os"
	"path/filepath"
)

// GeneratedTotals are a generated session's true totals of one model.
type GeneratedTotals struct {
	Input, Output, CacheRead, CacheCreation int64
}

// WriteGenerated lays out a generated session under root as Claude Code
// would and returns its id, its main transcript's path, its files' contents
// by path (not yet written) and the true totals by model.
func WriteGenerated(seed uint64, messages int, root string) (session, main string, files map[string][]byte, want map[string]GeneratedTotals) {
	g := generate(seed, messages)
	proj := filepath.Join(root, "projects", "p")
	main = filepath.Join(proj, g.session+".jsonl")
	files = map[string][]byte{main: g.main}
	for id, b := range g.agents {
		files[filepath.Join(proj, g.session, "subagents", "agent-"+id+".jsonl")] = b
	}
	if err := os.MkdirAll(filepath.Join(proj, g.session, "subagents"), 0o755); err != nil {
		panic(err)
	}
	want = map[string]GeneratedTotals{}
	for k, t := range g.want {
		w := want[k.Model]
		w.Input += t.Input
		w.Output += t.Output
		w.CacheRead += t.CacheRead
		w.CacheCreation += t.CacheCreation
		want[k.Model] = w
	}
	return g.session, main, files, want
}
