package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	idA = "0123456789abcdef0123456789abcdef"
	idB = "fedcba9876543210fedcba9876543210"
)

// readTestdata returns a file from testdata.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// trimLine strips the "\n" Encode puts around a record.
func trimLine(tb testing.TB, enc []byte) []byte {
	tb.Helper()
	if len(enc) < 2 || enc[0] != '\n' || enc[len(enc)-1] != '\n' {
		tb.Fatalf("encoded record %q is not framed by newlines", enc)
	}
	line := enc[1 : len(enc)-1]
	if bytes.IndexByte(line, '\n') >= 0 {
		tb.Fatalf("encoded record %q holds a newline", enc)
	}
	return line
}

// roundTripRecords are records of every shape Encode writes.
func roundTripRecords(tb testing.TB) map[string]Record {
	tb.Helper()
	return map[string]Record{
		"object":           {ID: idA, Received: 1767225600123456789, Source: SourceHook, Payload: []byte(`{"hook_event_name":"Stop","session_id":"s1"}`), Size: 48},
		"nested braces":    {ID: idA, Received: 1, Source: SourceHTTP, Payload: []byte(`{"a":{"b":{"c":"}}}"}},"d":[{}]}`), Size: 31},
		"real payload":     {ID: idB, Received: 1767225600000000000, Source: SourceImport, Payload: compact(tb, readTestdata(tb, "posttooluse-2k.json")), Size: 2049},
		"top-level string": {ID: idA, Received: 5, Source: SourceHook, Payload: []byte(`"just a string"`), Size: 15},
		"null":             {ID: idA, Received: 5, Source: SourceHook, Payload: []byte(`null`), Size: 4},
		"unicode":          {ID: idA, Received: 5, Source: SourceHook, Payload: []byte(`{"p":"héllo \u2028 😀"}`), Size: 40},
		"negative time":    {ID: idA, Received: -42, Source: SourceHook, Payload: []byte(`{}`), Size: 2},
		"extreme times":    {ID: idA, Received: math.MinInt64, Source: SourceHook, Bad: BadEmpty, Size: math.MaxInt},
		"invalid json":     {ID: idB, Received: 7, Source: SourceHook, Bad: BadInvalidJSON, Size: 9, Raw: []byte("not json\n")},
		"empty":            {ID: idB, Received: 7, Source: SourceHook, Bad: BadEmpty, Size: 0},
		"blank":            {ID: idB, Received: 7, Source: SourceHTTP, Bad: BadEmpty, Size: 3, Raw: []byte(" \n\t")},
		"oversized":        {ID: idB, Received: 7, Source: SourceHook, Bad: BadOversized, Size: 20 << 20, Raw: []byte{0, 1, 2, 0xff, '"', '\n'}},
		"odd source":       {ID: idA, Received: 9, Source: "cli \"x\"\n", Payload: []byte(`{}`), Size: 2},
		"odd reason":       {ID: idA, Received: 9, Source: SourceHook, Bad: "new\\reason", Size: 1, Raw: []byte("x")},
		"unknown source":   {ID: idA, Received: 9, Source: "replay", Payload: []byte(`[1,2]`), Size: 5},
	}
}

func compact(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for name, rec := range roundTripRecords(t) {
		t.Run(name, func(t *testing.T) {
			line := trimLine(t, Encode(nil, rec))
			if !json.Valid(line) {
				t.Fatalf("encoded line is not valid JSON: %s", line)
			}
			got, err := Decode(line)
			if err != nil {
				t.Fatalf("Decode(%s): %v", line, err)
			}
			if diff := cmp.Diff(rec, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeAppendsToDst(t *testing.T) {
	rec := Record{ID: idA, Received: 1, Source: SourceHook, Payload: []byte(`{}`), Size: 2}
	one := Encode(nil, rec)
	two := Encode(Encode(nil, rec), rec)
	if want := append(append([]byte{}, one...), one...); !bytes.Equal(two, want) {
		t.Errorf("Encode(Encode(nil, r), r) = %q, want %q", two, want)
	}
}

// TestEncodeGolden pins the exact bytes of the spool format (a contract
// shared with every reader of the spool, see docs/architecture.md).
func TestEncodeGolden(t *testing.T) {
	recs := roundTripRecords(t)
	var got []byte
	for _, name := range []string{"object", "nested braces", "top-level string", "invalid json", "empty", "oversized", "odd source"} {
		got = Encode(got, recs[name])
	}
	golden := filepath.Join("testdata", "records.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("encoded records differ from %s (-want +got):\n%s", golden, diff)
	}
}

func TestDecodeAliasesPayload(t *testing.T) {
	line := trimLine(t, Encode(nil, roundTripRecords(t)["real payload"]))
	got, err := Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(line, []byte(`"p":`)) + 4
	if &got.Payload[0] != &line[start] {
		t.Errorf("Payload does not alias the line")
	}
	if cap(got.Payload) != len(got.Payload) {
		t.Errorf("cap(Payload) = %d, want %d so appending cannot clobber the line", cap(got.Payload), len(got.Payload))
	}
}

// TestDecodeOtherShapes covers version-1 records not in Encode's exact layout,
// read through the encoding/json fallback.
func TestDecodeOtherShapes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Record
	}{
		{
			name: "the original layout without len",
			line: `{"v":1,"id":"` + idA + `","t":12,"src":"hook","p":{"a":1}}`,
			want: Record{ID: idA, Received: 12, Source: SourceHook, Payload: []byte(`{"a":1}`), Size: 7},
		},
		{
			name: "reordered keys, spaces, extra field",
			line: ` { "src" : "http", "p" : { "a" : [1, 2] }, "t" : 3, "id" : "` + idB + `", "v" : 1, "future": true, "n": 40 } `,
			want: Record{ID: idB, Received: 3, Source: SourceHTTP, Payload: []byte(`{"a":[1,2]}`), Size: 40},
		},
		{
			name: "bad record without n",
			line: `{"v":1,"id":"` + idA + `","t":12,"src":"hook","bad":"invalid_json","raw":"eA=="}`,
			want: Record{ID: idA, Received: 12, Source: SourceHook, Bad: BadInvalidJSON, Size: 1, Raw: []byte("x")},
		},
		{
			name: "escaped source",
			line: `{"v":1,"id":"` + idA + `","t":12,"src":"ho\u006fk","n":2,"len":2,"p":{}}`,
			want: Record{ID: idA, Received: 12, Source: SourceHook, Payload: []byte(`{}`), Size: 2},
		},
		{
			name: "largest time",
			line: `{"v":1,"id":"` + idA + `","t":9223372036854775807,"src":"hook","n":2,"len":2,"p":{}}`,
			want: Record{ID: idA, Received: 9223372036854775807, Source: SourceHook, Payload: []byte(`{}`), Size: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.line))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	tests := map[string]string{
		"empty":              "",
		"blank":              " \t",
		"text":               "garbage",
		"json null":          "null",
		"json array":         `[1,2]`,
		"empty object":       "{}",
		"other version":      `{"v":2,"id":"` + idA + `","t":1,"src":"hook","n":2,"len":2,"p":{}}`,
		"no version":         `{"id":"` + idA + `","t":1,"src":"hook","n":2,"len":2,"p":{}}`,
		"upper-case id":      `{"v":1,"id":"` + strings.ToUpper(idA) + `","t":1,"src":"hook","n":2,"len":2,"p":{}}`,
		"short id":           `{"v":1,"id":"abc","t":1,"src":"hook","n":2,"len":2,"p":{}}`,
		"no time":            `{"v":1,"id":"` + idA + `","src":"hook","n":2,"len":2,"p":{}}`,
		"no source":          `{"v":1,"id":"` + idA + `","t":1,"n":2,"len":2,"p":{}}`,
		"no payload":         `{"v":1,"id":"` + idA + `","t":1,"src":"hook","n":2}`,
		"length mismatch":    `{"v":1,"id":"` + idA + `","t":1,"src":"hook","n":2,"len":3,"p":{}}`,
		"bad base64":         `{"v":1,"id":"` + idA + `","t":1,"src":"hook","bad":"empty","n":2,"raw":"!!"}`,
		"raw longer than n":  `{"v":1,"id":"` + idA + `","t":1,"src":"hook","bad":"empty","n":0,"raw":"eA=="}`,
		"two records joined": `{"v":1,"id":"` + idA + `","t":1,"src":"hook","n":2,"len":2,"p":{}}{"v":1,"id":"` + idA + `","t":1,"src":"hook","n":2,"len":2,"p":{}}`,
		"negative size":      `{"v":1,"id":"` + idA + `","t":1,"src":"hook","n":-2,"len":2,"p":{}}`,
		"time overflows":     `{"v":1,"id":"` + idA + `","t":99999999999999999999,"src":"hook","n":2,"len":2,"p":{}}`,
		"payload not json":   `{"v":1,"id":"` + idA + `","t":1,"src":"hook","p":nope}`,
	}
	for name, line := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Decode([]byte(line))
			if !errors.Is(err, ErrNotRecord) {
				t.Errorf("Decode(%q) = %+v, %v; want an error wrapping ErrNotRecord", line, got, err)
			}
		})
	}
}

// TestDecodeRejectsEveryFragment checks the property torn writes rely on: no
// strict prefix of a record, as a writer that died would leave it, decodes.
func TestDecodeRejectsEveryFragment(t *testing.T) {
	for name, rec := range roundTripRecords(t) {
		t.Run(name, func(t *testing.T) {
			line := trimLine(t, Encode(nil, rec))
			for n := range len(line) {
				if got, err := Decode(line[:n]); !errors.Is(err, ErrNotRecord) {
					t.Fatalf("Decode of the %d-byte prefix %q = %+v, %v; want ErrNotRecord", n, line[:n], got, err)
				}
			}
		})
	}
}

func TestCapture(t *testing.T) {
	received := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	big := bytes.Repeat([]byte("x"), 11)
	tests := []struct {
		name     string
		in       string
		maxBytes int
		want     Record // ID and Received are checked apart
	}{
		{name: "compact object", in: `{"a":1}`, want: Record{Payload: []byte(`{"a":1}`), Size: 7}},
		{name: "spaced object", in: "{ \"a\" : [1, 2],\n \"b\": \"x y\" }\n", want: Record{Payload: []byte(`{"a":[1,2],"b":"x y"}`), Size: 30}},
		{name: "no html escaping", in: `{"a":"<&>"}`, want: Record{Payload: []byte(`{"a":"<&>"}`), Size: 11}},
		{name: "top-level array", in: `[1, 2]`, want: Record{Payload: []byte(`[1,2]`), Size: 6}},
		{name: "top-level number", in: `42`, want: Record{Payload: []byte(`42`), Size: 2}},
		{name: "empty", in: ``, want: Record{Bad: BadEmpty, Size: 0}},
		{name: "blank", in: " \n\t ", want: Record{Bad: BadEmpty, Size: 4, Raw: []byte(" \n\t ")}},
		{name: "garbage", in: "hello\n", want: Record{Bad: BadInvalidJSON, Size: 6, Raw: []byte("hello\n")}},
		{name: "truncated object", in: `{"a":`, want: Record{Bad: BadInvalidJSON, Size: 5, Raw: []byte(`{"a":`)}},
		{name: "two values", in: `{} {}`, want: Record{Bad: BadInvalidJSON, Size: 5, Raw: []byte(`{} {}`)}},
		{name: "exactly max", in: `"123456"`, maxBytes: 8, want: Record{Payload: []byte(`"123456"`), Size: 8}},
		{name: "over max", in: `"1234567"`, maxBytes: 8, want: Record{Bad: BadOversized, Size: 9, Raw: []byte(`"1234567`)}},
		{name: "over max, not json", in: string(big), maxBytes: 4, want: Record{Bad: BadOversized, Size: 11, Raw: big[:4]}},
		{name: "default max", in: `{}`, maxBytes: -1, want: Record{Payload: []byte(`{}`), Size: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Capture([]byte(tt.in), received, SourceHTTP, tt.maxBytes)
			if !isHexID(got.ID) {
				t.Errorf("ID = %q, want 32 lowercase hex digits", got.ID)
			}
			if got.Received != received.UnixNano() {
				t.Errorf("Received = %d, want %d", got.Received, received.UnixNano())
			}
			tt.want.ID, tt.want.Received, tt.want.Source = got.ID, got.Received, SourceHTTP
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Capture(%q) (-want +got):\n%s", tt.in, diff)
			}
			// Whatever was captured must survive the spool.
			back, err := Decode(trimLine(t, Encode(nil, got)))
			if err != nil {
				t.Fatalf("Decode(Encode(Capture)): %v", err)
			}
			if diff := cmp.Diff(got, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("spool round trip (-captured +decoded):\n%s", diff)
			}
		})
	}
}

func TestCaptureOversizedDefault(t *testing.T) {
	in := bytes.Repeat([]byte("a"), DefaultMaxRecordBytes+1)
	got := Capture(in, time.Unix(0, 0), SourceHook, 0)
	if got.Bad != BadOversized || got.Size != len(in) || len(got.Raw) != DefaultMaxRecordBytes || got.Payload != nil {
		t.Errorf("Capture of %d bytes: Bad %q, Size %d, len(Raw) %d, Payload %d bytes; want oversized, %d, %d, none",
			len(in), got.Bad, got.Size, len(got.Raw), len(got.Payload), len(in), DefaultMaxRecordBytes)
	}
}

func TestNewID(t *testing.T) {
	seen := make(map[string]bool)
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 1000 {
		// Ten ids a millisecond: unique within one, ordered across them.
		received := at.Add(time.Duration(i/10) * time.Millisecond)
		id := NewID(received)
		if !isHexID(id) {
			t.Fatalf("NewID() = %q, want 32 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		if want := fmt.Sprintf("%012x", received.UnixMilli()); id[:12] != want {
			t.Fatalf("NewID(%v) = %q, want the time %s in front", received, id, want)
		}
		if i%10 == 0 && id <= prev {
			t.Fatalf("NewID of a later millisecond %q sorts before %q", id, prev)
		}
		prev = id
	}
}

func TestCaptureValid(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, in, want string
	}{
		{"one line kept as is", `{"a": 1, "b": "x y"}`, `{"a": 1, "b": "x y"}`},
		{"line breaks compacted", "{\n  \"a\": 1\n}", `{"a":1}`},
		{"carriage return compacted", "{\"a\":\r1}", `{"a":1}`},
		{"surrounding space compacted", ` {"a":1} `, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := CaptureValid([]byte(tt.in), at, SourceHTTP, 0)
			if r.Bad != "" || string(r.Payload) != tt.want || r.Size != len(tt.in) || len(r.ID) != 32 || r.Received != at.UnixNano() {
				t.Fatalf("CaptureValid(%q) = %+v, want payload %q", tt.in, r, tt.want)
			}
			line := Encode(nil, r)
			if bytes.Count(line, []byte("\n")) != 2 {
				t.Fatalf("record is not one line: %q", line)
			}
		})
	}
	if r := CaptureValid(bytes.Repeat([]byte("x"), 100), at, SourceHTTP, 10); r.Bad != BadOversized {
		t.Fatalf("oversized payload not marked: %+v", r)
	}
}
