package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claudehooks/claude-hooks-exporter/internal/session"
	"github.com/claudehooks/claude-hooks-exporter/internal/wire"
)

// Large payloads are stored compressed and read back as they were; small
// ones, incompressible ones and rows stored before compression are kept and
// read as they are.
func TestPayloadCompression(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{Now: benchNow})
	big := fmt.Appendf(nil, `{"tool_response":{"content":%q}}`, strings.Repeat("func main() { fmt.Println(\"hello\") }\n", 60))
	small := []byte(`{"tool_name":"Read"}`)
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919%251) ^ byte(i>>3)
	}
	noisy := fmt.Appendf(nil, "%q", random) // a JSON string that compresses poorly
	evs := newGenerator(9).generate(3)
	evs[0].Payload, evs[1].Payload, evs[2].Payload = big, small, noisy
	if err := s.Insert(ctx, evs, nil, nil); err != nil {
		t.Fatal(err)
	}
	stored := map[int64][]byte{}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, data FROM payloads ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		var data []byte
		if err := rows.Scan(&seq, &data); err != nil {
			t.Fatal(err)
		}
		stored[seq] = data
	}
	rows.Close()
	if d := stored[1]; len(d) == 0 || d[0] != compressedMark || len(d) > len(big)/4 {
		t.Errorf("large payload stored as %d bytes (first %q), want compressed to under a quarter of %d", len(d), d[:min(len(d), 1)], len(big))
	}
	if !bytes.Equal(stored[2], small) {
		t.Errorf("small payload stored as %q, want it as it is", stored[2])
	}
	if d := stored[3]; len(d) > 0 && d[0] == compressedMark && len(d) >= len(noisy) {
		t.Errorf("an incompressible payload was stored compressed and larger (%d >= %d)", len(d), len(noisy))
	}
	got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{big, small, noisy} {
		if !bytes.Equal(got[i].Payload, want) {
			t.Errorf("event %d payload read back differs: %.60q", i+1, got[i].Payload)
		}
	}
	// A row stored before compression existed is served as it is.
	if _, err := s.w.ExecContext(ctx, `UPDATE payloads SET data = ? WHERE seq = 1`, big); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 1); err != nil || !bytes.Equal(got[0].Payload, big) {
		t.Errorf("uncompressed row read back: %v %.60q", err, got[0].Payload)
	}
}

// The writer's compression buffer is reused from one commit to the next; no
// commit sees another's bytes.
func TestPayloadArenaReuse(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{Now: benchNow})
	g := newGenerator(12)
	var want [][]byte
	for batch := range 4 {
		evs := g.generate(3 - batch%2) // the second and fourth are smaller
		for i := range evs {
			evs[i].Payload = fmt.Appendf(nil, `{"batch":%d,"content":%q}`, batch, strings.Repeat(fmt.Sprintf("line %d of event %d\n", batch, i), 40+batch*10))
			want = append(want, evs[i].Payload)
		}
		if err := s.Insert(ctx, evs, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.EventsAfter(ctx, 0, wire.Filter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read back %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Payload, want[i]) {
			t.Errorf("event %d: payload %.80q, want %.80q", i+1, got[i].Payload, want[i])
		}
	}
}

// BenchmarkPackPayloads compresses 8 payloads holding 2 KB of Go source each
// (a Read's result), as one commit's worth of them.
func BenchmarkPackPayloads(b *testing.B) {
	src, err := os.ReadFile(filepath.Join("testdata", "tool-output.txt"))
	if err != nil {
		b.Fatal(err)
	}
	p := fmt.Appendf(nil, `{"tool_response":{"content":%q}}`, src[:2048])
	in := [][]byte{p, p, p, p, p, p, p, p}
	b.SetBytes(int64(8 * len(p)))
	b.ReportAllocs()
	var arena []byte
	for b.Loop() {
		_, arena = packPayloads(in, arena)
	}
}

// encodeAttrs writes what json.Marshal of each key and value gives.
func TestEncodeAttrsMatchesEncodingJSON(t *testing.T) {
	values := []any{"", "plain text /path/to/file.go:12", "quote \" and \\ back", "<html> & co", "tab\there\nnew",
		"ünïcödé 日本語", "\u2028 line sep", string([]byte{0xff, 'a'}), int64(-42), 7, true, false, 3.25, 1e21, nil,
		[]string{"a", "b"}, map[string]int{"x": 1}}
	var attrs []session.Attr
	for i, v := range values {
		attrs = append(attrs, session.Attr{Key: fmt.Sprintf("k%d<&>", i), Value: v})
	}
	attrs = append(attrs, session.Attr{Key: session.AttrPrompt, Value: "secret prompt"})
	for _, capture := range []bool{false, true} {
		got, err := encodeAttrs(attrs, capture)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		want.WriteByte('{')
		for _, a := range attrs {
			if a.Key == session.AttrPrompt && !capture {
				continue
			}
			if want.Len() > 1 {
				want.WriteByte(',')
			}
			k, _ := json.Marshal(a.Key)
			v, _ := json.Marshal(a.Value)
			want.Write(k)
			want.WriteByte(':')
			want.Write(v)
		}
		want.WriteByte('}')
		if got != want.String() {
			t.Errorf("capture=%v:\ngot  %s\nwant %s", capture, got, want.String())
		}
	}
}
