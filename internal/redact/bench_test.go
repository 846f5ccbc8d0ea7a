package redact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readBench reads one of the benchmark inputs: snapshots of this project's Go
// source and documentation, so the figures stay comparable from run to run.
func readBench(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bench", name))
	if err != nil {
		tb.Fatalf("read benchmark input: %v", err)
	}
	return string(b)
}

// benchCommand is about 2 KB of shell without secrets, as a Bash tool call sends it.
func benchCommand() string {
	const parts = `cd "$HOME/src/claude-hooks-exporter" && go test -race -count=1 -run 'TestTracker|TestPrivacy' ./internal/session/... 2>&1 | tail -n 50; ` +
		`git status --short && git diff --stat HEAD~1 -- internal/ docs/ | cat; ` +
		`find . -name '*.go' -newer go.mod -not -path './vendor/*' -print0 | xargs -0 grep -n 'TODO(' | sort -u | head -20; ` +
		`npm --prefix grafana-plugin run build -- --mode=production && ls -la grafana-plugin/dist/ | awk '{print $5, $9}'; ` +
		`curl -sS -o /dev/null -w '%{http_code}\n' http://localhost:9464/metrics; ` +
		`for f in testdata/*.jsonl; do jq -c 'select(.hook_event_name == "PostToolUse") | {tool: .tool_name, ok: .tool_response.success}' "$f"; done; `
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(parts)
	}
	return b.String()[:2048]
}

// benchInputs are the benchmark texts: typical content without secrets.
func benchInputs(tb testing.TB) []struct{ name, text string } {
	tb.Helper()
	source := readBench(tb, "source.txt")
	prose := readBench(tb, "prose.txt")
	var big strings.Builder
	for big.Len() < 1<<20 {
		big.WriteString(source)
		big.WriteString(prose)
	}
	return []struct{ name, text string }{
		{"source-16K", source},
		{"prose-16K", prose},
		{"command-2K", benchCommand()},
		{"mixed-1M", big.String()[:1<<20]},
	}
}

// pathologicalInputs are adversarial texts of 1 MiB: many anchors without a
// secret behind them, or secrets overlapping each other.
func pathologicalInputs() []struct{ name, text string } {
	const size = 1 << 20
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)+1)[:size] }
	return []struct{ name, text string }{
		{"a-1M", fill("a")},
		{"api_key=-1M", fill("api_key=")},
		{"token=-chain-1M", fill("token=")},
		{"password:space-1M", fill("password: ")},
		{"sk--1M", fill("sk-")},
		{"eyJ-1M", fill("eyJ")},
		{"url-no-at-1M", fill("a://b:c")},
		{"bearer-1M", fill("Bearer ")},
		{"pem-begin-1M", fill("-----BEGIN RSA PRIVATE KEY-----")},
		{"secrets-dense-1M", fill("AKIAABCDEFGHIJKLMNOP ghp_abcdefghijklmnopqrstuvwxyz0123 password=hunter2secret ")},
	}
}

func BenchmarkSecrets(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) { benchSecrets(b, in.text) })
	}
}

func BenchmarkSecretsPathological(b *testing.B) {
	for _, in := range pathologicalInputs() {
		b.Run(in.name, func(b *testing.B) { benchSecrets(b, in.text) })
	}
}

func benchSecrets(b *testing.B, text string) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Secrets(text)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(text)), "ns/byte")
}
