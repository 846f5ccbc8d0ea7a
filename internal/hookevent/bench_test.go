package hookevent

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchPayload2K is a realistic PostToolUse payload of about 2 KB: a Bash call
// whose output has escapes, like most tool responses.
func benchPayload2K(tb testing.TB) []byte {
	tb.Helper()
	var out strings.Builder
	for i := range 20 {
		fmt.Fprintf(&out, "ok  \tgithub.com/acme/api/internal/pkg%02d\t0.%03ds\tcoverage: \"%d.%d%%\"\n", i, 17*i+3, 60+i, i)
	}
	stdout, err := json.Marshal(out.String())
	if err != nil {
		tb.Fatal(err)
	}
	payload := []byte(`{"session_id":"5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13",` +
		`"prompt_id":"0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60",` +
		`"transcript_path":"/home/dev/.claude/projects/-home-dev-src-acme-api/5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13.jsonl",` +
		`"cwd":"/home/dev/src/acme-api","permission_mode":"default","effort":{"level":"high"},` +
		`"hook_event_name":"PostToolUse","tool_name":"Bash",` +
		`"tool_input":{"command":"go test -cover ./... 2>&1 | tail -n 20","description":"Run the tests with coverage","timeout":120000},` +
		`"tool_response":{"stdout":` + string(stdout) + `,"stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},` +
		`"tool_use_id":"toolu_01Tq5Lm2HvRc8NzX4bGk7WpA","duration_ms":3912}`)
	if n := len(payload); n < 1900 || n > 2200 {
		tb.Fatalf("2 KB payload is %d bytes", n)
	}
	return payload
}

// benchPayloadLarge is a PostToolUse Read payload whose tool_response holds a file
// of size bytes (before JSON escaping).
func benchPayloadLarge(tb testing.TB, size int) []byte {
	tb.Helper()
	var file strings.Builder
	for file.Len() < size {
		fmt.Fprintf(&file, "\tif err := run(ctx, \"line %d\"); err != nil {\n\t\treturn fmt.Errorf(\"run: %%w\", err)\n\t}\n", file.Len())
	}
	content, err := json.Marshal(file.String()[:size])
	if err != nil {
		tb.Fatal(err)
	}
	return []byte(`{"session_id":"5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13","prompt_id":"0b8e4f3a-6c2d-4e1f-a9b7-3d5c8e2f1a60",` +
		`"transcript_path":"/home/dev/.claude/projects/-home-dev-src-acme-api/5f0c2a9e-3b7d-4c41-9e62-8d1f0b7a4c13.jsonl",` +
		`"cwd":"/home/dev/src/acme-api","permission_mode":"default","hook_event_name":"PostToolUse","tool_name":"Read",` +
		`"tool_input":{"file_path":"/home/dev/src/acme-api/internal/run/run.go"},` +
		`"tool_response":{"type":"text","file":{"filePath":"/home/dev/src/acme-api/internal/run/run.go","content":` +
		string(content) + `,"numLines":30000,"startLine":1,"totalLines":30000}},` +
		`"tool_use_id":"toolu_01Rd2Kp7WnBx4QvM9cTs6HfY","duration_ms":41}`)
}

// BenchmarkDecode compares the JSON decoders Decode could use, on a 2 KB payload
// and on one with a 1 MiB tool_response. Decode uses the fastest correct one, the
// hand-written scanner ("handscan"). Run with
//
//	go test -run='^$' -bench=BenchmarkDecode -benchmem ./internal/hookevent
func BenchmarkDecode(b *testing.B) {
	impls := []struct {
		name   string
		decode func([]byte) (Event, error)
	}{
		{"handscan", Decode},
		{"jsontext-stream", decodeJSONText},
		{"encoding-json", decodeEncodingJSON},
		{"jsonv2", decodeJSONv2},
	}
	payloads := []struct {
		name    string
		payload []byte
	}{
		{"2KB", benchPayload2K(b)},
		{"1MiB-response", benchPayloadLarge(b, 1<<20)},
	}
	for _, p := range payloads {
		for _, impl := range impls {
			b.Run(p.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(p.payload)))
				for b.Loop() {
					if _, err := impl.decode(p.payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
